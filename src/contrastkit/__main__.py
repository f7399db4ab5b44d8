"""``python -m contrastkit``: the same as the ``contrastkit`` command."""

import sys

from contrastkit.cli import main

sys.exit(main())
