#!/usr/bin/env bash
# The README's main-job command: set up .venv, then run the demo on the local directory store
# examples/.store (created fresh each run).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash tests/setup-env.sh
exec .venv/bin/python examples/demo.py "$@"
