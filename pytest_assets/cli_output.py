"""What the command line prints for its commands: the core's results as lines, and the exit
code they mean. Only presentation: every rule is in the core (``cli.py`` parses and dispatches).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, TextIO

from .display import human_size, meta_rows, plural
from .errors import ConfigError
from .faces import CLI
from .lock_report import outdated as outdated_pins
from .push_reuse import headline
from .redact import redact_url

if TYPE_CHECKING:
    from .assets import PushReport
    from .cache_usage import VersionUsage


def cache_rows(usages: Sequence[VersionUsage], out: TextIO) -> None:
    """``cache ls``: one tab-separated line per version (its path says which cache holds it)."""
    for used in usages:
        shared = f" ({human_size(used.shared)} shared)" if used.shared else ""
        print(f"{used.label}\t{human_size(used.apparent) + shared}\t{used.entry.path}", file=out)


def verify(assets: Any, spec: str | None, repair: bool) -> int:
    """Print every finding; exit 1 while a damaged version is left in the cache."""
    problems = assets.verify(spec, repair=repair)
    for problem in problems:
        print(problem, file=sys.stdout)
    in_tiers = sorted({p.tier for p in problems if p.tier is not None and p.kind == "damaged"})
    if in_tiers:
        print(
            f"damaged copies in the read-only shared cache(s) {', '.join(in_tiers)}: they are "
            "skipped, never used; rebuild those caches (pytest-assets sync into a new one)",
            file=sys.stderr,
        )
    problems = [p for p in problems if p.tier is None]
    if in_tiers and not problems:
        return 1
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


def sync(assets: Any, specs: list[str], last_run: bool, dry_run: bool, progress: bool) -> int:
    """A dry run lists each version; the summary on stdout, failures on stderr (exit 1)."""
    from .sync import sync, sync_specs

    report = sync(
        assets, sync_specs(assets, specs, last_run=last_run), dry_run=dry_run, progress=progress
    )
    if dry_run:
        for item in report.items:
            if item.version is not None:
                size = "?" if item.size is None else human_size(item.size)
                print(f"{item.label}\t{size}\t{item.status}")
    print(report.summary())
    if not report.failures:
        return 0
    print(
        f"pytest-assets: error: {plural(len(report.failures), 'spec')} failed to sync:",
        file=sys.stderr,
    )
    for item in report.failures:
        print(f"  {item.label}: {item.error}", file=sys.stderr)
    return 1


def print_push(report: PushReport, source_name: str) -> None:
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


def copy(assets: Any, source: str, target: str, names: list[str]) -> None:
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


def outdated(assets: Any, check: bool) -> int:
    behind = outdated_pins(assets)
    for entry in behind:
        print(f"{entry.key}: {entry.pinned} pinned, {entry.newest} is the newest")
    if not behind:
        print(f"{assets.pins.path}: every entry is at the newest version")
    return 1 if behind and check else 0


def lock(assets: Any, specs: list[str], upgrade: bool, dry_run: bool) -> None:
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


def print_info(data: dict[str, Any]) -> None:
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
