#!/usr/bin/env bash
# Builds the solution warning-free and runs every test project; ends with one summary line
# "N passed, N failed, N skipped". Long suites are opt-in by environment variable (see README).
set -uo pipefail
cd "$(dirname "$0")/.."

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

if ! dotnet build KvStore.sln -c Release -nologo -v quiet; then
    echo "build failed"
    echo "0 passed, 1 failed"
    exit 1
fi

log=$(mktemp)
# One test project at a time: the machine has 2 cores and the suites use both.
dotnet test KvStore.sln -c Release --no-build -nologo -m:1 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}

# Sum the per-project summaries ("Passed!  - Failed: 0, Passed: 12, Skipped: 0, Total: 12").
read -r passed failed skipped < <(grep -E '(Passed|Failed)!  ?- Failed:' "$log" | sed -E 's/.*Failed: *([0-9]+), Passed: *([0-9]+), Skipped: *([0-9]+).*/\2 \1 \3/' |
    awk '{p+=$1; f+=$2; s+=$3} END {print p+0, f+0, s+0}')
rm -f "$log"
if [ "$rc" -ne 0 ] && [ "$failed" -eq 0 ]; then
    failed=1 # a test host crashed or a project failed to run: never report green
fi
echo "${passed} passed, ${failed} failed, ${skipped} skipped"
exit "$rc"
