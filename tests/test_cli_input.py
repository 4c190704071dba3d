"""The input a real user has, and nothing guessed silently: CSV dialects, stdin, tasks, flags."""

from __future__ import annotations

import hashlib
import io
import sys
from pathlib import Path

import numpy as np
import pytest

import mlp_xp
from mlp_xp.backend import available_backends
from mlp_xp.cli import main
from mlp_xp.files import read_container, write_container

FAST = ["--epochs", "3", "--hidden", "4", "--quiet"]


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


def bmi_rows(n: int = 60, seed: int = 7) -> list[tuple[float, float, float]]:
    X, y = mlp_xp.data.builtin.make_bmi(n, seed=seed)
    return [(float(h), float(w), float(b)) for (h, w), b in zip(X, y)]


def write_table(path: Path, sep: str = ",", bom: bool = False, encoding: str = "utf-8") -> Path:
    lines = [sep.join(["height_m", "weight_kg", "bmi"])]
    lines += [sep.join(f"{v:.6g}" for v in row) for row in bmi_rows()]
    data = ("\n".join(lines) + "\n").encode(encoding)
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + data)
    return path


def summary(out: str) -> str:
    (line,) = [line for line in out.splitlines() if line.startswith("trained ")]
    return line


def stdin_bytes(monkeypatch, data: bytes) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))


# ---------------------------------------------------------------------- CSV files


def test_a_byte_order_mark_is_not_part_of_the_first_column(capsys, tmp_path):
    data = write_table(tmp_path / "bom.csv", bom=True)
    out = tmp_path / "m.npz"
    assert run(capsys, "train", "--data", data, *FAST, "--out", out)[0] == 0
    assert list(mlp_xp.load(out).feature_names_in_) == ["height_m", "weight_kg"]


@pytest.mark.parametrize(("sep", "flag", "hint"), [(";", ";", "';'"), ("\t", "tab", "tab")])
def test_other_delimiters_are_hinted_and_read_with_delimiter(capsys, tmp_path, sep, flag, hint):
    data = write_table(tmp_path / "d.csv", sep=sep)
    code, _, err = run(capsys, "train", "--data", data, *FAST)
    assert code == 2
    assert f"pass --delimiter {hint}" in one_error_line(err)
    code, out, _ = run(capsys, "train", "--data", data, "--delimiter", flag, *FAST)
    assert code == 0
    assert "MLPRegressor 2-4-1" in out


def test_decimal_commas_are_named(capsys, tmp_path):
    data = tmp_path / "d.csv"
    data.write_text("a;b;y\n1,5;2;3\n4;5;6\n")
    code, _, err = run(capsys, "train", "--data", data, "--delimiter", ";")
    assert code == 2
    assert "decimal commas are not read: write 1.5" in one_error_line(err)


def test_encoding(capsys, tmp_path):
    data = tmp_path / "d.csv"
    data.write_bytes("größe,gewicht,y\n1,2,3\n4,5,6\n7,8,9\n".encode("latin-1"))
    code, _, err = run(capsys, "train", "--data", data, *FAST)
    assert code == 2
    assert "pass its encoding, e.g. --encoding latin-1" in one_error_line(err)
    code, _, err = run(capsys, "train", "--data", data, "--encoding", "latin-1", *FAST)
    assert code == 0, err
    code, _, err = run(capsys, "train", "--data", data, "--encoding", "klingon", *FAST)
    assert code == 2
    assert "unknown encoding 'klingon'" in one_error_line(err)


def test_duplicate_column_names_are_refused(capsys, tmp_path):
    data = tmp_path / "d.csv"
    data.write_text("a,b,a,b,y\n1,2,3,4,5\n6,7,8,9,0\n")
    code, _, err = run(capsys, "train", "--data", data)
    assert code == 2
    assert "names the column(s) 'a', 'b' more than once" in one_error_line(err)


def test_data_from_standard_input(capsys, tmp_path, monkeypatch):
    table = write_table(tmp_path / "d.csv", bom=True)
    stdin_bytes(monkeypatch, table.read_bytes())
    out = tmp_path / "m.npz"
    code, text, _ = run(capsys, "train", "--data", "-", *FAST, "--out", out)
    assert code == 0
    assert " on <stdin> " in summary(text)
    stdin_bytes(monkeypatch, table.read_bytes())
    code, text, _ = run(capsys, "predict", out, "--data", "-")
    assert code == 0
    assert text.splitlines()[0] == "predicted_bmi"
    assert len(text.splitlines()) == 61
    stdin_bytes(monkeypatch, b"")
    code, _, err = run(capsys, "train", "--data", "-")
    assert code == 2
    assert "standard input (--data -) is empty" in one_error_line(err)


def test_predict_keeps_id_columns(capsys, tmp_path):
    data = write_table(tmp_path / "d.csv")
    model = tmp_path / "m.npz"
    assert run(capsys, "train", "--data", data, *FAST, "--out", model)[0] == 0
    new = tmp_path / "new.csv"
    new.write_text("id,weight_kg,height_m,site\nA-1,70,1.7,north\nB-2,90,1.8,south\n")
    preds = tmp_path / "p.csv"
    code, _, err = run(
        capsys, "predict", model, "--data", new, "--keep", "id", "site", "--out", preds
    )
    assert code == 0, err
    lines = preds.read_text().splitlines()
    assert lines[0] == "id,site,predicted_bmi"
    assert [line.split(",")[:2] for line in lines[1:]] == [["A-1", "north"], ["B-2", "south"]]
    code, _, err = run(capsys, "predict", model, "--data", new, "--keep", "name")
    assert code == 2
    assert "--keep name: " in one_error_line(err)
    assert "its columns are: id, weight_kg, height_m, site" in err
    code, _, err = run(capsys, "predict", model, "--data", "bmi", "--keep", "id")
    assert code == 2
    assert "--keep needs a CSV file" in one_error_line(err)


def test_verify_passes_on_models_from_semicolons_bom_stdin_and_resumes(
    capsys, tmp_path, monkeypatch
):
    semi = write_table(tmp_path / "semi.csv", sep=";", bom=True)
    model = tmp_path / "m.npz"
    argv = ["train", "--data", semi, "--delimiter", ";", *FAST, "--out", model]
    assert run(capsys, *argv)[0] == 0
    # verify reads the file as train did: the delimiter is recorded in the model.
    code, out, err = run(capsys, "verify", model, "--data", semi)
    assert code == 0, out + err
    assert "PASS" in out
    resumed = tmp_path / "r.npz"
    argv = ["train", "--data", semi, "--delimiter", ";", "--resume", model, "--epochs", "5"]
    assert run(capsys, *argv, "--quiet", "--out", resumed)[0] == 0
    stdin_bytes(monkeypatch, semi.read_bytes())
    code, out, err = run(capsys, "verify", resumed, "--data", "-")
    assert code == 0, out + err
    assert "PASS" in out


# ---------------------------------------------------------------------- the task, said


def test_the_summary_says_the_task_and_why(capsys, tmp_path):
    code, out, _ = run(capsys, "train", *FAST)
    assert code == 0
    assert "| task regression (bmi is a regression data set) |" in summary(out)
    data = tmp_path / "d.csv"
    rng = np.random.default_rng(0)
    rows = [
        f"{a:.4f},{b:.4f},{int(c)}"
        for a, b, c in zip(*rng.random((2, 80)), rng.integers(0, 13, 80))
    ]
    data.write_text("a,b,grade\n" + "\n".join(rows) + "\n")
    code, out, _ = run(capsys, "train", "--data", data, *FAST)
    assert code == 0
    line = summary(out)
    assert "| task classification (inferred: the target 'grade' holds 13 distinct integers" in line
    assert "--task regression fits them as numbers" in line
    code, out, _ = run(capsys, "train", "--data", data, "--task", "regression", *FAST)
    assert code == 0
    assert "| task regression |" in summary(out)


def test_help_states_the_task_rule(capsys):
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "only integers with at most 20 distinct values" in text


@pytest.mark.parametrize(
    ("argv", "stopped"),
    [
        (["--epochs", "3"], "stopped: all --epochs run while the loss was still improving"),
        (
            ["--epochs", "50", "--tol", "10", "--patience", "2"],
            "stopped: tol reached (the training loss improved by less than --tol 10 for "
            "--patience 2 epochs)",
        ),
        (
            ["--epochs", "50", "--tol", "10", "--patience", "2", "--early-stopping"],
            "stopped: early stopping (the validation loss improved by less than --tol 10",
        ),
    ],
)
def test_the_summary_says_why_training_stopped(capsys, argv, stopped):
    code, out, err = run(capsys, "train", "--hidden", "4", "--quiet", *argv)
    assert code == 0
    assert stopped in summary(out)
    assert err == ""  # the estimator's ConvergenceWarning is said in the summary instead


def test_evaluation_names_labels_the_classifier_never_saw(capsys, tmp_path):
    X, y = mlp_xp.data.builtin.make_xor(40, noise=0.05)
    train_file, model = tmp_path / "xor.npz", tmp_path / "m.npz"
    np.savez(train_file, X=X, y=y)
    assert run(capsys, "train", "--data", train_file, *FAST, "--out", model)[0] == 0
    test_file = tmp_path / "other.npz"
    np.savez(test_file, X=X[:6], y=np.array([0, 1, 7, 7, 9, 1]))
    code, out, err = run(capsys, "evaluate", model, "--data", test_file)
    assert code == 0, err
    assert "| 3 rows have labels the model never saw in training: 7, 9" in out
    assert "log loss" in out
    np.savez(test_file, X=X[:3], y=np.array([5, 6, 7]))
    code, out, err = run(capsys, "evaluate", model, "--data", test_file)  # no RuntimeWarning
    assert code == 0, err
    assert "accuracy 0.00000 | log loss n/a" in out


# ---------------------------------------------------------------------- flags that apply


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["train", "--target", "bmi"], "--target applies to CSV files only"),
        (["train", "--val-fraction", "0.2"], "--val-fraction applies with --early-stopping only"),
        (["train", "--delimiter", ";"], "--delimiter applies to CSV files only"),
        (["train", "--encoding", "latin-1"], "--encoding applies to CSV files only"),
        (["train", "--checkpoint-every", "0"], "--checkpoint-every must be at least 1"),
        (["parity", "--delimiter", ";"], "--delimiter is about the data of --data FILE"),
    ],
)
def test_options_that_do_not_apply_are_refused(capsys, argv, message):
    code, out, err = run(capsys, *argv)
    assert code == 2
    assert message in one_error_line(err)
    assert out == ""


def test_predict_device_that_the_models_backend_lacks_is_refused(capsys, tmp_path):
    model = tmp_path / "m.npz"
    assert run(capsys, "train", *FAST, "--backend", "numpy", "--out", model)[0] == 0
    code, out, err = run(capsys, "predict", model, "--data", "bmi", "--device", "cuda:7")
    assert code == 2
    line = one_error_line(err)
    assert "--device cuda:7 does not apply to this model on numpy" in line
    assert out == ""
    code, out, _ = run(capsys, "predict", model, "--data", "bmi", "--device", "cpu")
    assert code == 0
    assert out.startswith("predicted_bmi")


def test_an_explicit_batch_size_above_the_rows_is_noted_once(capsys, tmp_path):
    data = write_table(tmp_path / "d.csv")  # 60 rows, 48 for training
    code, _, err = run(capsys, "train", "--data", data, *FAST, "--batch-size", "500")
    assert code == 0
    assert "--batch-size 500 is more than the 48 training rows" in one_error_line(err)
    code, _, err = run(capsys, "train", "--data", data, *FAST)  # default 200: capped quietly
    assert code == 0
    assert err == ""


# ---------------------------------------------------------------------- the parser, the backend


def test_unknown_options_name_the_subcommand_and_print_its_usage(capsys):
    with pytest.raises(SystemExit) as info:
        main(["predict", "m.npz", "--data", "bmi", "--bogus"])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: mlp-xp predict ")
    assert "mlp-xp predict: error: unrecognized arguments: --bogus" in err


def _as_if_trained_on(path: Path, backend: str, device: str) -> None:
    meta, tensors = read_container(path)
    meta["trained_on"] = {"backend": backend, "device": device}
    write_container(path, meta, tensors)


@pytest.mark.skipif(available_backends()["cupy"].available, reason="CuPy is usable here")
def test_a_model_whose_backend_is_missing_falls_back_to_numpy(capsys, tmp_path):
    model = tmp_path / "m.npz"
    assert run(capsys, "train", *FAST, "--backend", "numpy", "--out", model)[0] == 0
    _as_if_trained_on(model, "cupy", "cuda:0")
    before = sha(model)
    code, out, err = run(capsys, "predict", model, "--data", "bmi")
    assert code == 0
    note = one_error_line(err)
    assert note.startswith("mlp-xp: note: the model was trained on cupy cuda:0")
    assert "CuPy" in note
    assert "loaded on numpy cpu instead" in note
    assert out.startswith("predicted_bmi")
    code, _, err = run(capsys, "predict", model, "--data", "bmi", "--backend", "cupy")
    assert code == 2
    line = one_error_line(err)
    assert "backend 'cupy' is not usable here: not installed" in line
    assert "corrupted" not in line
    assert "truncated" not in line
    assert sha(model) == before
