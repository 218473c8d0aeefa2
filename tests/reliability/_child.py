"""A fetching or pushing process for the kill tests, run as ``python _child.py MODE ...``.

It appends the phase it enters to a file (so the parent can tell where a kill landed) and,
given a kill point, SIGKILLs itself exactly there; without one the parent kills it at random.

    fetch STORE OPTIONS CACHE SPEC PHASES KILL_POINT
    push  STORE OPTIONS CACHE SOURCE SPEC PHASES KILL_POINT [change]

Kill points (fetch): hang (hold the lock, wait to be killed), link:N (after N files placed from
the cache's known content), download:N (after N objects),
range:N (a big object's Nth range finished and saved in its state.json), verify:N (before
hashing the Nth file), readonly (making the files read-only), record (record written, data not
yet renamed), renamed (data renamed, fetch not yet returned).
Kill points (push): claimed, upload:N (N objects uploaded), torn (half-way through copying an
object into a directory store), copy (about to copy), copy:N (N objects copied inside the
store from the version followed), copied (every copy made and checked), uploaded, meta (.meta
written), locked (holding the .versions lock), versions (.versions written, lock still held),
released (lock released, claim kept), withdrawn (a changed source's objects removed, its
claim not yet released), part:N (N parts
of big files uploaded, an S3 upload still open or GCS parts not yet composed), composed
(the big files' objects complete, the push not yet on).
``ASSETS_TEST_RANGED="BIG_OBJECT_BYTES=1048576,RANGE_BYTES=262144,should_split=always"`` sets
those constants of ``pytest_assets.ranged`` first (``should_split=always``: every stream hands
its tail to ranges), as the in-process tests monkeypatch them, so that objects of a few MB go
in ranges.
The environment variable ``MULTIPART`` (JSON) sets constants of :mod:`pytest_assets.multipart`
(small parts, fewer at once), so that a few MB are a big file in many parts.
With ``change``, the push appends to its first source file just before uploading it: a writer
racing the upload, so the push must refuse to publish.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sys
import time
from typing import Any

os.environ.setdefault("GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT", "false")

import fsspec.core

from pytest_assets import cache as cache_module
from pytest_assets import claims as claims_module
from pytest_assets import download as download_module
from pytest_assets import fetch_reuse as reuse_module
from pytest_assets import localdisk as localdisk_module
from pytest_assets import multipart as multipart_module
from pytest_assets import publish as publish_module
from pytest_assets import push as push_module
from pytest_assets import push_reuse as push_reuse_module
from pytest_assets import ranged as ranged_module
from pytest_assets import store as store_module
from pytest_assets.assets import Assets

_ = fsspec.core
PHASES = ""
KILL = ""
CHANGE = False


def mark(phase: str) -> None:
    with open(PHASES, "a") as handle:
        handle.write(phase + "\n")


def die_if(point: str) -> None:
    if point == KILL:
        mark(f"killed at {point}")
        os.kill(os.getpid(), signal.SIGKILL)


def counting_kill(prefix: str) -> Any:
    """die_if for "prefix:N" points: call it once per event; dies at the Nth."""
    state = {"n": 0}
    limit = int(KILL.split(":")[1]) if KILL.startswith(prefix + ":") else -1

    def tick() -> None:
        state["n"] += 1
        if state["n"] == limit:
            mark(f"killed at {KILL}")
            os.kill(os.getpid(), signal.SIGKILL)

    return tick


def seam(module: Any, name: str, replacement: Any) -> None:
    """Replace ``module.name``; a seam that no longer exists fails loudly, never silently."""
    if not hasattr(module, name):
        raise AssertionError(f"the seam {module.__name__}.{name} is gone: update _child.py")
    setattr(module, name, replacement)


def instrument_fetch() -> None:
    Store, Cache = store_module.Store, cache_module.Cache
    get_files, install = Store.get_files, Cache.install
    check_file, make_read_only = download_module.check_file, cache_module._make_read_only
    copy_out, replace, rename = localdisk_module.copy_out, os.replace, os.rename
    downloaded, verified = counting_kill("download"), counting_kill("verify")
    place, linked = reuse_module.place, counting_kill("link")
    finish_range, ranges_saved = ranged_module._Download._mark, counting_kill("range")

    def get_files_(self: Any, pairs: Any, what: str, progress: Any = None) -> dict[str, Any]:
        mark("download")
        if KILL == "hang":  # hold the lock until the parent kills us
            mark("hang")
            time.sleep(3600)
        # The hashes measured on the way in are dropped, so every file is verified after the
        # download as it is from a server: the verify:N points need that phase.
        get_files(self, pairs, what, progress)
        return {}

    def copy_out_(src: str, dst: str, what: str = "copying") -> Any:
        result = copy_out(src, dst, what)
        downloaded()
        return result

    def place_(source: str, target: str, **kwargs: Any) -> str:
        mark("link")
        how = place(source, target, **kwargs)
        linked()
        return how

    def check_file_(local: str, entry: Any, label: str, measured: Any = None) -> Any:
        mark("verify")
        verified()
        return check_file(local, entry, label, measured)

    def make_read_only_(*args: Any) -> None:
        mark("readonly")
        die_if("readonly")
        make_read_only(*args)

    def install_(self: Any, *args: Any) -> Any:
        mark("install")
        return install(self, *args)

    def finish_range_(self: Any, index: int) -> None:
        finish_range(self, index)  # saved in state.json
        mark("range")
        ranges_saved()

    def replace_(src: Any, dst: Any, **kwargs: Any) -> None:
        replace(src, dst, **kwargs)
        if str(dst).endswith(".json") and not str(dst).endswith("state.json"):
            mark("record")
            die_if("record")

    def rename_(src: Any, dst: Any, **kwargs: Any) -> None:
        rename(src, dst, **kwargs)
        mark("renamed")
        die_if("renamed")

    seam(Store, "get_files", get_files_)
    seam(localdisk_module, "copy_out", copy_out_)
    seam(download_module, "check_file", check_file_)
    seam(cache_module, "_make_read_only", make_read_only_)
    seam(Cache, "install", install_)
    seam(reuse_module, "place", place_)
    seam(ranged_module._Download, "_mark", finish_range_)
    os.replace = replace_  # type: ignore[assignment]
    os.rename = rename_  # type: ignore[assignment]


def instrument_push() -> None:
    Store = store_module.Store
    claim, put_files, write_bytes = push_module.claim_version, Store.put_files, Store.write_bytes
    take, delete, delete_below = publish_module._take, Store.delete, Store.delete_below
    copyfile, copy_objects = shutil.copyfile, push_reuse_module.copy_objects

    def claim_(*args: Any, **kwargs: Any) -> claims_module.Claim:
        result = claim(*args, **kwargs)
        if result.ours:
            mark("claimed")
            die_if("claimed")
        return result

    def put_files_(self: Any, pairs: Any, what: str, progress: Any = None) -> None:
        mark("upload")
        if CHANGE and pairs:
            with open(pairs[0][0], "ab") as handle:
                handle.write(b"written while it was being pushed")
        if KILL.startswith("upload:"):
            put_files(self, pairs[: int(KILL.split(":")[1])], what, progress)
            die_if(KILL)
        put_files(self, pairs, what, progress)
        mark("uploaded")
        die_if("uploaded")

    def copy_objects_(store: Any, copies: Any, what: str, *args: Any) -> Any:
        mark("copy")
        die_if("copy")
        if KILL.startswith("copy:"):
            copy_objects(store, copies[: int(KILL.split(":")[1])], what, *args)
            die_if(KILL)
        left = copy_objects(store, copies, what, *args)
        mark("copied")
        die_if("copied")
        return left

    def copyfile_(src: str, dst: str, **kwargs: Any) -> Any:
        if KILL == "torn" and os.path.basename(dst).startswith(".tmp-"):
            with open(src, "rb") as source, open(dst, "wb") as target:
                data = source.read()
                target.write(data[: len(data) // 2])
            die_if("torn")
        return copyfile(src, dst, **kwargs)

    def write_bytes_(self: Any, path: str, data: bytes, what: str, *, create_only: bool) -> None:
        write_bytes(self, path, data, what, create_only=create_only)
        if path.endswith(".meta"):
            mark("meta")
            die_if("meta")
        elif path.endswith(".versions"):
            mark("versions")
            die_if("versions")

    def take_(*args: Any) -> str | None:
        token = take(*args)
        mark("locked")
        die_if("locked")
        return token

    def delete_below_(self: Any, path: str, what: str) -> None:
        delete_below(self, path, what)
        mark("withdrawn")
        die_if("withdrawn")

    def delete_(self: Any, path: str, what: str) -> None:
        if path.endswith(".claim") and KILL == "released":
            time.sleep(30)  # the push drops its claim alongside the lock: kill before it lands
        delete(self, path, what)
        if path.endswith(".versions.lock"):
            mark("released")
            die_if("released")

    for constant, value in json.loads(os.environ.get("MULTIPART", "{}")).items():
        seam(multipart_module, constant, value)
    each_part, put_big, parted = (
        multipart_module._each_part,
        multipart_module.put_big,
        counting_kill("part"),
    )

    async def each_part_(fd: int, parts: Any, send: Any, gate: Any) -> Any:
        async def send_(index: int, data: bytes) -> Any:
            result = await send(index, data)
            mark("part")
            parted()
            return result

        return await each_part(fd, parts, send_, gate)

    def put_big_(*args: Any, **kwargs: Any) -> None:
        put_big(*args, **kwargs)
        mark("composed")
        die_if("composed")

    seam(multipart_module, "_each_part", each_part_)
    seam(multipart_module, "put_big", put_big_)
    seam(push_module, "claim_version", claim_)
    seam(Store, "put_files", put_files_)
    seam(push_reuse_module, "copy_objects", copy_objects_)
    shutil.copyfile = copyfile_  # type: ignore[assignment]
    seam(Store, "write_bytes", write_bytes_)
    seam(publish_module, "_take", take_)
    seam(Store, "delete", delete_)
    seam(Store, "delete_below", delete_below_)


def set_ranged() -> None:
    """The ranged-fetch constants the parent asked for (``ASSETS_TEST_RANGED``)."""
    for item in filter(None, os.environ.get("ASSETS_TEST_RANGED", "").split(",")):
        name, value = item.split("=")
        if value == "always":
            seam(ranged_module, name, lambda *_: True)
        else:
            seam(ranged_module, name, float(value) if "." in value else int(value))


def main(argv: list[str]) -> None:
    global PHASES, KILL, CHANGE
    set_ranged()
    mode, store, options, cache = argv[:4]
    if mode == "fetch":
        spec, PHASES, KILL = argv[4:7]
        instrument_fetch()
    else:
        source, spec, PHASES, KILL = argv[4:8]
        CHANGE = argv[8:9] == ["change"]
        instrument_push()
    assets = Assets(
        store=store,
        cache_dir=cache,
        storage_options=json.loads(options),
        notify=lambda message: print(message, file=sys.stderr, flush=True),
    )
    assets.store.fs  # noqa: B018  (connect before "ready")
    print("ready", flush=True)
    mark("ready")
    start = time.monotonic()
    result = assets.fetch(spec) if mode == "fetch" else assets.push(source, spec)
    mark("done")
    print(json.dumps({"result": str(result), "seconds": time.monotonic() - start}), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
