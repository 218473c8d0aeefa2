"""Production modelkit models, as a team ships them: each names its asset in ``CONFIGURATIONS``
and reads ``self.asset_path`` in ``_load``. The example tests (tests/test_models.py) run them on
pytest-assets' verified files, at the versions ``assets.lock`` pins."""

# modelkit reads its models' settings from these (mutable) class attributes.
# ruff: noqa: RUF012

from __future__ import annotations

import json
from pathlib import Path

from modelkit import Model


class Vocabulary(Model):
    """Whether a word is in the vocabulary."""

    CONFIGURATIONS = {"vocabulary": {"asset": "demo/vocab:0"}}
    # The lock pins demo/vocab:0 at 0.1 ("jumps" added); the demo pushes 0.2 ("over") later.
    TEST_CASES = [
        {"item": "fox", "result": True},
        {"item": "jumps", "result": True},
        {"item": "over", "result": False},
    ]

    def _load(self) -> None:
        self.words = set(Path(self.asset_path).read_text().split())

    def _predict(self, item: str) -> bool:
        return item in self.words


class Classifier(Model):
    """The label of a class index, from the tiny model's folder; says whether the label is a
    word of the vocabulary (a dependency: its asset is resolved too)."""

    CONFIGURATIONS = {
        "classifier": {"asset": "demo/tiny-model:0", "model_dependencies": ["vocabulary"]}
    }
    TEST_CASES = [{"item": 1, "result": {"label": "dog", "known": False}}]

    def _load(self) -> None:
        folder = Path(self.asset_path)
        self.layers = json.loads((folder / "config.json").read_text())["layers"]
        self.labels = (folder / "labels" / "labels.txt").read_text().split()

    def _predict(self, item: int) -> dict[str, object]:
        label = self.labels[item]
        return {"label": label, "known": self.model_dependencies["vocabulary"](label)}
