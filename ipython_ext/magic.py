"""The ``%asset`` line magic: the line becomes calls on the session's one ``Assets`` object.

The configuration comes from the core's loader, started in the working directory, so a notebook
sees the environment and the pytest ini file that the repository's tests see. Options only add
explicit settings on top, as ``Assets(...)`` arguments would.
"""

from __future__ import annotations

import os
import shlex
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from IPython.core import magic_arguments as _margs
from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_magic, magics_class

from pytest_assets.assets import Assets
from pytest_assets.cache_usage import listing
from pytest_assets.config import Origin, SettingSource, check_store_value, load_config
from pytest_assets.display import push_date
from pytest_assets.errors import AssetsError
from pytest_assets.faces import MAGIC
from pytest_assets.redact import redact_url
from pytest_assets.storekey import endpoint_in_use, expand_home

from . import push_magic
from .views import CacheView, ConfigView, InfoView, VersionsView, shown_path

# IPython's magic_arguments is untyped; these typed names are the same functions.
_Decorator = Callable[[Callable[..., Any]], Callable[..., Any]]
magic_arguments: Callable[[], _Decorator] = _margs.magic_arguments
argument: Callable[..., _Decorator] = _margs.argument

# The option each explicit setting came from, for "where it came from" in ``%asset``.
_FLAGS = {"store": "--store", "cache_dir": "--cache-dir", "storage_options": "--storage-option"}


def _parse(magic: Any, line: str) -> Any:
    """The line split as a shell splits it (IPython's own split keeps the quotes, so
    ``"my file.txt"`` kept them), then the magic's parser; a spec written across a space
    inside its brackets (``e/space:0[my file.txt]``) is one spec."""
    try:
        words = shlex.split(line)
    except ValueError as exc:  # an unclosed quote
        raise UsageError(f"%asset {line}: {exc}") from None
    args = magic.parser.parse_args(words)
    spec = " ".join(args.spec)
    if len(args.spec) > 1 and not ("[" in args.spec[0] and spec.endswith("]")):
        raise UsageError(f"give one SPEC (got {len(args.spec)}: {spec}); quote one with spaces")
    args.spec = spec or None
    return args


def _one_line(exc: AssetsError) -> AssetsError:
    """The error, shown by IPython as our one line instead of a traceback: raising it stops
    the cell (and "Run all"), rather than returning None for a later cell to trip on."""
    message = shown_path(" ".join(str(exc).split()))
    exc.args = (message,)  # what the notebook saves as the error's value: no absolute paths
    setattr(exc, "_render_traceback_", lambda: [f"asset: {message}"])  # noqa: B010 -- IPython's
    return exc


def _absolute_store(value: str) -> str:
    """A store directory given relative, made absolute now: ``%cd`` must not move it."""
    check_store_value(value, "%asset")  # "s3:/bucket" is a typo, not a folder to anchor
    text = value.strip()
    if "://" in text:
        return value
    return os.path.abspath(expand_home(text, "store", "%asset"))


def _say(message: str) -> None:
    """Core notices (e.g. whom a download waits for) go to stderr, like the CLI's."""
    print(message, file=sys.stderr, flush=True)


class Session:
    """The ``Assets`` of one IPython session plus what its options changed.

    Built on first use, so loading the extension costs nothing and reads no file; kept for the
    session, so "latest" resolves once (the core memoises per object) and completion lists the
    store once. Changing a setting rebuilds it and forgets both.
    """

    def __init__(self) -> None:
        self.overrides: dict[str, Any] = {}
        self._assets: Assets | None = None
        self._names: list[str] | None = None
        self._versions: dict[str, list[str]] = {}

    @property
    def assets(self) -> Assets:
        if self._assets is None:
            config = load_config(os.getcwd(), argument_source="%asset", **self.overrides)
            for key in self.overrides:
                label = f"%asset {self._flag(key)}"
                config = config.with_source(key, SettingSource(Origin.ARGUMENT, label))
            self._assets = Assets.from_loaded(config, progress=True, notify=_say, face=MAGIC)
        return self._assets

    def _flag(self, key: str) -> str:
        if key == "offline":
            return "--offline" if self.overrides[key] else "--online"
        return _FLAGS[key]

    def configure(self, **changes: Any) -> None:
        """Add explicit settings (keeping earlier ones) and start a fresh ``Assets``; a setting
        the loader refuses (a broken store URL, a bad storage option) changes nothing."""
        previous = dict(self.overrides)
        self.overrides.update(changes)
        self._forget()
        try:
            self.assets  # noqa: B018 -- load now, so a refused setting is not kept
        except AssetsError:
            self.overrides = previous
            self._forget()
            raise

    def _forget(self) -> None:
        self._assets = None
        self._names = None
        self._versions.clear()

    def config_view(self) -> ConfigView:
        config = self.assets.config
        assert config is not None  # from_loaded always keeps it
        rows = [
            (key, shown_path(value), shown_path(source)) for key, value, source in config.describe()
        ]
        endpoint = endpoint_in_use(config.store, config.storage_options) if config.store else None
        if endpoint is not None:  # AWS, or a local server? an emulator?
            rows.insert(1, ("endpoint", redact_url(endpoint[0]), endpoint[1]))
        lock = config.lock_file
        if lock is not None:  # partial specs resolve through it: say so, or that there is none
            where = "next to the pytest ini file" if config.ini_file else "working directory"
            value = shown_path(str(lock)) if lock.exists() else f"none ({shown_path(str(lock))})"
            rows.append(("lock", value, where))
        return ConfigView(rows)

    # -- for completion: errors mean "nothing to offer", never a traceback under the cursor --

    def names(self) -> list[str]:
        """Every asset name, listed once per session."""
        if self._names is None:
            try:
                self._names = self.assets.names()
            except AssetsError:
                self._names = []
        return self._names

    def versions(self, name: str) -> list[str]:
        """The versions of ``name`` newest first, read once per name per session."""
        if name not in self._versions:
            try:
                self._versions[name] = self.assets.versions(name)
            except AssetsError:
                self._versions[name] = []
        return self._versions[name]

    def remember_versions(self, name: str, versions: list[str]) -> None:
        self._versions[name] = list(versions)


@magics_class
class AssetMagics(Magics):
    """Holds the session; ``load_ipython_extension`` registers one instance per shell."""

    def __init__(self, shell: Any) -> None:
        super().__init__(shell)
        self.session = Session()

    @magic_arguments()
    @argument("spec", nargs="*", help="asset spec: name[:version][[sub/part]] or name:1.2/sub/part")
    @argument("--versions", metavar="NAME", help="list the versions of NAME, newest first")
    @argument("--info", metavar="SPEC", help="show a version's metadata, files, sizes, hashes")
    @argument("--cache", action="store_true", help="list cached versions, real and apparent sizes")
    @argument("--store", metavar="URL", help="use this store for the rest of the session")
    @argument("--cache-dir", metavar="PATH", help="use this cache for the rest of the session")
    @argument(
        "--storage-option",
        dest="storage_options",
        action="append",
        metavar="KEY=VALUE",
        help="an fsspec option of the store for the rest of the session (repeatable), e.g. "
        "client_kwargs.endpoint_url=http://localhost:9000",
    )
    @argument("--offline", action="store_true", help="never contact the store (cached only)")
    @argument("--online", action="store_true", help="turn offline mode off")
    @argument("--push", metavar="PATH", help="push PATH as a new version of SPEC (name[:major])")
    @argument("--bump-major", action="store_true", help="with --push: start a new major version")
    @argument("--dry-run", action="store_true", help="with --push: show the diff, write nothing")
    @argument("--diff", nargs=2, metavar=("NAME:A", "NAME:B"), help="what changed from A to B")
    @line_magic
    def asset(self, line: str = "") -> Any:
        """Fetch an asset and return its local path, with the configuration the tests use.

        ``path = %asset test/asset:1`` gives the ``pathlib.Path`` of the newest 1.x, downloaded
        once into the verified cache. Without arguments, shows the configuration in force and
        where each setting came from (environment, pytest ini file, option, default).
        An asset error stops the cell with one line saying what to do. The line is split as a
        shell splits it. Tab completes asset names, and versions after ``name:``.
        """
        args = _parse(self.asset, line)
        chosen = [
            flag for flag in ("spec", "versions", "info", "diff", "cache") if getattr(args, flag)
        ]
        if args.push and chosen != ["spec"]:
            raise UsageError("--push PATH takes one SPEC to push to: %asset --push PATH name")
        if len(chosen) > 1 and not args.push:
            raise UsageError(
                f"give one of SPEC, --versions, --info, --diff, --cache (got {', '.join(chosen)})"
            )
        if (args.bump_major or args.dry_run) and not args.push:
            raise UsageError("--bump-major and --dry-run go with --push PATH SPEC")
        if args.offline and args.online:
            raise UsageError("give --offline or --online, not both")
        try:
            return self._run(args)
        except AssetsError as exc:
            raise _one_line(exc) from None

    def _run(self, args: Any) -> Any:
        session = self.session
        changes: dict[str, Any] = {}
        if args.store is not None:
            changes["store"] = _absolute_store(args.store)
        if args.cache_dir is not None:  # an empty one is the loader's to refuse
            cache_dir = args.cache_dir.strip()
            if cache_dir:
                cache_dir = expand_home(cache_dir, "cache directory", "%asset")
            changes["cache_dir"] = cache_dir and Path(cache_dir).absolute()
        if args.offline or args.online:
            changes["offline"] = bool(args.offline)
        if args.storage_options:  # added to the earlier ones, as KEY=VALUE lines
            changes["storage_options"] = [
                *session.overrides.get("storage_options", ()),
                *args.storage_options,
            ]
        if changes:
            session.configure(**changes)
        if args.push:
            return push_magic.push(
                session.assets,
                args.push,
                args.spec,
                bump_major=args.bump_major,
                dry_run=args.dry_run,
                user_ns=self.shell.user_ns if self.shell is not None else {},
            )
        if args.diff:
            return push_magic.diff(session.assets, *args.diff)
        if args.spec:
            return session.assets.fetch(args.spec)
        if args.versions:
            return self._versions(args.versions)
        if args.info:
            return InfoView(session.assets.info(args.info), os.getcwd())
        if args.cache:
            return CacheView(*listing(session.assets.cached()), os.getcwd())
        return session.config_view()

    def _versions(self, name: str) -> VersionsView:
        assets = self.session.assets
        spec = assets.parse(name)
        versions = assets.versions(spec.name)
        self.session.remember_versions(spec.name, versions)

        def dated(version: str) -> tuple[str, str, str]:
            try:
                meta = assets.info(spec.with_version(version))
            except AssetsError:
                return (version, "?", "?")
            return (version, push_date(meta.get("push_date")), str(meta.get("pushed_by", "?")))

        if len(versions) > 1 and not assets.offline:
            assets.store  # noqa: B018 -- build the store once, before threads share it
            with ThreadPoolExecutor(max_workers=8) as pool:
                rows = list(pool.map(dated, versions))
        else:
            rows = [dated(version) for version in versions]
        return VersionsView(spec.name, rows)
