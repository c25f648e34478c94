#!/usr/bin/env bash
# The README's test command: builds everything and runs every suite (.NET, Python, Windows under Wine),
# then prints one closing line: "tests: N passed, N failed, N skipped" (the sum over all suites).
# Set NPIPES_SKIP_WINE=1 to leave out the Windows lane (it installs Wine on first use).
set -uo pipefail
cd "$(dirname "$0")"
out=.ci/out
mkdir -p "$out"
passed=0; failed=0; skipped=0; broken=()

add() { # add SUITE PASSED FAILED SKIPPED
  echo "== $1: $2 passed, $3 failed, $4 skipped"
  passed=$((passed + $2)); failed=$((failed + $3)); skipped=$((skipped + $4))
}

echo "== building (Release)"
if ! dotnet build NPipes.slnx -c Release -nologo -clp:ErrorsOnly; then
  echo "build failed"; echo "tests: 0 passed, 1 failed"; exit 1
fi

echo "== .NET tests"
dotnet_log="$out/dotnet-tests.log"
tests/NPipes.Tests/bin/Release/net10.0/NPipes.Tests -noColor -parallel collections 2>&1 | tee "$dotnet_log" | grep -E '\[FAIL\]|\[SKIP\]|^\s+(Assert|System\.|Expected|Actual)' || true
summary=$(grep -E 'Total: [0-9]+, Errors: [0-9]+, Failed: [0-9]+, Skipped: [0-9]+' "$dotnet_log" | tail -n 1)
if [ -z "$summary" ]; then
  broken+=(".NET tests produced no summary"); failed=$((failed + 1))
else
  read -r total errors fails skips notrun < <(echo "$summary" | sed -E 's/.*Total: ([0-9]+), Errors: ([0-9]+), Failed: ([0-9]+), Skipped: ([0-9]+), Not Run: ([0-9]+).*/\1 \2 \3 \4 \5/')
  add ".NET" $((total - errors - fails - skips - notrun)) $((errors + fails)) $((skips + notrun))
fi

echo "== .NET JSON-RPC tests"
rpc_log="$out/jsonrpc-tests.log"
tests/NPipes.JsonRpc.Tests/bin/Release/net10.0/NPipes.JsonRpc.Tests -noColor -parallel collections 2>&1 | tee "$rpc_log" | grep -E '\[FAIL\]|\[SKIP\]|^\s+(Assert|System\.|Expected|Actual)' || true
summary=$(grep -E 'Total: [0-9]+, Errors: [0-9]+, Failed: [0-9]+, Skipped: [0-9]+' "$rpc_log" | tail -n 1)
if [ -z "$summary" ]; then
  broken+=(".NET JSON-RPC tests produced no summary"); failed=$((failed + 1))
else
  read -r total errors fails skips notrun < <(echo "$summary" | sed -E 's/.*Total: ([0-9]+), Errors: ([0-9]+), Failed: ([0-9]+), Skipped: ([0-9]+), Not Run: ([0-9]+).*/\1 \2 \3 \4 \5/')
  add ".NET JSON-RPC" $((total - errors - fails - skips - notrun)) $((errors + fails)) $((skips + notrun))
fi

echo "== Python tests"
if [ -f python/run_tests.py ]; then
  py_log="$out/python-tests.log"
  NPIPES_CLI="dotnet $PWD/src/NPipes.Cli/bin/Release/net10.0/NPipes.Cli.dll" python3 python/run_tests.py 2>&1 | tee "$py_log" | tail -n 15
  line=$(grep -E '^python: [0-9]+ passed, [0-9]+ failed, [0-9]+ skipped' "$py_log" | tail -n 1)
  if [ -z "$line" ]; then
    broken+=("Python tests produced no summary"); failed=$((failed + 1))
  else
    read -r p f s < <(echo "$line" | sed -E 's/python: ([0-9]+) passed, ([0-9]+) failed, ([0-9]+) skipped.*/\1 \2 \3/')
    add "Python" "$p" "$f" "$s"
  fi
fi

if [ -f .ci/wine-lane.sh ] && [ "${NPIPES_SKIP_WINE:-0}" != "1" ]; then
  echo "== Windows tests under Wine"
  win_log="$out/windows-tests.log"
  bash .ci/wine-lane.sh 2>&1 | tee "$win_log" | tail -n 15
  line=$(grep -E '^windows: [0-9]+ passed, [0-9]+ failed, [0-9]+ skipped' "$win_log" | tail -n 1)
  if [ -z "$line" ]; then
    broken+=("Windows lane produced no summary"); failed=$((failed + 1))
  else
    read -r p f s < <(echo "$line" | sed -E 's/windows: ([0-9]+) passed, ([0-9]+) failed, ([0-9]+) skipped.*/\1 \2 \3/')
    add "Windows (Wine)" "$p" "$f" "$s"
  fi
fi

for b in "${broken[@]}"; do echo "!! $b"; done
echo "tests: $passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
