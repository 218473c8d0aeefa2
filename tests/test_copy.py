"""``pytest-assets copy``: a store's assets moved to another store as they are (every version
number, every ``.meta``), create-only and resumable."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from pytest_assets import Assets
from pytest_assets.cli import main


@pytest.fixture(autouse=True)
def _no_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for key in list(os.environ):
        if key.startswith(("ASSETS_", "MODELKIT_")):
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def source(tmp_path: Path) -> Path:
    """A shared-directory store: m 0.0 and 0.1 (files), d 0.0 (a folder)."""
    root = tmp_path / "shared"
    root.mkdir()
    pusher = Assets(store=str(root), cache_dir=tmp_path / "pusher-cache")
    for data in (b"one", b"two"):
        (tmp_path / "m.bin").write_bytes(data)
        pusher.push(tmp_path / "m.bin", "m")
    (tmp_path / "d" / "sub").mkdir(parents=True)
    (tmp_path / "d" / "sub" / "a.txt").write_text("alpha")
    pusher.push(tmp_path / "d", "team/d")
    return root


def copy(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(["--cache-dir", str(Path.cwd() / "cache"), "copy", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_copy_keeps_every_version_number_and_meta(
    source: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "target"
    target.mkdir()
    code, out, _ = copy(capsys, "--from", str(source), "--to", str(target))
    assert code == 0
    assert out.splitlines()[-1] == f"3 versions copied from {source} to {target}; 0 already there"
    for rel in ("m.versions", "m/0.0.meta", "m/0.1.meta", "team/d.versions", "team/d/0.0.meta"):
        assert (target / rel).read_bytes() == (source / rel).read_bytes(), rel
    moved = Assets(store=str(target), cache_dir=tmp_path / "c2")
    assert moved.fetch("m:0.0").read_bytes() == b"one"
    assert moved.fetch("team/d:0[sub/a.txt]").read_text() == "alpha"


def test_copy_of_named_assets_copies_only_those(
    source: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "target"
    target.mkdir()
    assert copy(capsys, "--from", str(source), "--to", str(target), "team/d")[0] == 0
    assert not (target / "m.versions").exists()
    assert json.loads((target / "team" / "d.versions").read_text()) == {"versions": ["0.0"]}


def test_copy_again_resumes_where_it_stopped(
    source: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "target"
    target.mkdir()
    copy(capsys, "--from", str(source), "--to", str(target))
    (target / "m" / "0.1.meta").unlink()  # as if stopped after the data, before the .meta
    (target / "m.versions").write_text('{"versions": ["0.0"]}')
    code, out, _ = copy(capsys, "--from", str(source), "--to", str(target))
    assert (code, out.splitlines()[0]) == (0, "copied m:0.1")
    assert out.splitlines()[-1].endswith("; 2 already there")
    assert (target / "m.versions").read_bytes() == (source / "m.versions").read_bytes()


def test_copy_refuses_a_version_the_target_holds_with_other_metadata(
    source: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "target"
    target.mkdir()
    (tmp_path / "other.bin").write_bytes(b"someone else's")
    Assets(store=str(target), cache_dir=tmp_path / "c3").push(tmp_path / "other.bin", "m")
    before = (target / "m" / "0.0").read_bytes()
    code, _, err = copy(capsys, "--from", str(source), "--to", str(target), "m")
    assert code == 1
    assert "m:0.0 exists in" in err and "with other metadata" in err
    assert (target / "m" / "0.0").read_bytes() == before


@pytest.mark.servers
def test_copy_from_a_shared_directory_to_s3(
    source: Path, tmp_path: Path, s3_store: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    options: dict[str, Any] = s3_store.storage_options
    flags = [
        "--storage-option",
        f"key={options['key']}",
        "--storage-option",
        f"secret={options['secret']}",
        "--storage-option",
        f"client_kwargs.endpoint_url={options['client_kwargs']['endpoint_url']}",
    ]
    code, _, err = copy(capsys, *flags, "--from", str(source), "--to", s3_store.url)
    assert code == 0, err
    moved = Assets(store=s3_store.url, cache_dir=tmp_path / "c4", storage_options=options)
    assert moved.versions("m") == ["0.1", "0.0"]
    assert (
        moved.info("m:0.0")["push_date"]
        == Assets(store=str(source), cache_dir=tmp_path / "c5").info("m:0.0")["push_date"]
    )
