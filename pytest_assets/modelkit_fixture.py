"""The ``model_library`` fixture's callable: modelkit libraries whose assets go through the
pytest session (``--assets-override``, ``assets.lock``, offline, the summary naming the model
that asked), and an asset error fails the test with the core's one line."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from .errors import AssetsError
from .modelkit import Libraries, require_modelkit
from .modelkit_env import EnvironmentChoice
from .spec import AssetSpec
from .xdist_report import Record

if TYPE_CHECKING:
    from modelkit.core.library import ModelLibrary

    from .assets import Assets
    from .plugin_session import PluginSession


class SessionLibraries:
    """``model_library(models=..., configuration=None, required_models=None, settings=None,
    reload=False) -> modelkit.ModelLibrary``; the same models asked twice load once."""

    def __init__(self, assets: Assets, session: PluginSession) -> None:
        self.assets = assets
        self.session = session
        self._libraries = Libraries(self._fetch, assets.versioning_name, self._file)

    def __call__(
        self,
        models: Any = None,
        configuration: Mapping[str, Any] | None = None,
        required_models: Any = None,
        settings: Any = None,
        *,
        reload: bool = False,
    ) -> ModelLibrary:
        __tracebackhide__ = True
        try:
            return self._libraries(models, configuration, required_models, settings, reload=reload)
        except AssetsError as exc:
            message = str(exc)
        pytest.fail(message, pytrace=False)  # outside ``except``: no chained exception shown

    def _fetch(self, spec: AssetSpec, model: str) -> Path:
        path = self.session.fetch(self.assets, spec)
        self.session.models.add((str(spec), model))
        return path

    def _file(self, spec: AssetSpec, model: str, choice: EnvironmentChoice) -> None:
        """``MODELKIT_{NAME}_FILE``: shown like an override, loudly."""
        override = f"{choice.file} ({choice.variable})"
        self.session.overridden.add(Record(str(spec), spec.name, None, None, override))
        self.session.models.add((str(spec), model))


def session_libraries(assets: Assets, session: PluginSession) -> SessionLibraries:
    """Fails early, with the command that fixes it, when modelkit is missing."""
    require_modelkit()
    session.watch(assets)
    return SessionLibraries(assets, session)
