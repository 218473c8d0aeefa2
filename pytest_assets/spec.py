"""Asset specs: ``name[:version][[sub/part]]`` (modelkit's grammar) and ``name:1.2/sub/part``.

Names and sub-parts become object names in the store and paths in the cache, so anything that
could climb out of either (``..``, absolute paths, backslashes, empty segments, control
characters) is refused here, once, for every face."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from .errors import InvalidAssetSpecError
from .versioning import get_versioning

_NAME_SEGMENT = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]*\Z")
_VERSION_CHARS = re.compile(r"^[A-Za-z0-9._-]+\Z")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def _check_path(text: str, what: str, original: str) -> None:
    """Shared rules for names and sub-parts: relative, slash-separated, no climbing."""
    if not text:
        raise InvalidAssetSpecError(f"{what} is empty in spec {original!r}")
    if "\\" in text:
        raise InvalidAssetSpecError(
            f"{what} {text!r} in spec {original!r} holds a backslash: separate parts with '/'"
        )
    if text.startswith("/"):
        raise InvalidAssetSpecError(
            f"{what} {text!r} in spec {original!r} starts with '/': it must be a relative "
            "object name, not an absolute path"
        )
    if text.endswith("/"):
        raise InvalidAssetSpecError(f"{what} {text!r} in spec {original!r} ends with '/'")
    for segment in text.split("/"):
        if segment == "":
            raise InvalidAssetSpecError(
                f"{what} {text!r} in spec {original!r} has an empty segment ('//')"
            )
        if segment in (".", ".."):
            raise InvalidAssetSpecError(
                f"{what} {text!r} in spec {original!r} has a {segment!r} segment, which could "
                "escape the store or the cache"
            )


def check_name(name: str, original: str | None = None) -> None:
    original = name if original is None else original
    _check_path(name, "asset name", original)
    for segment in name.split("/"):
        if not _NAME_SEGMENT.match(segment):
            raise InvalidAssetSpecError(
                f"asset name {name!r} in spec {original!r}: segment {segment!r} may only hold "
                "ASCII letters, digits, '.', '-' and '_', and must not start with '.' or '-'"
            )


def check_prefix(prefix: str) -> None:
    """A listing's prefix stays inside the store: ``ls ../`` would list the folder above it."""
    if not prefix:
        return
    segments = prefix.rstrip("/").split("/")
    if prefix.startswith("/") or "\\" in prefix or any(s in (".", "..") for s in segments):
        raise InvalidAssetSpecError(
            f"the prefix {prefix!r} leaves the store (names never start with '/' nor hold "
            "'.', '..' or a backslash); give the start of asset names, or make the other "
            "folder the store"
        )


def check_sub_part(sub_part: str, original: str | None = None) -> None:
    """Sub-parts name files inside a directory asset: any printable name, no climbing. Push
    refuses a file this refuses, so every file pushed can be fetched on its own."""
    original = sub_part if original is None else original
    if _CONTROL.search(sub_part):
        raise InvalidAssetSpecError(f"sub-part in spec {original!r} holds a control character")
    _check_path(sub_part, "sub-part", original)


def _bracketed(sub_part: str) -> bool:
    """A sub-part that only the slash form can write (``name:1.2/run [1].txt``): in brackets
    it would read as a typo, while after the version's ``/`` it is all sub-part."""
    return "[" in sub_part or "]" in sub_part


def _bracket_error(name: str, sub_part: str, original: str) -> InvalidAssetSpecError:
    return InvalidAssetSpecError(
        f"sub-part {sub_part!r} in spec {original!r} holds a square bracket: write it after "
        f"the version in the slash form, {name}:VERSION/{sub_part}"
    )


@dataclass(frozen=True)
class AssetSpec:
    """A request for an asset: ``version`` None means the newest, a partial one its newest match."""

    name: str
    version: str | None = None
    sub_part: str | None = None

    def __post_init__(self) -> None:
        check_name(self.name, str(self))
        if self.version is not None and not _VERSION_CHARS.match(self.version):
            raise InvalidAssetSpecError(
                f"version {self.version!r} in spec {str(self)!r} may only hold letters, "
                "digits, '.', '-' and '_'"
            )
        if self.sub_part is not None:
            check_sub_part(self.sub_part, str(self))
            if self.version is None and _bracketed(self.sub_part):
                raise _bracket_error(self.name, self.sub_part, str(self))

    @classmethod
    def parse(cls, text: str, versioning: str = "major_minor") -> AssetSpec:
        if cls is AssetSpec and type(text) is str:
            return _parsed(text, versioning)  # a warm fetch parses the same text each call
        return cls._parse(text, versioning)

    @classmethod
    def _parse(cls, text: str, versioning: str) -> AssetSpec:
        if not isinstance(text, str):
            raise InvalidAssetSpecError(
                f"an asset spec must be a string, not {type(text).__name__}"
            )
        original = text
        if not text:
            raise InvalidAssetSpecError("the asset spec is empty: write name[:version][[sub/part]]")
        if _CONTROL.search(text):
            raise InvalidAssetSpecError(f"spec {original!r} holds a control character")
        sub_part: str | None = None
        head = text
        colon, bracket = text.find(":"), text.find("[")
        slash = text.find("/", colon) if colon != -1 else -1
        if slash != -1 and (bracket == -1 or slash < bracket):
            # the slash form: a version never holds '/', so all after it is the sub-part
            head, sub_part = text[:slash], text[slash + 1 :]
            if not sub_part:
                raise InvalidAssetSpecError(f"spec {original!r} ends with '/' after the version")
        elif text.endswith("]"):
            if bracket == -1:
                raise InvalidAssetSpecError(f"spec {original!r} has ']' without '['")
            head, sub_part = text[:bracket], text[bracket + 1 : -1]
            if not sub_part:
                raise InvalidAssetSpecError(f"spec {original!r} has an empty sub-part '[]'")
            sub_part = sub_part.removeprefix("/")
            if _bracketed(sub_part):
                raise _bracket_error(head.partition(":")[0], sub_part, original)
        elif "[" in text or "]" in text:
            raise InvalidAssetSpecError(
                f"spec {original!r} has a '[' that is not closed at the end: the sub-part goes "
                "last, as in name:1.2[dir/file.txt]"
            )
        name, colon_found, version_text = head.partition(":")
        version: str | None = None
        if colon_found:
            if not version_text:
                raise InvalidAssetSpecError(
                    f"spec {original!r} has ':' but no version after it: write name:1.2 or name"
                )
            version = version_text
        check_name(name, original)
        if version is not None:
            if not _VERSION_CHARS.match(version):
                raise InvalidAssetSpecError(
                    f"version {version!r} in spec {original!r} may only hold letters, digits, "
                    "'.', '-' and '_'"
                )
            try:
                get_versioning(versioning).check(version)
            except InvalidAssetSpecError as exc:
                raise InvalidAssetSpecError(f"spec {original!r}: {exc}") from None
        if sub_part is not None:
            check_sub_part(sub_part, original)
        return cls(name=name, version=version, sub_part=sub_part)

    def __str__(self) -> str:
        text = self.name
        if self.version is not None:
            text += f":{self.version}"
        if self.sub_part is not None and self.version is not None and _bracketed(self.sub_part):
            text += f"/{self.sub_part}"
        elif self.sub_part is not None:
            text += f"[{self.sub_part}]"
        return text

    def with_version(self, version: str | None) -> AssetSpec:
        return AssetSpec(self.name, version, self.sub_part)

    def without_sub_part(self) -> AssetSpec:
        return AssetSpec(self.name, self.version, None)


def label(name: str, version: str) -> str:
    """How people read a version: ``name:version``."""
    return f"{name}:{version}"


@functools.lru_cache(maxsize=4096)
def _parsed(text: str, versioning: str) -> AssetSpec:
    """Specs are frozen, so one parse per text serves every later call (errors are not kept)."""
    return AssetSpec._parse(text, versioning)
