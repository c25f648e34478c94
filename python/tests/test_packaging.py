"""The in-tree build backend (python/_build_backend/npipes_backend.py).

Calls its PEP 517/660 hooks directly (no pip, no network) and checks the
archives they write: file lists, METADATA, RECORD hashes; then runs
``pip install ./python`` for real, offline, into a temporary directory.

The distribution is ``npipes-interop`` (PyPI's ``npipes`` is the npipes
project's); the import package it installs is ``npipes``.
"""

import base64
import csv
import hashlib
import importlib.util
import io
import os
import subprocess
import sys
import tarfile
import tempfile
import unittest
import zipfile
from pathlib import Path

import npipes

ROOT = Path(__file__).resolve().parent.parent          # python/
BACKEND = ROOT / '_build_backend' / 'npipes_backend.py'


def load_backend():
    spec = importlib.util.spec_from_file_location('npipes_backend_under_test',
                                                  str(BACKEND))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


backend = load_backend()
PROJECT = backend._load_toml((ROOT / 'pyproject.toml').read_text('utf-8'))
DIST_NAME = 'npipes-interop'
VERSION = PROJECT['project']['version']
DIST = 'npipes_interop'                 # the name's file-name form
DIST_INFO = f'{DIST}-{VERSION}.dist-info'


def parse_metadata(data):
    headers, _, body = data.decode('utf-8').partition('\n\n')
    fields = {}
    for line in headers.splitlines():
        key, _, value = line.partition(': ')
        fields.setdefault(key, []).append(value)
    return fields, body


def record_hash(data):
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest())
    return 'sha256=' + digest.rstrip(b'=').decode('ascii')


class BackendTests(unittest.TestCase):

    def setUp(self):
        tmp = tempfile.TemporaryDirectory()
        self.addCleanup(tmp.cleanup)
        self.out = Path(tmp.name)

    def check_record(self, zf):
        names = zf.namelist()
        self.assertEqual(len(names), len(set(names)))
        rows = list(csv.reader(io.StringIO(
            zf.read(f'{DIST_INFO}/RECORD').decode('utf-8'))))
        self.assertEqual(rows[-1], [f'{DIST_INFO}/RECORD', '', ''])
        self.assertEqual(sorted(r[0] for r in rows), sorted(names))
        for path, digest, size in rows[:-1]:
            data = zf.read(path)
            self.assertEqual(digest, record_hash(data), path)
            self.assertFalse(digest.endswith('='), path)
            self.assertEqual(int(size), len(data), path)

    def test_pyproject_declares_this_backend(self):
        build = PROJECT['build-system']
        self.assertEqual(build['requires'], [])
        self.assertEqual(build['build-backend'], 'npipes_backend')
        self.assertEqual(build['backend-path'], ['_build_backend'])
        self.assertEqual(VERSION, npipes.__version__)

    def test_distribution_name_is_not_npipes(self):
        # PyPI's "npipes" is the npipes project; ours follows the .NET
        # packages' version and installs the import package npipes.
        self.assertEqual(PROJECT['project']['name'], DIST_NAME)
        self.assertEqual(PROJECT['tool']['npipes_backend']['package'], 'npipes')
        self.assertEqual(VERSION, '0.2.0')
        for readme in (ROOT / 'README.md', ROOT.parent / 'README.md'):
            text = readme.read_text('utf-8')
            with self.subTest(readme=str(readme)):
                for needed in ('pip install ./python', DIST_NAME,
                               'npipes 1.0.1', 'cannot be installed'):
                    self.assertTrue(needed in text, f'{needed!r} missing')

    def test_hooks_need_nothing(self):
        self.assertEqual(backend.get_requires_for_build_wheel(), [])
        self.assertEqual(backend.get_requires_for_build_sdist(), [])
        self.assertEqual(backend.get_requires_for_build_editable(), [])

    def test_build_wheel(self):
        name = backend.build_wheel(str(self.out))
        self.assertEqual(name, f'{DIST}-{VERSION}-py3-none-any.whl')
        self.assertEqual([p.name for p in self.out.iterdir()], [name])
        with zipfile.ZipFile(self.out / name) as zf:
            self.assertIsNone(zf.testzip())
            sources = sorted(p.relative_to(ROOT).as_posix()
                             for p in (ROOT / 'npipes').rglob('*')
                             if p.is_file() and p.suffix != '.pyc')
            self.assertIn('npipes/py.typed', sources)       # PEP 561
            expected = sources + [f'{DIST_INFO}/{n}' for n in
                                  ('METADATA', 'WHEEL', 'entry_points.txt',
                                   'RECORD')]
            self.assertEqual(zf.namelist(), expected)
            for source in sources:
                self.assertEqual(zf.read(source), (ROOT / source).read_bytes())
            fields, body = parse_metadata(zf.read(f'{DIST_INFO}/METADATA'))
            self.assertEqual(fields['Metadata-Version'], ['2.1'])
            self.assertEqual(fields['Name'], [DIST_NAME])
            self.assertEqual(fields['Version'], [npipes.__version__])
            self.assertEqual(fields['Summary'],
                             [PROJECT['project']['description']])
            self.assertEqual(fields['Requires-Python'], ['>=3.8'])
            self.assertEqual(body, (ROOT / 'README.md').read_text('utf-8'))
            wheel, _ = parse_metadata(zf.read(f'{DIST_INFO}/WHEEL'))
            self.assertEqual(wheel['Wheel-Version'], ['1.0'])
            self.assertEqual(wheel['Root-Is-Purelib'], ['true'])
            self.assertEqual(wheel['Tag'], ['py3-none-any'])
            self.assertIn('npipes-py = npipes.__main__:main',
                          zf.read(f'{DIST_INFO}/entry_points.txt').decode())
            self.check_record(zf)

    def test_prepare_metadata_matches_wheel(self):
        meta = self.out / 'meta'
        meta.mkdir()
        self.assertEqual(backend.prepare_metadata_for_build_wheel(str(meta)),
                         DIST_INFO)
        name = backend.build_wheel(str(self.out), metadata_directory=str(meta))
        with zipfile.ZipFile(self.out / name) as zf:
            for path in (meta / DIST_INFO).iterdir():
                self.assertEqual(path.read_bytes(),
                                 zf.read(f'{DIST_INFO}/{path.name}'))

    def test_build_editable(self):
        name = backend.build_editable(str(self.out))
        with zipfile.ZipFile(self.out / name) as zf:
            self.check_record(zf)
            self.assertFalse([n for n in zf.namelist()
                              if n.startswith('npipes/')])
            pth = [n for n in zf.namelist() if n.endswith('.pth')]
            self.assertEqual(len(pth), 1)
            finder = zf.read(f'__editable___{DIST}_finder.py').decode()
            self.assertIn("fullname != 'npipes'", finder)
            self.assertIn(repr(str(ROOT)), finder)

    def test_build_sdist(self):
        name = backend.build_sdist(str(self.out))
        self.assertEqual(name, f'{DIST}-{VERSION}.tar.gz')
        with tarfile.open(self.out / name) as tf:
            names = tf.getnames()
        base = f'{DIST}-{VERSION}/'
        for member in ('PKG-INFO', 'pyproject.toml', 'README.md', 'mypy.ini',
                       '_build_backend/npipes_backend.py', 'npipes/__init__.py',
                       'npipes/py.typed'):
            self.assertIn(base + member, names)
        self.assertFalse([n for n in names if '__pycache__' in n])

    def test_version_mismatch_fails_the_build(self):
        (self.out / 'npipes').mkdir()
        (self.out / 'pyproject.toml').write_bytes(
            (ROOT / 'pyproject.toml').read_bytes())
        (self.out / 'npipes' / '__init__.py').write_text(
            "__version__ = '0.0.1'\n")
        with self.assertRaisesRegex(ValueError, '__version__'):
            backend._Project(self.out)

    def test_backend_options_are_checked(self):
        (self.out / 'npipes').mkdir()
        (self.out / 'npipes' / '__init__.py').write_text('')
        text = (ROOT / 'pyproject.toml').read_text('utf-8')
        for extra, error in (('typo = 1\n', 'typo'),
                             ('', 'bad package name')):
            with self.subTest(extra=extra):
                bad = text.replace('package = "npipes"',
                                   extra + 'package = "npipes"' if extra
                                   else 'package = "../npipes"')
                self.assertNotEqual(bad, text)
                (self.out / 'pyproject.toml').write_text(bad, 'utf-8')
                with self.assertRaisesRegex(ValueError, error):
                    backend._Project(self.out)

    def test_mini_toml_reads_pyproject_like_tomllib(self):
        try:
            import tomllib
        except ImportError:
            self.skipTest('tomllib needs Python 3.11')
        text = (ROOT / 'pyproject.toml').read_text('utf-8')
        self.assertEqual(backend._mini_toml(text), tomllib.loads(text))
        for bad in ('a = """x"""', '[[t]]', 'a = 1.5', 'a = 1\na = 2',
                    'a = "x', 'a = 1 b'):
            with self.assertRaises(ValueError, msg=bad):
                backend._mini_toml(bad)


class PipInstallTests(unittest.TestCase):
    """``pip install ./python`` as a user runs it (build isolation on),
    with the index switched off: it must need nothing from the network."""

    def test_pip_install_offline(self):
        pip = [sys.executable, '-m', 'pip']
        if subprocess.run(pip + ['--version'], capture_output=True,
                          timeout=60).returncode != 0:
            self.skipTest(f'pip is not installed for {sys.executable}')
        tmp = tempfile.TemporaryDirectory()
        self.addCleanup(tmp.cleanup)
        target = Path(tmp.name) / 'site'
        env = {k: v for k, v in os.environ.items()
               if not k.startswith('PIP_') and k != 'PYTHONPATH'}
        env.update(PIP_DISABLE_PIP_VERSION_CHECK='1', PIP_NO_CACHE_DIR='1',
                   PIP_CONFIG_FILE=os.devnull)
        p = subprocess.run(pip + ['install', '--no-index', '--no-deps',
                                  '--target', str(target), str(ROOT)],
                           capture_output=True, text=True, env=env,
                           timeout=180)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertTrue((target / 'npipes' / 'py.typed').is_file())
        fields, _ = parse_metadata((target / DIST_INFO / 'METADATA')
                                   .read_bytes())
        self.assertEqual((fields['Name'], fields['Version']),
                         ([DIST_NAME], [VERSION]))

        env['PYTHONPATH'] = str(target)
        p = subprocess.run([sys.executable, '-c', 'import npipes; '
                            'print(npipes.__file__, npipes.__version__)'],
                           capture_output=True, text=True, env=env,
                           cwd=tmp.name, timeout=60)
        self.assertEqual(p.stdout.split(),
                         [str(target / 'npipes' / '__init__.py'), VERSION],
                         p.stderr)
        # The console script: its help names the command as installed.
        scripts = target / ('Scripts' if os.name == 'nt' else 'bin')
        command = scripts / ('npipes-py.exe' if os.name == 'nt' else 'npipes-py')
        p = subprocess.run([str(command), '--help'], capture_output=True,
                           text=True, env=env, cwd=tmp.name, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertTrue(p.stdout.startswith('usage: npipes-py '), p.stdout)


if __name__ == '__main__':
    unittest.main()
