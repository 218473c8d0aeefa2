"""Progress bars for pushes and downloads: tqdm's auto form renders in Jupyter and terminals.

Small files count as files; big ones (fetched by :mod:`ranged`) as bytes, with rate and ETA.
"""

from __future__ import annotations

import sys
import threading
from typing import Any


class _Bar:
    """One tqdm bar, or nothing when progress is off; in a notebook the widget is shown in an
    output that is emptied at close."""

    def __init__(self, enabled: bool, label: str, total: int, **options: Any) -> None:
        self.bar: Any = None
        self._shown: Any = None  # the notebook output holding the widget, emptied at close
        if enabled and total:
            from tqdm.auto import tqdm

            if _is_widget(tqdm):
                self.bar = tqdm(total=total, desc=label, leave=False, display=False, **options)
                self._shown = _display(self.bar)
            else:
                self.bar = tqdm(total=total, desc=label, leave=False, **options)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None
        if self._shown is not None:
            # A headless run (nbclient, papermill) saves the widget's text form as it was
            # first shown, "0%| 0/2"; emptying the output leaves nothing, as leave=False
            # means in a live notebook.
            self._shown.update({"text/plain": ""}, raw=True)
            self._shown = None


class FileProgress(_Bar):
    """Counts finished files; also usable as an fsspec callback for bulk get/put."""

    def __init__(self, enabled: bool, label: str, total: int) -> None:
        super().__init__(enabled, label, total, unit="file")

    def advance(self, count: int = 1) -> None:
        if self.bar is not None:
            self.bar.update(count)

    def fsspec_callback(self) -> Any:
        if self.bar is None:
            return None
        from fsspec.callbacks import Callback

        progress = self

        class _Callback(Callback):  # type: ignore[misc]
            def call(self, *args: Any, **kwargs: Any) -> None:
                if progress.bar is not None:
                    progress.bar.n = self.value
                    progress.bar.refresh()

        return _Callback()


class ByteProgress(_Bar):
    """Counts bytes, with rate and ETA: big files, whose minutes a file count would hide."""

    def __init__(self, enabled: bool, label: str, total: int) -> None:
        super().__init__(enabled, label, total, unit="B", unit_scale=True, unit_divisor=1024)
        self._lock = threading.Lock()  # hashing threads report kept bytes, the loop new ones

    def advance(self, count: int) -> None:
        if self.bar is not None:
            with self._lock:
                self.bar.update(count)


def _is_widget(cls: type) -> bool:
    """tqdm.auto chose the ipywidgets bar (a kernel with ipywidgets installed)."""
    notebook = sys.modules.get("tqdm.notebook")
    return notebook is not None and issubclass(cls, notebook.tqdm_notebook)


def _display(bar: Any) -> Any:
    """Show the widget in an output we can replace later (tqdm's own display keeps no id)."""
    from IPython.display import display

    handle = display(bar.container, display_id=True)  # type: ignore[no-untyped-call]
    bar.displayed = True
    return handle
