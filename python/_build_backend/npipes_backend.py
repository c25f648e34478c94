"""A standard-library-only PEP 517 / PEP 660 build backend for npipes.

``pyproject.toml`` names it with ``backend-path = ["_build_backend"]`` and
``requires = []``, so ``pip install ./python`` (build isolation included)
needs nothing but the standard library and pip: no setuptools, no wheel,
no network.

It builds exactly one kind of project, this one: one pure-Python package
with the metadata in the ``[project]`` table of pyproject.toml, which is
the single source of the version.  The package is the directory named by
``[tool.npipes_backend] package`` (the distribution ``npipes-interop``
installs the import package ``npipes``), else the one named like the
project; its ``__init__.py``'s ``__version__`` must agree with the version
or the build fails.  Every file in the package directory is shipped
(``py.typed`` included), caches excepted.  Runs on Python 3.8+ (tomllib, else tomli, else a small parser
for the TOML this file uses).
"""

import base64
import hashlib
import io
import os
import re
import tarfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent      # python/
GENERATOR = 'npipes_backend'
TAG = 'py3-none-any'
# Files and directories copied into the sdist (besides PKG-INFO).
SDIST_ITEMS = ('pyproject.toml', 'README.md', 'mypy.ini', 'run_tests.py',
               '_build_backend', 'npipes', 'tests')
SUPPORTED_KEYS = {'name', 'version', 'description', 'readme',
                  'requires-python', 'license', 'classifiers', 'scripts',
                  'dependencies', 'keywords', 'urls'}


# ---------------------------------------------------------------- TOML

def _load_toml(text):
    try:
        import tomllib
    except ImportError:
        try:
            import tomli as tomllib
        except ImportError:
            return _mini_toml(text)
    return tomllib.loads(text)


_BARE_KEY = re.compile(r'[A-Za-z0-9_-]+')
_ESCAPES = {'b': '\b', 't': '\t', 'n': '\n', 'f': '\f', 'r': '\r',
            '"': '"', '\\': '\\'}


def _mini_toml(text):
    """Parse the subset of TOML that pyproject.toml files use.

    Tables, dotted and quoted keys, basic and literal strings (one line),
    integers, booleans, arrays (across lines) and inline tables.
    Anything else is a ValueError, never a silent misreading.
    """
    data = {}
    pos = 0
    current = data

    def error(msg):
        line = text.count('\n', 0, pos) + 1
        raise ValueError(f'pyproject.toml line {line}: {msg}')

    def skip(newlines):
        nonlocal pos
        while pos < len(text):
            c = text[pos]
            if c in ' \t' or (newlines and c in '\r\n'):
                pos += 1
            elif c == '#':
                while pos < len(text) and text[pos] != '\n':
                    pos += 1
            else:
                break

    def string():
        nonlocal pos
        quote = text[pos]
        if text.startswith(quote * 3, pos):
            error('multi-line strings are not supported')
        pos += 1
        out = []
        while True:
            if pos >= len(text) or text[pos] == '\n':
                error('unterminated string')
            c = text[pos]
            pos += 1
            if c == quote:
                return ''.join(out)
            if c == '\\' and quote == '"':
                e = text[pos:pos + 1]
                pos += 1
                if e in _ESCAPES:
                    out.append(_ESCAPES[e])
                elif e in ('u', 'U'):
                    n = 4 if e == 'u' else 8
                    digits = text[pos:pos + n]
                    if not re.fullmatch(r'[0-9A-Fa-f]{%d}' % n, digits):
                        error('bad unicode escape')
                    out.append(chr(int(digits, 16)))
                    pos += n
                else:
                    error(f'bad escape \\{e}')
            else:
                out.append(c)

    def key():
        nonlocal pos
        parts = []
        while True:
            skip(False)
            if pos < len(text) and text[pos] in '"\'':
                parts.append(string())
            else:
                m = _BARE_KEY.match(text, pos)
                if not m:
                    error('expected a key')
                parts.append(m.group())
                pos = m.end()
            skip(False)
            if text.startswith('.', pos):
                pos += 1
            else:
                return parts

    def put(table, parts, value):
        for part in parts[:-1]:
            table = table.setdefault(part, {})
            if not isinstance(table, dict):
                error(f'{part} is not a table')
        if parts[-1] in table:
            error(f'duplicate key {parts[-1]}')
        table[parts[-1]] = value

    def value():
        nonlocal pos
        c = text[pos:pos + 1]
        if c in ('"', "'"):
            return string()
        if c == '[':
            pos += 1
            items = []
            while True:
                skip(True)
                if text.startswith(']', pos):
                    pos += 1
                    return items
                items.append(value())
                skip(True)
                if text.startswith(',', pos):
                    pos += 1
                elif not text.startswith(']', pos):
                    error('expected , or ] in array')
        if c == '{':
            pos += 1
            table = {}
            skip(False)
            if text.startswith('}', pos):
                pos += 1
                return table
            while True:
                parts = key()
                if not text.startswith('=', pos):
                    error('expected =')
                pos += 1
                skip(False)
                put(table, parts, value())
                skip(False)
                if text.startswith(',', pos):
                    pos += 1
                elif text.startswith('}', pos):
                    pos += 1
                    return table
                else:
                    error('expected , or } in inline table')
        m = re.compile(r'true|false|[+-]?[0-9][0-9_]*(?![0-9A-Za-z.:])').match(text, pos)
        if not m:
            error('unsupported value')
        pos = m.end()
        word = m.group()
        return word == 'true' if word in ('true', 'false') else int(word)

    while True:
        skip(True)
        if pos >= len(text):
            return data
        if text.startswith('[[', pos):
            error('arrays of tables are not supported')
        if text[pos] == '[':
            pos += 1
            parts = key()
            if not text.startswith(']', pos):
                error('expected ]')
            pos += 1
            current = data
            for part in parts:
                current = current.setdefault(part, {})
                if not isinstance(current, dict):
                    error(f'{part} is not a table')
        else:
            parts = key()
            if not text.startswith('=', pos):
                error('expected =')
            pos += 1
            skip(False)
            put(current, parts, value())
        skip(False)
        if pos < len(text) and text[pos] not in '\r\n':
            error('expected end of line')


# ------------------------------------------------------------ metadata

class _Project:
    def __init__(self, root=ROOT):
        self.root = Path(root)
        doc = _load_toml((self.root / 'pyproject.toml').read_text('utf-8'))
        project = doc.get('project')
        if not isinstance(project, dict):
            raise ValueError('pyproject.toml has no [project] table')
        unknown = set(project) - SUPPORTED_KEYS
        if unknown:
            raise ValueError('npipes_backend does not handle [project] keys: '
                             + ', '.join(sorted(unknown)))
        self.project = project
        self.name = project['name']
        self.version = project['version']
        if not re.fullmatch(r'[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?', self.name):
            raise ValueError(f'bad project name {self.name!r}')
        # Canonical PEP 440 versions only, so file names need no normalising.
        if not re.fullmatch(r'\d+(\.\d+)*((a|b|rc)\d+)?(\.post\d+)?(\.dev\d+)?',
                            self.version):
            raise ValueError(f'version {self.version!r} is not canonical PEP 440')
        # wheel/sdist file-name form of the name (PEP 427 / PEP 625)
        self.dist = re.sub(r'[-_.]+', '_', self.name).lower()
        tool = doc.get('tool', {}).get('npipes_backend', {})
        unknown = set(tool) - {'package'}
        if unknown:
            raise ValueError('npipes_backend does not handle '
                             '[tool.npipes_backend] keys: '
                             + ', '.join(sorted(unknown)))
        self.package = tool.get('package', self.dist)
        if not re.fullmatch(r'[A-Za-z_][A-Za-z0-9_]*', self.package):
            raise ValueError(f'bad package name {self.package!r}')
        self.package_dir = self.root / self.package
        init = (self.package_dir / '__init__.py').read_text('utf-8')
        m = re.search(r'''^__version__\s*=\s*['"]([^'"]+)['"]''', init, re.M)
        if m and m.group(1) != self.version:
            raise ValueError(f'{self.package}/__init__.py has __version__ '
                             f'{m.group(1)!r} but pyproject.toml says '
                             f'{self.version!r}')

    @property
    def dist_info(self):
        return f'{self.dist}-{self.version}.dist-info'

    def metadata(self):
        p = self.project
        lines = ['Metadata-Version: 2.1', f'Name: {self.name}',
                 f'Version: {self.version}']
        if 'description' in p:
            lines.append(f'Summary: {p["description"]}')
        if 'keywords' in p:
            lines.append('Keywords: ' + ','.join(p['keywords']))
        license = p.get('license')
        if license is not None:
            if not isinstance(license, dict) or set(license) != {'text'}:
                raise ValueError('only license = { text = "..." } is handled')
            lines.append(f'License: {license["text"]}')
        for label, url in p.get('urls', {}).items():
            lines.append(f'Project-URL: {label}, {url}')
        for classifier in p.get('classifiers', []):
            lines.append(f'Classifier: {classifier}')
        if 'requires-python' in p:
            lines.append(f'Requires-Python: {p["requires-python"]}')
        for dep in p.get('dependencies', []):
            lines.append(f'Requires-Dist: {dep}')
        body = ''
        readme = p.get('readme')
        if readme is not None:
            if not isinstance(readme, str):
                raise ValueError('only readme = "FILE" is handled')
            kind = {'.md': 'text/markdown', '.rst': 'text/x-rst'}.get(
                Path(readme).suffix.lower(), 'text/plain')
            lines.append(f'Description-Content-Type: {kind}')
            body = (self.root / readme).read_text('utf-8')
        if any('\n' in line for line in lines):
            raise ValueError('metadata fields must be single lines')
        text = '\n'.join(lines) + '\n'
        if body:
            text += '\n' + body
            if not text.endswith('\n'):
                text += '\n'
        return text.encode('utf-8')

    def entry_points(self):
        scripts = self.project.get('scripts', {})
        if not scripts:
            return None
        lines = ['[console_scripts]']
        lines += [f'{name} = {target}' for name, target in scripts.items()]
        return ('\n'.join(lines) + '\n').encode('utf-8')

    def wheel_file(self):
        return (f'Wheel-Version: 1.0\nGenerator: {GENERATOR}\n'
                f'Root-Is-Purelib: true\nTag: {TAG}\n').encode('utf-8')

    def dist_info_files(self):
        """[(name, bytes)] for the .dist-info directory, RECORD excepted."""
        files = [('METADATA', self.metadata()), ('WHEEL', self.wheel_file())]
        entry_points = self.entry_points()
        if entry_points is not None:
            files.append(('entry_points.txt', entry_points))
        return files

    def package_files(self):
        """[(archive name, path)] of the package's sources, sorted."""
        out = []
        for path in sorted(self.package_dir.rglob('*')):
            rel = path.relative_to(self.root)
            if (path.is_file() and '__pycache__' not in rel.parts
                    and path.suffix not in ('.pyc', '.pyo')):
                out.append((rel.as_posix(), path))
        return out


# ------------------------------------------------------------- writing

def _timestamp():
    epoch = os.environ.get('SOURCE_DATE_EPOCH')
    t = time.gmtime(int(epoch)) if epoch else None
    if t is None or t.tm_year < 1980:
        return (1980, 1, 1, 0, 0, 0)
    return tuple(t[:6])


def _record_hash(data):
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest())
    return 'sha256=' + digest.rstrip(b'=').decode('ascii')


def _write_wheel(project, wheel_directory, contents):
    """contents: [(archive name, bytes)] outside .dist-info."""
    name = f'{project.dist}-{project.version}-{TAG}.whl'
    dist_info = project.dist_info
    entries = list(contents)
    entries += [(f'{dist_info}/{n}', data)
                for n, data in project.dist_info_files()]
    record = io.StringIO()
    for arcname, data in entries:
        record.write(f'{arcname},{_record_hash(data)},{len(data)}\n')
    record.write(f'{dist_info}/RECORD,,\n')
    entries.append((f'{dist_info}/RECORD', record.getvalue().encode('utf-8')))
    stamp = _timestamp()
    path = Path(wheel_directory) / name
    tmp = path.with_name(name + '.tmp')
    with zipfile.ZipFile(tmp, 'w', zipfile.ZIP_DEFLATED) as zf:
        for arcname, data in entries:
            info = zipfile.ZipInfo(arcname, date_time=stamp)
            info.external_attr = (0o100644 << 16)
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, data)
    os.replace(tmp, path)
    return name


def _write_metadata_dir(project, metadata_directory):
    target = Path(metadata_directory) / project.dist_info
    target.mkdir(parents=True, exist_ok=True)
    for name, data in project.dist_info_files():
        (target / name).write_bytes(data)
    return project.dist_info


# ------------------------------------------------------ PEP 517 hooks

def get_requires_for_build_wheel(config_settings=None):
    return []


def get_requires_for_build_sdist(config_settings=None):
    return []


def get_requires_for_build_editable(config_settings=None):
    return []


def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):
    return _write_metadata_dir(_Project(), metadata_directory)


def prepare_metadata_for_build_editable(metadata_directory,
                                        config_settings=None):
    return _write_metadata_dir(_Project(), metadata_directory)


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    project = _Project()
    contents = [(arcname, path.read_bytes())
                for arcname, path in project.package_files()]
    return _write_wheel(project, wheel_directory, contents)


_EDITABLE_FINDER = '''\
"""Editable install of {name}: imports {package} from {src!r}."""
import importlib.machinery
import sys

SOURCE = {src!r}


class _Finder:
    @classmethod
    def find_spec(cls, fullname, path=None, target=None):
        if fullname != {package!r}:
            return None
        return importlib.machinery.PathFinder.find_spec(fullname, [SOURCE])


def install():
    if not any(f is _Finder for f in sys.meta_path):
        sys.meta_path.append(_Finder)
'''


def build_editable(wheel_directory, config_settings=None,
                   metadata_directory=None):
    """PEP 660: a wheel whose .pth maps the package (only) to the tree."""
    project = _Project()
    module = f'__editable___{project.dist}_finder'
    finder = _EDITABLE_FINDER.format(name=project.name, package=project.package,
                                     src=str(project.root))
    contents = [
        (f'{module}.py', finder.encode('utf-8')),
        (f'__editable__.{project.dist}-{project.version}.pth',
         f'import {module}; {module}.install()\n'.encode('utf-8')),
    ]
    return _write_wheel(project, wheel_directory, contents)


def build_sdist(sdist_directory, config_settings=None):
    project = _Project()
    base = f'{project.dist}-{project.version}'
    mtime = int(os.environ.get('SOURCE_DATE_EPOCH', '0') or 0)

    def add_bytes(tf, arcname, data):
        info = tarfile.TarInfo(arcname)
        info.size = len(data)
        info.mtime = mtime
        info.mode = 0o644
        tf.addfile(info, io.BytesIO(data))

    files = []
    for item in SDIST_ITEMS:
        path = project.root / item
        if path.is_file():
            files.append(path)
        elif path.is_dir():
            files += [p for p in sorted(path.rglob('*'))
                      if p.is_file() and '__pycache__' not in p.parts
                      and p.suffix not in ('.pyc', '.pyo')]
    name = base + '.tar.gz'
    target = Path(sdist_directory) / name
    tmp = target.with_name(name + '.tmp')
    with tarfile.open(tmp, 'w:gz', format=tarfile.PAX_FORMAT) as tf:
        add_bytes(tf, f'{base}/PKG-INFO', project.metadata())
        for path in files:
            rel = path.relative_to(project.root).as_posix()
            add_bytes(tf, f'{base}/{rel}', path.read_bytes())
    os.replace(tmp, target)
    return name
