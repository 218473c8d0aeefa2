"""modelkit's per-asset environment variables, ``MODELKIT_{NAME}_FILE`` and
``MODELKIT_{NAME}_VERSION``, both ways: what they mean to a library we build (they keep
modelkit's meaning, so a deployment's environment gives tests what it gives production), and
``pytest-assets lock --export modelkit-env``, which writes them from ``assets.lock`` so that
production loads the versions the tests ran on.

No modelkit import here: the command line uses it too.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from .display import plural
from .errors import ConfigError, InvalidAssetSpecError
from .pinfile import Pin
from .spec import AssetSpec

if TYPE_CHECKING:
    from .pins import PinSession


def variable(name: str, what: str) -> str:
    """modelkit's spelling: ``category/my-vocab`` -> ``MODELKIT_CATEGORY_MY_VOCAB_{WHAT}``."""
    return f"MODELKIT_{re.sub(r'[/.-]+', '_', name).upper()}_{what}"


@dataclass(frozen=True)
class EnvironmentChoice:
    """What the environment makes of a model's asset spec: the spec to fetch, or a local file
    that stands in for it (``file``, with the variable that named it)."""

    spec: AssetSpec
    file: Path | None = None
    variable: str | None = None


def apply_environment(
    spec: AssetSpec, environ: Mapping[str, str], versioning: str = "major_minor"
) -> EnvironmentChoice:
    """modelkit's order: ``_FILE`` wins, else ``_VERSION`` replaces the version (we keep the
    sub-part, which modelkit drops), else the spec as written."""
    file_variable = variable(spec.name, "FILE")
    if environ.get(file_variable):
        return EnvironmentChoice(spec, Path(environ[file_variable]), file_variable)
    version_variable = variable(spec.name, "VERSION")
    version = environ.get(version_variable)
    if not version:
        return EnvironmentChoice(spec)
    try:
        chosen = AssetSpec.parse(f"{spec.name}:{version}", versioning)
    except InvalidAssetSpecError as exc:
        raise ConfigError(f"{version_variable}={version!r}: {exc}") from None
    return EnvironmentChoice(AssetSpec(spec.name, chosen.version, spec.sub_part), None, None)


def export_lines(pins: Mapping[str, Pin], lock_path: Path) -> list[str]:
    """``MODELKIT_{NAME}_VERSION=<version>`` for every name ``assets.lock`` pins, sorted.

    One variable per name: two pins of one name at different versions ("vocab:0" and "vocab")
    cannot both hold in production, so they are refused, naming both."""
    versions: dict[str, dict[str, str]] = {}
    for key, pin in pins.items():
        versions.setdefault(AssetSpec.parse(key).name, {})[key] = pin.version
    lines = []
    for name, by_key in sorted(versions.items()):
        if len(set(by_key.values())) > 1:
            found = ", ".join(f"{key} -> {version}" for key, version in sorted(by_key.items()))
            raise ConfigError(
                f"{lock_path} pins {name} at more than one version ({found}): modelkit takes one "
                f"{variable(name, 'VERSION')}; lock one spec of {name} only, or upgrade them "
                "together (pytest-assets lock --upgrade)"
            )
        lines.append(f"{variable(name, 'VERSION')}={next(iter(by_key.values()))}")
    return lines


def export_pins(pins: PinSession, output: str | None, out: TextIO) -> None:
    """``pytest-assets lock --export modelkit-env [-o FILE]``: one ``NAME=VALUE`` line per
    pinned name, the format of an env file (docker ``--env-file``, systemd, ``set -a; .``)."""
    found = pins.file()
    if found is None:
        where = pins.path or "next to the pytest ini file"
        raise ConfigError(
            f"no assets.lock to export ({where}): run pytest --assets-lock, or "
            "pytest-assets lock SPEC..., first"
        )
    lines = export_lines(found.entries, found.path)
    text = "".join(f"{line}\n" for line in lines)
    if output is None:
        out.write(text)
        return
    try:
        Path(output).write_text(text, encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot write {output}: {exc.strerror}") from None
    print(f"wrote {output}: {plural(len(lines), 'variable')} from {found.path}", file=out)
