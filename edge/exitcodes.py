"""Exit codes shared by ``python -m train``, ``python -m convert`` and ``digit-cam``.

A supervisor (systemd, a CI job, a script) can act on these without parsing messages.
"""

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
