"""Credentials never reach a message, a log line, a header or a repr: the one place that knows
what a secret looks like in a URL or in fsspec's storage_options."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, unquote

_URL_CREDENTIALS = re.compile(r"(?<=://)(?:[^/@\s:]*:\S*|[^/@\s]+)@")
# Azure's secrets inside a connection string, and the signature inside a SAS token: a message
# may quote one without the rest (a URL carries the SAS, re-encoded, never the whole string).
_AZURE_SECRET_FIELDS = re.compile(r"(?:^|;)\s*(AccountKey|SharedAccessSignature)=([^;]+)", re.I)
_SAS_SIGNATURE = re.compile(r"(?:^|[?&])sig=([^&;\s]+)")
_SAS_IN_URL = re.compile(r"(?<=[?&]sig=)(?!\*\*\*|REDACTED)[^&;\s'\"<>]+")
# What adlfs and modelkit read when no option is given.
ENVIRONMENT_SECRETS = (
    "AZURE_STORAGE_CONNECTION_STRING",
    "AZURE_STORAGE_ACCOUNT_KEY",
    "AZURE_STORAGE_SAS_TOKEN",
    "AZURE_STORAGE_CLIENT_SECRET",
)


def redact_url(url: str) -> str:
    """Drop ``user:password@`` and a SAS signature (``sig=``) from a URL so it can be printed:
    the SDK re-encodes a SAS as it sends it, so its text as given may not be there to scrub."""
    return _SAS_IN_URL.sub("***", _URL_CREDENTIALS.sub("***@", url))


def secrets_in_options(options: Mapping[str, Any]) -> list[str]:
    """Every string value in storage_options that could be a credential, longest first."""
    found: list[str] = []

    def walk(value: Any) -> None:
        if isinstance(value, str) and len(value) >= 4 and not value.startswith("http"):
            found.extend(_pieces(value))
        elif isinstance(value, Mapping):
            for item in value.values():
                walk(item)
        elif isinstance(value, list | tuple):
            for item in value:
                walk(item)

    walk(options)
    return sorted(set(found), key=len, reverse=True)


def secrets_in_environment(environ: Mapping[str, str]) -> list[str]:
    """The credentials a backend reads from the environment (adlfs' and modelkit's variables)."""
    found = [environ.get(name, "") for name in ENVIRONMENT_SECRETS]
    return secrets_in_options({"environment": [value for value in found if value]})


def _pieces(value: str) -> list[str]:
    """The value, and the secrets inside it that a message may quote alone: an Azure
    connection string's account key or SAS, a SAS token's signature (as sent, encoded)."""
    out = [value]
    inner = [match.group(2).strip() for match in _AZURE_SECRET_FIELDS.finditer(value)]
    for text in [value, *inner]:
        out.extend(match.group(1) for match in _SAS_SIGNATURE.finditer(text.lstrip("?")))
    out.extend(inner)
    encoded = [variant for text in out[1:] for variant in (unquote(text), quote(text, safe=""))]
    return [text for text in [*out, *encoded] if len(text) >= 4]


def secrets_in_url(url: str) -> list[str]:
    """The credentials in a URL's ``user:password@``, as written, decoded and in the pieces a
    backend may quote after splitting it at "/" (s3fs takes ``key:se`` for a bucket name)."""
    from urllib.parse import unquote

    match = _URL_CREDENTIALS.search(url)
    if match is None:
        return []
    userinfo = match.group(0)[:-1]
    found = {userinfo, unquote(userinfo), *userinfo.partition(":")[::2]}
    for text in list(found):
        found.update(text.split("/"))
        found.add(unquote(text))
    return [text for text in found if len(text) >= 4]
