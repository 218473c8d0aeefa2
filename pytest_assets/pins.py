"""The ``assets.lock`` of one ``Assets``: its pins.

Partial specs resolve through the pins; a pinned version that is fetched is checked against
the ``.meta`` hash the pin recorded (once per version); what a session resolved is merged back
into the file (``pytest --assets-lock``, ``pytest-assets lock [--upgrade]``). In code these
are pins, so that "lock" means only mutual exclusion; the file and the options keep their name.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from .errors import ConfigError, IntegrityError, InvalidAssetSpecError
from .pinfile import Pin, PinFile, pin_key
from .sharing import make_dirs, widen
from .spec import AssetSpec, label
from .versioning import Versioning

# (spec, old version or None, new version) for every pin an update changed
PinChange = tuple[str, str | None, str]


@dataclass(frozen=True)
class Resolution:
    """What one request resolved to: the summary and the pins are made of these."""

    requested: str
    resolved: AssetSpec
    from_cache: bool
    pinned: bool = False  # the version came from assets.lock, not from the store's listing
    source: str = "store"  # or "cache", or "shared cache <dir>": where the bytes came from


class PinSession:
    """Pins read once per session, and what the session found about them."""

    def __init__(
        self,
        path: Path | None,
        check: bool,
        versioning: Versioning,
        *,
        runs_dir: Path,
        say: Callable[[str], None],
    ) -> None:
        self.path = path
        self.check = check
        self.versioning = versioning
        self._runs_dir = runs_dir
        self._say = say
        self._file: PinFile | None = None
        self._read = False
        self._used: dict[tuple[str, str | None], Pin] = {}
        self.unpinned: set[str] = set()  # partial specs resolved, but outside the pins
        self.problems: list[str] = []
        self._verdicts: dict[tuple[str, str], str | None] = {}  # checked once per version

    def file(self) -> PinFile | None:
        """``assets.lock`` if there is one."""
        if not self._read:
            self._file = PinFile.read(self.path) if self.path else None
            self._read = True
        return self._file

    def adopt(self, path: Path | None, check: bool) -> None:
        """Follow ``path`` unless a file was given or already read: an ``Assets`` built in a
        conftest then honours the session's ``assets.lock`` as the plugin's own does."""
        if self.path is None and not self._read:
            self.path, self.check = path, check

    def pin_for(self, spec: AssetSpec) -> Pin | None:
        """The pin of a partial spec, remembered for the check at fetch."""
        found = self.file()
        pin = found.get(spec) if found is not None else None
        if pin is not None:
            self._used[spec.name, spec.version] = pin
        return pin

    def announce(self, spec: AssetSpec, version: str) -> None:
        """Say that a partial spec resolved through the lock, not to the newest version (once
        per spec and object: the CLI and the magic print it, the plugin's summary lists it)."""
        where = self.path.name if self.path is not None else "assets.lock"
        self._say(f"{spec.without_sub_part()} -> {version} ({where})")

    def note_unpinned(self, spec: AssetSpec) -> None:
        """A partial spec resolved from the store although a pin file exists (the summary
        says so: ``pytest --assets-lock`` pins it)."""
        if self.file() is not None:
            self.unpinned.add(pin_key(spec))

    def used(self, requested: AssetSpec) -> Pin | None:
        """The pin a request resolved through, if it did."""
        return self._used.get((requested.name, requested.version))

    def check_fetched(
        self, resolved: AssetSpec, pin: Pin, meta_sha256: Callable[[str, str], str]
    ) -> None:
        """A pinned version whose ``.meta`` hash moved was re-created in the store: a warning,
        or with ``check`` (``--assets-lock-check``) an error."""
        assert resolved.version is not None
        key = (resolved.name, resolved.version)
        if key not in self._verdicts:
            actual = meta_sha256(*key)
            problem = None
            if actual != pin.meta_sha256:
                problem = (
                    f"{label(*key)} no longer matches {self.path}: its metadata hash is "
                    f"{actual[:12]}..., the lock says {pin.meta_sha256[:12]}...; the version was "
                    "re-created in the store: find out why before re-locking it"
                )
                self.problems.append(problem)
                if not self.check:
                    self._say(f"warning: {problem}")  # the CLI and %asset print it on stderr
            self._verdicts[key] = problem
        message = self._verdicts[key]
        if message is not None and self.check:
            raise IntegrityError(message)

    def of_session(
        self, history: Iterable[Resolution], meta_sha256: Callable[[str, str], str]
    ) -> dict[str, Pin]:
        """What every partial spec fetched so far resolved to, as pins."""
        pins = {}
        hashes: dict[tuple[str, str], str] = {}
        for resolution in history:
            requested = AssetSpec.parse(resolution.requested, versioning=self.versioning.name)
            if self._complete(requested):
                continue
            name, version = resolution.resolved.name, resolution.resolved.version
            assert version is not None  # a resolution always names its version
            if (name, version) not in hashes:
                hashes[name, version] = meta_sha256(name, version)
            pins[pin_key(requested)] = Pin(version, hashes[name, version])
        return pins

    def merge(self, found: dict[str, Pin]) -> list[PinChange]:
        """Write ``found`` into the file; the pins that changed."""
        pin_file = self._writable()
        changes = [
            (key, pin_file.entries[key].version if key in pin_file.entries else None, pin.version)
            for key, pin in sorted(found.items())
            if pin_file.entries.get(key) != pin
        ]
        pin_file.entries.update(found)
        self._write(pin_file)
        return changes

    def update(
        self,
        specs: list[str] | None,
        *,
        upgrade: bool,
        names: list[str] | None,
        newest: Callable[[AssetSpec], str],
        meta_sha256: Callable[[str, str], str],
        dry_run: bool = False,
    ) -> list[PinChange]:
        """Pin ``specs`` not yet pinned; with ``upgrade``, move the pins (of ``names``, else
        all) to the newest versions; with ``dry_run``, only say what would change."""
        pin_file = self._writable()
        if dry_run:  # a copy: the pins this session resolves through stay as they are
            pin_file = PinFile(pin_file.path, pin_file.entries)
        if upgrade:
            targets = {k: self._parse(k) for k in pin_file.entries}
            if names:
                missing = sorted(set(names) - {t.name for t in targets.values()})
                if missing:
                    raise ConfigError(
                        f"{', '.join(missing)}: no entry in {self.path}; --upgrade takes "
                        "asset names that are locked (add a spec with pytest-assets lock SPEC)"
                    )
                targets = {k: t for k, t in targets.items() if t.name in names}
        else:
            targets = {}
            for text in specs or []:
                spec = self._parse(text)
                if self._complete(spec):
                    raise InvalidAssetSpecError(
                        f"{spec} is pinned to a complete version already; the lock file is for "
                        "partial specs such as name:1 or name"
                    )
                targets[pin_key(spec)] = spec
        changes: list[PinChange] = []
        for key, spec in sorted(targets.items()):
            old = pin_file.entries.get(key)
            if old is not None and not upgrade:
                continue
            version = newest(spec)
            pin = Pin(version, meta_sha256(spec.name, version))
            if old != pin:
                changes.append((key, old.version if old else None, version))
            pin_file.entries[key] = pin
        if not dry_run:
            self._write(pin_file)
        return changes

    def remember_specs(self, specs: list[str]) -> None:
        """Keep the partial specs a test run used, so ``pytest-assets lock`` can pin them."""
        if self.path is None or not specs:
            return
        path = self._runs_file()
        body = {"lock_file": str(self.path), "specs": sorted(set(specs))}
        # replaced whole, shared like the cache: in a shared cache the next run of the same
        # lock file may be another user's
        tmp = path.with_name(f".{path.name}.{os.getpid()}")
        try:
            make_dirs(path.parent, self._runs_dir.parent)
            tmp.write_text(json.dumps(body, indent=1), encoding="utf-8")
            widen(tmp, path.parent)
            os.replace(tmp, path)
        except OSError:
            # a user who may not write to a shared cache: only ``sync --last-run`` misses it
            with contextlib.suppress(OSError):
                tmp.unlink(missing_ok=True)

    def remembered_specs(self) -> list[str]:
        if self.path is None:
            return []
        try:
            data = json.loads(self._runs_file().read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return []
        specs = data.get("specs") if isinstance(data, dict) else None
        return [s for s in specs if isinstance(s, str)] if isinstance(specs, list) else []

    # -- helpers ----------------------------------------------------------------------------

    def _parse(self, text: str) -> AssetSpec:
        return AssetSpec.parse(text, versioning=self.versioning.name)

    def _complete(self, spec: AssetSpec) -> bool:
        return spec.version is not None and self.versioning.is_complete(spec.version)

    def _writable(self) -> PinFile:
        if self.path is None:
            raise ConfigError("no lock file location: pass lock_file= or use from_config()")
        return self.file() or PinFile(self.path)

    def _write(self, pin_file: PinFile) -> None:
        pin_file.write()
        self._file, self._read = pin_file, True

    def _runs_file(self) -> Path:
        assert self.path is not None  # callers return early without a lock file
        digest = hashlib.sha256(str(self.path.absolute()).encode()).hexdigest()[:16]
        return self._runs_dir / f"{digest}.json"
