#!/usr/bin/env bash
# After the whole suite: the smoke set (noxfile.py's SMOKE: plugin, magic, the core on a directory
# store and on S3) on the other supported versions, one nox session each, then a summary naming
# each session with its test count and wall time. A session that fails does not stop the others;
# the script fails at the end. Sessions to run may be given, e.g. `bash tests/versions.sh lowest`.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash tests/setup-env.sh || exit 1
# 3.11 with the newest releases is the main run; majors is 3.12 with pytest 8.x + IPython 8.x,
# lowest the lowest releases pyproject admits on 3.11, wheel the built wheel on 3.13. (nox's
# tests-3.12 and tests-3.13, newest releases, are left out to keep CI's time: wheel runs on 3.13.)
sessions=("$@")
[ ${#sessions[@]} -gt 0 ] || sessions=(majors lowest wheel)  # wheel is 3.13: tests-3.13 would repeat it
logs=$(mktemp -d)
summary=()
failed=0
for session in "${sessions[@]}"; do
    echo "=== nox session $session (smoke set)"
    start=$SECONDS
    .venv/bin/nox --non-interactive -s "$session" -- smoke 2>&1 | tee "$logs/$session.log"
    status=${PIPESTATUS[0]}
    wall=$((SECONDS - start))
    # pytest's closing line, e.g. "148 passed, 2 skipped in 61.20s"
    result=$(grep -E '^=+ .*[0-9]+ (passed|failed|errors?)' "$logs/$session.log" | tail -1 |
        sed -E 's/^=+ //; s/ =+$//')
    if grep -q "Python interpreter .* not found" "$logs/$session.log"; then
        result="skipped: its Python is not installed"
    fi
    [ "$status" -eq 0 ] || { failed=1; result="FAILED (nox exit $status) ${result}"; }
    summary+=("$(printf '%-11s %s; session %d s wall' "$session:" "${result:-no tests ran}" "$wall")")
done
echo "=== supported versions: the smoke set per session (wall times on a shared machine are rough)"
printf '%s\n' "${summary[@]}"
exit "$failed"
