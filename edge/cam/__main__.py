"""``python -m edge.cam``: the same as the ``digit-cam`` command (see :mod:`edge.cam.cli`)."""

import sys

from edge.cam.cli import main

sys.exit(main())
