"""Quiet TensorFlow: import it, and run its converter, without its native log chatter.

``tf = import_tensorflow()`` in ``train`` and ``convert``; ``with captured_native_output() as log``
around noisy native calls. TensorFlow 2.21 prints INFO lines (oneDNN notices, converter traces)
straight to file descriptors 1 and 2, past ``TF_CPP_MIN_LOG_LEVEL``; they are captured and shown
only when something fails.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
import warnings

INSTALL_HINT = "pip install -e '.[train]'   (TensorFlow is only needed to train and convert)"


@contextlib.contextmanager
def captured_native_output():
    """Send fds 1 and 2 to a temporary file; yields a callable returning what was captured."""
    sys.stdout.flush()
    sys.stderr.flush()
    with tempfile.TemporaryFile(mode="w+b") as sink:
        saved = [os.dup(1), os.dup(2)]
        os.dup2(sink.fileno(), 1)
        os.dup2(sink.fileno(), 2)

        def text() -> str:
            sink.seek(0)
            return sink.read().decode(errors="replace")

        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                yield text
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            for fd in saved:
                os.close(fd)


def import_tensorflow():
    """``import tensorflow`` with its start-up notices captured; ImportError names the fix."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if "tensorflow" in sys.modules:
        return sys.modules["tensorflow"]
    failure = None
    with captured_native_output():
        try:
            import keras  # noqa: F401 - imported here so its own notices are captured too
            import tensorflow as tf
        except ImportError as error:
            failure = error
    if failure is not None:
        raise ImportError(f"TensorFlow is not installed ({failure}). {INSTALL_HINT}") from failure
    return tf
