"""``pytest-assets``: push, inspect and fetch assets from a shell.

Translates arguments into calls on :class:`Assets`, nothing more. Exit 0 on success, 1 on any
asset error (one line on stderr, no traceback), 2 on wrong usage (argparse's own rule).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import __version__
from . import cli_output as output
from .display import human_size
from .errors import AssetsError
from .faces import CLI
from .version_table import version_rows

if TYPE_CHECKING:
    pass


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pytest-assets",
        description="Versioned, immutable assets in one object store (modelkit's layout).",
    )
    parser.add_argument("--version", action="version", version=f"pytest-assets {__version__}")
    _global_options(parser)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    push = commands.add_parser("push", help="push a file or directory as a new version")
    push.add_argument("path", help="file or directory to push")
    push.add_argument("spec", help="name, name:MAJOR or name:MAJOR.MINOR")
    push.add_argument("--bump-major", action="store_true", help="start a new major version")
    push.add_argument(
        "--dry-run", action="store_true", help="list the files that would be pushed, write nothing"
    )
    push.add_argument(
        "--allow-identical",
        action="store_true",
        help="push a new version even when the newest one holds the same content",
    )
    push.add_argument(
        "--follow-links",
        action="store_true",
        help="push what links leaving the folder point to (refused by default)",
    )

    diff = commands.add_parser(
        "diff", help="files added, removed and changed between two versions (from .meta only)"
    )
    diff.add_argument("old", metavar="NAME:A")
    diff.add_argument("new", metavar="NAME:B")

    versions = commands.add_parser(
        "versions",
        help="list the versions of an asset, newest first: push date, pusher, content hash, "
        "and the assets.lock pin",
    )
    versions.add_argument("name")

    fetch = commands.add_parser("fetch", help="download (if needed) and print the local path")
    fetch.add_argument("spec")

    info = commands.add_parser("info", help="show a version's metadata")
    info.add_argument("spec")
    info.add_argument("--json", action="store_true", help="print JSON")

    ls = commands.add_parser("ls", help="list asset names")
    ls.add_argument("prefix", nargs="?", default="")

    verify = commands.add_parser(
        "verify", help="re-hash cached copies against their metadata (reports, changes nothing)"
    )
    verify.add_argument("spec", nargs="?")
    verify.add_argument(
        "--repair",
        action="store_true",
        help="download damaged versions again and remove files not part of their version",
    )

    lock = commands.add_parser(
        "lock", help="pin partial specs in assets.lock (next to the pytest ini file)"
    )
    lock.add_argument(
        "specs",
        nargs="*",
        metavar="SPEC",
        help="partial specs to lock (default: those the last pytest run used); with --upgrade, "
        "asset names whose entries to move (default: all)",
    )
    lock.add_argument(
        "--upgrade", action="store_true", help="move locked entries to the newest versions"
    )
    lock.add_argument(
        "--dry-run", action="store_true", help="with --upgrade: say what would move, write nothing"
    )
    lock.add_argument(
        "--outdated", action="store_true", help="list entries behind the newest version"
    )
    lock.add_argument(
        "--check", action="store_true", help="with --outdated: exit 1 when an entry is behind"
    )
    lock.add_argument(
        "--export",
        choices=["modelkit-env"],
        help="print the pins for a deployment instead (modelkit-env: MODELKIT_{NAME}_VERSION=...)",
    )
    lock.add_argument(
        "-o", "--output", metavar="FILE", help="with --export: write to FILE instead of stdout"
    )

    copy = commands.add_parser(
        "copy",
        help="copy assets between stores, every version as it is (numbers, .meta); "
        "create-only, run it again to resume",
    )
    copy.add_argument("--from", dest="source", required=True, metavar="URL", help="store to read")
    copy.add_argument("--to", dest="target", required=True, metavar="URL", help="store to write")
    copy.add_argument("names", nargs="*", metavar="NAME", help="assets to copy (default: all)")

    sync = commands.add_parser(
        "sync", help="fetch every version assets.lock pins (or SPECs) in one parallel pass"
    )
    sync.add_argument(
        "specs", nargs="*", metavar="SPEC", help="specs to fetch (default: every assets.lock entry)"
    )
    sync.add_argument("--lock", metavar="FILE", help="the lock file (default: assets.lock)")
    sync.add_argument(
        "--last-run", action="store_true", help="the specs the last pytest run used, too"
    )
    sync.add_argument(
        "--dry-run",
        action="store_true",
        help="list what would be fetched with sizes; fetch nothing",
    )

    cache = commands.add_parser("cache", help="inspect or prune the local cache")
    cache_commands = cache.add_subparsers(dest="cache_command", required=True, metavar="ACTION")
    cache_commands.add_parser("ls", help="cached versions with sizes")
    key = cache_commands.add_parser(
        "key", help="a CI cache key made of assets.lock's pins (the same in every checkout)"
    )
    key.add_argument("--lock", metavar="FILE", help="the lock file (default: assets.lock)")
    prune = cache_commands.add_parser(
        "prune", help="keep the newest N versions of each asset and those assets.lock pins"
    )
    prune.add_argument(
        "--keep",
        type=_non_negative,
        default=1,
        metavar="N",
        help="newest versions of each asset to keep (default: %(default)s)",
    )
    prune.add_argument(
        "--include-pinned",
        action="store_true",
        help="remove versions pinned in assets.lock too (kept by default)",
    )
    prune.add_argument("--dry-run", action="store_true", help="say what would be removed")
    for sub in [*commands.choices.values(), *cache_commands.choices.values()]:
        _global_options(sub, after_command=True)
    return parser


def _global_options(parser: argparse.ArgumentParser, after_command: bool = False) -> None:
    """The settings, before the command or after it (``fetch x --store y``); given after, they
    have no default of their own, so one given before is kept."""
    unset: dict[str, Any] = {"default": argparse.SUPPRESS} if after_command else {}
    parser.add_argument("--store", help="store URL (gs://, s3://, memory://, a directory)", **unset)
    parser.add_argument("--cache-dir", help="local cache directory (ASSETS_DIR)", **unset)
    parser.add_argument(
        "--offline",
        action="store_true",
        help="never contact the store",
        **(unset or {"default": None}),
    )
    parser.add_argument(
        "--storage-option",
        dest="late_storage_options" if after_command else "storage_options",  # added up
        action="append",
        metavar="KEY=VALUE",
        help="an fsspec option of the store (repeatable), e.g. "
        "client_kwargs.endpoint_url=http://localhost:9000; over the assets_storage_options ini key",
        **unset,
    )


def _non_negative(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 0:
        raise argparse.ArgumentTypeError("must be 0 or more")
    return value


def _run(args: argparse.Namespace) -> int:
    from .assets import Assets
    from .config import load_config

    progress = sys.stderr.isatty()
    config = load_config(
        store=args.store,
        cache_dir=args.cache_dir,
        offline=args.offline,
        storage_options=args.storage_options,
        argument_source="command line",
    )
    if getattr(args, "lock", None):
        config = dataclasses.replace(config, lock_file=Path(args.lock).absolute())
    assets = Assets.from_loaded(
        config,
        face=CLI,
        progress=progress,
        notify=lambda message: print(message, file=sys.stderr),
    )
    out = sys.stdout
    if args.command == "push":
        report = assets.push_report(
            Path(args.path),
            args.spec,
            bump_major=args.bump_major,
            dry_run=args.dry_run,
            allow_identical=args.allow_identical,
            follow_links=args.follow_links,
        )
        output.print_push(report, Path(args.path).name)
    elif args.command == "diff":
        print(assets.diff(args.old, args.new).text(assets.parse(args.old).name), file=out)
    elif args.command == "versions":
        for row in version_rows(assets, args.name):
            pinned = f"\tpinned in {assets.pins.path} ({', '.join(row.pinned_by)})"
            print(
                f"{row.version}\t{row.pushed}\t{row.pushed_by}\tsha256:{row.content}"
                + (pinned if row.pinned_by else ""),
                file=out,
            )
    elif args.command == "fetch":
        print(assets.fetch(args.spec), file=out)
    elif args.command == "info":
        data = assets.info(args.spec)
        if args.json:
            print(json.dumps(data, indent=2, sort_keys=True, default=str), file=out)
        else:
            output.print_info(data)
    elif args.command == "ls":
        for name in assets.names(args.prefix):
            print(name, file=out)
    elif args.command == "verify":
        return output.verify(assets, args.spec, args.repair)
    elif args.command == "lock" and args.outdated:
        return output.outdated(assets, args.check)
    elif args.command == "lock":
        if args.export:
            from .modelkit_env import export_pins

            export_pins(assets.pins, args.output, out)
        else:
            output.lock(assets, args.specs, args.upgrade, args.dry_run)
    elif args.command == "copy":
        output.copy(assets, args.source, args.target, args.names)
    elif args.command == "sync":
        return output.sync(assets, args.specs, args.last_run, args.dry_run, progress)
    elif args.command == "cache":
        if args.cache_command == "key":
            from .cache_key import cache_key

            assert assets.pins.path is not None  # the loader always places assets.lock
            print(cache_key(assets.pins.path), file=out)
        elif args.cache_command == "ls":
            from .cache_usage import listing, summary  # with Assets: not for --help

            usages, total = listing(assets.cached())
            output.cache_rows(usages, out)
            print(summary(total, len(usages)), file=out)
            for tier, entries in assets.tiers.listed(assets.versioning, None):
                usages, total = listing(entries)
                output.cache_rows(usages, out)
                print(f"shared cache {tier} (read-only): {summary(total, len(usages))}", file=out)
        else:
            pruned = assets.prune(
                keep=args.keep, dry_run=args.dry_run, include_pinned=args.include_pinned
            )
            verb = "would remove" if args.dry_run else "removed"
            for entry in pruned.removed:
                print(f"{verb} {entry.name}:{entry.version} ({human_size(entry.size)})", file=out)
            for entry in pruned.pinned:
                print(
                    f"kept {entry.name}:{entry.version} ({human_size(entry.size)}): pinned in "
                    f"{assets.pins.path} (--include-pinned removes it)",
                    file=out,
                )
    return 0


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The command line as ``main`` reads it; storage options given after the command are
    added to those given before it (the other settings: the later one wins)."""
    args = _parser().parse_args(argv)
    late = getattr(args, "late_storage_options", None) or []
    if late:
        args.storage_options = [*(args.storage_options or []), *late]
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        code = _run(args)
        sys.stdout.flush()  # here, so a closed pipe is met below rather than at exit
        return code
    except BrokenPipeError:  # ``ls | head -1``: the reader has what it wanted
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # the flush at exit would fail again
        os.close(devnull)
        return 0
    except AssetsError as exc:
        print(f"pytest-assets: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("pytest-assets: interrupted; nothing partial was kept", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
