"""The example project's shared fixture: tests ask for what they need, not for file paths."""

from __future__ import annotations

import pytest


@pytest.fixture
def labels(asset):
    """The model's labels, from the same version the production model loads."""
    return asset("demo/tiny-model:0[labels/labels.txt]").read_text().split()
