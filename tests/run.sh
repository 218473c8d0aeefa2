#!/usr/bin/env bash
# The README's test command: set up .venv, then run the whole suite (the GCS emulator and the
# moto S3 server are started on loopback by the suite's own fixtures).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash tests/setup-env.sh
exec .venv/bin/python -m pytest -n 2 -p no:randomly --durations=15 "$@"
