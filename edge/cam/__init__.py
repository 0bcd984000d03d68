"""``digit-cam``: the camera application built on the device core in :mod:`edge`.

``cli`` (flags, from ``options``; ``--config`` files checked by ``config``) -> ``live`` (the loop)
-> ``sources`` (cameras, files, demo; ``latest`` keeps only the newest frame) and ``outputs``
(stdout lines of a ``record``, ``--save``, ``server`` for ``--serve``, ``display`` for
``--display``); ``selftest`` is ``digit-cam selftest``. Ships to the Pi with :mod:`edge`;
imports no TensorFlow (``tests/test_imports.py``).
"""
