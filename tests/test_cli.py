"""The mlp-xp command: the main job, the data sources, and one clear line per bad input."""

from __future__ import annotations

import re
import subprocess
import sys

import numpy as np
import pytest

import mlp_xp
from mlp_xp.cli import main
from mlp_xp.cli import train as train_cmd


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def one_error_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


@pytest.fixture
def bmi_csv(tmp_path):
    X, y = mlp_xp.data.builtin.make_bmi(200, seed=7)
    path = tmp_path / "bmi.csv"
    rows = ["height_m,weight_kg,bmi"] + [f"{h},{w},{b}" for (h, w), b in zip(X, y)]
    path.write_text("\n".join(rows) + "\n")
    return path


# ---------------------------------------------------------------------- the main job


def test_train_with_no_arguments_trains_the_lecture_example(capsys):
    code, out, _ = run(capsys, "train", "--quiet")
    assert code == 0
    line = out.strip()
    assert line.startswith("trained MLPRegressor 2-8-1 (relu, adam) on bmi")
    expected = "cupy" if mlp_xp.available_backends()["cupy"].available else "numpy"
    assert f"backend {expected}" in line
    assert "dtype float32" in line
    assert "samples/s" in line
    r2 = float(line.split("held-out R^2 ")[1].split()[0])
    assert r2 >= 0.999


@pytest.mark.slow
def test_console_script_runs_in_a_subprocess():
    result = subprocess.run(
        [sys.executable, "-m", "mlp_xp.cli", "info"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0
    assert "numpy" in result.stdout


def test_info_lists_backends_and_reasons(capsys):
    code, out, _ = run(capsys, "info")
    assert code == 0
    for name in mlp_xp.backend.BACKENDS:
        assert name in out
    if not mlp_xp.available_backends()["cupy"].available:
        assert "cuda12" in out


def test_train_save_predict_evaluate_csv(capsys, tmp_path, bmi_csv):
    model = tmp_path / "m.npz"
    code, out, _ = run(
        capsys,
        "train",
        "--data",
        str(bmi_csv),
        "--hidden",
        "8",
        "--lr",
        "0.01",
        "--epochs",
        "30",
        "--out",
        str(model),
        "--quiet",
    )
    assert code == 0, out
    assert "MLPRegressor 2-8-1" in out
    preds = tmp_path / "p.csv"
    code, _, err = run(capsys, "predict", str(model), "--data", str(bmi_csv), "--out", str(preds))
    assert code == 0, err
    lines = preds.read_text().splitlines()
    assert lines[0] == "predicted_bmi"
    assert len(lines) == 201
    code, out, _ = run(capsys, "evaluate", str(model), "--data", str(bmi_csv))
    assert code == 0
    assert out.startswith("samples 200 | R^2 ")


def test_predict_selects_columns_by_name(capsys, tmp_path, bmi_csv):
    model = tmp_path / "m.npz"
    run(capsys, "train", "--data", str(bmi_csv), "--epochs", "2", "--out", str(model), "--quiet")
    lines = bmi_csv.read_text().splitlines()
    swapped = tmp_path / "swapped.csv"
    swapped.write_text("\n".join(",".join(reversed(line.split(",")[:2])) for line in lines))
    code, out, _ = run(capsys, "predict", str(model), "--data", str(bmi_csv))
    code2, out2, _ = run(capsys, "predict", str(model), "--data", str(swapped))
    assert code == code2 == 0
    assert out == out2


def test_classification_npz_and_digits(capsys, tmp_path):
    X, y = mlp_xp.data.builtin.make_xor(16, noise=0.05)
    data = tmp_path / "xor.npz"
    np.savez(data, X=X, y=y)
    model = tmp_path / "xor-model.npz"
    code, out, _ = run(
        capsys,
        "train",
        "--data",
        str(data),
        "--hidden",
        "8",
        "--lr",
        "0.05",
        "--epochs",
        "100",
        "--tol",
        "0",
        "--out",
        str(model),
        "--quiet",
    )
    assert code == 0
    assert "MLPClassifier 2-8-1" in out
    code, out, _ = run(capsys, "predict", str(model), "--data", str(data))
    assert out.splitlines()[0] == "predicted_y,p_0,p_1"


def test_verbose_prints_every_epoch(capsys):
    code, _, err = run(capsys, "train", "--epochs", "3", "--verbose")
    assert code == 0
    assert [line.split()[1] for line in err.splitlines() if line.startswith("epoch")] == [
        "1/3",
        "2/3",
        "3/3",
    ]


def test_no_progress_bar_when_not_a_terminal(capsys):
    code, _, err = run(capsys, "train", "--epochs", "2")
    assert code == 0
    assert "epoch/s" not in err
    assert "it/s" not in err


def test_plot(capsys, tmp_path):
    pytest.importorskip("matplotlib", reason="matplotlib is not installed")
    png = tmp_path / "loss.png"
    code, _, _ = run(capsys, "train", "--epochs", "3", "--early-stopping", "--plot", str(png))
    assert code == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_ctrl_c_saves_a_checkpoint_and_resume_continues(capsys, tmp_path, monkeypatch):
    args = ["train", "--epochs", "6", "--tol", "0", "--dtype", "float64", "--quiet"]
    full = tmp_path / "full.npz"
    assert run(capsys, *args, "--out", str(full))[0] == 0

    out = tmp_path / "m.npz"
    ckpt = tmp_path / "m.checkpoint.npz"
    original = train_cmd._Progress.__call__

    def interrupt_at_epoch_3(self, epoch, info):
        original(self, epoch, info)
        if info["epoch"] == 3:
            raise KeyboardInterrupt

    monkeypatch.setattr(train_cmd._Progress, "__call__", interrupt_at_epoch_3)
    code, _, err = run(capsys, *args, "--out", str(out))
    assert code == 130
    line = one_error_line(err)
    # The checkpoint goes beside --out, and the printed command writes --out.
    assert f"interrupted after epoch 3 of 6; checkpoint saved to {ckpt}" in line
    assert f"--out {out} --resume {ckpt}" in line
    assert not out.exists()
    monkeypatch.setattr(train_cmd._Progress, "__call__", original)

    code, out_text, _ = run(capsys, *args, "--resume", str(ckpt), "--out", str(out))
    assert code == 0
    assert "6 epochs" in out_text
    assert not ckpt.exists()  # the finished model supersedes its checkpoint
    a, b = mlp_xp.load(full), mlp_xp.load(out)
    assert a.history_ == b.history_
    for p, q in zip(mlp_xp.nn.layers.flatten(a.params_), mlp_xp.nn.layers.flatten(b.params_)):
        np.testing.assert_array_equal(p, q)


def test_resume_refuses_other_data(capsys, tmp_path, bmi_csv):
    ckpt = tmp_path / "c.npz"
    run(capsys, "train", "--epochs", "2", "--out", str(ckpt), "--quiet")
    code, _, err = run(capsys, "train", "--data", str(bmi_csv), "--resume", str(ckpt))
    assert code == 2
    assert "was trained on other data (bmi)" in one_error_line(err)


def test_divergence_stops_and_saves_the_last_finite_weights(capsys, tmp_path):
    out = tmp_path / "d.npz"
    code, _, err = run(
        capsys,
        "train",
        "--optimizer",
        "sgd",
        "--activation",
        "identity",
        "--lr",
        "50",
        "--epochs",
        "20",
        "--out",
        str(out),
    )
    assert code == 1
    line = one_error_line(err)
    assert "training diverged in epoch" in line
    assert "smaller --lr than 50.0" in line
    diverged = tmp_path / "d.diverged.npz"
    assert f"the last finite weights were saved to {diverged}" in line
    assert not out.exists()
    model = mlp_xp.load(diverged)
    for a in mlp_xp.nn.layers.flatten(model.params_):
        assert np.all(np.isfinite(a))


# ---------------------------------------------------------------------- bad input


def _csv(tmp_path, text, name="d.csv"):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "is empty; expected a header line"),
        ("a,b,y\n", "has a header but no rows"),
        ("a,b,y\n1,2,3\n4,x,6\n", "row 2, column 'b' holds 'x', which is not a number"),
        ("a,b,y\n1,2,3\n4,,6\n", "row 2, column 'b' is empty"),
        ("a,b,y\n1,2,3\n4,5\n", "row 2 has 2 fields but the header has 3"),
        ("a,b,y\n1,nan,3\n4,5,6\n", "row 1, column 'b' holds 'nan'"),
        ("a,b,y\n1,inf,3\n4,5,6\n", "row 1, column 'b' holds 'inf'"),
        ("a,b,y\n1,2,inf\n4,5,6\n", "row 1, column 'y' (the target) holds 'inf'"),
        ("a,b,y\n1,2,\n4,5,6\n", "row 1, column 'y' (the target) is empty"),
    ],
)
def test_bad_csv(capsys, tmp_path, text, message):
    code, _, err = run(capsys, "train", "--data", _csv(tmp_path, text))
    assert code == 2
    assert message in one_error_line(err)


def test_missing_file(capsys):
    code, _, err = run(capsys, "train", "--data", "no/such.csv")
    assert code == 2
    assert "data file 'no/such.csv' does not exist" in one_error_line(err)


def test_unknown_target_column(capsys, tmp_path):
    code, _, err = run(capsys, "train", "--data", _csv(tmp_path, "a,b\n1,2\n"), "--target", "c")
    assert code == 2
    assert "target column 'c' is not in" in one_error_line(err)
    assert "its columns are: a, b" in err


def test_npz_without_X(capsys, tmp_path):
    path = tmp_path / "d.npz"
    np.savez(path, features=np.ones((3, 2)))
    code, _, err = run(capsys, "train", "--data", str(path))
    assert code == 2
    assert "has no array named 'X' (it holds: features)" in one_error_line(err)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--backend", "jax2"], "unknown --backend 'jax2'; valid names are: auto, numpy"),
        (["--activation", "gelu"], "unknown --activation 'gelu'; valid values are: identity"),
        (["--optimizer", "rmsprop"], "unknown --optimizer 'rmsprop'; valid values are: sgd"),
        (["--init", "zeros"], "unknown --init 'zeros'; valid values are: glorot_normal"),
        (["--epochs", "0"], "--epochs must be a positive integer (>= 1), got 0"),
        (["--batch-size", "-5"], "--batch-size must be a positive integer (>= 1), got -5"),
        (["--lr", "0"], "--lr must be a positive finite number, got 0.0"),
        (["--lr=-1e-3"], "--lr must be a positive finite number"),
        (["--dtype", "float16"], "unknown --dtype 'float16'"),
        (["--test-fraction", "1.5"], "--test-fraction must be in [0, 1)"),
        (["--seed", "-1"], "--seed must be a non-negative integer (>= 0), got -1"),
        (["--hidden", "8", "0"], "--hidden must be a positive integer (>= 1), got 0"),
        (["--alpha", "-1"], "--alpha must be a finite number >= 0, got -1.0"),
        (["--patience", "0"], "--patience must be a positive integer (>= 1), got 0"),
        (["--tol", "nan"], "--tol must be a finite number >= 0, got nan"),
        (["--early-stopping", "--val-fraction", "1.5"], "--val-fraction must be in (0, 1)"),
        (["--max-memory", "lots"], "--max-memory must be a positive number of bytes"),
        (["--max-memory", "1"], "--max-memory allows 1 bytes (1 B); use smaller hidden layers"),
        (["--device", "device7"], "--device device7 is not a numpy device"),
        (["--backend", "cpu", "--device", "cpu"], "unknown --backend 'cpu'"),
    ],
)
def test_bad_options(capsys, args, message):
    """Each message names the flag the user typed, never the estimator's parameter."""
    code, _, err = run(capsys, "train", *args)
    assert code == 2
    line = one_error_line(err)
    assert message in line
    for parameter in ("learning_rate", "batch_size", "hidden_layer_sizes", "max_memory"):
        assert parameter not in line
    assert not re.search(r"[a-z_]=", line)  # no "device='device7'" or "seed=-1"


def test_task_classification_on_a_continuous_target_suggests_task_regression(capsys):
    code, _, err = run(capsys, "train", "--task", "classification", "--epochs", "1")
    assert code == 2
    line = one_error_line(err)
    assert "--task classification needs class labels, but 'bmi' holds non-integer" in line
    assert line.endswith("use --task regression for a continuous target")
    assert "MLPRegressor" not in line


def test_unknown_dataset_name_is_a_missing_file_listing_the_built_ins(capsys):
    code, _, err = run(capsys, "train", "--data", "mnist")
    assert code == 2
    assert "built-in data set: bmi, xor, digits" in one_error_line(err)


def test_cupy_without_a_gpu(capsys):
    if mlp_xp.available_backends()["cupy"].available:
        pytest.skip("a CUDA GPU is usable here")
    code, _, err = run(capsys, "train", "--backend", "cupy")
    assert code == 2
    line = one_error_line(err)
    assert "backend 'cupy' is not usable here" in line
    assert "mlp_xp[cuda12]" in line


def test_digits_without_scikit_learn(capsys, monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "sklearn" else real(name, *a)
    )
    code, _, err = run(capsys, "train", "--data", "digits")
    assert code == 2
    assert "pip install scikit-learn" in one_error_line(err)


def test_feature_count_differs_at_predict_time(capsys, tmp_path):
    model = tmp_path / "m.npz"
    run(capsys, "train", "--epochs", "1", "--out", str(model), "--quiet")
    data = tmp_path / "three.npz"
    np.savez(data, X=np.ones((4, 3)))
    code, _, err = run(capsys, "predict", str(model), "--data", str(data))
    assert code == 2
    assert "has 3 feature columns but the model expects 2" in one_error_line(err)


def test_csv_missing_a_feature_column_at_predict_time(capsys, tmp_path):
    model = tmp_path / "m.npz"
    run(capsys, "train", "--epochs", "1", "--out", str(model), "--quiet")
    code, _, err = run(
        capsys, "predict", str(model), "--data", _csv(tmp_path, "height_m,age\n1.7,30\n")
    )
    assert code == 2
    assert "lacks the feature column(s) ['weight_kg']" in one_error_line(err)


@pytest.mark.parametrize("damage", ["truncate", "garbage"])
def test_damaged_model_file(capsys, tmp_path, damage):
    model = tmp_path / "m.npz"
    run(capsys, "train", "--epochs", "1", "--out", str(model), "--quiet")
    data = model.read_bytes()
    model.write_bytes(data[: len(data) // 3] if damage == "truncate" else b"\x00" * 100)
    code, _, err = run(capsys, "predict", str(model), "--data", "bmi")
    assert code == 2
    assert "is not a readable mlp_xp model file" in one_error_line(err)


def test_model_that_does_not_fit_the_data(capsys, tmp_path):
    model = tmp_path / "three.npz"
    np.savez(tmp_path / "x.npz", X=np.ones((5, 3)), y=np.arange(5) % 2)
    run(
        capsys,
        "train",
        "--data",
        str(tmp_path / "x.npz"),
        "--epochs",
        "1",
        "--out",
        str(model),
        "--quiet",
    )
    code, _, err = run(capsys, "evaluate", str(model), "--data", "bmi")
    assert code == 2
    assert "bmi has 2 feature columns but the model expects 3" in one_error_line(err)


def test_usage_errors_exit_2(capsys):
    with pytest.raises(SystemExit) as info:
        main(["train", "--epochs", "many"])
    assert info.value.code == 2
    assert "invalid int value" in capsys.readouterr().err


def test_bench_runs_from_the_checkout(capsys, tmp_path):
    out_json = tmp_path / "bench.json"
    code = main(
        [
            "bench",
            "--cases",
            "tiny",
            "--dtypes",
            "float32",
            "--rounds",
            "1",
            "--block",
            "0.001",
            "--no-fit",
            "--compare",
            "none",
            "--json",
            str(out_json),
        ]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert "tiny   float32  mlp_xp" in out
    import json

    data = json.loads(out_json.read_text())
    public = {"mlp_xp.step", "gradient_descent_step"}  # the checked public functions
    assert {r["impl"] for r in data["rows"]} == {"mlp_xp", "lecture", "floor", *public}
    # The benchmark's own dtype check, not a timing: float32 stays float32.
    assert any(c["what"] == "dtypes of every array" and c["ok"] for c in data["checks"])
