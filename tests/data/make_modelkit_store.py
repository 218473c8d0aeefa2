"""Generate a small asset store with modelkit's own writer (reference test data).

Run with a python that has ``modelkit`` installed (this is *not* imported by the
test-suite; its output is committed)::

    /tmp/mkvenv/bin/python tests/data/make_modelkit_store.py \
        tests/data/modelkit_store --expected tests/data/modelkit_store_expected.json

It writes, through ``modelkit.assets.remote.StorageProvider`` (provider="local",
bucket=STORE_DIR, prefix="modelkit-assets") and exactly the calls that
``modelkit assets new`` / ``modelkit assets update`` make (see
``modelkit/assets/cli.py``: ``new_`` and ``update_``):

* file asset ``category/vocab``: versions 0.0 (new), 0.1 (update, minor bump)
  and 1.0 (update, ``--bump-major``), each with different text content;
* directory asset ``models/tiny`` version 0.0 (new) with ``config.json``,
  ``weights.bin`` (4 KiB of deterministic bytes) and ``sub/labels.txt``.

The store root (fsspec URL for a reader) is then ``STORE_DIR/modelkit-assets``.
``--expected`` writes {"name:version": sha256, "name:version[relpath]": sha256}
for every file, so tests can check byte-identical fetches.

File contents are deterministic; only the ``push_date`` in the ``.meta`` files
changes from one generation to the next.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import shutil
import sys
import tempfile

PREFIX = "modelkit-assets"

VOCAB_VERSIONS = {
    # version -> content; pushed in this order (0.0 new, 0.1 minor, 1.0 major)
    "0.0": b"alpha\nbeta\ngamma\n",
    "0.1": b"alpha\nbeta\ngamma\ndelta\n",
    "1.0": b"ALPHA\nBETA\nGAMMA\nDELTA\nEPSILON\n",
}


def _weights() -> bytes:
    """4096 deterministic pseudo-random bytes (sha256 counter stream)."""
    out = bytearray()
    i = 0
    while len(out) < 4096:
        out += hashlib.sha256(b"pytest-assets-tiny-weights-%d" % i).digest()
        i += 1
    return bytes(out[:4096])


TINY_FILES = {
    "config.json": b'{"hidden_size": 8, "layers": 2, "name": "tiny"}\n',
    "weights.bin": _weights(),
    "sub/labels.txt": b"cat\ndog\nbird\n",
}


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def expected_hashes() -> dict:
    exp = {f"category/vocab:{v}": sha256(c) for v, c in VOCAB_VERSIONS.items()}
    for rel, data in sorted(TINY_FILES.items()):
        exp[f"models/tiny:0.0[{rel}]"] = sha256(data)
    return exp


def _cli_new(provider, asset_path: str, asset_spec: str) -> str:
    """Same calls as modelkit.assets.cli.new_ (minus prompt / remote sources)."""
    from modelkit.assets.settings import AssetSpec

    spec = AssetSpec.from_string(asset_spec)
    version = spec.versioning.get_initial_version()
    provider.new(asset_path, spec.name, version, False)
    return version


def _cli_update(provider, asset_path: str, asset_spec: str, bump_major: bool) -> str:
    """Same calls as modelkit.assets.cli.update_ (minus prompt / remote sources)."""
    from modelkit.assets.settings import AssetSpec

    spec = AssetSpec.from_string(asset_spec, versioning="major_minor")
    version_list = provider.get_versions_info(spec.name)
    update_params = spec.versioning.get_update_cli_params(
        version=spec.version, version_list=version_list, bump_major=bump_major
    )
    new_version = spec.versioning.increment_version(
        spec.sort_versions(version_list), update_params["params"]
    )
    provider.update(asset_path, name=spec.name, version=new_version, dry_run=False)
    return new_version


def build(store_dir: str) -> None:
    from modelkit.assets.remote import StorageProvider

    os.makedirs(store_dir, exist_ok=True)
    build_with(StorageProvider(provider="local", bucket=os.path.abspath(store_dir), prefix=PREFIX))


def build_with(provider) -> None:
    """The reference assets, pushed through ``provider`` (any of modelkit's stores)."""
    with tempfile.TemporaryDirectory() as tmp:
        # --- file asset: category/vocab 0.0, 0.1, 1.0
        pushed = []
        for i, (want, content) in enumerate(VOCAB_VERSIONS.items()):
            src = os.path.join(tmp, f"vocab-{want}.txt")
            with open(src, "wb") as f:
                f.write(content)
            if i == 0:
                got = _cli_new(provider, src, "category/vocab")
            else:
                got = _cli_update(provider, src, "category/vocab", bump_major=(want == "1.0"))
            if got != want:
                raise RuntimeError(f"modelkit assigned version {got}, expected {want}")
            pushed.append(got)

        # --- directory asset: models/tiny 0.0
        src_dir = os.path.join(tmp, "tiny")
        for rel, data in TINY_FILES.items():
            p = os.path.join(src_dir, *rel.split("/"))
            os.makedirs(os.path.dirname(p), exist_ok=True)
            with open(p, "wb") as f:
                f.write(data)
        got = _cli_new(provider, src_dir, "models/tiny")
        if got != "0.0":
            raise RuntimeError(f"modelkit assigned version {got}, expected 0.0")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("store_dir", help="bucket directory (store root = <dir>/modelkit-assets)")
    ap.add_argument("--expected", help="write expected sha256 JSON to this path")
    ap.add_argument(
        "--overwrite",
        action="store_true",
        help="delete an existing <store_dir>/modelkit-assets first",
    )
    ap.add_argument(
        "--az",
        action="store_true",
        help="store_dir is an Azure container, reached with AZURE_STORAGE_CONNECTION_STRING "
        "through modelkit's Azure provider (tests/test_modelkit_compat.py, on Azurite)",
    )
    args = ap.parse_args(argv)
    if args.az:
        from modelkit.assets.remote import StorageProvider

        with contextlib.redirect_stdout(sys.stderr):
            build_with(StorageProvider(provider="az", bucket=args.store_dir, prefix=PREFIX))
        print(f"wrote {len(expected_hashes())} objects under {args.store_dir}/{PREFIX}")
        return 0

    root = os.path.join(args.store_dir, PREFIX)
    if os.path.exists(root):
        if not args.overwrite:
            ap.error(f"{root} exists (use --overwrite)")
        shutil.rmtree(root)

    # modelkit logs through an unconfigured structlog (prints to stdout): keep
    # stdout clean by sending it to stderr while modelkit runs.
    with contextlib.redirect_stdout(sys.stderr):
        build(args.store_dir)

    if args.expected:
        with open(args.expected, "w", encoding="utf-8") as f:
            json.dump(expected_hashes(), f, indent=2, sort_keys=True)
            f.write("\n")

    # sanity check: bytes on disk are what we meant to push
    exp = expected_hashes()
    for key, digest in exp.items():
        name, rest = key.split(":", 1)
        if "[" in rest:
            version, rel = rest[:-1].split("[", 1)
            path = os.path.join(root, *name.split("/"), version, *rel.split("/"))
        else:
            path = os.path.join(root, *name.split("/"), rest)
        with open(path, "rb") as f:
            if sha256(f.read()) != digest:
                raise RuntimeError(f"unexpected content at {path}")
    print(f"wrote {len(exp)} objects under {root}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
