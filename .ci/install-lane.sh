#!/usr/bin/env bash
# The README's "Install" section, run word for word: pack the .NET packages into a folder, install the `npipes` tool
# from it, reference NPipes from it in a new console app, and `pip install ./python` into a fresh venv. Then the three
# installed things talk to each other over a pipe.
#
# Nothing outside .ci/out/install is touched: HOME points at a scratch folder there, so `dotnet tool install --global`
# lands in .ci/out/install/home/.dotnet/tools and NuGet's package cache is .ci/out/install/home/.nuget/packages (a
# fresh cache each run, so a re-packed 0.2.0 is never shadowed by an old copy; NPipes' own dependencies come from the
# configured NuGet source). Ends with "install: N passed, N failed, N skipped" (one per check).
set -uo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
work=$repo/.ci/out/install
rm -rf "$work"
mkdir -p "$work/home"
pkgs=$work/packages
passed=0; failed=0; skipped=0

ok() { echo "PASS  $1"; passed=$((passed + 1)); }
bad() { echo "FAIL  $1${2:+: $2}"; failed=$((failed + 1)); }
skip() { echo "SKIP  $1: $2"; skipped=$((skipped + 1)); }
# check NAME COMMAND...: one check, passed when COMMAND exits 0 (its output is kept in the log).
check() { local name=$1; shift; if "$@"; then ok "$name"; else bad "$name" "exit code $?"; fi; }
finish() { echo "install: $passed passed, $failed failed, $skipped skipped"; [ "$failed" -eq 0 ]; exit; }

export DOTNET_NOLOGO=1 DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
version=$(sed -nE 's|.*<Version>([^<]+)</Version>.*|\1|p' Directory.Build.props | head -n 1)
name="install-$$-$RANDOM$RANDOM"

# 1. Pack (the README's command, from the repository root; the real HOME, so the repository's restore is unchanged).
echo "== dotnet pack -c Release -o $pkgs"
check "dotnet pack -c Release -o FOLDER" timeout 400 dotnet pack -c Release -o "$pkgs" -nologo -clp:ErrorsOnly
for id in NPipes NPipes.Cli NPipes.Hosting NPipes.JsonRpc; do
  check "package $id.$version.nupkg exists" test -f "$pkgs/$id.$version.nupkg"
done
check "NPipes.$version.nupkg holds lib/net10.0/NPipes.dll and README.md" python3 - "$pkgs/NPipes.$version.nupkg" <<'EOF'
import sys, zipfile
names = zipfile.ZipFile(sys.argv[1]).namelist()
print('  lib/ entries:', ', '.join(n for n in names if n.startswith('lib/') and n.endswith('.dll')))
sys.exit(0 if 'lib/net10.0/NPipes.dll' in names and 'README.md' in names else 1)
EOF
[ -f "$pkgs/NPipes.Cli.$version.nupkg" ] || finish # nothing below can work without the packages

# Everything below runs as a user whose home is the scratch folder.
export HOME=$work/home
unset NUGET_PACKAGES DOTNET_CLI_HOME

# 2. The tool, as the README installs it.
echo "== dotnet tool install --global --add-source $pkgs NPipes.Cli   (HOME=$HOME)"
check "dotnet tool install --global --add-source FOLDER NPipes.Cli" \
  timeout 300 dotnet tool install --global --add-source "$pkgs" NPipes.Cli
export PATH="$PATH:$HOME/.dotnet/tools"
check "npipes is the installed tool" test "$(command -v npipes)" = "$HOME/.dotnet/tools/npipes"
v=$(timeout 60 npipes --version 2>&1); echo "  npipes --version: $v"
if [[ $v == "$version"* ]]; then ok "npipes --version starts with $version"; else bad "npipes --version" "got '$v'"; fi
f=$(timeout 60 npipes frame encode Hello --crc 2>&1); echo "  npipes frame encode Hello --crc: $f"
if [ "$f" = 0000000d0000000548656c6c6ff7d18982 ]; then ok "npipes frame encode Hello --crc"; else bad "npipes frame encode" "got '$f'"; fi

# 3. An app that references the NPipes package from the folder.
echo "== a console app referencing NPipes $version from $pkgs"
app_ok=1
(
  set -e
  cd "$work"
  dotnet new console -o MyApp
  cd MyApp
  dotnet new nugetconfig
  dotnet nuget add source "$pkgs" --name npipes-local
  dotnet add package NPipes --version "$version"
) || app_ok=0
if [ "$app_ok" = 1 ]; then ok "dotnet new console + nugetconfig + nuget add source + add package NPipes"; else bad "creating the app"; fi
cat >"$work/MyApp/Program.cs" <<'EOF'
using NPipes;

// Asks the pipe named on the command line (an `npipes echo` started by the lane) and prints the reply.
using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
await using PipeConnection conn = await PipeConnection.ConnectAsync(args[0], cancellationToken: timeout.Token);
Console.WriteLine(await conn.RequestAsync("hello from MyApp", timeout.Token));
EOF
check "MyApp builds against the package" timeout 300 dotnet build "$work/MyApp" -nologo -clp:ErrorsOnly
check "MyApp restored NPipes from the folder (scratch NuGet cache)" \
  test -f "$HOME/.nuget/packages/npipes/$version/npipes.$version.nupkg"

# 4. Python, as the README installs it: a fresh venv, then `pip install ./python` with its pip.
echo "== python3 -m venv; pip install ./python"
venv=$work/venv
py_ok=0
if python3 -m venv "$venv" && [ -x "$venv/bin/pip" ]; then
  py_ok=1
elif python3 -m venv --clear --without-pip "$venv" && python3 -m pip --version >/dev/null 2>&1; then
  py_ok=2 # a venv without pip of its own: the system pip installs into it
fi
case $py_ok in
  1) check "pip install ./python (in a venv)" bash -c ". '$venv/bin/activate' && timeout 300 pip install ./python" ;;
  2) check "python3 -m pip --python VENV install ./python" timeout 300 python3 -m pip --python "$venv/bin/python" install ./python ;;
  *) skip "pip install ./python" "no venv with pip and no system pip on this machine" ;;
esac
if [ "$py_ok" != 0 ]; then
  m=$("$venv/bin/python" -c 'import importlib.metadata as m, npipes, os; print(m.version("npipes-interop"), os.path.dirname(npipes.__file__))' 2>&1)
  echo "  npipes-interop version, import path: $m"
  if [[ $m == "$version $venv/"* ]]; then ok "import npipes from the venv; distribution npipes-interop $version"; else bad "import npipes" "$m"; fi
  f=$(timeout 60 "$venv/bin/npipes-py" frame encode Hello --crc 2>&1)
  if [ "$f" = 0000000d0000000548656c6c6ff7d18982 ]; then ok "npipes-py frame encode Hello --crc"; else bad "npipes-py frame encode" "got '$f'"; fi
fi

# 5. The installed pieces together: the tool serves, the app and the Python command ask.
echo "== npipes echo $name; MyApp and npipes-py request it"
npipes echo "$name" >"$work/echo.out" 2>&1 &
echo_pid=$!
for _ in $(seq 1 300); do grep -q 'serving' "$work/echo.out" && break; kill -0 "$echo_pid" 2>/dev/null || break; sleep 0.1; done
r=$(timeout 120 dotnet run --project "$work/MyApp" --no-build -- "$name" 2>&1)
if [ "$r" = "hello from MyApp" ]; then ok "MyApp asks the installed npipes echo"; else bad "MyApp request" "got '$r'"; fi
if [ "$py_ok" != 0 ]; then
  r=$(timeout 60 "$venv/bin/npipes-py" request "$name" "hello from python" --timeout 30 2>&1)
  if [ "$r" = "hello from python" ]; then ok "npipes-py request to the installed npipes echo"; else bad "npipes-py request" "got '$r'"; fi
fi
kill -TERM "$echo_pid" 2>/dev/null
if timeout 30 tail --pid="$echo_pid" -f /dev/null; then
  wait "$echo_pid"; erc=$?
  if [ "$erc" -eq 0 ]; then ok "npipes echo stops on SIGTERM with exit 0"; else bad "npipes echo stop" "exit code $erc"; fi
else
  kill -KILL "$echo_pid" 2>/dev/null; wait "$echo_pid"; bad "npipes echo stop" "still running 30 s after SIGTERM"
fi
echo "  npipes echo said: $(tr '\n' ' ' <"$work/echo.out")"
finish
