"""A directory asset, pinned to an exact version, read a file at a time."""

import json


def test_model_config_matches_labels(asset, labels):
    config = json.loads(asset("demo/tiny-model:0.0[config.json]").read_text())
    assert config["layers"] == 2
    assert labels == ["cat", "dog"]
