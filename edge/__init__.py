"""digit-edge's on-device package: everything a Raspberry Pi needs, and nothing more.

Used as ``import edge`` by ``digit-cam``, and by ``train``/``convert`` for the shared constants
in :mod:`edge.constants`. Importing this package must never pull in TensorFlow (a Pi installs
only numpy, OpenCV and a TFLite runtime); ``tests/test_imports.py`` enforces that.
"""

__version__ = "0.1.0"
