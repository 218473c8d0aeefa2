"""Measurements that need a process of their own: peak memory, and many processes at once.

Run by ``run.py`` as ``python benchmarks/worker.py '<json job>'``; prints one JSON line. Jobs:

- ``{"cmd": "fetch", "store", "options", "cache", "spec"}``: ``Assets.fetch``. With
  ``"ranged_from": BYTES`` (or ``PYTEST_ASSETS_BENCH_RANGED_FROM`` in the environment) objects
  from that size on go through the ranged engine (``ranged.BIG_OBJECT_BYTES``), whatever the
  default: a stream that splits into parallel ranges when one connection is slow.
- ``{"cmd": "get_file", "store", "options", "rpath", "lpath", "our_options": bool}``: fsspec's
  raw ``get_file``, with the backend's defaults or with ``Store.download_options()``.

- ``{"cmd": "put_file", "store", "options", "lpath", "rpath"}``: fsspec's raw ``put_file``.
- ``{"cmd": "ranges", "store", "options", "rpath", "size", "streams"}``: ``streams`` ranged
  GETs at once (``_cat_file(start, end)``), the bytes dropped: what the link carries.
- ``{"cmd": "boto3_download" | "boto3_upload", "endpoint", "bucket", "key", "lpath"}``:
  boto3's ``download_file``/``upload_file`` (s3transfer, aws-cli's engine) with its defaults.
- ``{"cmd": "gcs_chunks", "endpoint", "bucket", "key", "lpath"}``: google-cloud-storage's
  ``transfer_manager.download_chunks_concurrently`` with its defaults, on the emulator.

``python benchmarks/worker.py serve`` instead reads ``{"store", "options"}`` on stdin, connects,
prints ``ready``, then runs one fetch per line ``{"cache", "spec"}`` (a round of the
many-processes scenario), answering each with one JSON line.

The answer holds ``seconds`` (the operation alone), ``end`` (``time.monotonic()``, comparable
across processes on Linux), ``base_rss_mb`` and ``peak_rss_mb`` (VmRSS before, VmHWM after) and, for
fetches, ``objects``: how many objects this process downloaded.
"""

from __future__ import annotations

import json
import os
import sys
import time
from typing import Any

os.environ.setdefault("GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT", "false")


def _status_mb(field: str) -> float:
    """A memory figure of this process from /proc (per address space: fork and exec reset it,
    unlike ``ru_maxrss``, which a child inherits from the parent that forked it)."""
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {field} in /proc/self/status")


def _rss_now_mb() -> float:
    return _status_mb("VmRSS")


def _peak_mb() -> float:
    return _status_mb("VmHWM")


def fetch(job: dict[str, Any]) -> dict[str, Any]:
    from pytest_assets import Assets, ranged
    from pytest_assets.store import Store

    ranged_from = job.get("ranged_from") or os.environ.get("PYTEST_ASSETS_BENCH_RANGED_FROM")
    if ranged_from:
        if not hasattr(ranged, "BIG_OBJECT_BYTES"):
            raise RuntimeError("ranged.BIG_OBJECT_BYTES is gone: update benchmarks/worker.py")
        ranged.BIG_OBJECT_BYTES = int(ranged_from)
    assets = Assets(store=job["store"], cache_dir=job["cache"], storage_options=job["options"])
    store: Store = assets.store
    _ = store.fs  # import the backend and connect before the clock starts
    downloaded = 0
    get_files = store.get_files

    def counting(pairs: Any, *args: Any, **kwargs: Any) -> Any:
        nonlocal downloaded
        downloaded += len(pairs)
        return get_files(pairs, *args, **kwargs)  # with the hashes measured on the way

    store.get_files = counting  # type: ignore[method-assign]
    base = _rss_now_mb()
    start = time.perf_counter()
    path = assets.fetch(job["spec"])
    seconds = time.perf_counter() - start
    return {
        "seconds": seconds,
        "end": time.monotonic(),
        "objects": downloaded,
        "path": str(path),
        "base_rss_mb": base,
        "peak_rss_mb": _peak_mb(),
    }


def get_file(job: dict[str, Any]) -> dict[str, Any]:
    from pytest_assets.store import Store

    store = Store(job["store"], job["options"])
    fs = store.fs  # import the backend and connect before the clock starts
    kwargs = store.download_options() if job.get("our_options") else {}
    base = _rss_now_mb()
    start = time.perf_counter()
    fs.get_file(job["rpath"], job["lpath"], **kwargs)
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "base_rss_mb": base, "peak_rss_mb": _peak_mb()}


def _timed(fn: Any) -> dict[str, Any]:
    base = _rss_now_mb()
    start = time.perf_counter()
    fn()
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "base_rss_mb": base, "peak_rss_mb": _peak_mb()}


def put_file(job: dict[str, Any]) -> dict[str, Any]:
    from pytest_assets.store import Store

    fs = Store(job["store"], job["options"]).fs
    # one stream: s3fs sends a big file's parts 10 at a time by default (gcsfs: one at a time)
    kwargs = {"max_concurrency": 1} if job.get("one_stream") and "s3" in fs.protocol else {}
    return _timed(lambda: fs.put_file(job["lpath"], job["rpath"], **kwargs))


def ranges(job: dict[str, Any]) -> dict[str, Any]:
    from fsspec.asyn import sync

    from pytest_assets.store import Store

    fs = Store(job["store"], job["options"]).fs
    size, streams = job["size"], job["streams"]
    step = -(-size // streams)

    async def one(start: int) -> None:
        await fs._cat_file(job["rpath"], start=start, end=min(size, start + step))

    async def all_ranges() -> None:
        import asyncio

        await asyncio.gather(*(one(i * step) for i in range(streams)))

    return _timed(lambda: sync(fs.loop, all_ranges))


def _boto3_client(job: dict[str, Any]) -> Any:
    import boto3

    return boto3.client(
        "s3",
        endpoint_url=job["endpoint"],
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        region_name="us-east-1",
    )


def boto3_download(job: dict[str, Any]) -> dict[str, Any]:
    client = _boto3_client(job)
    client.head_bucket(Bucket=job["bucket"])  # connect before the clock starts
    return _timed(lambda: client.download_file(job["bucket"], job["key"], job["lpath"]))


def boto3_upload(job: dict[str, Any]) -> dict[str, Any]:
    client = _boto3_client(job)
    client.head_bucket(Bucket=job["bucket"])
    return _timed(lambda: client.upload_file(job["lpath"], job["bucket"], job["key"]))


def gcs_chunks(job: dict[str, Any]) -> dict[str, Any]:
    os.environ["STORAGE_EMULATOR_HOST"] = job["endpoint"]
    from google.auth.credentials import AnonymousCredentials
    from google.cloud.storage import Client, transfer_manager

    client = Client(project="bench", credentials=AnonymousCredentials())  # type: ignore[no-untyped-call]
    blob = client.bucket(job["bucket"]).blob(job["key"])
    blob.reload()  # its size and generation, before the clock starts
    return _timed(lambda: transfer_manager.download_chunks_concurrently(blob, job["lpath"]))


JOBS = {
    "fetch": fetch,
    "get_file": get_file,
    "put_file": put_file,
    "ranges": ranges,
    "boto3_download": boto3_download,
    "boto3_upload": boto3_upload,
    "gcs_chunks": gcs_chunks,
}


def serve() -> None:
    setup = json.loads(sys.stdin.readline())
    from pytest_assets.store import Store

    _ = Store(setup["store"], setup["options"]).fs  # imports and the cached fsspec instance
    print("ready", flush=True)
    for line in sys.stdin:
        order = json.loads(line)
        print(json.dumps(fetch({**setup, **order})), flush=True)


def main() -> int:
    if sys.argv[1] == "serve":
        serve()
        return 0
    job = json.loads(sys.argv[1])
    result = JOBS[job["cmd"]](job)
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
