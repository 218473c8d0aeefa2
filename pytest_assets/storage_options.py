"""fsspec ``storage_options`` as people write them (``KEY=VALUE`` lines: the ini key,
``--storage-option``, ``%asset --storage-option``), merged and shown without their secrets.

Apart from the loader because every face parses, merges or shows them: the plugin checks one
option as a usage error before the loader runs, and merges a conftest's options over the file's.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from .errors import ConfigError
from .redact import redact_url


def parse_storage_options(lines: Iterable[str], where: str) -> dict[str, Any]:
    """fsspec ``storage_options`` from ``KEY=VALUE`` lines (the ini key, ``--storage-option``).

    A value is JSON when it parses as JSON (``true``, ``3``, ``{"a": 1}``; ``True``/``False``
    too, as people write them), else the text itself; quote it (``"123"``) to keep a string. A
    dot nests: ``client_kwargs.endpoint_url=URL`` is ``{"client_kwargs": {"endpoint_url":
    URL}}``. Values never appear in errors: they are often credentials."""
    options: dict[str, Any] = {}
    for raw in lines:
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, text = (part.strip() for part in line.partition("="))
        if not sep or not key:
            raise ConfigError(
                f"{where}: a storage option is not KEY=VALUE (its text is not shown: it may be a "
                "secret); write e.g. client_kwargs.endpoint_url=http://localhost:9000"
            )
        parts = key.split(".")
        if not all(parts):
            raise ConfigError(f"{where}: {key!r} has an empty part between its dots")
        if not text:
            raise ConfigError(
                f'{where}: {key}= has no value (an unset variable?); write {key}="" for an '
                "empty string"
            )
        nested: dict[str, Any] = {}
        target = nested
        for part in parts[:-1]:
            target = target.setdefault(part, {})
        target[parts[-1]] = _option_value(text)
        try:
            options = merge_options(options, nested, strict=True)
        except ValueError:
            raise ConfigError(
                f"{where}: {key} is given twice, or both as a value and as a table"
            ) from None
    return options


def _option_value(text: str) -> Any:
    if text in ("True", "False"):
        return text == "True"
    try:
        return json.loads(text)
    except ValueError:
        return text


def merge_options(
    base: Mapping[str, Any], extra: Mapping[str, Any], *, strict: bool = False
) -> dict[str, Any]:
    """``extra`` over ``base``, tables merged key by key (``client_kwargs`` from the ini and
    ``client_kwargs.endpoint_url`` from the command line both count); ``strict`` refuses a
    key set twice (ValueError)."""
    merged = dict(base)
    for key, value in extra.items():
        old = merged.get(key)
        if isinstance(old, Mapping) and isinstance(value, Mapping):
            merged[key] = merge_options(old, value, strict=strict)
        elif strict and key in merged:
            raise ValueError(key)
        else:
            merged[key] = value
    return merged


def describe_options(options: Mapping[str, Any], prefix: str = "") -> str:
    """``key=***, anon=true, client_kwargs.endpoint_url=http://host:9000``: what can be shown.

    Booleans, numbers and http(s) URLs (their userinfo redacted) are shown; every other value
    could be a credential and is not."""
    shown = []
    for key, value in options.items():
        if isinstance(value, Mapping) and value:
            shown.append(describe_options(value, f"{prefix}{key}."))
            continue
        if isinstance(value, bool) or value is None:
            text = json.dumps(value)
        elif isinstance(value, int | float):
            text = str(value)
        elif isinstance(value, str) and value.startswith(("http://", "https://")):
            text = redact_url(value)
        else:
            text = "***"
        shown.append(f"{prefix}{key}={text}")
    return ", ".join(shown)
