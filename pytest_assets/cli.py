"""``pytest-assets``: push, inspect and fetch assets from a shell.

Translates arguments into calls on :class:`Assets`, nothing more. Exit 0 on success, 1 on any
asset error (one line on stderr, no traceback), 2 on wrong usage (argparse's own rule).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import __version__
from .display import human_size, meta_rows, plural
from .errors import AssetsError, ConfigError
from .faces import CLI
from .lock_report import outdated
from .push_reuse import headline
from .redact import redact_url
from .version_table import version_rows

if TYPE_CHECKING:
    from .assets import PushReport


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

    copy = commands.add_parser(
        "copy",
        help="copy assets between stores, every version as it is (numbers, .meta); "
        "create-only, run it again to resume",
    )
    copy.add_argument("--from", dest="source", required=True, metavar="URL", help="store to read")
    copy.add_argument("--to", dest="target", required=True, metavar="URL", help="store to write")
    copy.add_argument("names", nargs="*", metavar="NAME", help="assets to copy (default: all)")

    cache = commands.add_parser("cache", help="inspect or prune the local cache")
    cache_commands = cache.add_subparsers(dest="cache_command", required=True, metavar="ACTION")
    cache_commands.add_parser("ls", help="cached versions with sizes")
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

    progress = sys.stderr.isatty()
    assets = Assets.from_config(
        store=args.store,
        cache_dir=args.cache_dir,
        offline=args.offline,
        storage_options=args.storage_options,
        argument_source="command line",
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
        _print_push(report, Path(args.path).name)
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
            _print_info(data)
    elif args.command == "ls":
        for name in assets.names(args.prefix):
            print(name, file=out)
    elif args.command == "verify":
        return _verify(assets, args.spec, args.repair)
    elif args.command == "lock" and args.outdated:
        return _outdated(assets, args.check)
    elif args.command == "lock":
        _lock(assets, args.specs, args.upgrade, args.dry_run)
    elif args.command == "copy":
        _copy(assets, args.source, args.target, args.names)
    elif args.command == "cache":
        if args.cache_command == "ls":
            from .cache_usage import listing, summary  # with Assets: not for --help

            usages, total = listing(assets.cached())
            for used in usages:
                shared = f" ({human_size(used.shared)} shared)" if used.shared else ""
                size = human_size(used.apparent) + shared
                print(f"{used.label}\t{size}\t{used.entry.path}", file=out)
            print(summary(total, len(usages)), file=out)
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


def _verify(assets: Any, spec: str | None, repair: bool) -> int:
    """Print every finding; exit 1 while a damaged version is left in the cache."""
    problems = assets.verify(spec, repair=repair)
    for problem in problems:
        print(problem, file=sys.stdout)
    damaged = [p for p in problems if p.kind == "damaged" and not p.repaired]
    extras = [p for p in problems if p.kind == "extra" and not p.repaired]
    modes = [p for p in problems if p.kind == "mode" and not p.repaired]
    if damaged:
        versions = len({(p.name, p.version) for p in damaged})
        if assets.offline:
            step = "turn offline mode off and run pytest-assets verify --repair"
        elif assets.store_url is None:  # another store's copies: only that store mends them
            step = "set the store they came from (--store, ASSETS_STORE) and run verify --repair"
        elif repair:
            step = "downloading them again failed (see above): check the store, then run "
            step += "pytest-assets verify --repair again"
        else:
            step = "run pytest-assets verify --repair to download them again"
        print(
            f"{len(damaged)} problem(s) in the cache, in {versions} version(s), left as they "
            f"are; {step}",
            file=sys.stderr,
        )
        return 1
    if extras:
        print(
            f"{len(extras)} file(s) or folder(s) not part of their version (a test writing "
            "into its asset?); the versions themselves are intact; verify --repair removes them",
            file=sys.stderr,
        )
    if modes:
        print(
            f"{len(modes)} file(s) or folder(s) no longer read-only (or that lost their execute "
            "bit); their bytes are intact; verify --repair restores the modes",
            file=sys.stderr,
        )
    if not problems:
        where = f"cache {assets.cache.directory}"
        if assets.store_url is not None:  # only this store's copies were checked
            where = f"the copies of store {redact_url(assets.store_url)} in {where}"
        if not assets.cached(spec):  # "clean" would claim a check that did not happen
            what = f"no version of {spec} is" if spec else "no version is"
            print(f"nothing to check: {what} in {where}", file=sys.stdout)
        else:
            print(f"{where} {'are' if assets.store_url else 'is'} clean", file=sys.stdout)
    return 0


def _print_push(report: PushReport, source_name: str) -> None:
    """One line naming the version and the store; a dry run then lists the files."""
    print(headline(report))
    if not report.identical:
        for line in report.reuse.lines if report.reuse else ():
            print(f"  {line}")
    if not report.dry_run:
        return
    for entry in report.files:
        print(f"  {entry.path or source_name}\t{human_size(entry.size or 0)}")
    print(f"{plural(len(report.files), 'file')}, {human_size(report.total_size)}")
    if report.ignored:
        shown = ", ".join(report.ignored[:10])
        more = f" and {len(report.ignored) - 10} more" if report.ignored[10:] else ""
        print(f"left out by the ignore rules: {len(report.ignored)} ({shown}{more})")


def _copy(assets: Any, source: str, target: str, names: list[str]) -> None:
    from .catalog import Catalog
    from .copying import copy_assets
    from .store import Store

    def catalog(url: str) -> Catalog:
        store = Store(url, assets.storage_options, offline_hint=CLI.offline)
        return Catalog(store, assets.versioning, assets.versioning_name)

    src, dst = catalog(source), catalog(target)
    report = copy_assets(src, dst, names, lambda line: print(line, flush=True))
    print(
        f"{plural(len(report.copied), 'version')} copied from {src.store.display_url} to "
        f"{dst.store.display_url}; {len(report.present)} already there"
        + (f"; {len(report.skipped)} listed without a .meta, left out" if report.skipped else "")
    )


def _outdated(assets: Any, check: bool) -> int:
    behind = outdated(assets)
    for entry in behind:
        print(f"{entry.key}: {entry.pinned} pinned, {entry.newest} is the newest")
    if not behind:
        print(f"{assets.pins.path}: every entry is at the newest version")
    return 1 if behind and check else 0


def _lock(assets: Any, specs: list[str], upgrade: bool, dry_run: bool) -> None:
    if dry_run and not upgrade:
        raise ConfigError("lock --dry-run goes with --upgrade (lock --upgrade --dry-run)")
    if upgrade:
        changes = assets.update_lock(upgrade=True, names=specs or None, dry_run=dry_run)
    else:
        chosen = specs or assets.pins.remembered_specs()
        if not chosen:
            raise ConfigError(
                "no specs to lock: name them (pytest-assets lock vocab:1 ...), or run pytest "
                "once so its partial specs are remembered, or use pytest --assets-lock"
            )
        changes = assets.update_lock(chosen)
    for key, old, new in changes:
        print(
            f"{key}: {old or '(new)'} -> {new}"
            if old != new
            else f"{key}: {new} (metadata hash changed)"
        )
    if not changes:
        print(f"{assets.pins.path}: nothing {'would change' if dry_run else 'changed'}")
    else:
        print(f"{'would write' if dry_run else 'wrote'} {assets.pins.path}")


def _print_info(data: dict[str, Any]) -> None:
    """The rows ``%asset --info`` shows, as ``label: value`` lines and tab-separated files."""
    rows = meta_rows(data)
    print(f"name: {rows.name}")
    print(f"version: {rows.version}")
    print(f"kind: {rows.kind}")
    for label, value in rows.fields:
        print(f"{label}: {value}")
    if rows.is_directory:
        print("files:")
        for row in rows.files:
            print("  " + "\t".join(row.cells))
    else:
        (row,) = rows.files
        print(f"size: {row.size}")
        print(f"sha256: {row.sha256}")


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
