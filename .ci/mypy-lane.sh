#!/usr/bin/env bash
# Type lane: `mypy --strict` (settings in python/mypy.ini) over the whole npipes package, four ways: as Linux and as
# Windows (--platform win32; no other flag, as a user's mypy runs: transport.py tells the type checker the platform's
# endpoint modules through sys.platform under TYPE_CHECKING; each run leaves out the other platform's endpoint modules,
# which only type-check against their own platform's standard library), for the Python
# version of the machine's python3 and for Python 3.8, the oldest the package supports (so a 3.9+ API or syntax is an
# error). One test per check: it passes when mypy exits 0.
# Needs Debian's mypy (`apt-get install mypy`; .ci/run installs it). The LAST line printed is exactly:
#   mypy: N passed, N failed, N skipped
set -uo pipefail
cd "$(dirname "$0")/../python"
checks=(linux win32)
total=$(( ${#checks[@]} * 2 ))

if ! command -v mypy >/dev/null; then
  echo "mypy-lane: ERROR: mypy is not installed (apt-get install mypy; .ci/run installs it)" >&2
  echo "mypy: 0 passed, $total failed, 0 skipped"
  exit 1
fi
if ! machine=$(python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])'); then
  echo "mypy-lane: ERROR: python3 did not run" >&2
  echo "mypy: 0 passed, $total failed, 0 skipped"
  exit 1
fi
echo "mypy-lane: $(mypy --version), checking for Python $machine (this machine's python3) and 3.8"

passed=0; failed=0
for version in "$machine" 3.8; do
  for platform in "${checks[@]}"; do
    case $platform in
      linux) other='^npipes/(_windows|_aio_windows|_win32|_winaccess)\.py$' ;;
      win32) other='^npipes/(_unix|_unixsock|_unixknock|_unixshm|_memfd|_aio_unix|_unixaccess)\.py$' ;;
    esac
    echo "-- mypy --strict, platform $platform, Python $version"
    if mypy --config-file mypy.ini --cache-dir ../.ci/out/mypy-cache \
         --platform "$platform" --python-version "$version" --exclude "$other"; then
      passed=$((passed + 1))
    else
      failed=$((failed + 1))
      echo "[FAIL] mypy --strict, platform $platform, Python $version"
    fi
  done
done
echo "mypy: $passed passed, $failed failed, 0 skipped"
[ "$failed" -eq 0 ]
