"""mlp-xp whose reader goes away (``mlp-xp info | head -n 1``): a quiet exit, 141, as SIGPIPE's."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from mlp_xp.cli import info, main
from mlp_xp.cli.main import CLOSED_PIPE_STATUS


def test_closed_pipe_status_is_what_a_shell_reports_for_sigpipe():
    assert CLOSED_PIPE_STATUS == 141


def test_a_closed_pipe_ends_the_command_quietly(capsys, monkeypatch):
    """Not "mlp-xp: error: [Errno 32] Broken pipe" with exit 2, which means bad input."""

    def writes_to_a_closed_pipe(args):
        raise BrokenPipeError(32, "Broken pipe")

    monkeypatch.setattr(info, "run", writes_to_a_closed_pipe)
    assert main(["info"]) == CLOSED_PIPE_STATUS
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == ""


@pytest.mark.slow
@pytest.mark.parametrize("unbuffered", [True, False])
@pytest.mark.parametrize(
    ("argv", "statuses"),
    [
        (["info"], {CLOSED_PIPE_STATUS}),
        # argparse drops a failed write of --help itself and exits 0, which is quiet too
        (["train", "--help"], {0, CLOSED_PIPE_STATUS}),
    ],
)
def test_a_real_pipe_closed_before_the_output(argv, statuses, unbuffered):
    """The reader closes its end first; every write fails, at once or at the flush on exit.

    With buffered output (no PYTHONUNBUFFERED) the failing write is the flush at
    exit, which Python reports as "Exception ignored ... BrokenPipeError" (exit
    status 120) unless standard output was pointed at the null device first.
    """
    env = dict(os.environ)
    env.pop("PYTHONUNBUFFERED", None)
    if unbuffered:
        env["PYTHONUNBUFFERED"] = "1"
    proc = subprocess.Popen(
        [sys.executable, "-m", "mlp_xp.cli", *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    assert proc.stdout is not None
    assert proc.stderr is not None
    proc.stdout.close()  # the reader is gone before mlp-xp writes a byte
    with proc.stderr:
        err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) in statuses
    assert err == ""


@pytest.mark.slow
def test_a_closed_pipe_on_standard_error_too():
    """``mlp-xp train --verbose 2>&1 | head -n 1``: the epoch lines stop, quietly."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    argv = ["train", "--verbose", "--epochs", "40", "--hidden", "4"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "mlp_xp.cli", *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=env,
    )
    assert proc.stdout is not None
    first = proc.stdout.readline().decode()
    proc.stdout.close()
    assert first.startswith("epoch 1/40")
    assert proc.wait(timeout=120) == CLOSED_PIPE_STATUS
