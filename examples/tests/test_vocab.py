"""A file asset: ``demo/vocab:0`` is the newest 0.x version in the store."""


def test_vocabulary_holds_the_fox(asset):
    words = asset("demo/vocab:0").read_text().split()
    assert "fox" in words
