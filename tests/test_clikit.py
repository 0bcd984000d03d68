"""``edge.clikit.run_main``: the one place an error becomes a message and an exit code."""

from __future__ import annotations

import io

import pytest

from edge import errors
from edge.clikit import exit_code_of, one_line, run_main
from edge.errors import CameraError, DigitEdgeError, InputError, JobError, UsageError
from edge.interpreter import BackendError


def fail(error: BaseException):
    def body():
        raise error

    return body


@pytest.mark.parametrize("error,code", [
    (JobError("gate not met"), errors.FAILURE), (UsageError("bad value"), errors.USAGE),
    (InputError("model.tflite not found"), errors.INPUT), (CameraError("camera 0 lost"), errors.CAMERA),
    (DigitEdgeError("something"), errors.FAILURE),
])
def test_an_error_is_one_line_and_its_class_exit_code(error, code):
    err = io.StringIO()
    assert run_main(fail(error), prog="tool", err=err) == code
    assert err.getvalue() == f"tool: error: {error}\n"


def test_the_code_comes_from_the_class_never_the_text():
    err = io.StringIO()
    assert run_main(fail(JobError("model file not found")), prog="tool", err=err) == errors.FAILURE
    assert run_main(fail(InputError("camera lost")), prog="tool", err=err) == errors.INPUT


def test_a_command_can_give_a_library_error_another_code():
    overrides = {BackendError: errors.INPUT}
    assert BackendError("no TFLite runtime").exit_code == errors.FAILURE
    assert run_main(fail(BackendError("no TFLite runtime")), prog="tool", exit_codes=overrides,
                    err=io.StringIO()) == errors.INPUT
    assert exit_code_of(JobError("x"), overrides) == errors.FAILURE  # only the named class moves


def test_a_multi_line_message_is_printed_on_one_line():
    err = io.StringIO()
    run_main(fail(InputError("first line\n\n  second line\n")), prog="tool", err=err)
    assert err.getvalue() == "tool: error: first line; second line\n"
    assert one_line("a\nb") == "a; b"


def test_ctrl_c_is_130_with_the_callers_message():
    err = io.StringIO()
    assert run_main(fail(KeyboardInterrupt()), prog="tool", interrupted="interrupted: kept epoch 3",
                    err=err) == errors.INTERRUPTED
    assert err.getvalue() == "\ninterrupted: kept epoch 3\n"


def test_the_body_sets_the_code_on_success():
    assert run_main(lambda: None, prog="tool") == errors.OK
    assert run_main(lambda: errors.FAILURE, prog="tool") == errors.FAILURE


def test_a_bug_keeps_its_traceback():
    with pytest.raises(ZeroDivisionError):
        run_main(lambda: 1 / 0, prog="tool", err=io.StringIO())
