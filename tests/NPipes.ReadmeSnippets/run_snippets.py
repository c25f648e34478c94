#!/usr/bin/env python3
"""The readme lane: every ```csharp and ```python block of the given READMEs compiles and runs, with its peer.

Usage: run_snippets.py OUT_DIR README.md [MORE.md ...]

Each marked block (``<!-- snippet: NAME -->`` on the line before its fence) becomes its own program: a C# block a
console project under OUT_DIR/src/NAME (top-level statements; Snippet.props gives it the NPipes projects), built
together in one `dotnet build`; a Python block a script run with python/ on its path.  plan.py says how each is run.
A block that is part of an API's description rather than a program (a call shown alone) is marked
``<!-- fragment: WHY -->`` instead, and is listed, not run.  Each run gets a temporary folder of its own as TMPDIR, so
its pipes (even npipes' fixed default name) are its own.
Prints one PASS/FAIL line per snippet, then "readme: N passed, N failed, N skipped".  An unmarked block, a snippet
that no run names, or a run naming a missing snippet is a failure.
"""

import hashlib
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from typing import Dict, List, NamedTuple, Optional, Tuple

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from plan import PIPES, RUNS, Proc  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, '..', '..'))
CLI_DLL = os.path.join(REPO, 'src', 'NPipes.Cli', 'bin', 'Release', 'net10.0', 'NPipes.Cli.dll')
BUILD_LIMIT = 600    # seconds for building every C# snippet at once (about 60 s on an idle 2-core machine)
RUN_LIMIT = 120      # seconds for one snippet or command to finish by itself
READY_LIMIT = 90     # seconds for a server to create its pipe
STOP_LIMIT = 30      # seconds for a server to exit after SIGINT

MARKER = re.compile(r'^<!--\s*snippet:\s*([a-z0-9-]+)\s*-->\s*$')
FRAGMENT = re.compile(r'^<!--\s*fragment:\s*(\S.*?)\s*-->\s*$')
FENCE = re.compile(r'^```(csharp|python)\s*$')


class Snippet(NamedTuple):
    name: str
    lang: str     # csharp | python
    where: str    # file:line of the fence
    code: str


def extract(paths: List[str]) -> Tuple[Dict[str, Snippet], List[str], List[str]]:
    """The marked blocks by name, the problems found (unmarked blocks, duplicate names), and the fragments."""
    snippets: Dict[str, Snippet] = {}
    problems: List[str] = []
    fragments: List[str] = []
    for path in paths:
        lines = open(path, encoding='utf-8').read().split('\n')
        i = 0
        while i < len(lines):
            fence = FENCE.match(lines[i])
            if not fence:
                i += 1
                continue
            where = f'{os.path.relpath(path, REPO)}:{i + 1}'
            end = next((j for j in range(i + 1, len(lines)) if lines[j].startswith('```')), len(lines))
            marker = MARKER.match(lines[i - 1]) if i > 0 else None
            fragment = FRAGMENT.match(lines[i - 1]) if i > 0 else None
            if fragment is not None:
                fragments.append(f'{where}: {fragment.group(1)}')
            elif marker is None:
                problems.append(f'{where}: a ```{fence.group(1)} block without a "<!-- snippet: NAME -->" line before it')
            elif marker.group(1) in snippets:
                problems.append(f'{where}: snippet name {marker.group(1)} used twice')
            else:
                snippets[marker.group(1)] = Snippet(marker.group(1), fence.group(1), where, '\n'.join(lines[i + 1:end]) + '\n')
            i = end + 1
    return snippets, problems, fragments


def unique_pipes(code: str, names: Dict[str, str]) -> str:
    """The code with each quoted pipe name of PIPES replaced by its unique name for this run."""
    for plain, unique in names.items():
        code = code.replace(f'"{plain}"', f'"{unique}"').replace(f"'{plain}'", f"'{unique}'")
    return code


def build(snippets: Dict[str, Snippet], names: Dict[str, str], out: str) -> Dict[str, str]:
    """Builds every C# snippet; returns snippet name -> its dll, or -> "!" + why it did not build."""
    src = os.path.join(out, 'src')
    shutil.rmtree(src, ignore_errors=True)
    projects: Dict[str, str] = {}   # code hash -> project name (identical blocks build once)
    owner: Dict[str, str] = {}      # snippet name -> project name
    for s in snippets.values():
        if s.lang != 'csharp':
            continue
        code = unique_pipes(s.code, names)
        key = hashlib.sha256(code.encode()).hexdigest()
        if key not in projects:
            project = 'snippet-' + s.name
            projects[key] = project
            os.makedirs(os.path.join(src, project))
            with open(os.path.join(src, project, 'Program.cs'), 'w', encoding='utf-8') as f:
                f.write(f'// Generated from {s.where} by tests/NPipes.ReadmeSnippets/run_snippets.py\n{code}')
            with open(os.path.join(src, project, project + '.csproj'), 'w', encoding='utf-8') as f:
                uses = {'SnippetUsesJsonRpc': 'JsonRpc' in code, 'SnippetUsesHosting': 'Microsoft.Extensions.' in code}
                f.write('<Project Sdk="Microsoft.NET.Sdk">\n  <PropertyGroup>\n'
                        + ''.join(f'    <{k}>{str(v).lower()}</{k}>\n' for k, v in uses.items())
                        + f'  </PropertyGroup>\n  <Import Project="{os.path.join(HERE, "Snippet.props")}" />\n</Project>\n')
        owner[s.name] = projects[key]
    if not projects:
        return {}
    solution = os.path.join(out, 'snippets.slnx')
    with open(solution, 'w', encoding='utf-8') as f:
        f.write('<Solution>\n' + ''.join(f'  <Project Path="src/{p}/{p}.csproj" />\n' for p in sorted(projects.values()))
                + '</Solution>\n')
    # The src projects were built by ./test.sh (Release); building them again from here would only cost time. They are
    # outside this solution, so MSBuild would reference their Debug build unless told to keep Release for them too.
    print(f'== building {len(projects)} C# snippet programs ({solution}) against the Release build of src/', flush=True)
    started = time.monotonic()
    try:
        done = subprocess.run(['dotnet', 'build', solution, '-c', 'Release', '-nologo', '-clp:ErrorsOnly',
                               '-p:BuildProjectReferences=false', '-p:ShouldUnsetParentConfigurationAndPlatform=false'],
                              stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              timeout=BUILD_LIMIT, text=True)
        log = done.stdout
    except subprocess.TimeoutExpired as e:
        log = f'build timed out after {BUILD_LIMIT} s\n' + (e.stdout or b'').decode(errors='replace')
    print(f'   built in {time.monotonic() - started:.0f} s', flush=True)
    result: Dict[str, str] = {}
    for name, project in owner.items():
        dll = os.path.join(src, project, 'bin', 'Release', 'net10.0', project + '.dll')
        errors = sorted({line.strip() for line in log.splitlines() if f'/{project}/' in line and 'error' in line})
        if errors or not os.path.exists(dll):
            result[name] = '!' + ('\n'.join(errors) or 'not built:\n' + log[-3000:])
        else:
            result[name] = dll
    return result


class Running(NamedTuple):
    proc: Proc
    label: str
    popen: 'subprocess.Popen[bytes]'
    log: str


def start(p: Proc, argv: List[str], log: str, tmpdir: str) -> Running:
    env = dict(os.environ, PYTHONPATH=os.path.join(REPO, 'python'), PYTHONIOENCODING='utf-8', TMPDIR=tmpdir)
    f = open(log, 'wb')
    popen = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=f, stderr=subprocess.STDOUT, env=env, cwd=REPO,
                             start_new_session=True,  # killable as a group; SIGINT back to default for Ctrl-C
                             preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    f.close()
    return Running(p, p.snippet or ' '.join(p.command), popen, log)


def output(r: Running) -> str:
    with open(r.log, encoding='utf-8', errors='replace') as f:
        return f.read()


def check_output(r: Running) -> Optional[str]:
    lines = [line.rstrip('\r') for line in output(r).splitlines()]
    missing = [e for e in r.proc.expect if e not in lines]
    return f'{r.label}: expected the line(s) {missing!r} in its output' if missing else None


def kill(r: Running) -> None:
    try:
        os.killpg(r.popen.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    r.popen.wait()


def run(number: int, procs: List[Proc], argv_of: Dict[str, List[str]], names: Dict[str, str], out: str) -> List[str]:
    """Runs one entry of RUNS; returns what went wrong (empty: passed)."""
    problems: List[str] = []
    running: List[Running] = []
    tmpdir = tempfile.mkdtemp(prefix=f'npipes-readme{number}-')   # short: a socket path has at most 107 bytes

    def launch(p: Proc, k: int) -> Running:
        if p.snippet is not None:
            argv = argv_of[p.snippet]
        else:
            argv = [a.format(npipes='\0', **names) for a in p.command]
            argv = [x for a in argv for x in (['dotnet', CLI_DLL] if a == '\0' else [a])]
        r = start(p, argv, os.path.join(out, 'logs', f'run{number}-{k}-{p.snippet or argv[2 if argv[0] == "dotnet" else 0]}.log'),
                  tmpdir)
        running.append(r)
        return r

    try:
        servers = [launch(p, k) for k, p in enumerate(procs) if p.serves]
        for r in servers:
            path = os.path.join(tmpdir, 'CoreFxPipe_' + names[(r.proc.serves or '').replace('-', '_')])
            deadline = time.monotonic() + READY_LIMIT
            while not os.path.exists(path) and r.popen.poll() is None and time.monotonic() < deadline:
                time.sleep(0.05)  # polling for the pipe to appear, bounded
            if not os.path.exists(path):
                problems.append(f'{r.label}: its pipe {path} did not appear (exit code {r.popen.poll()})')
        if problems:
            return problems
        clients = [launch(p, k) for k, p in enumerate(procs) if not p.serves]
        deadline = time.monotonic() + RUN_LIMIT
        for r in clients:
            try:
                code = r.popen.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                problems.append(f'{r.label}: still running after {RUN_LIMIT} s')
                continue
            if code != 0:
                problems.append(f'{r.label}: exit code {code}')
            problems += filter(None, [check_output(r)])
        for r in servers:
            if r.popen.poll() is not None:
                problems.append(f'{r.label}: the server exited early (exit code {r.popen.returncode})')
                continue
            r.popen.send_signal(signal.SIGINT)
            try:
                code = r.popen.wait(timeout=STOP_LIMIT)
                if code != 0:
                    problems.append(f'{r.label}: exit code {code} after SIGINT')
            except subprocess.TimeoutExpired:
                problems.append(f'{r.label}: still running {STOP_LIMIT} s after SIGINT')
        return problems
    finally:
        for r in running:
            kill(r)
        shutil.rmtree(tmpdir, ignore_errors=True)
        if problems:
            for r in running:
                print(f'   --- output of {r.label} ({r.log}):\n' + '\n'.join('   | ' + x for x in output(r).splitlines()[-25:]))


def main(argv: List[str]) -> int:
    out = os.path.abspath(argv[1])
    os.makedirs(os.path.join(out, 'logs'), exist_ok=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # `timeout` stops the lane: clean up the processes
    snippets, problems, fragments = extract([os.path.abspath(p) for p in argv[2:]])
    suffix = secrets.token_hex(4)
    names = {p: f'{p}-{suffix}' for p in PIPES}
    names_fmt = {p.replace('-', '_'): u for p, u in names.items()}
    print(f'== {len(snippets)} snippets in {", ".join(argv[2:])}; pipe names end in -{suffix}', flush=True)
    for fragment in fragments:
        print(f'   fragment, not run: {fragment}', flush=True)

    failures: Dict[str, List[str]] = {name: [] for name in snippets}
    built = build(snippets, names, out)
    argv_of: Dict[str, List[str]] = {}
    for s in snippets.values():
        if s.lang == 'csharp':
            if built[s.name].startswith('!'):
                failures[s.name].append('does not build: ' + built[s.name][1:])
            else:
                argv_of[s.name] = ['dotnet', built[s.name]]
        else:
            script = os.path.join(out, 'src', f'snippet-{s.name}.py')
            with open(script, 'w', encoding='utf-8') as f:
                f.write(f'# Generated from {s.where} by tests/NPipes.ReadmeSnippets/run_snippets.py\n'
                        + unique_pipes(s.code, names))
            argv_of[s.name] = [sys.executable, script]

    in_a_run = set()
    for number, procs in enumerate(RUNS, 1):
        members = [p.snippet for p in procs if p.snippet is not None]
        in_a_run.update(members)
        missing = [m for m in members if m not in snippets]
        if missing:
            problems.append(f'run {number}: no snippet named {", ".join(missing)}')
            continue
        unbuilt = [m for m in members if m not in argv_of]
        if unbuilt:
            for m in members:
                failures[m].append(f'run {number} not started: {", ".join(unbuilt)} did not build')
            continue
        print(f'== run {number}: {" + ".join(p.snippet or " ".join(p.command) for p in procs)}', flush=True)
        for problem in run(number, procs, argv_of, names_fmt, out):
            print(f'   {problem}', flush=True)
            for m in set(members):
                failures[m].append(f'run {number}: {problem}')
    for name in snippets:
        if name not in in_a_run:
            failures[name].append('no run in tests/NPipes.ReadmeSnippets/plan.py names it')

    passed = failed = 0
    for name, s in snippets.items():
        if failures[name]:
            failed += 1
            print(f'FAIL  {name} ({s.where}): ' + '; '.join(failures[name]).replace('\n', '\n      '))
        else:
            passed += 1
            print(f'PASS  {name} ({s.where})')
    for problem in problems:
        failed += 1
        print(f'FAIL  {problem}')
    print(f'readme: {passed} passed, {failed} failed, 0 skipped')
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
