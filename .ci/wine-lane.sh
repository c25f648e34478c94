#!/usr/bin/env bash
# Windows test lane: runs tests/NPipes.WindowsTests (the real Windows named-pipe code path) under Wine on Linux.
#
#   bash .ci/wine-lane.sh
#
# Steps: install Wine if missing (Debian: apt-get install wine64, program `wine`), publish the two test projects
# self-contained for win-x64 (the suite against the library's net10.0 build, tests/NPipes.WindowsTests, and the same
# suite against its netstandard2.0 build, tests/NPipes.WindowsTests.NetStandard), make a Wine prefix of our own under
# .ci/out/ (ignored by git), run each test exe with xunit v3's built-in runner writing an XML report, kill the
# wineserver, and summarise the reports: one line per build, then the sum.
# The LAST line printed is exactly:   windows: N passed, N failed, N skipped   (both builds together)
# Exit status is non-zero if any test failed, or the run did not produce a readable report.
#
# Environment knobs (all optional):
#   WINE_LANE_OUT        output folder                (default: <repo>/.ci/out/wine)
#   WINE_LANE_TIMEOUT    seconds for one test run     (default: 60)
#   WINE_LANE_ATTEMPTS   runs tried if a run hangs    (default: 2)
#   WINE_LANE_FILTER     extra runner arguments, e.g. "-class NPipes.WindowsTests.PeerInteropTests"
set -uo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="${WINE_LANE_OUT:-$REPO/.ci/out/wine}"
PREFIX="$OUT/wineprefix"
RUN_TIMEOUT="${WINE_LANE_TIMEOUT:-60}"
# Each suite: its project name (folder and exe) and the library build it tests.
SUITES=("NPipes.WindowsTests:net10.0" "NPipes.WindowsTests.NetStandard:netstandard2.0")

T0=$(date +%s)
declare -a TIMINGS=()
phase_start() { PHASE_NAME="$1"; PHASE_T=$(date +%s); echo "== wine-lane: $1"; }
phase_end() { local d=$(( $(date +%s) - PHASE_T )); TIMINGS+=("$PHASE_NAME ${d}s"); echo "== wine-lane: $PHASE_NAME took ${d}s"; }

summary_fail() {
  # Always end with the summary line, even when the run gave no report.
  echo "wine-lane: ERROR: $1" >&2
  echo "windows: 0 passed, 0 failed, 0 skipped"
  exit 1
}

mkdir -p "$OUT"

# ---------------------------------------------------------------- 1. Wine
phase_start "wine install"
if ! command -v wine >/dev/null 2>&1; then
  SUDO=""
  if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  # A fresh machine may have no (or stale) package lists: update once, then install.
  $SUDO apt-get update -qq >"$OUT/apt.log" 2>&1 || true
  if ! $SUDO apt-get install -y -qq wine64 >>"$OUT/apt.log" 2>&1; then
    tail -n 30 "$OUT/apt.log" >&2
    summary_fail "could not install wine64 (see $OUT/apt.log)"
  fi
  command -v wine >/dev/null 2>&1 || summary_fail "wine64 installed but no 'wine' program on PATH"
fi
WINE_VERSION="$(wine --version 2>/dev/null)"
export WINE_VERSION   # shown by the tests in skip reasons (they do not call wine_get_version: see WineDetect.cs)
echo "wine: $WINE_VERSION"
phase_end

# ---------------------------------------------------------------- 2. publish
# Own obj/bin under $OUT (--artifacts-path): never shares tests/.../obj with a Linux build running alongside
# (a concurrent restore without the RID once left a publish that could not load System.Runtime.dll).
for suite in "${SUITES[@]}"; do
  project="${suite%%:*}"
  phase_start "publish $project win-x64"
  rm -rf "$OUT/publish-$project"
  if ! dotnet publish "$REPO/tests/$project/$project.csproj" -c Release -r win-x64 --self-contained -o "$OUT/publish-$project" \
        --artifacts-path "$OUT/artifacts" -p:InvariantGlobalization=true -nologo -v quiet >"$OUT/publish-$project.log" 2>&1; then
    tail -n 40 "$OUT/publish-$project.log" >&2
    summary_fail "dotnet publish of $project failed (see $OUT/publish-$project.log)"
  fi
  [ -f "$OUT/publish-$project/$project.exe" ] || summary_fail "publish produced no $OUT/publish-$project/$project.exe"
  phase_end
done

# ---------------------------------------------------------------- 3. Wine prefix
export WINEPREFIX="$PREFIX" WINEDEBUG=-all WINEARCH=win64
# No winedbg: an unhandled exception then ends the process instead of dumping registers and maybe waiting.
# No Gecko (mshtml). Do NOT disable mscoree for the test run: Wine's loader needs it to map IL-only
# assemblies (System.Runtime.dll, ...) into a 64-bit process ("Could not load ... Module not found").
export WINEDLLOVERRIDES="mshtml=;winedbg.exe=d"
# .NET W^X (double-mapped JIT memory) off: with it on, "Internal CLR error (0x80131506)" in
# DynamicResolver+DestroyScout.Finalize was seen every time in a 400-round-trip loop. That was while the
# tests still CALLED ntdll's wine_get_version (which corrupts the caller; see WineDetect.cs); since that fix
# 30 of 30 runs passed with W^X on. Kept off as a cheap precaution.
export DOTNET_EnableWriteXorExecute=0
kill_wineserver() { timeout 30 wineserver -k >/dev/null 2>&1 || true; }
trap kill_wineserver EXIT

phase_start "wine prefix"
if [ ! -f "$PREFIX/system.reg" ]; then
  mkdir -p "$PREFIX"
  # mscoree disabled only here, so wineboot does not look for a wine-mono installer (there is no internet).
  WINEDLLOVERRIDES="mscoree=;mshtml=;winedbg.exe=d" timeout 120 wineboot -i >"$OUT/wineboot.log" 2>&1 || { cat "$OUT/wineboot.log" >&2; summary_fail "wineboot -i failed"; }
  timeout 60 wineserver -w >/dev/null 2>&1 || true
fi
phase_end

# ---------------------------------------------------------------- 4. run the tests
to_windows_path() { printf 'Z:%s' "$(printf '%s' "$1" | tr '/' '\\')"; }

# The repository's test vectors (tests/vectors), read by the test exe through Wine's Z: drive.
export NPIPES_VECTORS="$(to_windows_path "$REPO/tests/vectors/npipes-1.0.1-frames.json")"

# A run that HANGS (the test exe's watchdog ends it with exit code 99 after 15 s without progress, or
# `timeout` does) or leaves no report is retried once, and says so. A run with failing tests is not retried.
ATTEMPTS="${WINE_LANE_ATTEMPTS:-2}"
REPORT_ARGS=()
for suite in "${SUITES[@]}"; do
  project="${suite%%:*}"; build="${suite##*:}"
  report="$OUT/$project.xml"
  phase_start "test run under wine: $project (library $build)"
  for attempt in $(seq 1 "$ATTEMPTS"); do
    rm -f "$report"
    # shellcheck disable=SC2086
    timeout -k 10 "$RUN_TIMEOUT" wine "$OUT/publish-$project/$project.exe" -noLogo -noColor -result-xml "$(to_windows_path "$report")" ${WINE_LANE_FILTER:-} \
      </dev/null 2>&1 | tee "$OUT/run-$project.log" | tr -d '\r'
    rc=${PIPESTATUS[0]}
    kill_wineserver
    if [ -s "$report" ] && [ "$rc" != 99 ] && [ "$rc" != 124 ]; then break; fi
    echo "wine-lane: attempt $attempt of $ATTEMPTS HUNG or left no report (exit code $rc)$( [ "$rc" = 99 ] && echo ': watchdog, see [hang-trace] above')"
  done
  phase_end
  echo "$project exit code: $rc$( [ "$rc" = 124 ] && echo ' (timed out)')$( [ "$rc" = 99 ] && echo ' (hang watchdog)')"
  REPORT_ARGS+=("$build" "$report" "$rc")
done

echo "== wine-lane timings: ${TIMINGS[*]}; total $(( $(date +%s) - T0 ))s"

# ---------------------------------------------------------------- 5. report
command -v python3 >/dev/null 2>&1 || summary_fail "python3 is needed to read the reports"

python3 - "${REPORT_ARGS[@]}" <<'PY'
import sys, xml.etree.ElementTree as ET
args = sys.argv[1:]
suites = [(args[i], args[i + 1], int(args[i + 2])) for i in range(0, len(args), 3)]
total = [0, 0, 0]
all_bad = False
for build, path, rc in suites:
  try:
    root = ET.parse(path).getroot()
  except Exception as e:  # missing, truncated or broken report
    print(f"wine-lane: ERROR: library {build}: no readable report ({path}): {e}", file=sys.stderr)
    print(f"windows {build}: 0 passed, 1 failed, 0 skipped (no report: counted as one failure)")
    total[1] += 1
    all_bad = True
    continue
  passed = failed = skipped = 0
  skips, fails, notes = [], [], []
  for t in root.iter("test"):
      r = t.get("result")
      name = t.get("name", "?")
      if r == "Pass":
          passed += 1
          out = (t.findtext("output") or "").strip()
          if out:
              notes.append((name, out))
      elif r == "Skip":
          skipped += 1
          reason = (t.findtext("reason") or "").strip()
          skips.append((name, reason))
      else:  # Fail, NotRun counts as not passing
          failed += 1
          msg = (t.findtext("failure/message") or r or "").strip().splitlines()
          fails.append((name, msg[0] if msg else ""))
  errors = sum(1 for _ in root.iter("error"))
  if notes:
      print("test notes (observations the tests recorded):")
      for n, o in notes:
          for line in o.splitlines():
              print(f"  {n.split('.')[-1]}: {line}")
  if fails:
      print("failed tests:")
      for n, m in fails:
          print(f"  FAIL {n}: {m}")
  if skips:
      print("skipped tests:")
      for n, m in skips:
          print(f"  SKIP {n}: {m}")
  if errors:
      print(f"wine-lane: ERROR: {errors} runner error(s) in the report", file=sys.stderr)
  bad = failed > 0 or errors > 0 or passed + failed + skipped == 0 or (rc != 0 and failed == 0)
  if rc != 0 and failed == 0:
      print(f"wine-lane: ERROR: test exe exited {rc} without a failing test in the report", file=sys.stderr)
  print(f"windows {build}: {passed} passed, {failed} failed, {skipped} skipped")
  total = [total[0] + passed, total[1] + failed, total[2] + skipped]
  all_bad = all_bad or bad
print(f"windows: {total[0]} passed, {total[1]} failed, {total[2]} skipped")
sys.exit(1 if all_bad else 0)
PY
exit $?
