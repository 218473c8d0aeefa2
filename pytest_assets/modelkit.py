"""Production modelkit models on our verified, locked files: a real ``modelkit.ModelLibrary``
whose every asset (dependencies' included) our core resolved, handed over through modelkit's
public ``asset_path`` model setting. modelkit's ``AssetsManager`` is never built, so it never
reaches a store or makes a cache of its own.

``model_library(assets, models=...)`` is the notebook and script face; the pytest fixture of
the same name (``modelkit_fixture``) resolves through the session instead, so overrides, the
summary and xdist's download-once apply. modelkit is imported only when a library is built
(the extra ``pytest-assets[modelkit]``).
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import AssetsError, ConfigError
from .modelkit_env import EnvironmentChoice, apply_environment
from .spec import AssetSpec

if TYPE_CHECKING:
    from modelkit.core.library import ModelLibrary

    from .assets import Assets

INSTALL = "pip install pytest-assets[modelkit]"

# The core's path of one model's asset: ``fetch(spec, model_name)``.
Fetch = Callable[[AssetSpec, str], Path]
# A model whose asset MODELKIT_{NAME}_FILE replaced (modelkit reads the variable itself).
OnFile = Callable[[AssetSpec, str, EnvironmentChoice], None]


def require_modelkit() -> None:
    """One line, the command that fixes it, instead of an ImportError's traceback."""
    try:
        import modelkit  # noqa: F401
    except ImportError:
        raise ConfigError(f"modelkit is not installed: {INSTALL}") from None


def model_library(
    assets: Assets,
    models: Any = None,
    configuration: Mapping[str, Any] | None = None,
    required_models: Any = None,
    settings: Any = None,
    *,
    reload: bool = False,
) -> ModelLibrary:
    """A ``ModelLibrary`` whose assets come from ``assets`` (the same files ``%asset`` gives).
    Asked again for the same models, it returns the library already loaded, unless
    ``reload``."""
    seen = _NOTEBOOK_LIBRARIES.get(id(assets))
    if seen is None or seen[0] is not assets:
        libraries = Libraries(lambda spec, _model: assets.fetch(spec), assets.versioning_name)
        seen = _NOTEBOOK_LIBRARIES[id(assets)] = (assets, libraries)
    return seen[1](models, configuration, required_models, settings, reload=reload)


def library_fixture(name: str = "testing_model_library", **arguments: Any) -> Any:
    """A session fixture, for modelkit's ``modellibrary_auto_test`` (whose default fixture name
    this is), that builds ``model_library(**arguments)``."""
    import pytest

    @pytest.fixture(scope="session", name=name)
    def _library(model_library: Callable[..., ModelLibrary]) -> ModelLibrary:
        return model_library(**arguments)

    return _library


class Libraries:
    """The libraries built over one fetch function, by their arguments: asking twice for the
    same models loads them once."""

    def __init__(self, fetch: Fetch, versioning: str, on_file: OnFile | None = None) -> None:
        self.fetch = fetch
        self.versioning = versioning
        self.on_file = on_file
        self._built: dict[Any, ModelLibrary] = {}

    def __call__(
        self,
        models: Any = None,
        configuration: Mapping[str, Any] | None = None,
        required_models: Any = None,
        settings: Any = None,
        *,
        reload: bool = False,
    ) -> ModelLibrary:
        key = _frozen((models, configuration, required_models, settings))
        if reload or key not in self._built:
            self._built[key] = build_library(
                self.fetch,
                models=models,
                configuration=configuration,
                required_models=required_models,
                settings=settings,
                versioning=self.versioning,
                on_file=self.on_file,
            )
        return self._built[key]


def build_library(
    fetch: Fetch,
    *,
    models: Any = None,
    configuration: Mapping[str, Any] | None = None,
    required_models: Any = None,
    settings: Any = None,
    versioning: str = "major_minor",
    on_file: OnFile | None = None,
) -> ModelLibrary:
    """modelkit's own configuration of ``models``, each needed model's asset resolved by
    ``fetch`` and given to modelkit as ``asset_path``; then a real ``ModelLibrary``."""
    require_modelkit()
    from modelkit.core.model_configuration import configure

    library_settings = _library_settings(settings)
    configured = configure(models=models, configuration=configuration)
    required = _required(required_models, configured)
    final: dict[str, Any] = dict(configured)
    for name in _needed(configured, required):
        model = configured[name]
        if not model.asset:
            continue
        given = {**(model.model_settings or {}), **(required.get(name) or {})}
        if "asset_path" in given:  # the caller chose the path: modelkit's meaning
            continue
        try:
            spec = AssetSpec.parse(model.asset, versioning)
            choice = apply_environment(spec, os.environ, versioning)
            if choice.file is not None:  # modelkit reads the variable itself, after asset_path
                if on_file is not None:
                    on_file(spec, name, choice)
                continue
            path = fetch(choice.spec, name)
        except AssetsError as exc:
            raise type(exc)(f"model {name}: {exc}") from None
        model_settings = {**(model.model_settings or {}), "asset_path": str(path)}
        final[name] = model.model_copy(update={"model_settings": model_settings})
    return _library_class()(
        settings=library_settings, configuration=final, required_models=required
    )


def _library_settings(settings: Any) -> Any:
    """modelkit's ``override_assets_dir`` would replace our paths behind the summary's back."""
    from modelkit.core.settings import LibrarySettings

    if not isinstance(settings, LibrarySettings):
        settings = LibrarySettings(**(settings or {}))
    if settings.override_assets_dir:
        raise ConfigError(
            f"modelkit's override_assets_dir ({settings.override_assets_dir}, also "
            "MODELKIT_ASSETS_DIR_OVERRIDE) is not used by pytest_assets.modelkit: use "
            "--assets-override NAME=PATH or the assets_overrides ini key"
        )
    return settings


def _required(required_models: Any, configured: Mapping[str, Any]) -> dict[str, Any]:
    """modelkit's default (every configured model) and its list form, as a dict."""
    if required_models is None:
        return {name: {} for name in configured}
    if isinstance(required_models, Mapping):
        return {name: dict(value or {}) for name, value in required_models.items()}
    return {name: {} for name in required_models}


def _needed(configured: Mapping[str, Any], required: Mapping[str, Any]) -> list[str]:
    """The required models and their dependencies, dependencies first; an unknown name is
    left to modelkit, which says what it knows instead."""
    order: list[str] = []
    seen: set[str] = set()

    def visit(name: str) -> None:
        if name in seen or name not in configured:
            return
        seen.add(name)
        for dependency in (configured[name].model_dependencies or {}).values():
            visit(dependency)
        order.append(name)

    for name in required:
        visit(name)
    return order


@functools.cache
def _library_class() -> type[ModelLibrary]:
    from modelkit.core.library import ModelLibrary

    class VerifiedModelLibrary(ModelLibrary):
        """A ``ModelLibrary`` whose assets pytest-assets resolved: instead of an
        ``AssetsManager`` (its store, its cache), a guard that says what went wrong."""

        @property
        def assets_manager(self) -> _NoAssetsManager:
            return _NoAssetsManager()

        @property
        def override_assets_manager(self) -> None:
            return None

    VerifiedModelLibrary.__qualname__ = VerifiedModelLibrary.__name__
    return VerifiedModelLibrary


class _NoAssetsManager:
    """Reached only for a model we were not asked for (a lazy ``get`` of another name)."""

    def fetch_asset(self, spec: Any, *args: Any, **kwargs: Any) -> Any:
        raise ConfigError(
            f"a model asked modelkit's AssetsManager for {spec}, which pytest_assets.modelkit "
            "does not build: name that model in required_models (or models) of model_library"
        )


def _frozen(value: Any) -> Any:
    """A hashable stand-in for the arguments of a library (modules and classes by identity)."""
    if isinstance(value, Mapping):
        return ("{", tuple(sorted((str(k), _frozen(v)) for k, v in value.items())))
    if isinstance(value, list | tuple):
        return ("[", tuple(_frozen(v) for v in value))
    if isinstance(value, set | frozenset):
        return ("{", tuple(sorted(repr(v) for v in value)))
    try:
        hash(value)
    except TypeError:
        return ("repr", repr(value))
    return value


# A notebook's libraries per Assets object (kept alive here, so its id is not reused).
_NOTEBOOK_LIBRARIES: dict[int, tuple[Assets, Libraries]] = {}
