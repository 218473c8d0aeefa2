"""The example project's shared fixture: tests ask for what they need, not for file paths."""

from __future__ import annotations

import demo_models
import pytest

from pytest_assets.modelkit import library_fixture

# modelkit's auto test (tests/test_models.py) runs the models' TEST_CASES on this library.
testing_model_library = library_fixture(models=demo_models)


@pytest.fixture
def labels(asset):
    """The model's labels, from the same version the production model loads."""
    return asset("demo/tiny-model:0[labels/labels.txt]").read_text().split()
