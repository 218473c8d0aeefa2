"""``%load_ext ipython_ext``: the ``%asset`` magic, the notebook face of pytest-assets.

``path = %asset test/asset:1`` returns the same verified file the tests get, resolved with the
same configuration (environment, then the pytest ini file found from the working directory).
The extension is glue: the behaviour lives in :class:`pytest_assets.Assets`.
"""

from __future__ import annotations

import warnings
from typing import Any

from .completion import AssetCompleter
from .magic import AssetMagics, Session

__all__ = ["AssetCompleter", "AssetMagics", "Session", "load_ipython_extension"]


def _quiet_tqdm() -> None:
    """Import tqdm.auto without its "IProgress not found" warning.

    In a kernel without ipywidgets tqdm.auto falls back to text bars, which Jupyter renders
    well enough; the warning would otherwise land in the first downloading cell's output.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="IProgress not found")
        import tqdm.auto  # noqa: F401


def load_ipython_extension(ipython: Any) -> None:
    _quiet_tqdm()
    magics = AssetMagics(ipython)
    ipython.register_magics(magics)
    ipython.Completer.custom_matchers.append(AssetCompleter(magics.session))


def unload_ipython_extension(ipython: Any) -> None:
    """Remove the magic and the completer, so ``%reload_ext`` starts a fresh session."""
    manager = ipython.magics_manager
    manager.registry.pop(AssetMagics.__name__, None)
    manager.magics["line"].pop("asset", None)
    matchers = ipython.Completer.custom_matchers
    ours = AssetCompleter.matcher_identifier
    matchers[:] = [m for m in matchers if getattr(m, "matcher_identifier", None) != ours]
