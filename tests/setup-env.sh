#!/usr/bin/env bash
# Shared set-up for the README's two commands: a venv in .venv with the project and its test
# tools. Idempotent, and quick when everything is already installed.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
    echo "setting up .venv (first run: a minute or two)" >&2
    "$PYTHON" -m venv .venv
fi
stamp=.venv/.pytest-assets-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    log=.venv/install.log
    if ! { .venv/bin/python -m pip install --upgrade pip &&
           .venv/bin/python -m pip install -e '.[dev]'; } >"$log" 2>&1; then
        tail -40 "$log" >&2
        echo "installing the project into .venv failed; the whole log is in $log" >&2
        exit 1
    fi
    .venv/bin/python -c "import pytest_assets, ipython_ext, gcsfs, s3fs, adlfs, moto, gcp_storage_emulator, modelkit"
    touch "$stamp"
fi
# Azurite (Microsoft's Azure Storage emulator, from npm) for the az:// tests, into .azurite/ at
# a pinned version; tests/servers.py starts it. Without npm those tests are skipped, saying so.
AZURITE_VERSION=3.35.0
if command -v npm >/dev/null && [ "$(cat .azurite/installed 2>/dev/null)" != "$AZURITE_VERSION" ]; then
    echo "installing Azurite $AZURITE_VERSION into .azurite (first run: a minute)" >&2
    log=.venv/azurite-install.log
    if ! npm install --prefix .azurite --no-audit --no-fund --omit=dev --loglevel=error \
            "azurite@$AZURITE_VERSION" >"$log" 2>&1; then
        tail -40 "$log" >&2
        echo "installing Azurite with npm failed; the whole log is in $log" >&2
        exit 1
    fi
    echo "$AZURITE_VERSION" >.azurite/installed
fi
