"""The rule for a ``.meta``'s relative paths is one regular expression (a fetch asks it for
every file); it refuses exactly what the plain rule refuses, on drawn paths."""

from __future__ import annotations

from hypothesis import example, given
from hypothesis import strategies as st

from pytest_assets.manifest import unsafe_relpath


def plain_rule(rel: str) -> bool:
    return (
        rel.startswith("/")
        or "\\" in rel
        or (len(rel) > 1 and rel[1] == ":")
        or any(part in ("", ".", "..") for part in rel.split("/"))
        or any(ord(ch) < 32 or ord(ch) == 127 for ch in rel)
    )


@given(st.text(alphabet=st.sampled_from(["a", "é", ".", "/", ":", "\\", "\n", "\x7f", "\x00"])))
@example("")
@example("a/b.txt")
@example("a/../b")
@example("./a")
@example("a/.")
@example("a//b")
@example("a/")
@example("c:x")
@example("...")
@example("a/\n")
@example(".a/b..")
def test_the_relpath_rule_refuses_what_the_plain_rule_refuses(rel: str) -> None:
    assert unsafe_relpath(rel) == plain_rule(rel)
