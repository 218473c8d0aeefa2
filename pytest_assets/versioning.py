"""Versioning systems: which version strings are valid, how they sort, what a partial one means
and what the next push gets. modelkit's two systems, with numeric (never textual) ordering."""

from __future__ import annotations

import datetime as _dt
import re
from collections.abc import Iterable
from typing import Protocol

from .errors import ConfigError, InvalidAssetSpecError

_MAJOR_MINOR = re.compile(r"^(0|[1-9][0-9]*)(?:\.(0|[1-9][0-9]*))?\Z")
_SIMPLE_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}Z\Z")
_DATE_FORMAT = "%Y-%m-%dT%H-%M-%SZ"


class Versioning(Protocol):
    name: str

    def check(self, version: str) -> None:
        """Raise InvalidAssetSpecError unless ``version`` is valid (complete or partial)."""

    def is_complete(self, version: str) -> bool: ...

    def sort_key(self, version: str) -> tuple[int, ...]: ...

    def matches(self, partial: str | None, version: str) -> bool:
        """Whether complete ``version`` satisfies ``partial`` (None matches every version)."""

    def next_version(
        self, existing: Iterable[str], partial: str | None, bump_major: bool
    ) -> str: ...


def sort_versions(versioning: Versioning, versions: Iterable[str]) -> list[str]:
    """Newest first; versions the system cannot read are dropped (a hostile ``.versions``)."""
    valid = {v for v in versions if _is_valid_complete(versioning, v)}
    return sorted(valid, key=versioning.sort_key, reverse=True)


def _is_valid_complete(versioning: Versioning, version: str) -> bool:
    try:
        versioning.check(version)
    except InvalidAssetSpecError:
        return False
    return versioning.is_complete(version)


class MajorMinor:
    """``MAJOR.MINOR``; ``1`` means the newest ``1.*`` (numerically, so never ``10.0``)."""

    name = "major_minor"

    def check(self, version: str) -> None:
        if not _MAJOR_MINOR.match(version):
            raise InvalidAssetSpecError(
                f"version {version!r} is not valid under major_minor versioning: "
                "write MAJOR or MAJOR.MINOR with whole numbers, e.g. '1' or '1.2'"
            )

    def is_complete(self, version: str) -> bool:
        return "." in version

    def sort_key(self, version: str) -> tuple[int, ...]:
        return tuple(int(part) for part in version.split("."))

    def matches(self, partial: str | None, version: str) -> bool:
        if partial is None:
            return True
        if self.is_complete(partial):
            return partial == version
        return version.split(".")[0] == partial

    def next_version(self, existing: Iterable[str], partial: str | None, bump_major: bool) -> str:
        versions = sort_versions(self, existing)
        if partial is not None and self.is_complete(partial):
            return partial
        if not versions:
            return f"{partial}.0" if partial is not None else "0.0"
        if bump_major:
            return f"{self.sort_key(versions[0])[0] + 1}.0"
        if partial is not None:
            in_major = [v for v in versions if self.matches(partial, v)]
            if not in_major:
                return f"{partial}.0"
            major, minor = self.sort_key(in_major[0])
            return f"{major}.{minor + 1}"
        major, minor = self.sort_key(versions[0])
        return f"{major}.{minor + 1}"


class SimpleDate:
    """UTC stamps ``YYYY-MM-DDTHH-MM-SSZ``; every version is complete."""

    name = "simple_date"

    def check(self, version: str) -> None:
        if not _SIMPLE_DATE.match(version):
            raise InvalidAssetSpecError(
                f"version {version!r} is not valid under simple_date versioning: "
                "write a UTC stamp YYYY-MM-DDTHH-MM-SSZ, e.g. '2024-01-31T12-00-00Z'"
            )
        try:
            _dt.datetime.strptime(version, _DATE_FORMAT)
        except ValueError as exc:
            raise InvalidAssetSpecError(
                f"version {version!r} is not a real date and time: {exc}"
            ) from None

    def is_complete(self, version: str) -> bool:
        return True

    def sort_key(self, version: str) -> tuple[int, ...]:
        return tuple(int(x) for x in re.findall(r"\d+", version))

    def matches(self, partial: str | None, version: str) -> bool:
        return partial is None or partial == version

    def next_version(self, existing: Iterable[str], partial: str | None, bump_major: bool) -> str:
        if partial is not None:
            return partial
        now = _dt.datetime.now(_dt.UTC)
        stamp = now.strftime(_DATE_FORMAT)
        versions = sort_versions(self, existing)
        if versions and self.sort_key(versions[0]) >= self.sort_key(stamp):
            # Two pushes in one second: move past the newest rather than collide.
            newest = _dt.datetime.strptime(versions[0], _DATE_FORMAT)
            stamp = (newest + _dt.timedelta(seconds=1)).strftime(_DATE_FORMAT)
        return stamp


VERSIONINGS: dict[str, Versioning] = {"major_minor": MajorMinor(), "simple_date": SimpleDate()}


def get_versioning(name: str) -> Versioning:
    try:
        return VERSIONINGS[name]
    except KeyError:
        raise ConfigError(
            f"unknown versioning system {name!r}: set assets_versioning / ASSETS_VERSIONING "
            f"to one of {', '.join(sorted(VERSIONINGS))}"
        ) from None
