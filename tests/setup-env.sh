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
    .venv/bin/python -c "import pytest_assets, ipython_ext, gcsfs, s3fs, moto, gcp_storage_emulator, modelkit"
    touch "$stamp"
fi
