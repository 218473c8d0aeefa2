"""Fetch assets with modelkit's own reader and print what it got, as JSON.

Run with a python that has ``modelkit`` installed (reverse-direction check: a
store written by pytest-assets must be readable by modelkit)::

    python tests/data/modelkit_fetch.py BUCKET PREFIX ASSETS_DIR SPEC [SPEC ...]

e.g. ``python tests/data/modelkit_fetch.py tests/data/modelkit_store modelkit-assets
/tmp/cache category/vocab category/vocab:0.1 models/tiny:0.0 "models/tiny:0.0[sub/labels.txt]"``

For each SPEC it calls::

    AssetsManager(
        assets_dir=ASSETS_DIR,
        storage_provider=StorageProvider(provider="local", bucket=BUCKET, prefix=PREFIX),
    ).fetch_asset(SPEC, return_info=True)

and prints on stdout one JSON object::

    {SPEC: {"path": <local path modelkit returned>,
            "sha256": <hex digest of the file>
                      | {relpath: hex digest, ...}   (if path is a directory),
            "version": <resolved version>,
            "from_cache": <bool>}}

Directory digests use "/"-separated paths relative to the returned path and
leave out modelkit's own marker file (the top-level ``.SUCCESS`` that modelkit
writes inside a fetched directory asset).

With ``--az`` first, BUCKET is an Azure container reached through modelkit's Azure provider
(``provider="az"``, the connection string from ``AZURE_STORAGE_CONNECTION_STRING``).

Exit status: 0 if every spec was fetched; 1 otherwise, in which case the failing
spec maps to {"error": "<ExceptionType>: <message>"} (the other specs are still
reported). With ``MODELKIT_FETCH_PROVIDER=s3`` (or ``gcs``) BUCKET is a bucket, reached with
modelkit's own settings (``S3_ENDPOINT``, ``AWS_ACCESS_KEY_ID``, ``STORAGE_EMULATOR_HOST``...).
Modelkit's log output (structlog prints to stdout by default) is redirected to stderr so stdout
is pure JSON.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sys


def _sha256_file(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _digest(path: str):
    if not os.path.isdir(path):
        return _sha256_file(path)
    out = {}
    for dirpath, dirnames, filenames in os.walk(path):
        dirnames.sort()
        for fn in sorted(filenames):
            full = os.path.join(dirpath, fn)
            rel = os.path.relpath(full, path).replace(os.sep, "/")
            if rel == ".SUCCESS":  # modelkit's marker, not asset content
                continue
            out[rel] = _sha256_file(full)
    return out


def fetch(bucket: str, prefix: str, assets_dir: str, specs, az: bool = False) -> tuple[dict, bool]:
    from modelkit.assets.manager import AssetsManager
    from modelkit.assets.remote import StorageProvider

    os.makedirs(assets_dir, exist_ok=True)
    provider = "az" if az else os.environ.get("MODELKIT_FETCH_PROVIDER", "local")
    if provider == "local":
        bucket = os.path.abspath(bucket)
    manager = AssetsManager(
        assets_dir=os.path.abspath(assets_dir),
        storage_provider=StorageProvider(provider=provider, bucket=bucket, prefix=prefix),
    )
    result: dict = {}
    ok = True
    for spec in specs:
        try:
            info = manager.fetch_asset(spec, return_info=True)
            path = str(info["path"])
            result[spec] = {
                "path": path,
                "sha256": _digest(path),
                "version": info.get("version"),
                "from_cache": info.get("from_cache"),
            }
        except Exception as e:  # report and keep going
            ok = False
            result[spec] = {"error": f"{type(e).__name__}: {e}"}
    return result, ok


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    az = bool(argv) and argv[0] == "--az"
    argv = argv[1:] if az else argv
    if len(argv) < 4 or argv[0] in ("-h", "--help"):
        print(__doc__, file=sys.stderr)
        return 2
    bucket, prefix, assets_dir, *specs = argv
    with contextlib.redirect_stdout(sys.stderr):
        result, ok = fetch(bucket, prefix, assets_dir, specs, az)
    json.dump(result, sys.stdout, indent=2, sort_keys=True)
    sys.stdout.write("\n")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
