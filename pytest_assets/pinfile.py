"""``assets.lock``: what each partial spec ("vocab:1", "vocab") resolved to: its pins.

Plain text, one line per spec, sorted, so a person reviews it in a diff like any lock file:
``<spec> <version> <sha256 of the version's .meta>``. The metadata hash catches a version that
was re-created behind our back, which immutability forbids.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import ConfigError, InvalidAssetSpecError
from .localdisk import write_atomic
from .spec import AssetSpec

LOCK_NAME = "assets.lock"
_HEADER = (
    "# assets.lock: the exact version each partial asset spec resolves to (pytest-assets).\n"
    "# <spec> <version> <sha256 of the version's .meta>. Review changes like code; update with\n"
    "# `pytest --assets-lock` (adds new specs) or `pytest-assets lock --upgrade [NAME]`.\n"
)


_PROVENANCE = ("push_date", "pushed_by", "tool", "git_commit")


def meta_hash(meta: Any) -> str:
    """A digest of what a ``.meta`` says the version holds, independent of JSON formatting.

    Where the ``.meta`` carries per-file hashes (ours), provenance (who, when, from which
    commit) is left out: a version re-created with the very same bytes is the same version, and
    a store rebuilt from the same files (the demo) keeps its lock. modelkit's ``.meta`` has no
    hashes, so there the push date is the only identity and the whole object counts."""
    if isinstance(meta, dict) and meta.get("content_sha256"):
        meta = {key: value for key, value in meta.items() if key not in _PROVENANCE}
    body = json.dumps(meta, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(body.encode()).hexdigest()


def pin_key(spec: AssetSpec) -> str:
    """The partial spec without its sub-part: ``vocab:1[a]`` and ``vocab:1`` lock together."""
    return str(spec.without_sub_part())


@dataclass(frozen=True)
class Pin:
    version: str
    meta_sha256: str


class PinFile:
    def __init__(self, path: Path, entries: dict[str, Pin] | None = None) -> None:
        self.path = path
        self.entries: dict[str, Pin] = dict(entries or {})

    @classmethod
    def read(cls, path: Path) -> PinFile | None:
        """The lock at ``path``, or None when there is none (unlocked behaviour)."""
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise ConfigError(f"cannot read the lock file {path}: {exc.strerror}") from None
        entries: dict[str, Pin] = {}
        for number, raw in enumerate(text.splitlines(), start=1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            parts = line.split()
            try:
                if len(parts) != 3 or len(parts[2]) != 64:
                    raise InvalidAssetSpecError("expected '<spec> <version> <sha256>'")
                spec = AssetSpec.parse(parts[0])
                AssetSpec(spec.name, parts[1])
            except InvalidAssetSpecError as exc:
                raise ConfigError(
                    f"{path}, line {number}: {exc}; fix the line or delete the lock file and "
                    "run pytest --assets-lock to write it again"
                ) from None
            entries[pin_key(spec)] = Pin(parts[1], parts[2])
        return cls(path, entries)

    def get(self, spec: AssetSpec) -> Pin | None:
        return self.entries.get(pin_key(spec))

    def render(self) -> str:
        lines = [
            f"{key} {entry.version} {entry.meta_sha256}"
            for key, entry in sorted(self.entries.items())
        ]
        return _HEADER + "".join(f"{line}\n" for line in lines)

    def write(self) -> None:
        """Atomically, so a concurrent reader sees the old lock or the new one; 0666 less
        the umask, like any file the project commits (``mkstemp`` would give 0600)."""
        data = self.render().encode("utf-8")
        write_atomic(str(self.path), data, tmp_prefix=f".{self.path.name}.")
