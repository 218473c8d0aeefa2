"""Session-scoped fixtures use ``assets.fetch`` (``asset`` is per test): it must see what
``asset()`` sees, ``--assets-override`` included, so one run never mixes the two."""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]


def test_assets_fetch_in_a_session_fixture_honours_assets_override(
    pytester: pytest.Pytester,
) -> None:
    pytester.makeini("[pytest]\nassets_dir = cache\n")  # no store: an override needs none
    draft = pytester.path / "draft.txt"
    draft.write_text("draft words\n")
    pytester.makepyfile(
        """
        import pytest

        @pytest.fixture(scope="session")
        def vocab(assets):
            return assets.fetch("demo/vocab:0")

        def test_both_see_the_override(vocab, asset):
            assert vocab == asset("demo/vocab") == vocab.parent / "draft.txt"
        """
    )
    result = pytester.runpytest("-p", "no:randomly", "--assets-override", "demo/vocab=draft.txt")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines([f"demo/vocab:0 -> OVERRIDDEN by {draft} (not the store)"])
