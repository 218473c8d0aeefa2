"""Production modelkit 0.1.3 models in tests (pytester): the ``model_library`` fixture builds a
real ``ModelLibrary`` whose every asset came through the session's ``assets``, and modelkit's
own ``AssetsManager`` never runs."""

from __future__ import annotations

import json
import re
import shutil
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from pytest_assets.assets import Assets
from pytest_assets.pinfile import Pin, PinFile, meta_hash

pytest_plugins = ["pytester"]

# Imported once here: each in-process inner session would otherwise import modelkit (and its
# pydantic, structlog, redis...) again, since pytester unloads what a run imported.
import modelkit.core.library  # noqa: E402, F401

XDIST = pytest.mark.parametrize("xdist", [[], ["-n", "2"]], ids=["no-xdist", "xdist"])

# Production-style models, as a team writes them: each names its asset and reads asset_path.
MODELS = """
import json
from pathlib import Path

from modelkit import Model


class Vocab(Model):
    CONFIGURATIONS = {"vocab": {"asset": "demo/vocab:0"}}
    TEST_CASES = [{"item": "fox", "result": True}, {"item": "cat", "result": False}]
    loads = 0

    def _load(self):
        type(self).loads += 1
        self.words = Path(self.asset_path).read_text().split()

    def _predict(self, item):
        return item in self.words


class Labels(Model):
    CONFIGURATIONS = {"labels": {"asset": "demo/model:0[labels/labels.txt]"}}
    TEST_CASES = [{"item": "dog", "result": True}]

    def _load(self):
        self.labels = Path(self.asset_path).read_text().split()

    def _predict(self, item):
        return item in self.labels


class Layers(Model):
    CONFIGURATIONS = {"layers": {"asset": "demo/model:0"}}

    def _load(self):
        self.layers = json.loads((Path(self.asset_path) / "config.json").read_text())["layers"]

    def _predict(self, item):
        return self.layers


class Tagger(Model):
    CONFIGURATIONS = {"tagger": {"model_dependencies": ["vocab", "labels"]}}

    def _predict(self, item):
        deps = self.model_dependencies
        return [deps["vocab"](item), deps["labels"](item)]


class Doubler(Model):
    CONFIGURATIONS = {"doubler": {}}

    def _predict(self, item):
        return item * 2
"""


def _push_demo(assets: Assets, src: Path) -> None:
    """demo/vocab 0.0 and 0.1 (files), demo/model 0.0 (a folder with labels/labels.txt)."""
    src.mkdir()
    (src / "vocab.txt").write_text("the quick brown\n")
    assets.push(src / "vocab.txt", "demo/vocab")
    (src / "vocab.txt").write_text("the quick brown fox\n")
    assets.push(src / "vocab.txt", "demo/vocab")
    (src / "model" / "labels").mkdir(parents=True)
    (src / "model" / "config.json").write_text('{"layers": 2}')
    (src / "model" / "labels" / "labels.txt").write_text("cat\ndog\n")
    assets.push(src / "model", "demo/model")


@pytest.fixture
def store(tmp_path: Path) -> Path:
    root = tmp_path / "store"
    root.mkdir()
    _push_demo(Assets(store=str(root), cache_dir=tmp_path / "pusher-cache"), tmp_path / "src")
    return root


@pytest.fixture
def project(pytester: pytest.Pytester, store: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The inner project: the models module, tox.ini naming the store and a cache inside."""
    for key in ("ASSETS_STORE", "ASSETS_DIR", "ASSETS_OFFLINE"):
        monkeypatch.delenv(key, raising=False)
    pytester.makepyfile(mymodels=MODELS)
    pytester.makeini(f"[pytest]\nassets_dir = cache\nassets_store = {store}\n")
    return pytester


def _tests(pytester: pytest.Pytester, body: str) -> None:
    pytester.makepyfile(test_models="import mymodels\n\n" + body)


def _no_traceback(result: pytest.RunResult) -> None:
    text = result.stdout.str()
    assert "Traceback" not in text
    assert "modelkit/" not in text  # no frame of modelkit's


# -- what a model loads --------------------------------------------------------------------------


@XDIST
def test_a_model_reads_its_file_asset_and_the_summary_names_the_model(
    project: pytest.Pytester, xdist: list[str]
) -> None:
    _tests(
        project,
        """
def test_vocab(model_library):
    vocab = model_library(models=mymodels, required_models=["vocab"]).get("vocab")
    assert vocab("fox")
    assert vocab.asset_path.endswith("demo/vocab/0.1")
""",
    )
    result = project.runpytest(*xdist)
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["demo/vocab:0 -> 0.1  content *  (model vocab)"])


def test_a_directory_asset_and_a_sub_part_of_it(project: pytest.Pytester) -> None:
    _tests(
        project,
        """
def test_models(model_library):
    library = model_library(models=mymodels, required_models=["labels", "layers"])
    assert library.get("labels")("dog")
    assert library.get("layers")(None) == 2
""",
    )
    result = project.runpytest()
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        [
            "demo/model:0 * -> 0.0  content *  (model layers)",
            "demo/model:0[[]labels/labels.txt] -> 0.0  content *  (model labels)",
        ]
    )


def test_the_assets_of_a_models_dependencies_are_resolved_too(project: pytest.Pytester) -> None:
    _tests(
        project,
        """
def test_tagger(model_library):
    tagger = model_library(models=mymodels, required_models=["tagger"]).get("tagger")
    assert tagger("fox") == [True, False]
    assert tagger("cat") == [False, True]
""",
    )
    result = project.runpytest()
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*demo/model:0[[]labels/labels.txt] -> 0.0 *(model labels)"])
    result.stdout.fnmatch_lines(["*demo/vocab:0 * -> 0.1 *(model vocab)"])


def test_a_model_without_an_asset_loads_and_resolves_nothing(project: pytest.Pytester) -> None:
    _tests(
        project,
        """
def test_doubler(model_library):
    assert model_library(models=mymodels, required_models=["doubler"]).get("doubler")(2) == 4
""",
    )
    result = project.runpytest()
    result.assert_outcomes(passed=1)
    assert "pytest-assets:" not in result.stdout.str()
    assert not (project.path / "cache").exists()


@XDIST
def test_a_lock_pin_decides_the_version_a_model_loads(
    project: pytest.Pytester, store: Path, xdist: list[str]
) -> None:
    meta = json.loads((store / "demo" / "vocab" / "0.0.meta").read_text())
    PinFile(project.path / "assets.lock", {"demo/vocab:0": Pin("0.0", meta_hash(meta))}).write()
    _tests(
        project,
        """
def test_vocab(model_library):
    vocab = model_library(models=mymodels, required_models=["vocab"]).get("vocab")
    assert not vocab("fox")  # 0.0, while 0.1 is the newest
""",
    )
    result = project.runpytest("--assets-lock-check", *xdist)
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["demo/vocab:0 -> 0.0  content *  (assets.lock)  (model vocab)"])


def test_an_assets_override_reaches_the_model(project: pytest.Pytester) -> None:
    (project.path / "draft.txt").write_text("a draft vocabulary\n")
    _tests(
        project,
        """
def test_vocab(model_library):
    vocab = model_library(models=mymodels, required_models=["vocab"]).get("vocab")
    assert vocab("draft")
""",
    )
    result = project.runpytest("--assets-override", "demo/vocab=draft.txt")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["demo/vocab:0 -> OVERRIDDEN by */draft.txt (not the store)*"])


def test_offline_on_a_warm_cache_loads_every_model_without_the_store(
    project: pytest.Pytester, store: Path
) -> None:
    _tests(
        project,
        """
def test_all(model_library):
    library = model_library(models=mymodels)
    assert library.get("tagger")("fox") == [True, False]
    assert library.get("layers")(None) == 2
""",
    )
    project.runpytest().assert_outcomes(passed=1)
    shutil.move(store, store.with_name("gone"))  # any request now fails
    result = project.runpytest("--assets-offline")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["demo/vocab:0 * -> 0.1 *(model vocab)"])


def test_a_missing_asset_fails_the_test_with_our_one_line(project: pytest.Pytester) -> None:
    _tests(
        project,
        """
def test_missing(model_library):
    configuration = {"ghost": {"model_type": mymodels.Doubler, "asset": "demo/ghost:0"}}
    model_library(configuration=configuration)
""",
    )
    result = project.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*model ghost: *demo/ghost*"])
    _no_traceback(result)


def test_modelkits_assets_manager_makes_no_request_and_no_cache(
    project: pytest.Pytester, store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """modelkit configured on a store of its own with other content: had its AssetsManager
    fetched, the model would read that content and MODELKIT_ASSETS_DIR would fill."""
    bucket = tmp_path / "modelkit-bucket"
    bucket.mkdir()
    theirs = Assets(store=str(bucket / "assets"), cache_dir=tmp_path / "their-cache")
    (tmp_path / "other.txt").write_text("not ours\n")
    theirs.push(tmp_path / "other.txt", "demo/vocab")
    modelkit_dir = tmp_path / "modelkit-dir"
    modelkit_dir.mkdir()
    monkeypatch.setenv("MODELKIT_STORAGE_PROVIDER", "local")
    monkeypatch.setenv("MODELKIT_STORAGE_BUCKET", str(bucket))
    monkeypatch.setenv("MODELKIT_STORAGE_PREFIX", "assets")
    monkeypatch.setenv("MODELKIT_ASSETS_DIR", str(modelkit_dir))
    _tests(
        project,
        """
def test_vocab(model_library):
    vocab = model_library(models=mymodels, required_models=["vocab"]).get("vocab")
    assert vocab("fox") and not vocab("ours")
""",
    )
    # (our loader would take the MODELKIT_STORAGE_* variables for the store, before the ini)
    project.runpytest(f"--assets-store={store}").assert_outcomes(passed=1)
    assert list(modelkit_dir.iterdir()) == []
    assert not (project.path / "demo").exists()  # modelkit's default assets_dir is the cwd
    assert list(project.path.rglob("*.SUCCESS")) == []  # modelkit's download markers


# -- once per session, unless asked ------------------------------------------------------------


def test_the_same_models_asked_twice_load_once_unless_reloaded(project: pytest.Pytester) -> None:
    _tests(
        project,
        """
def test_first(model_library):
    assert model_library(models=mymodels, required_models=["vocab"]).get("vocab")("fox")

def test_again(model_library):
    first = model_library(models=mymodels, required_models=["vocab"])
    assert model_library(models=mymodels, required_models=["vocab"]) is first
    assert mymodels.Vocab.loads == 1

def test_reload(model_library):
    first = model_library(models=mymodels, required_models=["vocab"])
    assert model_library(models=mymodels, required_models=["vocab"], reload=True) is not first
    assert mymodels.Vocab.loads == 2
""",
    )
    project.runpytest("-p", "no:randomly").assert_outcomes(passed=3)


# -- modelkit's TEST_CASES ---------------------------------------------------------------------


def test_modelkits_auto_test_runs_the_test_cases_on_our_library(project: pytest.Pytester) -> None:
    """The README's two lines: a fixture in conftest.py, modelkit's auto test in a test file."""
    project.makeconftest(
        """
        import mymodels
        from pytest_assets.modelkit import library_fixture

        testing_model_library = library_fixture(models=mymodels)
        """
    )
    project.makepyfile(
        test_auto="""
        import mymodels
        from modelkit.testing import modellibrary_auto_test

        modellibrary_auto_test(models=mymodels)
        """
    )
    result = project.runpytest("-v")
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines(["*testing_model_library?vocab-fox-True-kwargs0? PASSED*"])
    result.stdout.fnmatch_lines(["demo/vocab:0 * -> 0.1  content *  (model vocab)"])


# -- modelkit's own settings -------------------------------------------------------------------


def test_modelkit_version_variable_keeps_its_meaning(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MODELKIT_DEMO_VOCAB_VERSION", "0.0")
    _tests(
        project,
        """
def test_vocab(model_library):
    assert not model_library(models=mymodels, required_models=["vocab"]).get("vocab")("fox")
""",
    )
    result = project.runpytest()
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["demo/vocab:0.0 -> 0.0  content *  (model vocab)"])


def test_modelkit_file_variable_keeps_its_meaning_and_is_shown_loudly(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    (project.path / "local.txt").write_text("a local vocabulary\n")
    monkeypatch.setenv("MODELKIT_DEMO_VOCAB_FILE", str(project.path / "local.txt"))
    _tests(
        project,
        """
def test_vocab(model_library):
    assert model_library(models=mymodels, required_models=["vocab"]).get("vocab")("local")
""",
    )
    result = project.runpytest()
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        ["demo/vocab:0 -> OVERRIDDEN by */local.txt (MODELKIT_DEMO_VOCAB_FILE) *(model vocab)"]
    )
    assert not (project.path / "cache").exists()


def test_modelkits_override_assets_dir_is_refused_naming_ours(
    project: pytest.Pytester, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MODELKIT_ASSETS_DIR_OVERRIDE", str(tmp_path))
    _tests(
        project,
        """
def test_vocab(model_library):
    model_library(models=mymodels, required_models=["vocab"])
""",
    )
    result = project.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*override_assets_dir*--assets-override NAME=PATH*"])
    _no_traceback(result)


def test_without_modelkit_the_fixture_says_how_to_install_it(project: pytest.Pytester) -> None:
    project.makeconftest("import sys\n\nsys.modules['modelkit'] = None  # as if not installed\n")
    project.makepyfile(test_models="def test_models(model_library):\n    pass\n")
    result = project.runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        ["modelkit is not installed: pip install pytest-assets[[]modelkit]"]
    )
    _no_traceback(result)


# -- xdist: one download for all workers -------------------------------------------------------


@pytest.mark.servers
def test_xdist_workers_download_each_models_asset_once(
    pytester: pytest.Pytester, s3_server: Any, s3_store: Any, tmp_path: Path
) -> None:
    url: str = s3_store.url
    options: dict[str, Any] = s3_store.storage_options
    pusher = Assets(store=url, cache_dir=tmp_path / "pusher", storage_options=options)
    _push_demo(pusher, tmp_path / "src")
    pytester.makepyfile(mymodels=MODELS)
    pytester.makeconftest(
        f"""
        import json, pytest
        from pytest_assets import Assets

        @pytest.fixture(scope="session")
        def assets():
            options = json.loads({json.dumps(options)!r})
            return Assets(store={url!r}, cache_dir="cache", storage_options=options)
        """
    )
    _tests(
        pytester,
        """
def test_tagger(model_library):
    assert model_library(models=mymodels, required_models=["tagger"]).get("tagger")("cat")
""",
    )
    log_before = s3_server.log_tail(10**8)
    result = pytester.runpytest_subprocess("-n", "2", "--dist", "each", timeout=120)
    result.assert_outcomes(passed=2)
    log = s3_server.log_tail(10**8)[len(log_before) :]
    bucket_path = re.escape(url.removeprefix("s3://"))
    reads = Counter(re.findall(rf'"GET /{bucket_path}/(demo/\S+) HTTP', log))
    assert reads["demo/vocab/0.1"] == 1
    assert reads["demo/model/0.0/labels/labels.txt"] == 1
    assert reads["demo/vocab/0.0"] == 0


# -- the plain function, for notebooks and scripts --------------------------------------------


def test_the_plain_function_builds_the_library_over_an_assets_object(
    store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "mymodels.py").write_text(MODELS)
    monkeypatch.syspath_prepend(str(tmp_path))
    import mymodels  # type: ignore[import-not-found]

    from pytest_assets.modelkit import model_library

    assets = Assets(store=str(store), cache_dir=tmp_path / "cache")
    library = model_library(assets, models=mymodels, required_models=["tagger"])
    assert library.get("tagger")("fox") == [True, False]
    assert model_library(assets, models=mymodels, required_models=["tagger"]) is library
    assert sorted(str(r.resolved) for r in assets.history) == [
        "demo/model:0.0[labels/labels.txt]",
        "demo/vocab:0.1",
    ]


def test_the_plain_function_raises_our_error_naming_the_model(store: Path, tmp_path: Path) -> None:
    from modelkit import Model

    from pytest_assets.errors import AssetNotFoundError
    from pytest_assets.modelkit import model_library

    assets = Assets(store=str(store), cache_dir=tmp_path / "cache")
    configuration = {"ghost": {"model_type": Model, "asset": "demo/ghost:0"}}
    with pytest.raises(AssetNotFoundError, match=r"^model ghost: .*demo/ghost"):
        model_library(assets, configuration=configuration)
