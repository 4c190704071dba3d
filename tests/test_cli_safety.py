"""mlp-xp never loses a file: outputs checked first, failed runs beside --out, signals handled."""

from __future__ import annotations

import hashlib
import os
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import mlp_xp
from mlp_xp.backend import adapter, host_memory_available
from mlp_xp.cli import main
from mlp_xp.cli import train as train_cmd
from mlp_xp.cli.paths import default_checkpoint
from mlp_xp.estimators.memory import estimate_fit_bytes
from mlp_xp.files import atomic_write

FAST = ["--epochs", "3", "--hidden", "4", "--quiet"]
DIVERGE = ["--optimizer", "sgd", "--activation", "identity", "--lr", "50", "--epochs", "20"]


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def one_error_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def model_file(tmp_path, capsys):
    """A finished model at m.npz, and its checksum."""
    path = tmp_path / "m.npz"
    assert run(capsys, "train", *FAST, "--out", path)[0] == 0
    return path, sha(path)


def _interrupt_at(monkeypatch, at: int) -> None:
    original = train_cmd._Progress.__call__

    def interrupt(self, epoch, info):
        original(self, epoch, info)
        if info["epoch"] == at:
            raise KeyboardInterrupt

    monkeypatch.setattr(train_cmd._Progress, "__call__", interrupt)


# ---------------------------------------------------------------------- failed runs


def test_a_diverging_run_keeps_an_existing_out_and_saves_beside_it(capsys, model_file):
    path, before = model_file
    code, _, err = run(capsys, "train", *DIVERGE, "--out", path)
    assert code == 1
    line = one_error_line(err)
    diverged = path.with_name("m.diverged.npz")
    assert f"the last finite weights were saved to {diverged}" in line
    assert f"{path} was left as it was" in line
    assert sha(path) == before
    for a in mlp_xp.nn.layers.flatten(mlp_xp.load(diverged).params_):
        assert np.all(np.isfinite(a))


def test_an_interrupted_run_keeps_an_existing_out(capsys, monkeypatch, model_file):
    path, before = model_file
    _interrupt_at(monkeypatch, 2)
    code, _, err = run(capsys, "train", "--epochs", "5", "--tol", "0", "--quiet", "--out", path)
    assert code == 130
    line = one_error_line(err)
    ckpt = path.with_name("m.checkpoint.npz")
    assert f"checkpoint saved to {ckpt}" in line
    assert f"--out {path} --resume {ckpt}" in line
    assert sha(path) == before
    assert mlp_xp.load(ckpt).n_epochs_ == 2


def test_an_interrupt_without_out_prints_a_resume_command_that_saves(
    capsys, monkeypatch, tmp_path
):
    ckpt = tmp_path / "c.npz"
    _interrupt_at(monkeypatch, 2)
    argv = ["train", "--epochs", "4", "--tol", "0", "--quiet", "--checkpoint", ckpt]
    code, _, err = run(capsys, *argv)
    assert code == 130
    line = one_error_line(err)
    # The resumed run continues into its own checkpoint: --resume F --out F.
    assert f"--checkpoint {ckpt} --resume {ckpt}" in line
    assert f"--out {ckpt}" in line
    monkeypatch.undo()
    command = shlex.split(line.split("continue with: ")[1])[1:]
    code, out, _ = run(capsys, *command)
    assert code == 0
    assert "4 epochs" in out
    assert mlp_xp.load(ckpt).n_epochs_ == 4


def test_periodic_checkpoints_are_written_and_removed_once_out_is_saved(capsys, tmp_path):
    ckpt = tmp_path / "every.npz"
    argv = ["train", "--epochs", "5", "--tol", "0", "--quiet", "--checkpoint-every", "2"]
    assert run(capsys, *argv, "--checkpoint", ckpt)[0] == 0
    assert mlp_xp.load(ckpt).n_epochs_ == 4  # the last multiple of 2
    assert [p.name for p in tmp_path.iterdir()] == ["every.npz"]  # no temporary file left
    out = tmp_path / "m.npz"
    assert run(capsys, *argv, "--out", out)[0] == 0
    assert not out.with_name("m.checkpoint.npz").exists()
    assert mlp_xp.load(out).n_epochs_ == 5


def test_an_existing_checkpoint_of_another_run_is_refused(capsys, tmp_path, model_file):
    path, _ = model_file
    ckpt = path.with_name("m.checkpoint.npz")
    ckpt.write_bytes(b"an earlier run's state")
    before = sha(ckpt)
    code, _, err = run(capsys, "train", *FAST, "--out", path)
    assert code == 2
    line = one_error_line(err)
    assert f"the checkpoint file {ckpt} exists already" in line
    assert f"--resume {ckpt}" in line
    assert sha(ckpt) == before


def test_the_checkpoint_never_goes_over_out(capsys, tmp_path):
    out = tmp_path / "m.npz"
    code, _, err = run(capsys, "train", *FAST, "--out", out, "--checkpoint", out)
    assert code == 2
    assert "--checkpoint" in one_error_line(err)


def test_a_successful_run_overwrites_out(capsys, model_file):
    path, before = model_file
    assert run(capsys, "train", "--epochs", "4", "--hidden", "4", "--quiet", "--out", path)[0] == 0
    assert sha(path) != before
    assert mlp_xp.load(path).n_epochs_ == 4


# ---------------------------------------------------------------------- signals


def _start(tmp_path: Path, *extra: str) -> subprocess.Popen[str]:
    argv = ["--epochs", "100000", "--tol", "0", "--patience", "100000", "--quiet"]
    return subprocess.Popen(
        [sys.executable, "-m", "mlp_xp.cli", "train", *argv, *extra],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.skipif(not hasattr(signal, "SIGHUP"), reason="no SIGHUP on this platform")
@pytest.mark.parametrize(("name", "status"), [("SIGTERM", 143), ("SIGHUP", 129)])
def test_sigterm_and_sighup_save_the_checkpoint(tmp_path, capsys, name, status):
    out = tmp_path / "m.npz"
    assert run(capsys, "train", *FAST, "--out", out)[0] == 0
    before = sha(out)
    ckpt = tmp_path / "m.checkpoint.npz"
    process = _start(tmp_path, "--out", "m.npz", "--checkpoint-every", "1")
    deadline = time.monotonic() + 60
    while not ckpt.exists() and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.05)
    assert ckpt.exists(), process.communicate()[1]
    process.send_signal(getattr(signal, name))
    _, err = process.communicate(timeout=60)
    assert process.returncode == status
    line = one_error_line(err)
    assert line.startswith(f"mlp-xp: ended by {name} after epoch ")
    assert "checkpoint saved to m.checkpoint.npz" in line
    assert "--out m.npz --checkpoint-every 1 --resume m.checkpoint.npz" in line
    assert sha(out) == before
    assert mlp_xp.load(ckpt).n_epochs_ >= 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.checkpoint.npz", "m.npz"]


# ---------------------------------------------------------------------- outputs checked first


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["train", "--out", "{d}/no/m.npz"], "the directory"),
        (["train", "--out", "{d}"], "is a directory"),
        (["train", "--out", "{d}/m.model"], "must end in .safetensors, .npz"),
        (["train", "--plot", "{d}/p.jpg"], "must end in .png, .pdf, .svg"),
        (["train", "--plot", "{d}/no/p.png"], "does not exist"),
        (["train", "--checkpoint", "{d}/c.txt"], "--checkpoint"),
        (["predict", "{m}", "--data", "bmi", "--out", "{d}/p.txt"], "must end in .csv"),
        (["verify", "{m}", "--data", "bmi", "--json", "{d}/v.txt"], "must end in .json"),
        (["verify", "{m}", "--data", "bmi", "--report", "{d}/v.txt"], "must end in .md"),
        (["verify", "{m}", "--data", "bmi", "--plot", "{d}/v.gif"], "--plot"),
        (["compare", "{m}", "{m}", "--data", "bmi", "--json", "{d}/c.csv"], "--json"),
        (["parity", "--steps", "2", "--json", "{d}/no/p.json"], "does not exist"),
        (["parity", "--steps", "2", "--plot", "{d}/p.bmp"], "--plot"),
    ],
)
def test_outputs_are_checked_before_any_work(capsys, tmp_path, model_file, argv, message):
    path, before = model_file
    argv = [a.format(d=tmp_path, m=path) for a in argv]
    code, out, err = run(capsys, *argv)
    assert code == 2
    assert message in one_error_line(err)
    assert out == ""  # nothing was trained, verified or compared
    assert sha(path) == before


@pytest.mark.skipif(os.geteuid() == 0 if hasattr(os, "geteuid") else True, reason="root writes")
def test_a_read_only_directory_is_refused_before_training(capsys, tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        code, _, err = run(capsys, "train", "--out", folder / "m.npz")
    finally:
        folder.chmod(0o700)
    assert code == 2
    assert "not writable" in one_error_line(err)


def _no_training(monkeypatch):
    """Make any fit fail the test: a refusal must come before training."""

    def fit(self, *args, **kwargs):
        raise AssertionError("trained before the checkpoint's place was checked")

    monkeypatch.setattr(mlp_xp.MLPRegressor, "fit", fit)


def test_the_implicit_checkpoint_is_checked_before_training(capsys, monkeypatch, tmp_path):
    """No --out, no --checkpoint: mlp-xp-checkpoint.* here must be writable, or SIGTERM loses
    the run.  Under a regular file it cannot be written, even by root (CI runs as root)."""
    from mlp_xp.cli import train_checks

    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    path = blocker / default_checkpoint()
    monkeypatch.setattr(train_checks, "default_checkpoint", lambda: str(path))
    _no_training(monkeypatch)
    code, out, err = run(capsys, "train", *FAST)
    assert code == 2
    line = one_error_line(err)
    assert f"the checkpoint {path}, where an interrupted run saves its state" in line
    assert f"the directory '{blocker}' is a file, not a directory" in line
    assert line.endswith("give --checkpoint PATH in a writable directory")
    assert out == ""


def test_a_directory_in_the_implicit_checkpoints_place_is_refused(capsys, monkeypatch, tmp_path):
    """Not "the checkpoint file exists already, from an earlier run: --resume it"."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / default_checkpoint()).mkdir()
    _no_training(monkeypatch)
    code, _, err = run(capsys, "train", *FAST)
    assert code == 2
    line = one_error_line(err)
    assert f"the checkpoint {default_checkpoint()}, where an interrupted run saves" in line
    assert "(in the current directory): is a directory;" in line
    (tmp_path / "m.checkpoint.npz").mkdir()  # and beside --out
    code, _, err = run(capsys, "train", *FAST, "--out", "m.npz")
    assert code == 2
    assert "m.checkpoint.npz, where an interrupted run saves its state (beside --out)" in err


@pytest.mark.parametrize(
    ("suffix", "magic"), [(".pdf", b"%PDF"), (".svg", b"<?xml"), (".png", b"\x89PNG")]
)
def test_a_plot_is_written_in_the_format_of_its_suffix(capsys, tmp_path, suffix, magic):
    pytest.importorskip("matplotlib", reason="matplotlib is not installed")
    plot = tmp_path / f"loss{suffix}"
    assert run(capsys, "train", *FAST, "--plot", plot)[0] == 0
    assert plot.read_bytes()[: len(magic)] == magic


def test_an_output_that_is_an_input_is_refused(capsys, tmp_path, model_file):
    path, before = model_file
    data = tmp_path / "d.csv"
    data.write_text("height_m,weight_kg,bmi\n1.7,70,24.2\n1.8,80,24.7\n1.6,50,19.5\n")
    data_sum = sha(data)
    # Model files under names that pass the suffix checks, to reach the overlap check.
    as_png, as_json = tmp_path / "r.png", tmp_path / "r.json"
    as_png.write_bytes(path.read_bytes())
    as_json.write_bytes(path.read_bytes())
    cases = [
        (["predict", path, "--data", data, "--out", data], "--out"),
        (["predict", path, "--data", data, "--out", tmp_path / "." / "d.csv"], "--data"),
        (["train", "--data", data, "--out", tmp_path / "x.npz", "--plot", data], "--plot"),
        (["train", "--resume", as_png, "--plot", as_png], "is also --resume"),
        (["verify", as_json, "--data", "bmi", "--json", as_json], "is also MODEL"),
    ]
    for argv, message in cases:
        code, _, err = run(capsys, *argv)
        assert code == 2, argv
        assert message in one_error_line(err)
    csv_out = tmp_path / "d.npz"
    code, _, err = run(capsys, "train", "--data", csv_out, "--out", csv_out)
    assert code == 2
    assert "is also --data" in one_error_line(err)
    assert sha(path) == before
    assert sha(data) == data_sum


def test_predict_out_over_the_model_file_is_refused(capsys, tmp_path, model_file):
    path, before = model_file
    csv_model = tmp_path / "m.csv"
    csv_model.write_bytes(path.read_bytes())
    code, _, err = run(capsys, "predict", csv_model, "--data", "bmi", "--out", csv_model)
    assert code == 2
    assert "is also MODEL" in one_error_line(err)
    assert sha(csv_model) == before


def test_resume_into_its_own_file_is_allowed(capsys, model_file):
    path, _ = model_file
    code, out, _ = run(
        capsys, "train", *FAST[2:], "--epochs", "5", "--resume", path, "--out", path
    )
    assert code == 0, out
    assert mlp_xp.load(path).n_epochs_ == 5


@pytest.mark.parametrize("umask", [0o022, 0o077, 0o002])
def test_files_follow_the_umask(tmp_path, umask):
    old = os.umask(umask)
    try:
        atomic_write(tmp_path / "new.csv", b"x")
    finally:
        os.umask(old)
    assert (tmp_path / "new.csv").stat().st_mode & 0o777 == 0o666 & ~umask


def test_a_replaced_file_keeps_its_mode(tmp_path):
    path = tmp_path / "m.csv"
    path.write_bytes(b"old")
    path.chmod(0o640)
    atomic_write(path, b"new")
    assert path.stat().st_mode & 0o777 == 0o640
    assert path.read_bytes() == b"new"


def test_write_errors_name_the_users_path_not_a_temporary_file(tmp_path, monkeypatch):
    import tempfile

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied", str(tmp_path / ".m.npz.x1y2.tmp"))

    monkeypatch.setattr(tempfile, "mkstemp", refuse)
    with pytest.raises(PermissionError) as info:
        atomic_write(tmp_path / "m.npz", b"x")
    assert str(tmp_path / "m.npz") in str(info.value)
    assert ".tmp" not in str(info.value)


# ---------------------------------------------------------------------- resume


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--hidden", "16"], "--hidden 16 (the checkpoint has --hidden 4)"),
        (["--activation", "tanh"], "--activation tanh (the checkpoint has --activation relu)"),
        (["--optimizer", "sgd"], "--optimizer sgd (the checkpoint has --optimizer adam)"),
        (
            ["--lr", "0.5", "--alpha", "0.1"],
            "--lr 0.5 (the checkpoint has --lr 0.01); --alpha 0.1",
        ),
        (["--early-stopping"], "--early-stopping (the checkpoint has no --early-stopping)"),
        (["--epochs", "2"], "--epochs 2: --resume"),
    ],
)
def test_resume_refuses_options_that_differ_from_the_checkpoint(
    capsys, model_file, flags, message
):
    path, before = model_file
    code, _, err = run(capsys, "train", "--resume", path, "--epochs", "6", *flags)
    assert code == 2
    assert message in one_error_line(err)
    assert sha(path) == before


def test_resume_accepts_the_same_options_again(capsys, model_file):
    path, _ = model_file
    code, out, _ = run(
        capsys, "train", "--resume", path, "--hidden", "4", "--epochs", "4", "--quiet"
    )
    assert code == 0, out
    assert "4 epochs" in out


def test_resume_of_a_finished_run_needs_more_epochs(capsys, model_file):
    path, _ = model_file
    code, _, err = run(capsys, "train", "--resume", path)
    assert code == 2
    assert "has run all of its 3 epochs; give --epochs N" in one_error_line(err)


# ---------------------------------------------------------------------- memory


def test_training_too_big_for_memory_is_refused_before_allocating(capsys):
    code, out, err = run(capsys, "train", "--hidden", "1000000000", "1000000000")
    assert code == 2
    line = one_error_line(err)
    assert "fit would need about " in line
    assert " bytes (" in line
    assert "free" in line
    need = int(line.split("about ")[1].split(" bytes")[0].replace(",", ""))
    free = int(line.split(" has ")[1].split(" bytes")[0].replace(",", ""))
    assert need > free
    assert out == ""


def test_memory_error_anywhere_is_one_line(capsys, monkeypatch):
    def no_memory(*args, **kwargs):
        raise MemoryError("Unable to allocate 8.00 EiB for an array")

    monkeypatch.setattr(train_cmd, "fingerprint_array", no_memory)
    code, _, err = run(capsys, "train", *FAST)
    assert code == 2
    line = one_error_line(err)
    assert line.startswith("mlp-xp: error: out of memory (Unable to allocate 8.00 EiB")
    assert "internal error" not in line


def test_the_memory_estimate_counts_data_network_optimizer_and_a_batch():
    # Beyond the caller's X (float32): X's copy when cast or moved, the targets, the
    # validation rows, three int64 row indices, 6 copies of the weights, 3 of a
    # batch's activations, and the fixed working blocks.
    from mlp_xp.estimators.memory import FIXED_FIT_BYTES

    weights = 6 * ((2 + 1) * 8 + (8 + 1) * 1)
    batch = 3 * 10 * (2 + 8 + 1)
    fixed = 3 * 8 * 100 + FIXED_FIT_BYTES
    in_place = estimate_fit_bytes(100, 2, 1, (2, 8, 1), 4, 10, x_copied=False)
    assert in_place == 4 * (100 * 1 + weights + batch) + fixed
    copied = estimate_fit_bytes(100, 2, 1, (2, 8, 1), 4, 10)
    assert copied - in_place == 4 * 100 * 2
    held_out = estimate_fit_bytes(
        100, 2, 1, (2, 8, 1), 4, 10, x_copied=False, validation_fraction=0.1
    )
    assert held_out - in_place == 4 * 10 * 3
    huge = estimate_fit_bytes(10, 2, 1, (2, 10**9, 10**9, 1), 4, 10)
    assert huge > 2**64  # Python integers: no overflow


def test_host_memory_is_known_on_the_host_backends():
    free = host_memory_available()
    assert free is None or free > 0
    assert adapter("numpy").memory_available("cpu") == free or free is None


def test_lazy_data_counts_per_chunk():
    da = pytest.importorskip("dask.array", reason="dask is not installed")
    X = da.zeros((10_000, 3), chunks=(1_000, 3))
    assert adapter("dask").resident_rows(X) == 1_000
    assert adapter("numpy").resident_rows(np.zeros((10_000, 3))) == 10_000


def test_torch_on_the_cpu_counts_host_memory():
    pytest.importorskip("torch", reason="torch is not installed")
    placement = mlp_xp.backend.resolve("torch", "cpu")
    free = placement.adapter.memory_available(placement.device)
    assert free is None or free > 0
