#!/usr/bin/env bash
# Python-on-Windows lane: the Python package's Windows code path (python/npipes/_windows.py, unchanged) on Linux
# CPython against REAL named pipes, through a Wine-backed `_winapi` (python/tests/wine: every _winapi call runs in
# winapi_helper.exe under Wine), and against .NET under Wine on the same \\.\pipe\ namespace.
#
#   bash .ci/python-windows-lane.sh
#
# Steps: install Wine and mingw-w64 if missing (apt: wine64, gcc-mingw-w64-x86-64), build winapi_helper.exe, publish
# python/tests/wine/DotnetPeer self-contained for win-x64 (sharing the Wine lane's --artifacts-path, so a build it
# made is reused), use the Wine lane's prefix if it exists (else make one here), run python/tests/wine/run.py
# (tests python/tests/wine/wine_*.py), kill the wineserver.
# The LAST line printed is exactly:   python-windows: N passed, N failed, N skipped
# Exit status is non-zero if any test failed, no test ran, or a step before the tests failed.
#
# Environment knobs (all optional):
#   PYWIN_LANE_OUT       output folder                      (default: <repo>/.ci/out/python-windows)
#   PYWIN_LANE_TIMEOUT   seconds for the test run           (default: 300)
#   PYWIN_LANE_TESTS     test names for run.py, e.g. "tests.wine.wine_dotnet"   (default: all)
set -uo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="${PYWIN_LANE_OUT:-$REPO/.ci/out/python-windows}"
WINE_OUT="$REPO/.ci/out/wine"
RUN_TIMEOUT="${PYWIN_LANE_TIMEOUT:-300}"
T0=$(date +%s)

summary_fail() {
  echo "python-windows-lane: ERROR: $1" >&2
  echo "python-windows: 0 passed, 1 failed, 0 skipped"
  exit 1
}
step() { echo "== python-windows-lane: $1 ($(( $(date +%s) - T0 ))s)"; }

mkdir -p "$OUT"

# ---------------------------------------------------------------- 1. Wine and mingw-w64
step "tools"
need=()
command -v wine >/dev/null 2>&1 || need+=(wine64)
command -v x86_64-w64-mingw32-gcc >/dev/null 2>&1 || need+=(gcc-mingw-w64-x86-64)
if [ ${#need[@]} -gt 0 ]; then
  SUDO=""
  if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq >"$OUT/apt.log" 2>&1 || true
  if ! $SUDO apt-get install -y -qq "${need[@]}" >>"$OUT/apt.log" 2>&1; then
    tail -n 30 "$OUT/apt.log" >&2
    summary_fail "could not install ${need[*]} (see $OUT/apt.log)"
  fi
fi
command -v wine >/dev/null 2>&1 || summary_fail "no 'wine' program on PATH"
command -v x86_64-w64-mingw32-gcc >/dev/null 2>&1 || summary_fail "no x86_64-w64-mingw32-gcc on PATH"
echo "wine: $(wine --version 2>/dev/null); $(x86_64-w64-mingw32-gcc --version | head -n 1); $(python3 --version)"

# ---------------------------------------------------------------- 2. the helper and the .NET peer
step "build winapi_helper.exe"
x86_64-w64-mingw32-gcc -O2 -Wall -Wextra -Werror -o "$OUT/winapi_helper.exe" "$REPO/python/tests/wine/winapi_helper.c" \
  || summary_fail "winapi_helper.c did not build"

step "publish DotnetPeer win-x64"
rm -rf "$OUT/dotnet-peer"
if ! dotnet publish "$REPO/python/tests/wine/DotnetPeer/DotnetPeer.csproj" -c Release -r win-x64 --self-contained \
      -o "$OUT/dotnet-peer" --artifacts-path "$WINE_OUT/artifacts" -p:InvariantGlobalization=true -nologo -v quiet \
      >"$OUT/publish.log" 2>&1; then
  tail -n 40 "$OUT/publish.log" >&2
  summary_fail "dotnet publish of DotnetPeer failed (see $OUT/publish.log)"
fi
[ -f "$OUT/dotnet-peer/DotnetPeer.exe" ] || summary_fail "publish produced no $OUT/dotnet-peer/DotnetPeer.exe"

# ---------------------------------------------------------------- 3. Wine prefix: the Wine lane's when it has one
if [ -z "${WINEPREFIX:-}" ]; then
  if [ -f "$WINE_OUT/wineprefix/system.reg" ]; then WINEPREFIX="$WINE_OUT/wineprefix"; else WINEPREFIX="$OUT/wineprefix"; fi
fi
export WINEPREFIX WINEDEBUG=-all WINEARCH=win64 WINEDLLOVERRIDES="mshtml=;winedbg.exe=d" DOTNET_EnableWriteXorExecute=0
kill_wineserver() { timeout 30 wineserver -k >/dev/null 2>&1 || true; }
trap kill_wineserver EXIT
step "wine prefix $WINEPREFIX"
if [ ! -f "$WINEPREFIX/system.reg" ]; then
  mkdir -p "$WINEPREFIX"
  # mscoree off only here, so wineboot does not look for a wine-mono installer (there is no internet).
  WINEDLLOVERRIDES="mscoree=;mshtml=;winedbg.exe=d" timeout 120 wineboot -i >"$OUT/wineboot.log" 2>&1 \
    || { cat "$OUT/wineboot.log" >&2; summary_fail "wineboot -i failed"; }
  timeout 60 wineserver -w >/dev/null 2>&1 || true
fi

# ---------------------------------------------------------------- 4. the tests
step "tests"
export NPIPES_WINAPI_HELPER="$OUT/winapi_helper.exe" NPIPES_DOTNET_PEER="$OUT/dotnet-peer/DotnetPeer.exe" NPIPES_PYWIN_OUT="$OUT"
# shellcheck disable=SC2086
timeout -k 10 "$RUN_TIMEOUT" python3 "$REPO/python/tests/wine/run.py" ${PYWIN_LANE_TESTS:-} </dev/null 2>&1 | tee "$OUT/run.log"
rc=${PIPESTATUS[0]}
kill_wineserver
step "done (exit code $rc)"
last=$(tail -n 1 "$OUT/run.log")
if ! grep -qE '^python-windows: [0-9]+ passed, [0-9]+ failed, [0-9]+ skipped$' <<<"$last"; then
  summary_fail "the test run ended without its summary (exit code $rc$( [ "$rc" = 124 ] && echo ': timed out'))"
fi
echo "$last"        # the lane's own last line
exit "$rc"
