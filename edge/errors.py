"""Exit codes and the error classes behind them, shared by every command of digit-edge.

Library code raises a subclass of :class:`DigitEdgeError`; the command-line wrapper
(:func:`edge.clikit.run_main`) prints its one-line message and returns its ``exit_code``.
A supervisor (systemd, a CI job, a script) can act on the codes without parsing messages.
"""

from __future__ import annotations

OK = 0
FAILURE = 1  # the job ran and failed (e.g. accuracy gate not met, conversion failed)
USAGE = 2  # bad command-line flags or config values (argparse's own code)
INPUT = 3  # an input file or directory is missing, unreadable or corrupt
CAMERA = 4  # the camera could not be opened, or was lost and did not come back after retries
INTERRUPTED = 130  # stopped by Ctrl-C / SIGINT (128 + signal 2, the shell convention)

EPILOG = (
    "exit codes: 0 success; 1 the job failed; 2 bad flags; 3 missing or corrupt input "
    "(data, model, image); 4 camera unavailable or lost; 130 interrupted"
)


class DigitEdgeError(Exception):
    """Base of every error a digit-edge command reports as one line and an exit code."""

    exit_code = FAILURE


class JobError(DigitEdgeError):
    """The job ran and did not succeed (a gate not met, a conversion or training failure)."""

    exit_code = FAILURE


class UsageError(DigitEdgeError):
    """A flag or config value is wrong."""

    exit_code = USAGE


class InputError(DigitEdgeError):
    """An input (data set, model, image, config file) is missing, unreadable or corrupt."""

    exit_code = INPUT


class CameraError(DigitEdgeError):
    """The camera could not be opened, or was lost and did not come back."""

    exit_code = CAMERA
