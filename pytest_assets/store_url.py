"""Store values that cannot be what was meant, refused before anything touches them."""

from __future__ import annotations

import re

from .errors import ConfigError
from .redact import redact_url
from .storekey import url_parts

__all__ = ["broken_url_hint", "check_store_value"]

# "s3:/bucket", "gs:bucket", "s3//bucket": a protocol whose "://" lost a character. fsspec takes
# such a value for a relative directory, and a push "succeeds" into ./s3:/bucket/.
_BROKEN_URL = re.compile(r"^(?P<scheme>[A-Za-z][A-Za-z0-9+.-]+)(?P<sep>:/?(?!/)|//)(?P<rest>.*)$")
# Without the colon ("s3//bucket") only the remote protocols count: "file//x" may be a folder.
_REMOTE_SCHEMES = {
    "s3", "s3a", "gs", "gcs", "az", "abfs", "adl", "oci", "oss", "hdfs", "webhdfs", "http",
    "https", "sftp", "ftp", "hf", "memory",
}  # fmt: skip
# Object stores whose URL path starts with the bucket (or container), by url_parts' names.
_BUCKET_PROTOCOLS = {"s3", "gs", "az", "adl", "oci", "oss"}


def broken_url_hint(value: str) -> str | None:
    """``did you mean s3://bucket?`` for a value that a lost character turned from a URL into
    a relative path (``s3:/bucket``, ``gs:bucket``, ``s3//bucket``); None for anything else.
    ``./s3:/bucket`` still means that folder."""
    match = _BROKEN_URL.match(value)
    if match is None:
        return None
    scheme, sep, rest = match["scheme"], match["sep"], match["rest"]
    if sep == "//":
        known = scheme in _REMOTE_SCHEMES
    else:
        from fsspec.registry import known_implementations, registry

        known = scheme in known_implementations or scheme in registry
    if not known:
        return None
    if scheme in ("file", "local"):
        return f"{scheme}:///{rest.lstrip('/')}"
    return f"{scheme}://{rest.lstrip('/')}"


def check_store_value(value: str, where: str) -> None:
    """Refuse a store that cannot be what was meant: empty (an unset ``"$VAR"`` would mean the
    working directory), a URL that lost a character (it would become a local folder), a bucket
    URL without its bucket (``s3://``: a credentials error or a minute of retries), or one with
    an empty part (``s3://b//p`` is another prefix than ``s3://b/p`` to the store)."""
    text = value.strip()
    if not text:
        raise ConfigError(
            f"the store ({where}) is empty (an unset variable?): set it to a URL such as "
            "s3://bucket/prefix or gs://bucket/prefix, or to a directory, or leave it out"
        )
    shown = "" if "@" in text else f" {text!r}"  # "@": it may hold a password
    hint = broken_url_hint(text)
    if hint is not None:
        raise ConfigError(
            f"the store{shown} ({where}) looks like a broken URL: did you mean "
            f"{redact_url(hint)}? (for a local folder of that name, start it with ./)"
        )
    scheme = text.partition("://")[0]
    protocol, path = url_parts(text)
    if protocol not in _BUCKET_PROTOCOLS and protocol != "memory":
        return
    if protocol in _BUCKET_PROTOCOLS and not path.split("/", 1)[0]:
        meant = f" (did you mean {scheme}://{path.lstrip('/')}?)" if path.strip("/") else ""
        raise ConfigError(
            f"the store{shown} ({where}) has no bucket{meant}: give {scheme}://BUCKET[/PREFIX]"
        )
    inner = path.rstrip("/")  # trailing slashes: the store drops them
    if protocol == "memory":
        inner = inner.lstrip("/")  # memory:///x is memory://x
    if inner and "" in inner.split("/"):
        head, _, rest = text.partition("://")
        meant = redact_url(f"{head}://{re.sub('/{2,}', '/', rest)}")
        raise ConfigError(
            f"the store{shown} ({where}) has an empty part ('//'), which the store reads as "
            f"another prefix than the one without it: did you mean {meant}?"
        )
