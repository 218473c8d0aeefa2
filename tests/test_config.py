"""One configuration loader: argument > environment > ini file > default, for every setting."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import platformdirs
import pytest

from pytest_assets import Assets, ConfigError
from pytest_assets.config import Origin, find_ini, load_config
from pytest_assets.storage_options import parse_storage_options

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
        "max_connections": "default",
    }


# -- precedence, setting by setting -----------------------------------------------------------


SETTINGS = [
    # (setting, ini key, env var, argument name, ini value, env value, argument value)
    ("store", "store", "ASSETS_STORE", "store", "memory://ini", "memory://env", "memory://arg"),
    ("cache_dir", "dir", "ASSETS_DIR", "cache_dir", "/ini/cache", "/env/cache", "/arg/cache"),
    ("offline", "offline", "ASSETS_OFFLINE", "offline", "true", "0", True),
    ("versioning", "versioning", "ASSETS_VERSIONING", "versioning", "simple_date", "major_minor",
     "simple_date"),
    ("max_connections", "max_connections", "ASSETS_MAX_CONNECTIONS", "max_connections", "8", "4",
     "2"),
]  # fmt: skip


def _value(config: object, setting: str) -> object:
    value = getattr(config, setting)
    return str(value) if setting == "cache_dir" else value


def _expected(setting: str, text: object) -> object:
    if setting == "offline":
        return text in (True, "true", "1")
    return int(str(text)) if setting == "max_connections" else text


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


def test_an_empty_offline_or_versioning_variable_counts_as_unset(project: Path) -> None:
    pytest_ini(project, offline="true", versioning="simple_date")
    config = load_config(project, env={"ASSETS_OFFLINE": "", "ASSETS_VERSIONING": ""})
    assert (config.offline, config.versioning) == (True, "simple_date")


# -- empty and mistyped stores: refused, never the working directory --------------------------


def _empty(project: Path, where: str, key: str) -> dict[str, Any]:
    """load_config arguments giving an empty ``key`` (store or dir) from ``where``."""
    if where == "argument":
        return {"store" if key == "store" else "cache_dir": "", "env": NO_ENV}
    if where == "environment":
        return {"env": {"ASSETS_STORE" if key == "store" else "ASSETS_DIR": ""}}
    pytest_ini(project, **{key: ""})
    return {"env": NO_ENV}


@pytest.mark.parametrize(
    ("where", "named"),
    [("argument", "(argument)"), ("environment", "(environment ASSETS_STORE)"),
     ("ini", "(assets_store in ")],
)  # fmt: skip
def test_an_empty_store_is_refused_naming_where_it_came_from(
    project: Path, where: str, named: str
) -> None:
    with pytest.raises(ConfigError, match="an unset variable") as caught:
        load_config(project, **_empty(project, where, "store"))
    assert f"the store {named}" in str(caught.value)


@pytest.mark.parametrize(
    ("where", "named"),
    [("argument", "(argument)"), ("environment", "(environment ASSETS_DIR)"),
     ("ini", "(assets_dir in ")],
)  # fmt: skip
def test_an_empty_cache_dir_is_refused_naming_where_it_came_from(
    project: Path, where: str, named: str
) -> None:
    with pytest.raises(ConfigError, match="an unset variable") as caught:
        load_config(project, **_empty(project, where, "dir"))
    assert f"the cache directory {named}" in str(caught.value)


def test_an_empty_assets_store_hides_no_modelkit_store(project: Path) -> None:
    env = {"ASSETS_STORE": "", "MODELKIT_STORAGE_PROVIDER": "gcs", "MODELKIT_STORAGE_BUCKET": "b"}
    with pytest.raises(ConfigError, match=r"the store \(environment ASSETS_STORE\) is empty"):
        load_config(project, env=env)


@pytest.mark.parametrize(
    ("typed", "meant"),
    [("s3:/bucket/p", "s3://bucket/p"), ("gs:bucket", "gs://bucket"),
     ("s3//bucket", "s3://bucket"), ("gcs:/b", "gcs://b"), ("file:/srv/store", "file:///srv/store"),
     ("memory:x", "memory://x")],
)  # fmt: skip
def test_a_store_url_that_lost_a_character_is_refused_with_the_url_meant(
    project: Path, typed: str, meant: str
) -> None:
    with pytest.raises(ConfigError, match="looks like a broken URL") as caught:
        load_config(project, env={"ASSETS_STORE": typed})
    assert f"did you mean {meant}?" in str(caught.value)
    assert "(environment ASSETS_STORE)" in str(caught.value)


@pytest.mark.parametrize(
    ("typed", "meant"),
    [("s3://bucket//prefix", "s3://bucket/prefix"), ("gs://b/models//prod/", "gs://b/models/prod/"),
     ("s3a://bucket//prefix", "s3a://bucket/prefix"), ("memory://x//y", "memory://x/y")],
)  # fmt: skip
def test_a_store_url_with_an_empty_part_is_refused_with_the_url_without_it(
    project: Path, typed: str, meant: str
) -> None:
    with pytest.raises(ConfigError, match="has an empty part") as caught:
        load_config(project, env={"ASSETS_STORE": typed})
    assert f"did you mean {meant}?" in str(caught.value)
    assert "(environment ASSETS_STORE)" in str(caught.value)


@pytest.mark.parametrize("url", ["s3://bucket/prefix/", "memory:///x", "memory://", "/srv//store"])
def test_a_trailing_slash_or_a_local_double_slash_is_not_an_empty_part(
    project: Path, url: str
) -> None:
    assert load_config(project, store=url, env=NO_ENV).store


@pytest.mark.parametrize(
    ("typed", "scheme"),
    [("s3://", "s3"), ("s3:///bucket", "s3"), ("gs://", "gs"), ("gcs:///", "gcs")],
)
def test_a_store_url_without_a_bucket_is_refused(project: Path, typed: str, scheme: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(project, store=typed, env=NO_ENV)
    assert "has no bucket" in str(caught.value)
    assert f"give {scheme}://BUCKET[/PREFIX]" in str(caught.value)


def test_assets_built_in_code_refuse_a_store_without_a_bucket_before_connecting(
    tmp_path: Path,
) -> None:
    with pytest.raises(ConfigError, match=r"has no bucket: give s3://BUCKET\[/PREFIX\]"):
        Assets(store="s3://", cache_dir=tmp_path / "cache").versions("a")


def test_a_broken_url_with_credentials_is_refused_without_showing_them(project: Path) -> None:
    with pytest.raises(ConfigError, match="looks like a broken URL") as caught:
        load_config(project, store="s3:/AKIDEXAMPLE:s3cr3t@bucket", env=NO_ENV)
    assert "s3cr3t" not in str(caught.value)


@pytest.mark.parametrize("path", ["./s3:/bucket", "data/s3:b", "store", "foo:bar"])
def test_a_folder_that_only_looks_like_a_url_is_a_directory_store(project: Path, path: str) -> None:
    config = load_config(project, store=path, env=NO_ENV)
    assert config.store == str(Path.cwd() / path)


def test_assets_built_in_code_refuse_a_broken_url_when_the_store_is_needed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assets = Assets(store="s3:/bucket", cache_dir=tmp_path / "cache")
    with pytest.raises(ConfigError, match=r"did you mean s3://bucket\?"):
        assets.versions("a")
    assert list(tmp_path.iterdir()) == []


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


def test_the_base_of_a_relative_path_follows_its_origin_not_its_label(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An argument labelled like an ini value is still an argument: relative to the cwd."""
    ini = pytest_ini(project, store="ignored")
    monkeypatch.chdir(tmp_path)
    config = load_config(
        project, store="s", cache_dir="c", env=NO_ENV, argument_source=f"assets_store in {ini}"
    )
    assert (config.store, config.cache_dir) == (str(tmp_path / "s"), tmp_path / "c")
    assert config.source("store").origin is Origin.ARGUMENT


def test_a_home_relative_cache_dir_is_expanded(project: Path) -> None:
    config = load_config(project, env={"ASSETS_DIR": "~/assets-cache"})
    assert config.cache_dir == Path.home() / "assets-cache"


@pytest.mark.parametrize(
    ("key", "setting", "where"),
    [("ASSETS_STORE", "store", "environment ASSETS_STORE"),
     ("ASSETS_DIR", "cache directory", "environment ASSETS_DIR")],
)  # fmt: skip
def test_a_home_of_no_such_user_is_a_config_error_naming_the_setting(
    project: Path, key: str, setting: str, where: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(project, env={key: "~no-such-user-xyz/assets"})
    assert str(caught.value) == (
        f"the {setting} ~no-such-user-xyz/assets ({where}) starts with ~no-such-user-xyz: no "
        "such user; give the path in full"
    )


def test_a_home_of_no_such_user_in_the_ini_names_the_ini_file(project: Path) -> None:
    pytest_ini(project, dir="~no-such-user-xyz/cache")
    with pytest.raises(ConfigError, match=r"\(assets_dir in .*pytest\.ini\) starts with"):
        load_config(project, env=NO_ENV)


def test_assets_built_in_code_refuse_a_cache_dir_in_the_home_of_no_such_user() -> None:
    with pytest.raises(ConfigError, match="~no-such-user-xyz: no such user"):
        Assets(store="memory://x", cache_dir="~no-such-user-xyz/cache")


def test_a_relative_store_climbing_out_of_the_ini_folder_is_shown_without_dots(
    project: Path, tmp_path: Path
) -> None:
    pytest_ini(project, store="../store")
    assert load_config(project, env=NO_ENV).store == str(tmp_path / "store")


def test_dots_after_a_link_keep_meaning_where_the_link_leads(project: Path, tmp_path: Path) -> None:
    """``link/..`` is the parent of the link's target, as the OS reads it, not ``project``."""
    (tmp_path / "elsewhere" / "deep").mkdir(parents=True)
    (project / "link").symlink_to(tmp_path / "elsewhere" / "deep")
    pytest_ini(project, store="link/../store")
    assert load_config(project, env=NO_ENV).store == str(tmp_path / "elsewhere" / "store")


# -- describe ---------------------------------------------------------------------------------


def test_describe_names_each_value_and_its_source_without_credentials(project: Path) -> None:
    config = load_config(project, env={"ASSETS_STORE": "s3://key:secret@bucket/p"})
    rows = {setting: (value, source) for setting, value, source in config.describe()}
    assert rows["store"] == ("s3://***@bucket/p", "environment ASSETS_STORE")
    assert rows["offline"] == ("false", "default")


# -- storage options --------------------------------------------------------------------------


def test_storage_options_lines_nest_at_dots_and_parse_json_values() -> None:
    lines = [
        "key = AKIDEXAMPLE",
        "anon=false",
        "client_kwargs.endpoint_url=http://localhost:9000",
        "client_kwargs.region_name=eu-west-1",
        'config_kwargs={"retries": {"max_attempts": 2}}',
        "block_size=1048576",
        "requester_pays=True",
        'token="12345"',
    ]
    assert parse_storage_options(lines, "test") == {
        "key": "AKIDEXAMPLE",
        "anon": False,
        "client_kwargs": {"endpoint_url": "http://localhost:9000", "region_name": "eu-west-1"},
        "config_kwargs": {"retries": {"max_attempts": 2}},
        "block_size": 1048576,
        "requester_pays": True,
        "token": "12345",
    }


@pytest.mark.parametrize(
    ("lines", "fragment"),
    [(["s3cr3t-no-equals"], "is not KEY=VALUE"), (["secret="], "has no value"),
     (["a.=s3cr3t"], "empty part"), (["a=s3cr3t", "a.b=s3cr3t"], "a.b is given twice")],
    ids=["no-equals", "empty-value", "empty-part", "value-and-table"],
)  # fmt: skip
def test_a_bad_storage_option_is_a_config_error_that_never_shows_the_value(
    lines: list[str], fragment: str
) -> None:
    with pytest.raises(ConfigError, match=fragment) as caught:
        parse_storage_options(lines, "assets_storage_options in tox.ini")
    assert str(caught.value).startswith("assets_storage_options in tox.ini: ")
    assert "s3cr3t" not in str(caught.value)


def test_storage_options_come_from_the_ini_with_arguments_merged_over_them(project: Path) -> None:
    ini = write(
        project / "tox.ini",
        "[pytest]\nassets_storage_options =\n    anon=true\n"
        "    client_kwargs.endpoint_url=http://ini:9000\n    client_kwargs.region_name=eu\n",
    )
    config = load_config(
        project, env=NO_ENV, storage_options=["client_kwargs.endpoint_url=http://cli:9000"]
    )
    assert config.storage_options == {
        "anon": True,
        "client_kwargs": {"endpoint_url": "http://cli:9000", "region_name": "eu"},
    }
    assert config.sources["storage_options"] == f"argument over assets_storage_options in {ini}"


def test_storage_options_as_a_mapping_are_taken_as_given(project: Path) -> None:
    config = load_config(project, env=NO_ENV, storage_options={"anon": "true"})
    assert config.storage_options == {"anon": "true"}


def test_storage_options_in_pyproject_may_be_a_toml_list(project: Path) -> None:
    write(
        project / "pyproject.toml",
        '[tool.pytest.ini_options]\nassets_storage_options = ["token=anon", "timeout=5"]\n',
    )
    assert load_config(project, env=NO_ENV).storage_options == {"token": "anon", "timeout": 5}


def test_storage_option_values_are_hidden_in_describe_and_repr_except_flags_and_urls(
    project: Path,
) -> None:
    options = [
        "key=AKIDEXAMPLE",
        "secret=s3cr3t",
        "anon=false",
        "client_kwargs.endpoint_url=http://user:pa55@localhost:9000",
    ]
    config = load_config(project, env=NO_ENV, storage_options=options)
    rows = {setting: (value, source) for setting, value, source in config.describe()}
    shown = "key=***, secret=***, anon=false, client_kwargs.endpoint_url=http://***@localhost:9000"
    assert rows["storage_options"] == (shown, "argument")
    for text in (str(rows), repr(config)):
        assert "AKIDEXAMPLE" not in text and "s3cr3t" not in text and "pa55" not in text


def test_unapplied_names_each_configured_setting_an_assets_built_in_code_does_not_follow(
    project: Path, tmp_path: Path
) -> None:
    pytest_ini(project, store="memory://ini", offline="true")
    config = load_config(project, env=NO_ENV, cache_dir=tmp_path / "c", storage_options=["a=1"])
    built = Assets(store="memory://ini", cache_dir=tmp_path / "other", storage_options={"b": 2})
    assert config.unapplied(built) == [
        ("cache_dir", "argument", str(tmp_path / "other")),
        ("offline", f"assets_offline in {project / 'pytest.ini'}", "False"),
        ("storage_options", "argument", "b=2"),
    ]
    assert config.unapplied(Assets.from_loaded(config)) == []


def test_a_conftest_naming_the_ini_store_in_full_is_not_said_to_ignore_it(
    project: Path, tmp_path: Path
) -> None:
    """The ini's ``../store`` and a conftest's ``/x/store`` are one folder: no false warning."""
    pytest_ini(project, store="../store", dir="cache")
    config = load_config(project, env=NO_ENV)
    built = Assets(store=f"{tmp_path}/project/../store/", cache_dir=project / "x" / ".." / "cache")
    assert config.unapplied(built) == []
    in_full = Assets(store=str(tmp_path / "store"), cache_dir=project / "cache")
    assert config.unapplied(in_full) == []
