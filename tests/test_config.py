"""One configuration loader: argument > environment > ini file > default, for every setting."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import platformdirs
import pytest

from pytest_assets import Assets, ConfigError
from pytest_assets.config import find_ini, load_config

NO_ENV: dict[str, str] = {}


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def pytest_ini(directory: Path, **options: str) -> Path:
    body = "".join(f"assets_{key} = {value}\n" for key, value in options.items())
    return write(directory / "pytest.ini", f"[pytest]\n{body}")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A project folder with no ini file of its own."""
    folder = tmp_path / "project"
    folder.mkdir()
    return folder


# -- defaults ---------------------------------------------------------------------------------


def test_defaults_without_argument_environment_or_ini(project: Path) -> None:
    config = load_config(project, env=NO_ENV)
    assert config.store is None
    assert config.cache_dir == Path(platformdirs.user_cache_dir("pytest-assets"))
    assert config.offline is False
    assert config.versioning == "major_minor"
    assert config.ini_file is None
    assert dict(config.sources) == {
        "store": "default",
        "cache_dir": "default",
        "offline": "default",
        "versioning": "default",
    }


# -- precedence, setting by setting -----------------------------------------------------------


SETTINGS = [
    # (setting, ini key, env var, argument name, ini value, env value, argument value)
    ("store", "store", "ASSETS_STORE", "store", "memory://ini", "memory://env", "memory://arg"),
    ("cache_dir", "dir", "ASSETS_DIR", "cache_dir", "/ini/cache", "/env/cache", "/arg/cache"),
    ("offline", "offline", "ASSETS_OFFLINE", "offline", "true", "0", True),
    ("versioning", "versioning", "ASSETS_VERSIONING", "versioning", "simple_date", "major_minor",
     "simple_date"),
]  # fmt: skip


def _value(config: object, setting: str) -> object:
    value = getattr(config, setting)
    return str(value) if setting == "cache_dir" else value


def _expected(setting: str, text: object) -> object:
    if setting == "offline":
        return text in (True, "true", "1")
    return text


@pytest.mark.parametrize("row", SETTINGS, ids=[row[0] for row in SETTINGS])
def test_an_argument_beats_the_environment_and_the_ini(project: Path, row: tuple[Any, ...]) -> None:
    setting, ini_key, env_key, arg, ini_value, env_value, arg_value = row
    pytest_ini(project, **{ini_key: ini_value})
    config = load_config(project, env={env_key: env_value}, **{arg: arg_value})
    assert _value(config, setting) == _expected(setting, arg_value)
    assert config.sources[setting] == "argument"


@pytest.mark.parametrize("row", SETTINGS, ids=[row[0] for row in SETTINGS])
def test_the_environment_beats_the_ini(project: Path, row: tuple[Any, ...]) -> None:
    setting, ini_key, env_key, _arg, ini_value, env_value, _arg_value = row
    pytest_ini(project, **{ini_key: ini_value})
    config = load_config(project, env={env_key: env_value})
    assert _value(config, setting) == _expected(setting, env_value)
    assert config.sources[setting] == f"environment {env_key}"


@pytest.mark.parametrize("row", SETTINGS, ids=[row[0] for row in SETTINGS])
def test_the_ini_beats_the_default(project: Path, row: tuple[Any, ...]) -> None:
    setting, ini_key, _env_key, _arg, ini_value, _env_value, _arg_value = row
    ini = pytest_ini(project, **{ini_key: ini_value})
    config = load_config(project, env=NO_ENV)
    assert _value(config, setting) == _expected(setting, ini_value)
    assert config.sources[setting] == f"assets_{ini_key} in {ini}"


def test_an_empty_environment_variable_counts_as_unset(project: Path) -> None:
    pytest_ini(project, store="memory://ini")
    config = load_config(project, env={"ASSETS_STORE": ""})
    assert config.store == "memory://ini"


def test_the_store_url_from_the_environment_is_used_as_given(project: Path) -> None:
    config = load_config(project, env={"ASSETS_STORE": "gs://bucket/prefix"})
    assert config.store == "gs://bucket/prefix"


def test_from_config_applies_environment_and_ini(project: Path, tmp_path: Path) -> None:
    pytest_ini(project, store="memory://from-ini", offline="yes")
    assets = Assets.from_config(project, env={"ASSETS_DIR": str(tmp_path / "c")})
    assert assets.store_url == "memory://from-ini"
    assert assets.offline is True
    assert assets.cache.directory == tmp_path / "c"


def test_assets_constructor_ignores_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ASSETS_STORE", "memory://env")
    monkeypatch.setenv("ASSETS_OFFLINE", "1")
    assets = Assets(cache_dir=tmp_path)
    assert assets.store_url is None
    assert assets.offline is False


def test_load_config_reads_os_environ_by_default(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ASSETS_VERSIONING", "simple_date")
    assert load_config(project).versioning == "simple_date"


# -- booleans and bad values ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [("1", True), ("true", True), ("Yes", True), ("on", True), ("0", False), ("false", False),
     ("no", False), ("OFF", False)],
)  # fmt: skip
def test_offline_accepts_the_usual_yes_no_words(project: Path, text: str, expected: bool) -> None:
    assert load_config(project, env={"ASSETS_OFFLINE": text}).offline is expected


def test_a_bad_boolean_in_the_environment_is_a_config_error_naming_it(project: Path) -> None:
    with pytest.raises(ConfigError, match="ASSETS_OFFLINE = 'maybe' is not a yes/no value"):
        load_config(project, env={"ASSETS_OFFLINE": "maybe"})


def test_a_bad_boolean_in_the_ini_is_a_config_error_naming_the_file(project: Path) -> None:
    ini = pytest_ini(project, offline="sometimes")
    with pytest.raises(ConfigError, match=f"assets_offline in {ini}"):
        load_config(project, env=NO_ENV)


def test_an_unknown_versioning_is_a_config_error(project: Path) -> None:
    with pytest.raises(ConfigError, match="unknown versioning system 'semver'"):
        load_config(project, env={"ASSETS_VERSIONING": "semver"})


# -- modelkit's environment as a fallback for the store ---------------------------------------


def test_modelkit_gcs_provider_gives_a_gs_url_with_the_default_prefix(project: Path) -> None:
    env = {"MODELKIT_STORAGE_PROVIDER": "gcs", "MODELKIT_STORAGE_BUCKET": "bucket"}
    config = load_config(project, env=env)
    assert config.store == "gs://bucket/modelkit-assets"
    assert config.sources["store"] == "environment MODELKIT_STORAGE_*"


def test_modelkit_s3_provider_with_a_prefix_gives_an_s3_url(project: Path) -> None:
    env = {
        "MODELKIT_STORAGE_PROVIDER": "s3",
        "MODELKIT_STORAGE_BUCKET": "bucket",
        "MODELKIT_STORAGE_PREFIX": "team/assets",
    }
    assert load_config(project, env=env).store == "s3://bucket/team/assets"


def test_modelkit_local_provider_gives_bucket_directory_slash_prefix(
    project: Path, tmp_path: Path
) -> None:
    env = {"MODELKIT_STORAGE_PROVIDER": "local", "MODELKIT_STORAGE_BUCKET": str(tmp_path)}
    assert load_config(project, env=env).store == str(tmp_path / "modelkit-assets")


def test_assets_store_beats_modelkit_variables(project: Path) -> None:
    env = {
        "ASSETS_STORE": "memory://ours",
        "MODELKIT_STORAGE_PROVIDER": "gcs",
        "MODELKIT_STORAGE_BUCKET": "bucket",
    }
    assert load_config(project, env=env).store == "memory://ours"


def test_modelkit_variables_are_environment_so_they_beat_the_ini(project: Path) -> None:
    pytest_ini(project, store="memory://ini")
    env = {"MODELKIT_STORAGE_PROVIDER": "gcs", "MODELKIT_STORAGE_BUCKET": "bucket"}
    assert load_config(project, env=env).store == "gs://bucket/modelkit-assets"


def test_modelkit_provider_without_bucket_is_a_config_error(project: Path) -> None:
    with pytest.raises(ConfigError, match="MODELKIT_STORAGE_BUCKET is not"):
        load_config(project, env={"MODELKIT_STORAGE_PROVIDER": "gcs"})


def test_an_unknown_modelkit_provider_is_a_config_error(project: Path) -> None:
    env = {"MODELKIT_STORAGE_PROVIDER": "ftp", "MODELKIT_STORAGE_BUCKET": "b"}
    with pytest.raises(ConfigError, match="'ftp' is not one of"):
        load_config(project, env=env)


def test_modelkit_assets_dir_is_not_used_as_our_cache(project: Path) -> None:
    config = load_config(project, env={"MODELKIT_ASSETS_DIR": "/somewhere/else"})
    assert config.cache_dir == Path(platformdirs.user_cache_dir("pytest-assets"))


# -- the ini files pytest reads, found from a subdirectory upwards ----------------------------

INI_FILES = [
    ("pytest.toml", '[pytest]\nassets_store = "memory://x"\n'),
    (".pytest.toml", '[pytest]\nassets_store = "memory://x"\n'),
    ("pytest.ini", "[pytest]\nassets_store = memory://x\n"),
    (".pytest.ini", "[pytest]\nassets_store = memory://x\n"),
    ("pyproject.toml", '[tool.pytest.ini_options]\nassets_store = "memory://x"\n'),
    ("pyproject.toml", '[tool.pytest]\nassets_store = "memory://x"\n'),
    ("tox.ini", "[pytest]\nassets_store = memory://x\n"),
    ("setup.cfg", "[tool:pytest]\nassets_store = memory://x\n"),
]
INI_IDS = [
    "pytest.toml",
    ".pytest.toml",
    "pytest.ini",
    ".pytest.ini",
    "pyproject-ini_options",
    "pyproject-tool.pytest",
    "tox.ini",
    "setup.cfg",
]


@pytest.mark.parametrize(("filename", "text"), INI_FILES, ids=INI_IDS)
def test_each_ini_file_kind_is_found_from_a_subdirectory_upwards(
    project: Path, filename: str, text: str
) -> None:
    ini = write(project / filename, text)
    deep = project / "a" / "b"
    deep.mkdir(parents=True)
    config = load_config(deep, env=NO_ENV)
    assert config.store == "memory://x"
    assert config.ini_file == ini
    assert config.sources["store"] == f"assets_store in {ini}"


def test_toml_booleans_are_read_natively(project: Path) -> None:
    write(project / "pytest.toml", "[pytest]\nassets_offline = true\n")
    assert load_config(project, env=NO_ENV).offline is True


@pytest.mark.parametrize(
    ("filename", "text"),
    [
        ("pyproject.toml", "[tool.black]\nline-length = 100\n"),
        ("pyproject.toml", "[tool.pytest]\n"),
        ("tox.ini", "[tox]\nenvlist = py311\n"),
        ("setup.cfg", "[metadata]\nname = x\n"),
    ],
    ids=["pyproject-without-pytest", "pyproject-empty-tool.pytest", "tox-without-pytest",
         "setup.cfg-without-tool:pytest"],
)  # fmt: skip
def test_files_without_a_pytest_section_are_skipped_as_pytest_skips_them(
    project: Path, filename: str, text: str
) -> None:
    ini = pytest_ini(project, store="memory://outer")
    inner = project / "inner"
    write(inner / filename, text)
    config = load_config(inner, env=NO_ENV)
    assert config.ini_file == ini
    assert config.store == "memory://outer"


def test_pytest_ini_without_a_pytest_section_still_wins(project: Path) -> None:
    pytest_ini(project, store="memory://outer")
    inner = write(project / "inner" / "pytest.ini", "# empty\n")
    config = load_config(inner.parent, env=NO_ENV)
    assert config.ini_file == inner
    assert config.store is None


def test_the_nearest_ini_file_wins_over_one_further_up(project: Path) -> None:
    pytest_ini(project, store="memory://outer")
    inner = write(project / "inner" / "tox.ini", "[pytest]\nassets_store = memory://inner\n")
    deeper = inner.parent / "deeper"
    deeper.mkdir()
    config = load_config(deeper, env=NO_ENV)
    assert config.store == "memory://inner"
    assert config.ini_file == inner


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("pytest.toml", "pytest.ini"),
        ("pytest.ini", "pyproject.toml"),
        ("pyproject.toml", "tox.ini"),
        ("tox.ini", "setup.cfg"),
    ],
)
def test_in_one_folder_the_first_in_pytests_order_wins(
    project: Path, first: str, second: str
) -> None:
    texts = dict(zip(INI_IDS, [text for _, text in INI_FILES], strict=True))
    texts["pyproject.toml"] = texts["pyproject-ini_options"]
    write(project / second, texts[second].replace("memory://x", "memory://second"))
    write(project / first, texts[first].replace("memory://x", "memory://first"))
    config = load_config(project, env=NO_ENV)
    assert config.store == "memory://first"
    assert config.ini_file == project / first


def test_find_ini_returns_none_when_no_file_applies(project: Path) -> None:
    assert find_ini(project) is None


def test_an_unreadable_toml_file_is_a_config_error_naming_it(project: Path) -> None:
    bad = write(project / "pytest.toml", "[pytest\n")
    with pytest.raises(ConfigError, match=f"cannot read {bad}"):
        load_config(project, env=NO_ENV)


# -- relative paths ---------------------------------------------------------------------------


def test_a_relative_store_in_an_ini_file_is_relative_to_that_file(project: Path) -> None:
    pytest_ini(project, store="data/store")
    deep = project / "a" / "b"
    deep.mkdir(parents=True)
    assert load_config(deep, env=NO_ENV).store == str(project / "data" / "store")


def test_a_relative_cache_dir_in_an_ini_file_is_relative_to_that_file(project: Path) -> None:
    write(project / "pyproject.toml", '[tool.pytest.ini_options]\nassets_dir = ".cache"\n')
    deep = project / "tests"
    deep.mkdir()
    assert load_config(deep, env=NO_ENV).cache_dir == project / ".cache"


def test_a_url_in_an_ini_file_is_kept_as_is(project: Path) -> None:
    pytest_ini(project, store="file:///srv/store")
    assert load_config(project, env=NO_ENV).store == "file:///srv/store"


def test_a_relative_path_from_the_environment_is_relative_to_the_working_directory(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest_ini(project, store="ignored")
    monkeypatch.chdir(tmp_path)
    config = load_config(project / "sub", env={"ASSETS_STORE": "s", "ASSETS_DIR": "c"})
    assert config.store == str(tmp_path / "s")
    assert config.cache_dir == tmp_path / "c"


def test_a_home_relative_cache_dir_is_expanded(project: Path) -> None:
    config = load_config(project, env={"ASSETS_DIR": "~/assets-cache"})
    assert config.cache_dir == Path.home() / "assets-cache"


# -- describe ---------------------------------------------------------------------------------


def test_describe_names_each_value_and_its_source_without_credentials(project: Path) -> None:
    config = load_config(project, env={"ASSETS_STORE": "s3://key:secret@bucket/p"})
    rows = {setting: (value, source) for setting, value, source in config.describe()}
    assert rows["store"] == ("s3://***@bucket/p", "environment ASSETS_STORE")
    assert rows["offline"] == ("false", "default")
