"""Progress bars for pushes and downloads: tqdm's auto form renders in Jupyter and terminals."""

from __future__ import annotations

from typing import Any


class FileProgress:
    """Counts finished files; also usable as an fsspec callback for bulk get/put."""

    def __init__(self, enabled: bool, label: str, total: int, *, unit: str = "file") -> None:
        self.bar: Any = None
        if enabled and total:
            from tqdm.auto import tqdm

            self.bar = tqdm(total=total, desc=label, unit=unit, leave=False)

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
