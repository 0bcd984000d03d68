"""``python -m edge``: the same as the ``digit-cam`` command (see :mod:`edge.cli`)."""

import sys

from edge.cli import main

sys.exit(main())
