"""What pytest 7 answers differently from pytest 8 and later, in one place.

pytest 7 ignores ``addini(..., default=None)``: a key the ini file leaves out reads as ``""``
(or ``[]`` for a typed key), the same as ``assets_store =`` written empty. The plugin must tell
the two apart (an empty store is refused, a missing one falls through to the defaults).
"""

from __future__ import annotations

from typing import Any

import pytest

_HONOURS_NONE_DEFAULT = int(pytest.version_tuple[0]) >= 8


def getini(config: pytest.Config, key: str) -> Any:
    """``config.getini(key)``, or None when neither the ini file nor ``-o`` sets the key."""
    value = config.getini(key)
    if _HONOURS_NONE_DEFAULT or value not in ("", []):
        return value
    # pytest 7's own records of what the file and -o set (stable private names in 7.x).
    overrides = getattr(config, "_override_ini", ()) or ()
    given = {item.split("=", 1)[0].strip() for item in overrides}
    return value if key in config.inicfg or key in given else None
