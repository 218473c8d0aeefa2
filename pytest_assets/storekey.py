"""Which store a cached copy came from: one key per store, however its URL is spelled.

Every first push is ``0.0``, and the default cache is one per user: without the store in the
key, two projects sharing an asset name would be handed each other's bytes (issue 10, case 1).
The key is built from the URL and the options that pick the server (an S3 endpoint, a GCS
emulator), never from credentials: two spellings of one store share a key, two stores never do.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .errors import ConfigError

_PROTOCOL_ALIASES = {
    "gcs": "gs",
    "s3a": "s3",
    "local": "file",
    "abfs": "az",
    "abfss": "az",
}
# Options (and their environment fallbacks) that choose which server a URL means.
_ENDPOINT_OPTIONS = ("endpoint_url", "endpoint", "account_url", "account_host", "account_name")
_ENDPOINT_ENVIRONMENT = {
    "s3": ("AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"),
    "gs": ("STORAGE_EMULATOR_HOST",),
    "az": ("AZURE_STORAGE_CONNECTION_STRING", "AZURE_STORAGE_ACCOUNT_NAME"),
}
# user:password@ (the password may hold "/", as AWS secrets do) or token@; not on az://, where
# container@account is the store itself
_USERINFO = re.compile(r"\A(?:[^/@:]*:[^@]*|[^/@]+)@")
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_READABLE_CHARS = 48


@dataclass(frozen=True)
class StoreKey:
    """``identity`` compares stores; ``folder`` is its name in the cache, readable and unique."""

    identity: str

    @property
    def folder(self) -> str:
        readable = re.sub("-{2,}", "-", _UNSAFE.sub("-", self.identity)).strip("-.")
        digest = hashlib.sha256(self.identity.encode()).hexdigest()[:10]
        return f"{readable[:_READABLE_CHARS].rstrip('-.')}-{digest}"


def url_parts(url: str) -> tuple[str, str]:
    """(protocol, path) of a store URL: the protocol by its canonical name (``gcs`` is ``gs``),
    credentials out of the path; ``("file", url)`` for a plain path."""
    protocol, sep, rest = url.partition("://")
    if not sep:
        return "file", url
    protocol = _PROTOCOL_ALIASES.get(protocol.lower(), protocol.lower())
    if protocol not in ("file", "az"):
        rest = _USERINFO.sub("", rest)  # credentials do not make another store
    return protocol, rest


def expand_home(path: str, setting: str, where: str | None = None) -> str:
    """``~`` and ``~user`` expanded; a user with no home is a ConfigError naming the setting
    (pathlib raises a bare RuntimeError, which every face showed as a crash)."""
    expanded = os.path.expanduser(path)
    if expanded.startswith("~"):
        user = expanded[1:].split("/", 1)[0].split(os.sep, 1)[0]
        reason = f"~{user}: no such user" if user else "~: no home directory is known (HOME)"
        source = f" ({where})" if where else ""
        raise ConfigError(
            f"the {setting} {path}{source} starts with {reason}; give the path in full"
        )
    return expanded


def store_key(
    url: str,
    storage_options: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
) -> StoreKey:
    """The key of the store at ``url``: ``gs://`` = ``gcs://``, no trailing slash, a local
    directory by its real absolute path, the endpoint when one is set. Empty parts inside a
    URL are kept: ``s3://b//p`` is another prefix than ``s3://b/p`` to the store, so to the
    cache too (the loader refuses it anyway)."""
    environ = os.environ if environ is None else environ
    protocol, rest = url_parts(url)
    if protocol == "file":
        rest = os.path.realpath(expand_home(rest or ".", "store"))
    else:
        rest = rest.rstrip("/")  # the store drops trailing slashes from its root
        if protocol == "memory":
            rest = rest.lstrip("/")  # fsspec's memory:///x is memory://x
    endpoint = _endpoint(protocol, dict(storage_options or {}), environ)
    identity = f"{protocol}://{rest}" + (f" @ {endpoint}" if endpoint else "")
    return StoreKey(identity)


def _endpoint(protocol: str, options: dict[str, Any], environ: Mapping[str, str]) -> str | None:
    nested = options.get("client_kwargs")
    for source in (options, nested if isinstance(nested, Mapping) else {}):
        for option in _ENDPOINT_OPTIONS:
            value = source.get(option)
            if isinstance(value, str) and value.strip():
                return value.strip().rstrip("/")
    connection = options.get("connection_string")
    if isinstance(connection, str) and _account(connection):
        return _account(connection)
    for variable in _ENDPOINT_ENVIRONMENT.get(protocol, ()):
        value = environ.get(variable, "").strip()
        if variable.endswith("CONNECTION_STRING"):
            value = _account(value) or ""  # as adlfs reads it when no option is given
        if value:
            return value.rstrip("/")
    return None


def _account(connection_string: str) -> str | None:
    """The endpoint, else the account, of an Azure connection string; never its AccountKey
    or SharedAccessSignature, which are secrets."""
    fields = dict(part.split("=", 1) for part in connection_string.split(";") if "=" in part)
    for field in ("BlobEndpoint", "AccountName"):
        if fields.get(field, "").strip():
            return fields[field].strip().rstrip("/")
    return None


_DEFAULT_ENDPOINTS = {"s3": "AWS S3", "gs": "https://storage.googleapis.com"}


def endpoint_in_use(
    url: str,
    storage_options: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
) -> tuple[str, str] | None:
    """(the server a bucket store talks to, where that came from): shown in the header and by
    ``%asset``, so that AWS is told apart from a local S3-compatible server or an emulator."""
    environ = os.environ if environ is None else environ
    protocol, _ = url_parts(url)
    options = dict(storage_options or {})
    found = _endpoint(protocol, options, {})
    if found is not None:
        return found, "storage options"
    found = _endpoint(protocol, {}, environ)
    if found is not None:
        variable = next(v for v in _ENDPOINT_ENVIRONMENT[protocol] if environ.get(v, "").strip())
        return found, f"environment {variable}"
    default = _DEFAULT_ENDPOINTS.get(protocol)
    return (default, "default") if default else None
