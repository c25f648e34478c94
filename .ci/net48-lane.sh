#!/usr/bin/env bash
# .NET Framework lane: packs src/NPipes the way it is published (dotnet pack -c Release) and checks the package
# (lib/net10.0 and lib/netstandard2.0, README, licence, a .snupkg, and NO warning from pack), then restores and builds
# tests/Net48Compile, a net48 console app using Ipc, PipeConnection and PipeServer, against that .nupkg.
#
#   bash .ci/net48-lane.sh        (exit 0: all of it held; test.sh counts it as one test)
#
# Nothing leaks out of .ci/out/net48: the package gets a version of its own (0.0.0-net48lane), the pack builds under its
# own artifacts path (src/NPipes/bin is left alone), the feed is a folder there, and restore uses a package folder
# there (RestorePackagesPath), so no global cache ever holds this build of NPipes.
set -uo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="$REPO/.ci/out/net48"
VERSION="0.0.0-net48lane"
fail() { echo "net48-lane: FAIL: $1"; exit 1; }

rm -rf "$OUT"
mkdir -p "$OUT/feed"

echo "== net48-lane: dotnet pack src/NPipes -c Release"
dotnet pack "$REPO/src/NPipes/NPipes.csproj" -c Release -o "$OUT/feed" -p:Version="$VERSION" \
  --artifacts-path "$OUT/artifacts" -nologo >"$OUT/pack.log" 2>&1
rc=$?
cat "$OUT/pack.log"
[ "$rc" -eq 0 ] || fail "dotnet pack exited $rc"
if grep -Eiq '(^|[^a-z])warning [A-Z]+[0-9]+' "$OUT/pack.log"; then
  fail "dotnet pack printed warnings (above)"
fi

echo "== net48-lane: package contents"
python3 - "$OUT/feed/NPipes.$VERSION.nupkg" "$OUT/feed/NPipes.$VERSION.snupkg" <<'PY' || fail "the package is not as published"
import sys, zipfile, os
nupkg, snupkg = sys.argv[1], sys.argv[2]
names = set(zipfile.ZipFile(nupkg).namelist())
for n in sorted(names):
    print("  " + n)
need = ["lib/net10.0/NPipes.dll", "lib/net10.0/NPipes.xml", "lib/netstandard2.0/NPipes.dll", "lib/netstandard2.0/NPipes.xml", "README.md"]
missing = [n for n in need if n not in names]
nuspec = zipfile.ZipFile(nupkg).read("NPipes.nuspec").decode()
if "<license type=\"expression\">MIT</license>" not in nuspec:
    missing.append("licence expression MIT in the nuspec")
if not os.path.exists(snupkg):
    missing.append(os.path.basename(snupkg))
else:
    pdbs = [n for n in zipfile.ZipFile(snupkg).namelist() if n.endswith(".pdb")]
    print("  symbols: " + ", ".join(sorted(pdbs)))
    if not any(n.startswith("lib/netstandard2.0/") for n in pdbs):
        missing.append("netstandard2.0 symbols in the .snupkg")
for m in missing:
    print("missing: " + m)
sys.exit(1 if missing else 0)
PY

echo "== net48-lane: build tests/Net48Compile (net48) against the package"
dotnet build "$REPO/tests/Net48Compile/Net48Compile.csproj" -c Release -nologo \
  -p:NPipesVersion="$VERSION" -p:RestoreAdditionalProjectSources="$OUT/feed" -p:RestorePackagesPath="$OUT/packages" \
  --artifacts-path "$OUT/app" >"$OUT/build.log" 2>&1
rc=$?
cat "$OUT/build.log"
[ "$rc" -eq 0 ] || fail "the net48 app did not build against the package (exit $rc)"
ls "$OUT/packages/npipes/$VERSION/lib/netstandard2.0/NPipes.dll" >/dev/null 2>&1 || fail "restore did not take NPipes $VERSION from the local feed"
find "$OUT/app" -name Net48Compile.exe | grep -q . || fail "no Net48Compile.exe was built"
echo "net48-lane: OK: the packed NPipes $VERSION (net10.0 + netstandard2.0) builds a net48 app without a warning"
