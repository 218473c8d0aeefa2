"""Names that differ only by letter case or Unicode normalisation (``café`` as NFC or NFD):
two files on Linux and in the store, one file on macOS and Windows, and one name to a person."""

from __future__ import annotations

import os
import unicodedata
from collections.abc import Callable, Iterable
from pathlib import Path


def folded(name: str) -> str:
    """The form two names share when macOS or Windows would take them for one."""
    return unicodedata.normalize("NFC", name).casefold()


def normalised_match(path: Path, sub_part: str) -> Path | None:
    """The file below ``path`` that ``sub_part`` names up to Unicode normalisation (typed as
    NFD on macOS, pushed as NFC), when exactly one does; case still counts."""
    for segment in sub_part.split("/"):
        wanted = unicodedata.normalize("NFC", segment)
        try:
            children = os.listdir(path)
        except OSError:
            return None
        match = [child for child in children if unicodedata.normalize("NFC", child) == wanted]
        if len(match) != 1:
            return None
        path = path / match[0]
    return path


def clashes(paths: Iterable[str]) -> list[list[str]]:
    """Groups of relative paths that differ only by case or normalisation, sorted."""
    groups: dict[str, set[str]] = {}
    for path in paths:
        parts = path.split("/")
        for depth in range(1, len(parts) + 1):  # folders clash too: "Data/x" and "data/y"
            prefix = "/".join(parts[:depth])
            groups.setdefault(folded(prefix), set()).add(prefix)
    return sorted(sorted(group) for group in groups.values() if len(group) > 1)


def warn_clashes(source: Path, paths: list[str], say: Callable[[str], None]) -> None:
    """Say, before a push, which files would land on one another on macOS and Windows: the
    store keeps them apart, a checkout there cannot (the push goes on; Linux users may mean it)."""
    found = clashes(paths)
    if not found:
        return
    shown = "; ".join(" and ".join(repr(p) for p in group) for group in found[:5])
    more = f"; and {len(found) - 5} more" if found[5:] else ""
    say(
        f"warning: {source} holds names that differ only by letter case or Unicode "
        f"normalisation: {shown}{more}. They are one file on macOS and Windows, so a fetch "
        "there fails; rename them to push a version every platform can fetch"
    )
