"""Tab completion for ``%asset``: asset names from the store, then versions after ``name:``.

A matcher of IPython's v2 API (``Completer.custom_matchers``) rather than the older
``complete_command`` hook: it sees the whole line, so ``path = %asset de<Tab>`` completes too,
and it can silence the file and Python matchers that would otherwise offer unrelated names.
"""

from __future__ import annotations

import re
from typing import Any

from .magic import Session

_LINE = re.compile(r"^\s*(?:[A-Za-z_][\w.]*(?:\s*,\s*[A-Za-z_][\w.]*)*\s*=\s*)?%?asset\s+(.*)$")
_OPTIONS = ("--cache", "--cache-dir", "--info", "--offline", "--online", "--store", "--versions")
_TAKES_PATH = ("--store", "--cache-dir")


class AssetCompleter:
    """Callable matcher bound to one session; the attributes are what IPython looks for."""

    matcher_api_version = 2
    matcher_priority = 1.0  # before the built-in matchers, so ours can silence them
    matcher_identifier = "ipython_ext.asset"

    def __init__(self, session: Session) -> None:
        self.session = session
        self.__qualname__ = self.matcher_identifier  # IPython reads it before the identifier

    def candidates(self, line: str) -> tuple[str, list[str]] | None:
        """The word being typed and its whole-word completions; None if the line is not ours."""
        found = _LINE.match(line)
        if found is None:
            return None
        args = found.group(1)
        words = args.split()
        word = "" if args[-1:].isspace() or not words else words[-1]
        before = words[:-1] if word else words
        previous = before[-1] if before else ""
        if previous in _TAKES_PATH:
            return None  # a URL or a directory: leave it to IPython's file matcher
        if word.startswith("-"):
            return word, [option for option in _OPTIONS if option.startswith(word)]
        if ":" in word and previous != "--versions":
            name, partial = word.split(":", 1)
            if "[" in partial or "/" in partial:
                return word, []  # a sub-part: the store's listing does not go that deep
            versions = self.session.versions(name)
            return word, [f"{name}:{v}" for v in versions if v.startswith(partial)]
        return word, [name for name in self.session.names() if name.startswith(word)]

    def __call__(self, context: Any) -> dict[str, Any]:
        found = self.candidates(context.text_until_cursor)
        if found is None:
            return {"completions": [], "suppress": False}
        from IPython.core.completer import SimpleCompletion

        word, candidates = found
        # IPython replaces only its token, which stops at delimiters such as ':', so each
        # completion starts where the token starts within our word.
        token: str = context.token
        cut = len(word) - len(token) if token and word.endswith(token) else 0
        if not token:
            cut = len(word)
        completions = [SimpleCompletion(c[cut:], type="asset") for c in candidates]
        return {"completions": completions, "suppress": bool(completions), "ordered": True}
