#!/usr/bin/env bash
# The README's test command: builds everything and runs every lane (.NET on both library builds, .NET JSON-RPC, .NET
# hosting, Python, mypy --strict on the Python package, the stress scenarios CI-sized, a .NET Framework 4.8 app against
# the packed package, a Mono app on that package, the README's install commands, the README's code blocks, the Windows
# suite under Wine on both library builds), then prints one closing line:
# "tests: N passed, N failed, N skipped" (the sum over lanes).
# Set NPIPES_SKIP_WINE=1 to leave out the two Windows lanes (they install Wine on first use).
#
# It fails closed. A lane counts as one failed test more (and says why on a "!!" line) when it
#   - runs longer than its time limit (NPIPES_LANE_TIMEOUT=SECONDS overrides every lane's own),
#   - prints no summary, or a summary of 0 tests,
#   - exits non-zero although its summary shows no failure.
# xunit's "Not Run" (a test neither run nor skipped with a reason) counts as failed, in every lane.
#
# Adding a lane is one `lane` call: a label, a time limit, a counter, and the command. The counter gets the lane's log
# and exit code and prints "PASSED FAILED SKIPPED" (or nothing when it finds no summary):
#   count_xunit     an xunit v3 test executable ("Total: N, Errors: N, Failed: N, Skipped: N, Not Run: N")
#   count_tagged T  a line "T: N passed, N failed, N skipped" (Python, mypy, stress and Wine lanes print one)
#   count_exit      a tool whose only verdict is its exit code (one test: passed when it exits 0)
set -uo pipefail
cd "$(dirname "$0")"
out=.ci/out
mkdir -p "$out"
passed=0; failed=0; skipped=0; broken=()

count_xunit() { # LOG RC
  local s total errors fails skips notrun
  s=$(grep -E 'Total: [0-9]+, Errors: [0-9]+, Failed: [0-9]+, Skipped: [0-9]+, Not Run: [0-9]+' "$1" | tail -n 1)
  if [ -z "$s" ]; then
    if grep -qE '^\s+\S+\s+Total: 0$' "$1"; then echo "0 0 0"; fi # xunit's summary when no test matched
    return 0
  fi
  read -r total errors fails skips notrun < <(sed -E 's/.*Total: ([0-9]+), Errors: ([0-9]+), Failed: ([0-9]+), Skipped: ([0-9]+), Not Run: ([0-9]+).*/\1 \2 \3 \4 \5/' <<<"$s")
  [ "$notrun" -eq 0 ] || echo "!! $notrun test(s) Not Run (neither run nor skipped with a reason): counted as failed" >&2
  echo "$((total - errors - fails - skips - notrun)) $((errors + fails + notrun)) $skips"
}

count_tagged() { # TAG LOG RC
  grep -E "^$1: [0-9]+ passed, [0-9]+ failed, [0-9]+ skipped\$" "$2" | tail -n 1 | sed -E 's/.*: ([0-9]+) passed, ([0-9]+) failed, ([0-9]+) skipped$/\1 \2 \3/'
}

count_exit() { # LOG RC
  if [ "$2" -eq 0 ]; then echo "1 0 0"; else echo "0 1 0"; fi
}

# What a lane shows on the console while it runs (its whole output is in .ci/out/<lane>.log).
show_failures() { grep -E '\[FAIL\]|\[SKIP\]|^\s+(Assert|System\.|Expected|Actual)' || true; }
show_tail() { tail -n 15; }

# lane LABEL SECONDS "COUNTER [ARGS]" SHOW COMMAND... : runs COMMAND (stdin /dev/null) under `timeout`, adds its counts.
lane() {
  local label=$1 limit=${NPIPES_LANE_TIMEOUT:-$2} counter=$3 show=$4; shift 4
  local log rc counts p f s
  log="$out/$(tr 'A-Z' 'a-z' <<<"$label" | sed -E 's/[^a-z0-9]+/-/g; s/^-|-$//g').log"
  echo "== $label (limit ${limit}s; log $log)"
  timeout -k 30 "$limit" "$@" </dev/null 2>&1 | tee "$log" | "$show"
  rc=${PIPESTATUS[0]}
  counts=$($counter "$log" "$rc")
  read -r p f s <<<"${counts:-0 0 0}"
  echo "== $label: $p passed, $f failed, $s skipped (exit code $rc)"
  passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + s))
  if [ "$rc" -eq 124 ]; then
    broken+=("$label: timed out after ${limit}s"); failed=$((failed + 1))
  elif [ "$rc" -eq 137 ]; then
    broken+=("$label: killed (SIGKILL: still running ${limit}s + 30s after its limit, or killed from outside)"); failed=$((failed + 1))
  elif [ -z "$counts" ]; then
    broken+=("$label: no summary (exit code $rc)"); failed=$((failed + 1))
  elif [ $((p + f + s)) -eq 0 ]; then
    broken+=("$label: ran 0 tests"); failed=$((failed + 1))
  elif [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
    broken+=("$label: exit code $rc although no test failed"); failed=$((failed + 1))
  fi
}

echo "== building (Release)"
if ! timeout -k 30 900 dotnet build NPipes.slnx -c Release -nologo -clp:ErrorsOnly </dev/null; then
  echo "!! build failed"; echo "tests: 0 passed, 1 failed, 0 skipped"; exit 1
fi

lane ".NET tests" 900 count_xunit show_failures \
  tests/NPipes.Tests/bin/Release/net10.0/NPipes.Tests -noColor -parallel collections

# The same suite against the library's netstandard2.0 build (.NET Framework, Mono, Unity), on .NET 10.
lane ".NET tests (netstandard2.0 build)" 900 count_xunit show_failures \
  tests/NPipes.Tests.NetStandard/bin/Release/net10.0/NPipes.Tests.NetStandard -noColor -parallel collections

# NPipes.JsonRpc: StreamJsonRpc over npipes frames, its protocol (docs/rpc.md) and npipes rpc serve|call.
lane ".NET JSON-RPC tests" 600 count_xunit show_failures \
  tests/NPipes.JsonRpc.Tests/bin/Release/net10.0/NPipes.JsonRpc.Tests -noColor -parallel collections

# NPipes.Hosting in a real host, logs/metrics/activities, and samples/WorkerService called by samples/python_client.py.
lane ".NET hosting tests" 600 count_xunit show_failures \
  tests/NPipes.Hosting.Tests/bin/Release/net10.0/NPipes.Hosting.Tests -noColor

lane "Python tests" 600 "count_tagged python" show_tail \
  env NPIPES_CLI="dotnet $PWD/src/NPipes.Cli/bin/Release/net10.0/NPipes.Cli.dll" python3 python/run_tests.py

lane "Python types (mypy --strict)" 300 "count_tagged mypy" show_tail \
  bash .ci/mypy-lane.sh

lane "Stress scenarios (CI-sized)" 300 "count_tagged stress" show_tail \
  bash .ci/stress-lane.sh

# The packed NPipes package (dotnet pack: net10.0 + netstandard2.0, no warning) builds a .NET Framework 4.8 app.
lane ".NET Framework 4.8 app against the package" 600 count_exit show_tail \
  bash .ci/net48-lane.sh

# The packed package's netstandard2.0 build in a console app under Mono on Linux (Unity's scripting runtime family),
# against the .NET CLI and the Python package (installs Mono with apt on first use).
lane "Mono app on the package (netstandard2.0)" 600 "count_tagged mono" show_tail \
  bash .ci/mono-lane.sh

# The README's Install section word for word (pack, tool install, an app on the package, pip install ./python) in a
# scratch HOME under .ci/out/install.
lane "Install (README commands)" 600 "count_tagged install" show_tail \
  bash .ci/install-lane.sh

# Every ```csharp and ```python block of README.md and src/NPipes/README.md, built and run with its peer.
lane "README snippets" 900 "count_tagged readme" show_tail \
  bash .ci/readme-lane.sh

if [ "${NPIPES_SKIP_WINE:-0}" != "1" ]; then
  lane "Windows tests under Wine" 1200 "count_tagged windows" show_tail \
    bash .ci/wine-lane.sh
fi

# The Python package's Windows path (python/npipes/_windows.py, unchanged) through a Wine-backed _winapi, against real
# Wine pipes and .NET under Wine (python/tests/wine; about 40 s warm).
if [ "${NPIPES_SKIP_WINE:-0}" != "1" ]; then
  lane "Python on Windows under Wine" 600 "count_tagged python-windows" show_tail \
    bash .ci/python-windows-lane.sh
fi

for b in "${broken[@]}"; do echo "!! $b"; done
echo "tests: $passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
