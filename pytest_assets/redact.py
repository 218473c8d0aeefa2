"""Credentials never reach a message, a log line, a header or a repr: the one place that knows
what a secret looks like in a URL or in fsspec's storage_options."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

_URL_CREDENTIALS = re.compile(r"(?<=://)(?:[^/@\s:]*:\S*|[^/@\s]+)@")


def redact_url(url: str) -> str:
    """Drop ``user:password@`` from a URL so it can be printed."""
    return _URL_CREDENTIALS.sub("***@", url)


def secrets_in_options(options: Mapping[str, Any]) -> list[str]:
    """Every string value in storage_options that could be a credential, longest first."""
    found: list[str] = []

    def walk(value: Any) -> None:
        if isinstance(value, str) and len(value) >= 4 and not value.startswith("http"):
            found.append(value)
        elif isinstance(value, Mapping):
            for item in value.values():
                walk(item)
        elif isinstance(value, list | tuple):
            for item in value:
                walk(item)

    walk(options)
    return sorted(set(found), key=len, reverse=True)


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
