"""Progress bars for pushes and downloads: tqdm's auto form renders in Jupyter and terminals.

Small files count as files; big ones (fetched by :mod:`ranged`) as bytes, with rate and ETA.
"""

from __future__ import annotations

import threading
from typing import Any


class FileProgress:
    """Counts finished files; also usable as an fsspec callback for bulk get/put."""

    def __init__(self, enabled: bool, label: str, total: int) -> None:
        self.bar: Any = None
        if enabled and total:
            from tqdm.auto import tqdm

            self.bar = tqdm(total=total, desc=label, unit="file", leave=False)

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

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


class ByteProgress:
    """Counts bytes, with rate and ETA: big files, whose minutes a file count would hide."""

    def __init__(self, enabled: bool, label: str, total: int) -> None:
        self.bar: Any = None
        self._lock = threading.Lock()  # hashing threads report kept bytes, the loop new ones
        if enabled and total:
            from tqdm.auto import tqdm

            self.bar = tqdm(
                total=total, desc=label, unit="B", unit_scale=True, unit_divisor=1024, leave=False
            )

    def advance(self, count: int) -> None:
        if self.bar is not None:
            with self._lock:
                self.bar.update(count)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None
