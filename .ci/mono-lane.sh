#!/usr/bin/env bash
# Mono lane: a console app on the PACKED NPipes package's netstandard2.0 build, run under Mono on Linux (the runtime
# Unity's Mono scripting backend is built from), talking to the .NET CLI and to the Python package.
#
#   bash .ci/mono-lane.sh
#
# Steps: install Mono if missing (Debian: apt-get install mono-runtime mono-devel; mono-devel carries the
# netstandard.dll facade a netstandard2.0 library needs), pack src/NPipes (as .ci/net48-lane.sh does, under its own
# version and folders), build tests/NPipes.Mono against that package (net48: run by `mono`; net10.0: the .NET side of
# a frame above the CLI's 16 MiB limit), use the Release build of the .NET CLI (building it if missing), make a
# random OS account with a readable copy of the peers (as root), run the checks, delete the account.
# The LAST line printed is exactly:   mono: N passed, N failed, N skipped
# Every failure to get that far (no Mono, pack or build failed) is one failed test in that line, and exit 1.
set -uo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="$REPO/.ci/out/mono"
VERSION="0.0.0-monolane"
T0=$(date +%s)
OTHER=""
SHARE=""

summary_fail() {
  echo "mono-lane: FAIL: $1" >&2
  echo "mono: 0 passed, 1 failed, 0 skipped"
  exit 1
}

cleanup() {
  if [ -n "$OTHER" ]; then
    # Sockets the other account's peers left (a peer killed at a check's end): ours to remove, by owner and prefix only.
    find "${TMPDIR:-/tmp}" -maxdepth 1 -user "$OTHER" -name 'CoreFxPipe_npipes-mono-*' -delete 2>/dev/null || true
    # -f: even if a peer of that account is still ending (a lane stopped by its time limit).
    userdel -f "$OTHER" >/dev/null 2>&1 || echo "mono-lane: could not delete the account $OTHER" >&2
  fi
  [ -z "$SHARE" ] || rm -rf "$SHARE"
}
trap cleanup EXIT
trap 'exit 143' TERM INT # so that cleanup runs when test.sh's time limit stops the lane

rm -rf "$OUT"
mkdir -p "$OUT/feed"

# ---------------------------------------------------------------- 1. Mono
echo "== mono-lane: mono"
FACADE=/usr/lib/mono/4.5/Facades/netstandard.dll
if ! command -v mono >/dev/null 2>&1 || [ ! -f "$FACADE" ]; then
  SUDO=""
  if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  # A fresh machine may have no (or stale) package lists: update once, then install.
  $SUDO apt-get update -qq >"$OUT/apt.log" 2>&1 || true
  if ! $SUDO apt-get install -y -qq --no-install-recommends mono-runtime mono-devel >>"$OUT/apt.log" 2>&1; then
    tail -n 30 "$OUT/apt.log" >&2
    summary_fail "could not install mono-runtime and mono-devel (see $OUT/apt.log)"
  fi
  command -v mono >/dev/null 2>&1 || summary_fail "mono-runtime installed but no 'mono' program on PATH"
  [ -f "$FACADE" ] || summary_fail "mono-devel installed but no $FACADE"
fi
mono --version | head -n 1

# ---------------------------------------------------------------- 2. pack and build
echo "== mono-lane: dotnet pack src/NPipes -c Release ($VERSION)"
if ! dotnet pack "$REPO/src/NPipes/NPipes.csproj" -c Release -o "$OUT/feed" -p:Version="$VERSION" \
      --artifacts-path "$OUT/artifacts" -nologo -m:1 -clp:ErrorsOnly >"$OUT/pack.log" 2>&1; then
  cat "$OUT/pack.log" >&2
  summary_fail "dotnet pack of src/NPipes failed"
fi

echo "== mono-lane: build tests/NPipes.Mono (net48 + net10.0) against the package"
if ! dotnet build "$REPO/tests/NPipes.Mono/NPipes.Mono.csproj" -c Release -nologo -m:1 -clp:ErrorsOnly \
      -p:NPipesVersion="$VERSION" -p:RestoreAdditionalProjectSources="$OUT/feed" -p:RestorePackagesPath="$OUT/packages" \
      --artifacts-path "$OUT/app" >"$OUT/build.log" 2>&1; then
  cat "$OUT/build.log" >&2
  summary_fail "tests/NPipes.Mono did not build against the package"
fi
[ -f "$OUT/packages/npipes/$VERSION/lib/netstandard2.0/NPipes.dll" ] || summary_fail "restore did not take NPipes $VERSION from the local feed"
APP="$OUT/app/bin/NPipes.Mono/release_net48/NPipes.Mono.exe"
PEER="$OUT/app/bin/NPipes.Mono/release_net10.0/NPipes.Mono.dll"
[ -f "$APP" ] && [ -f "$PEER" ] || summary_fail "the build produced no $APP or $PEER"

CLI_DIR="$REPO/src/NPipes.Cli/bin/Release/net10.0"
if [ ! -f "$CLI_DIR/NPipes.Cli.dll" ]; then
  echo "== mono-lane: build src/NPipes.Cli (Release; ./test.sh has built it already)"
  dotnet build "$REPO/src/NPipes.Cli/NPipes.Cli.csproj" -c Release -nologo -m:1 -clp:ErrorsOnly >"$OUT/cli.log" 2>&1 \
    || { cat "$OUT/cli.log" >&2; summary_fail "src/NPipes.Cli did not build"; }
fi
echo "== mono-lane: built in $(( $(date +%s) - T0 ))s"

# ---------------------------------------------------------------- 3. peers, readable by another account
# The checkout may sit in a 0700 folder: the peers run from a world-readable copy (root's and the other account's alike).
SHARE="$(mktemp -d "${TMPDIR:-/tmp}/npipes-mono-lane.XXXXXX")" || summary_fail "mktemp failed"
chmod 755 "$SHARE"
cp -r "$CLI_DIR" "$SHARE/cli" && cp -r "$REPO/python/npipes" "$SHARE/npipes" && cp "$REPO/tests/NPipes.Mono/big_peer.py" "$SHARE/" \
  && cp -r "$(dirname "$APP")" "$SHARE/app" \
  || summary_fail "could not copy the peers to $SHARE"
find "$SHARE" -name __pycache__ -prune -exec rm -rf {} +
chmod -R a+rX "$SHARE"

if [ "$(id -u)" = "0" ]; then
  OTHER="npmono$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')"
  useradd --system --no-create-home --shell /usr/sbin/nologin "$OTHER" >"$OUT/useradd.log" 2>&1 \
    || { OTHER=""; cat "$OUT/useradd.log" >&2; summary_fail "useradd failed"; }
  export NPIPES_MONO_OTHER_USER="$(id -u "$OTHER"):$(id -g "$OTHER")"
  echo "== mono-lane: second account $OTHER ($NPIPES_MONO_OTHER_USER)"
else
  echo "== mono-lane: not root: the access refusal checks are skipped (they need a second account)"
fi

# ---------------------------------------------------------------- 4. the checks
export NPIPES_MONO_DOTNET="$(command -v dotnet)" NPIPES_MONO_CLI="$SHARE/cli/NPipes.Cli.dll"
# The system's python3, not one under root's home (where pyenv may put it) that the other account cannot run.
PYTHON=/usr/bin/python3; [ -x "$PYTHON" ] || PYTHON="$(command -v python3)"
export NPIPES_MONO_PYTHON="$PYTHON" NPIPES_MONO_PYTHONPATH="$SHARE" NPIPES_MONO_PYTHON_PEER="$SHARE/big_peer.py"
export NPIPES_MONO_DOTNET_PEER="$PEER" NPIPES_MONO_MONO="$(command -v mono)" NPIPES_MONO_SHARED_APP="$SHARE/app/NPipes.Mono.exe"
echo "== mono-lane: mono NPipes.Mono.exe"
timeout -k 10 600 mono --debug "$APP" 2>&1 | tee "$OUT/run.log"
rc=${PIPESTATUS[0]}
echo "== mono-lane: took $(( $(date +%s) - T0 ))s"
if ! tail -n 1 "$OUT/run.log" | grep -Eq '^mono: [0-9]+ passed, [0-9]+ failed, [0-9]+ skipped$'; then
  summary_fail "the app ended without its summary line (exit code $rc)"
fi
exit "$rc"
