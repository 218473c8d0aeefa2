"""A push interrupted at any step, and run again: the same content completes the same version,
other content is refused."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import fsspec
import pytest
from support import MakeAssets, store_files, tree, write

from pytest_assets import (
    AssetExistsError,
    Assets,
    AssetSpec,
)
from pytest_assets import push as push_module
from pytest_assets.store import Store

# -- interrupted pushes -----------------------------------------------------------------------


def _fail_once(monkeypatch: pytest.MonkeyPatch, target: Any, attribute: str) -> None:
    original = getattr(target, attribute)
    calls = {"n": 0}

    def failing(*args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 1:
            raise KeyboardInterrupt("killed mid-push")
        return original(*args, **kwargs)

    monkeypatch.setattr(target, attribute, failing)


@pytest.mark.parametrize("kind", ["file", "directory"])
@pytest.mark.parametrize(
    "where",
    [(push_module, "build_meta"), (push_module, "publish")],
    ids=["before-meta", "before-versions"],
)
def test_an_interrupted_push_run_again_with_the_same_content_completes(
    make_assets: MakeAssets,
    folder: Path,
    model: Path,
    store_url: str,
    monkeypatch: pytest.MonkeyPatch,
    kind: str,
    where: tuple[Any, str],
) -> None:
    source = model if kind == "file" else folder
    _fail_once(monkeypatch, *where)
    with pytest.raises(KeyboardInterrupt):
        make_assets().push(source, "m")
    assert "m/0.0.claim" in store_files(store_url)
    assert "m.versions" not in store_files(store_url)
    assert make_assets().push(source, "m") == AssetSpec("m", "0.0")
    assert make_assets().versions("m") == ["0.0"]
    assert "m/0.0.claim" not in store_files(store_url)
    fetched = make_assets().fetch("m")
    if kind == "file":
        assert fetched.read_bytes() == model.read_bytes()
    else:
        assert tree(fetched) == tree(folder)


@pytest.mark.parametrize(
    "where",
    [(push_module, "build_meta"), (push_module, "publish")],
    ids=["before-meta", "before-versions"],
)
def test_an_interrupted_push_run_again_with_other_content_is_refused(
    make_assets: MakeAssets,
    folder: Path,
    monkeypatch: pytest.MonkeyPatch,
    where: tuple[Any, str],
) -> None:
    _fail_once(monkeypatch, *where)
    with pytest.raises(KeyboardInterrupt):
        make_assets().push(folder, "m:1.0")
    write(folder / "a.txt", b"changed\n")
    with pytest.raises(AssetExistsError, match=r"m:1\.0"):
        make_assets().push(folder, "m:1.0")


def test_a_push_interrupted_mid_upload_resumes_with_the_missing_objects(
    make_assets: MakeAssets, folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = Store.put_files
    uploaded: list[list[str]] = []

    def half_then_killed(self: Store, pairs: Any, what: str, progress: Any = None) -> None:
        uploaded.append([remote for _local, remote in pairs])
        if len(uploaded) == 1:
            original(self, pairs[:1], what, progress)
            raise KeyboardInterrupt("killed mid-upload")
        original(self, pairs, what, progress)

    monkeypatch.setattr(Store, "put_files", half_then_killed)
    with pytest.raises(KeyboardInterrupt):
        make_assets().push(folder, "d")
    assert make_assets().push(folder, "d").version == "0.0"
    assert [len(batch) for batch in uploaded] == [2, 1]
    assert tree(make_assets().fetch("d")) == tree(folder)


def test_an_interrupted_push_is_left_alone_by_a_push_of_other_content_without_version(
    make_assets: MakeAssets, model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fail_once(monkeypatch, push_module, "build_meta")
    with pytest.raises(KeyboardInterrupt):
        make_assets().push(model, "m")
    assert make_assets().push(write(model, b"other"), "m").version == "0.1"
    assert make_assets().fetch("m").read_bytes() == b"other"


def test_a_push_interrupted_on_a_bare_memory_store_resumes(
    tmp_path: Path, folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    top = f"bare-{uuid.uuid4().hex[:8]}"
    _fail_once(monkeypatch, push_module, "build_meta")
    try:
        with pytest.raises(KeyboardInterrupt):
            Assets(store="memory://", cache_dir=tmp_path / "c").push(folder, f"{top}/d")
        resumed = Assets(store="memory://", cache_dir=tmp_path / "c").push(folder, f"{top}/d")
        assert resumed.version == "0.0"
    finally:
        fsspec.filesystem("memory").rm(f"/{top}", recursive=True)
