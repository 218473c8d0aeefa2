"""``python -m pytest_assets``: the same command line as ``pytest-assets``."""

import sys

from .cli import main

sys.exit(main())
