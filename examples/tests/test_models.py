"""The production models on the files the other tests read: modelkit's own TEST_CASES (its auto
test, over the ``testing_model_library`` fixture of conftest.py), and a test of our own."""

import demo_models
from modelkit.testing import modellibrary_auto_test

modellibrary_auto_test(models=demo_models)


def test_the_classifier_loads_the_labels_the_tests_read(model_library, labels):
    classifier = model_library(models=demo_models).get("classifier")
    assert [classifier(index)["label"] for index in range(len(labels))] == labels
    assert classifier.layers == 2
