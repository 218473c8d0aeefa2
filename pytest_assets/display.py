"""Small formatting shared by the command line and the notebook views."""

from __future__ import annotations


def human_size(size: int) -> str:
    """Bytes as people read them: 512 B, 1.5 KB, 3.2 MB, 1.1 GB."""
    value = float(size)
    for unit in ("B", "KB", "MB"):
        if value < 1024:
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GB"
