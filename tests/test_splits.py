"""Imbalanced classes: stratified splits, the split recorded, per-class scores, class weights.

Issue 31: with 98 "ok" and 2 "fraud" rows, seeds 0 to 3 held out no fraud row
(held-out accuracy 1.0) and seed 18 held out both ("y has only one class").
tests/data/fraud_v0.safetensors was written by the code before splits were
stratified (main at b083fea, see the commit that added it): it still verifies,
evaluates and resumes on the rows it was trained on.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import mlp_xp
from mlp_xp import MLPClassifier, MLPRegressor
from mlp_xp.cli import main
from mlp_xp.cli.class_scores import class_scores, report_lines
from mlp_xp.data.splits import split
from mlp_xp.seeds import seeded_split, seeded_stratified_split

DATA = Path(__file__).resolve().parent / "data"
OLD_MODEL, OLD_CSV = DATA / "fraud_v0.safetensors", DATA / "fraud_v0.csv"
# The options that trained OLD_MODEL (its split: --test-fraction 0.25, --seed 3).
OLD_SPLIT = ["--test-fraction", "0.25", "--seed", "3"]
FAST = ["--epochs", "2", "--hidden", "4"]


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def one_error_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


def fraud_labels() -> np.ndarray:
    """The issue's 100 rows: 98 "ok", and "fraud" at rows 13 and 42."""
    y = np.full(100, "ok", dtype=object)
    y[[13, 42]] = "fraud"
    return y.astype(str)


@pytest.fixture
def fraud_csv(tmp_path: Path) -> Path:
    y = fraud_labels()
    X = np.random.default_rng(0).normal(size=(100, 3)) + 2.0 * (y == "fraud")[:, None]
    path = tmp_path / "fraud.csv"
    rows = ["a,b,c,label"] + [f"{r[0]:.3f},{r[1]:.3f},{r[2]:.3f},{lab}" for r, lab in zip(X, y)]
    path.write_text("\n".join(rows) + "\n")
    return path


def table_rows(out: str) -> dict[str, list[str]]:
    """The per-class lines of a report: label -> [precision, recall, support]."""
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("class "))
    rows = {}
    for line in lines[start + 1 :]:
        if line.startswith("confusion matrix"):
            break
        label, *values = line.split()
        rows[label] = values
    return rows


# ---------------------------------------------------------------------- the draw


def test_the_stratified_draw_holds_out_a_row_of_each_class_on_every_seed():
    strata = (fraud_labels() == "fraud").astype(int)
    for seed in range(21):
        kept, held = seeded_stratified_split(strata, 20, [seed, 3])
        assert (len(kept), len(held)) == (80, 20)
        assert np.array_equal(np.sort(np.concatenate([kept, held])), np.arange(100))
        assert (strata[kept].sum(), strata[held].sum()) == (1, 1), seed
        again = seeded_stratified_split(strata, 20, [seed, 3])
        assert np.array_equal(again[1], held)  # seeded: the same rows every time


def test_the_stratified_draw_holds_out_each_class_in_its_own_proportion():
    strata = np.repeat([0, 1, 2], [50, 30, 20])
    np.random.default_rng(1).shuffle(strata)
    _, held = seeded_stratified_split(strata, 10, [0, 1])
    assert np.bincount(strata[held]).tolist() == [5, 3, 2]
    # A class of one row stays on the kept side; the others still get a held row each.
    strata = np.array([0] * 8 + [1] * 3 + [2])
    for seed in range(10):
        kept, held = seeded_stratified_split(strata, 3, [seed, 1])
        assert sorted(strata[held].tolist()) == [0, 0, 1] or sorted(strata[held].tolist()) == [
            0,
            1,
            1,
        ]
        assert 11 in kept
    # Fewer kept rows than classes: the largest class and one other keep a row each.
    strata = np.array([0] * 10 + [1, 2])
    for seed in range(10):
        kept, _ = seeded_stratified_split(strata, 10, [seed, 3])
        assert len(kept) == 2
        assert strata[kept][0] == 0
        assert strata[kept][1] in (1, 2)


def test_the_held_out_split_is_stratified_for_labels_and_random_without():
    y = fraud_labels()
    for seed in (0, 1, 2, 3, 18):
        train, test = split(100, 0.2, seed, y)
        assert ((y[train] == "fraud").sum(), (y[test] == "fraud").sum()) == (1, 1)
    assert all(
        np.array_equal(a, b) for a, b in zip(split(100, 0.2, 18), seeded_split(100, 20, [18, 3]))
    )


# ---------------------------------------------------------------------- the estimator


def test_early_stopping_stratified():
    """scikit-learn's test of the same name: a class of one member is refused."""
    X = [[1, 2], [2, 3], [3, 4], [4, 5]]
    y = [0, 0, 0, 1]
    with pytest.raises(
        ValueError,
        match=r"The least populated classes in y have only 1 member.*Classes with "
        r"too few members are: \[1\]",
    ):
        MLPClassifier(early_stopping=True).fit(X, y)


def test_early_stopping_refuses_to_leave_a_class_without_training_samples():
    X = [[1.0], [2.0], [3.0], [4.0]]
    with pytest.raises(ValueError, match="leaves 1 training samples for the 2 classes"):
        MLPClassifier(early_stopping=True, validation_fraction=0.7).fit(X, [0, 0, 1, 1])


def test_the_validation_split_holds_a_row_of_each_class_on_every_seed():
    y = fraud_labels()
    for seed in range(21):
        train, val = MLPClassifier(seed=seed, validation_fraction=0.2)._split_rows(100, y)
        assert ((y[train] == "fraud").sum(), (y[val] == "fraud").sum()) == (1, 1), seed


def test_the_model_records_how_its_validation_rows_were_drawn(tmp_path):
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(40, 2)), np.array([0] * 34 + [1] * 6)
    opts = {"epochs": 2, "early_stopping": True, "validation_fraction": 0.25}
    classifier = MLPClassifier((4,), **opts).fit(X, y)
    regressor = MLPRegressor((4,), **opts).fit(X, X[:, 0])
    assert classifier.provenance_["segments"][0]["validation_split"] == "stratified"
    assert regressor.provenance_["segments"][0]["validation_split"] == "random"
    classifier.save(tmp_path / "c.safetensors")
    assert mlp_xp.load(tmp_path / "c.safetensors")._state["split"] == "stratified"
    # A file from before the record drew its validation rows at random.
    assert mlp_xp.load(OLD_MODEL)._state["split"] == "random"


def test_a_stratified_early_stopping_run_resumes_exactly(tmp_path):
    rng = np.random.default_rng(2)
    X, y = rng.normal(size=(60, 3)), np.array(["a"] * 50 + ["b"] * 10)
    opts = {"early_stopping": True, "validation_fraction": 0.2, "patience": 50, "seed": 4}
    whole = MLPClassifier((5,), epochs=6, **opts).fit(X, y)
    half = MLPClassifier((5,), epochs=3, **opts).fit(X, y)
    half.save(tmp_path / "half.npz")
    resumed = mlp_xp.load(tmp_path / "half.npz").set_params(epochs=6).fit(X, y, resume=True)
    assert resumed.history_["val_loss"] == whole.history_["val_loss"]
    for a, b in zip(resumed.params_, whole.params_):
        assert np.array_equal(a.W, b.W)
        assert np.array_equal(a.b, b.b)


# ---------------------------------------------------------------------- the command line


@pytest.mark.parametrize("seed", [0, 1, 2, 3, 18])
def test_every_seed_holds_out_a_fraud_row_and_the_summary_scores_each_class(
    capsys, fraud_csv, seed
):
    code, out, err = run(capsys, "train", "--data", fraud_csv, *FAST, "--seed", seed, "--verbose")
    assert code == 0, err
    rows = table_rows(out)
    assert (rows["fraud"][2], rows["ok"][2]) == ("1", "19")
    assert out.splitlines()[1].startswith("balanced accuracy ")
    assert "confusion matrix (rows: true class, columns: predicted class):" in out


def test_a_class_of_one_row_is_trained_on_and_said_so(capsys, fraud_csv):
    text = fraud_csv.read_text().splitlines()
    text[14] = text[14].replace("fraud", "ok")  # row 13 of the data: one fraud row is left
    fraud_csv.write_text("\n".join(text) + "\n")
    code, _, err = run(capsys, "train", "--data", fraud_csv, *FAST)
    assert code == 0, err
    assert (
        "mlp-xp: note: the class 'fraud' has only 1 row, too few to put on both sides of the "
        "stratified held-out split: it is in the training rows only" in err
    )


def test_a_split_that_leaves_one_class_to_train_on_says_so(capsys, tmp_path):
    data = tmp_path / "tiny.csv"
    rows = ["a,b,label"] + [f"{i},{i % 3},ok" for i in range(10)] + ["1,1,x", "2,2,y"]
    data.write_text("\n".join(rows) + "\n")
    code, _, err = run(capsys, "train", "--data", data, "--test-fraction", "0.9", *FAST)
    assert code == 2
    assert one_error_line(err) == (
        "mlp-xp: error: the held-out split (--test-fraction 0.9, --seed 0) left only class "
        "'ok' in the training rows, holding out the 1 row of 'x' and the 1 row of 'y'; a "
        "classifier needs two classes to train on, so lower --test-fraction"
    )


def test_early_stopping_on_a_class_with_one_training_row_names_the_flags(capsys, fraud_csv):
    code, _, err = run(capsys, "train", "--data", fraud_csv, *FAST, "--early-stopping")
    assert code == 2
    assert one_error_line(err).startswith(
        "mlp-xp: error: --early-stopping: the validation split (--val-fraction 0.1) is "
        "stratified, and the class 'fraud' has only 1 training row"
    )


def test_a_new_model_records_a_stratified_split_that_verify_and_evaluate_draw_again(
    capsys, tmp_path, fraud_csv
):
    model = tmp_path / "m.safetensors"
    argv = ["train", "--data", fraud_csv, *FAST, "--seed", "18", "--quiet", "--out", model]
    code, out, err = run(capsys, *argv)
    assert code == 0, err
    held_out = out.split("held-out accuracy ")[1].split()[0]
    assert mlp_xp.load(model).data_info_["split"] == "stratified"
    code, out, err = run(capsys, "verify", model, "--data", fraud_csv)
    assert code == 0, out + err
    code, out, err = run(capsys, "evaluate", model, "--data", fraud_csv, "--held-out")
    assert code == 0, err
    assert out.startswith(f"samples 20 | accuracy {held_out} | log loss ")
    assert table_rows(out)["fraud"][2] == "1"


def test_a_model_from_before_stratified_splits_verifies_evaluates_and_resumes(capsys, tmp_path):
    code, out, err = run(capsys, "verify", OLD_MODEL, "--data", OLD_CSV)
    assert code == 0, out + err
    # The held-out rows its training scored: "held-out accuracy 0.90000" when it was written.
    code, out, err = run(capsys, "evaluate", OLD_MODEL, "--data", OLD_CSV, "--held-out")
    assert code == 0, err
    assert out.startswith("samples 10 | accuracy 0.90000 | log loss ")
    # A resume trains on the same rows (its data check passes) and validates on the same
    # rows: the replay of both segments, drawn at random, agrees with it.
    checkpoint, resumed = tmp_path / "old.safetensors", tmp_path / "resumed.safetensors"
    shutil.copy(OLD_MODEL, checkpoint)
    argv = ["--data", OLD_CSV, *OLD_SPLIT, "--epochs", "14", "--quiet", "--out", resumed]
    code, out, err = run(capsys, "train", "--resume", checkpoint, *argv)
    assert code == 0, err
    assert mlp_xp.load(resumed).data_info_["split"] == "random"
    code, out, err = run(capsys, "verify", resumed, "--data", OLD_CSV)
    assert code == 0, out + err


def test_evaluate_held_out_refuses_other_data_and_models_without_held_out_rows(
    capsys, tmp_path, fraud_csv
):
    other = tmp_path / "other.csv"
    lines = OLD_CSV.read_text().splitlines()
    lines[1] = "9.5," + lines[1].split(",", 1)[1]  # one training value changed
    other.write_text("\n".join(lines) + "\n")
    code, _, err = run(capsys, "evaluate", OLD_MODEL, "--data", other, "--held-out")
    assert code == 2
    assert one_error_line(err).startswith(
        f"mlp-xp: error: --held-out: --data {other} is not the data {OLD_MODEL} was trained on"
    )
    model = tmp_path / "m.npz"
    argv = ["train", "--data", fraud_csv, *FAST, "--test-fraction", "0", "--out", model]
    assert run(capsys, *argv)[0] == 0
    code, _, err = run(capsys, "evaluate", model, "--data", fraud_csv, "--held-out")
    assert code == 2
    assert "was trained with --test-fraction 0, so no rows were held out" in one_error_line(err)


def test_class_weight_balanced_is_trained_recorded_and_kept_by_resume(capsys, tmp_path, fraud_csv):
    model, resumed = tmp_path / "m.npz", tmp_path / "r.npz"
    argv = ["--data", fraud_csv, "--hidden", "4", "--quiet"]
    assert (
        run(capsys, "train", *argv, "--epochs", "2", "--class-weight", "balanced", "--out", model)[
            0
        ]
        == 0
    )
    fitted = mlp_xp.load(model)
    assert fitted.class_weight == "balanced"
    # 80 training rows, one of them fraud: n_rows / (n_classes * its rows).
    assert fitted.class_weight_ == pytest.approx({"fraud": 40.0, "ok": 80 / (2 * 79)})
    code, _, err = run(
        capsys, "train", *argv, "--resume", model, "--epochs", "3", "--out", resumed
    )
    assert code == 0, err
    assert mlp_xp.load(resumed).class_weight == "balanced"
    # A checkpoint trained without it is not resumed with it.
    plain = tmp_path / "plain.npz"
    assert run(capsys, "train", *argv, "--epochs", "2", "--out", plain)[0] == 0
    code, _, err = run(
        capsys, "train", *argv, "--resume", plain, "--epochs", "3", "--class-weight", "balanced"
    )
    assert code == 2
    assert "--class-weight balanced (the checkpoint has no --class-weight)" in one_error_line(err)


def test_class_weight_is_refused_for_regression(capsys):
    code, _, err = run(capsys, "train", "--class-weight", "balanced", "--epochs", "1")
    assert code == 2
    assert one_error_line(err) == (
        "mlp-xp: error: --class-weight balanced applies to classification, and this is "
        "regression (bmi is a regression data set); drop --class-weight, or pass "
        "--task classification"
    )


# ---------------------------------------------------------------------- per-class scores


def test_class_scores_are_scikit_learns():
    from sklearn.metrics import (
        balanced_accuracy_score,
        confusion_matrix,
        precision_recall_fscore_support,
    )

    rng = np.random.default_rng(3)
    classes = np.array(["a", "b", "c", "d"])
    y = rng.choice(["a", "b", "c", "e"], size=200, p=[0.6, 0.25, 0.1, 0.05])  # e: unseen
    predicted = rng.choice(["a", "b", "c"], size=200)  # d: never predicted, never true
    scores = class_scores(y, predicted, classes)
    labels = ["a", "b", "c", "d", "e"]
    assert scores.labels == labels
    assert np.array_equal(scores.confusion, confusion_matrix(y, predicted, labels=labels))
    p, r, _, support = precision_recall_fscore_support(
        y, predicted, labels=labels, zero_division=np.nan
    )
    assert np.allclose(scores.precision, p, equal_nan=True)
    assert np.allclose(scores.recall, r, equal_nan=True)
    assert np.array_equal(scores.support, support)
    assert scores.balanced_accuracy == pytest.approx(balanced_accuracy_score(y, predicted))
    lines = report_lines(scores)
    assert lines[0] == f"balanced accuracy {scores.balanced_accuracy:.4f}"
    assert lines[5].split() == ["d", "n/a", "n/a", "0"]


def test_evaluate_reports_each_class(capsys):
    code, out, err = run(capsys, "evaluate", OLD_MODEL, "--data", OLD_CSV)
    assert code == 0, err
    assert out.splitlines() == [
        "samples 40 | accuracy 0.85000 | log loss 0.40829",
        "balanced accuracy 0.5000",
        "class  precision  recall  support",
        "fraud        n/a  0.0000        6",
        "ok        0.8500  1.0000       34",
        "confusion matrix (rows: true class, columns: predicted class):",
        "       fraud  ok",
        "fraud      0   6",
        "ok         0  34",
    ]


@pytest.mark.slow  # a Python subprocess, about 2 s
def test_evaluate_does_not_import_scikit_learns_metrics():
    code = (
        "import sys; from mlp_xp.cli import main; "
        f"main(['evaluate', {str(OLD_MODEL)!r}, '--data', {str(OLD_CSV)!r}]); "
        "sys.exit('sklearn.metrics' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
