"""``digit-cam``: the camera application built on the device core in :mod:`edge`.

``cli`` (flags and config) -> ``live`` (the loop) -> ``sources`` (cameras, files, demo),
``server`` (HTTP preview), ``display`` (a local window), ``selftest`` (``digit-cam selftest``).
Ships to the Pi with :mod:`edge`; imports no TensorFlow.
"""
