#!/usr/bin/env bash
# Stress lane: runs every scenario of tests/NPipes.Stress once, CI-sized (a few seconds each), so the stress program is
# built AND run by ./test.sh. The full-size runs are `dotnet run -c Release --project tests/NPipes.Stress -- all`
# (docs/reliability.md). One test per scenario: it passes when the program exits 0 AND prints "[scenario] PASS".
# The LAST line printed is exactly:   stress: N passed, N failed, N skipped
# Exit status is non-zero if any scenario failed. Needs a Release build (./test.sh builds first).
#
#   NPIPES_STRESS_TIMEOUT   seconds allowed per scenario (default: 60)
set -uo pipefail
cd "$(dirname "$0")/.."
exe=tests/NPipes.Stress/bin/Release/net10.0/NPipes.Stress
per_scenario="${NPIPES_STRESS_TIMEOUT:-60}"

# scenario and its CI-sized options (defaults and full sizes: `$exe --help`)
scenarios=(
  "fuzz --frames 20000"
  "kill-clients --kills 5 --healthy 2"
  "kill-server --restarts 2 --clients 2 --per-life 200"
  "churn --clients 300 --parallel 4"
  "load --clients 8 --round-trips 500 --window 4"
  "exhaust --limit 256 --idle 400 --rounds 2"
)

if [ ! -x "$exe" ]; then
  echo "stress-lane: ERROR: $exe not built (run ./test.sh, or dotnet build NPipes.slnx -c Release)" >&2
  echo "stress: 0 passed, ${#scenarios[@]} failed, 0 skipped"
  exit 1
fi

# A scenario runs under its own `timeout`, which leads a process group of its own (the scenario and the processes it
# starts); if this script is stopped (test.sh's lane limit), that group is stopped with it rather than left running.
log=$(mktemp)
inner=""
trap 'rm -f "$log"' EXIT
trap '[ -n "$inner" ] && kill -TERM -- "-$inner" "$inner" 2>/dev/null; exit 143' TERM INT

passed=0; failed=0
for s in "${scenarios[@]}"; do
  name=${s%% *}
  start=$(date +%s)
  # shellcheck disable=SC2086  # the options are words
  timeout -k 10 "$per_scenario" "$exe" $s </dev/null >"$log" 2>&1 &
  inner=$!
  wait "$inner"; rc=$?
  inner=""
  output=$(cat "$log")
  echo "$output"
  took=$(( $(date +%s) - start ))
  if [ "$rc" -eq 0 ] && grep -qxF "[$name] PASS" <<<"$output"; then
    passed=$((passed + 1)); echo "stress-lane: $name passed (${took}s)"
  else
    failed=$((failed + 1))
    why="exit code $rc"; [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ] && why="timed out after ${per_scenario}s"
    [ "$rc" -eq 0 ] && why="exit code 0 but no '[$name] PASS' line"
    echo "stress-lane: $name FAILED: $why (${took}s)"
  fi
done
echo "stress: $passed passed, $failed failed, 0 skipped"
[ "$failed" -eq 0 ]
