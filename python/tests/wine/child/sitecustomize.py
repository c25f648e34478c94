"""Child Python processes of the python-windows lane's tests run npipes'
Windows path too: bootstrap.install() puts this folder on PYTHONPATH and sets
NPIPES_WINE_CHILD=1, so every child interpreter (``python -c``, ``python -m
npipes``) starts with its own Wine-backed _winapi before its own code runs."""

import os
import sys

if os.environ.get('NPIPES_WINE_CHILD') == '1':
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    import bootstrap
    bootstrap.install()
