"""``--assets-override NAME=PATH``: a local file or folder stands in for every version and
sub-part of one asset name, so a test runs against a draft before it is pushed."""

from __future__ import annotations

from pathlib import Path

from .errors import AssetNotFoundError, AssetsError
from .spec import AssetSpec
from .storekey import expand_home


def parse_override(text: str, base: Path) -> tuple[str, Path]:
    """``NAME=PATH`` with NAME checked by the core's spec rules and PATH existing (relative to
    ``base``); a ``ValueError`` with a sentence otherwise."""
    name, sep, raw_path = text.partition("=")
    name, raw_path = name.strip(), raw_path.strip()
    if not sep or not name or not raw_path:
        raise ValueError(f"{text!r} is not NAME=PATH, e.g. demo/vocab=./vocab-draft.txt")
    try:
        spec = AssetSpec.parse(name)
    except AssetsError as exc:
        raise ValueError(f"{text!r}: {exc}") from None
    if spec.version is not None or spec.sub_part is not None:
        raise ValueError(
            f"{text!r}: give the asset name only ({spec.name}=PATH); an override stands in for "
            "every version and sub-part of the name"
        )
    try:
        path = (base / expand_home(raw_path, f"override of {spec.name}")).absolute()
    except AssetsError as exc:
        raise ValueError(f"{text!r}: {exc}") from None
    if not path.exists():
        raise ValueError(f"{text!r}: {path} does not exist")
    return spec.name, path


def override_target(spec: AssetSpec, root: Path) -> Path:
    """The override itself, or the sub-part inside an override folder."""
    if spec.sub_part is None:
        return root
    if not root.is_dir():
        raise AssetNotFoundError(
            f"{spec} asks for the sub-part {spec.sub_part!r}, but {spec.name} is overridden by "
            f"the file {root}: override it with a folder"
        )
    target = root.joinpath(*spec.sub_part.split("/"))
    if not target.exists():
        raise AssetNotFoundError(
            f"{spec}: the override folder {root} of {spec.name} has no {spec.sub_part}"
        )
    return target
