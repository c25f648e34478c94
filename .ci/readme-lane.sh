#!/usr/bin/env bash
# Readme lane: every ```csharp and ```python block of every Markdown file (READMEs, docs/) is
# built as its own program and run with the peer it needs (tests/NPipes.ReadmeSnippets: run_snippets.py does it,
# plan.py says which peer and what output). Generated programs and their logs are in .ci/out/readme/.
# Needs a Release build (./test.sh builds first). Last line: "readme: N passed, N failed, N skipped", one per snippet.
set -uo pipefail
cd "$(dirname "$0")/.."
if [ ! -f src/NPipes.Cli/bin/Release/net10.0/NPipes.Cli.dll ]; then
  echo "readme-lane: src/NPipes.Cli is not built (run ./test.sh, or dotnet build NPipes.slnx -c Release)" >&2
  echo "readme: 0 passed, 1 failed, 0 skipped"; exit 1
fi
# Every Markdown file in the repository: a block is a snippet that runs, or is marked a fragment on purpose.
mapfile -t docs < <(git ls-files '*.md' 2>/dev/null || find . -name '*.md' -not -path './.ci/*' -not -path '*/bin/*' -not -path '*/obj/*')
exec python3 tests/NPipes.ReadmeSnippets/run_snippets.py .ci/out/readme "${docs[@]}"
