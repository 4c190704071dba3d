"""mlp_xp.verify and mlp_xp.compare: a model against a replay of its training, or another model."""

from __future__ import annotations

import importlib.util
import json

import numpy as np
import pytest

import mlp_xp
from mlp_xp import MLPClassifier, MLPRegressor, backend
from mlp_xp.cli import main
from mlp_xp.data.builtin import make_bmi, make_xor

BACKENDS = [
    "numpy",
    pytest.param(
        "array_api_strict",
        marks=pytest.mark.skipif(
            not backend.backend_info("array_api_strict").available,
            reason="array_api_strict missing",
        ),
    ),
    pytest.param(
        "torch",
        marks=pytest.mark.skipif(
            not backend.backend_info("torch").available, reason="torch is not installed"
        ),
    ),
    pytest.param(
        "dask",
        marks=pytest.mark.skipif(
            not backend.backend_info("dask").available, reason="dask is not installed"
        ),
    ),
]


def _data(n: int = 300):
    return make_bmi(n, seed=7)


def _regressor(**kw):
    settings = {"hidden_layer_sizes": (6,), "epochs": 6, "batch_size": 50}
    settings.update(learning_rate=0.01, dtype="float32")
    settings.update(kw)
    return MLPRegressor(**settings)


@pytest.mark.slow_on("dask")
@pytest.mark.parametrize("where", BACKENDS)
def test_a_model_trained_on_any_backend_verifies(where):
    X, y = _data()
    model = _regressor(backend=where).fit(X, y)
    report = mlp_xp.verify(model, X, y)
    assert report.passed, report.format()
    assert set(report.verdicts) == {"float32", "float64"}
    assert report.verdict.deviation.weights <= report.verdict.limit
    if where == "numpy":
        assert report.verdict.deviation.weights == 0.0  # the same code on the same backend
    assert json.loads(report.to_json())["passed"] is True


@pytest.mark.slow_on("dask")
@pytest.mark.parametrize("where", BACKENDS)
def test_a_planted_weight_change_fails_and_says_where(where):
    X, y = _data()
    model = _regressor(backend=where).fit(X, y)
    W = mlp_xp.to_host(model.params_[1].W).copy()
    W[0, 3] += 0.01
    planted = mlp_xp.to_backend(W, model.backend_, model.device_)
    model.params_ = (model.params_[0], mlp_xp.Layer(planted, model.params_[1].b))
    report = mlp_xp.verify(model, X, y)
    assert not report.passed
    text = report.format()
    assert "layer 1 W[0, 3]" in text
    assert report.verdict.deviation.worst.index == [0, 3]
    other = _regressor(backend=where).fit(X, y)
    assert not mlp_xp.compare(model, other, X, y).passed
    mode = other.provenance_["segments"][0]["shuffle"]
    assert mlp_xp.compare(other, _regressor(shuffle=mode).fit(X, y), X, y).passed
    if mode != "rows":  # shuffle=True meant batches there and rows on NumPy
        with pytest.raises(ValueError, match="shuffled differently"):
            mlp_xp.compare(other, _regressor().fit(X, y), X, y)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda X, y: (X[::-1], y[::-1]), "another order"),
        (lambda X, y: (X + 1.0, y), "not the training data"),
        (lambda X, y: (X[:, :1], y), "shape"),
        (lambda X, y: (X, y[:-1]), "shape"),
        (lambda X, y: (X.astype(np.float32), y), "dtype"),
    ],
)
def test_other_data_is_refused_naming_what_differs(change, message):
    X, y = _data()
    model = _regressor(epochs=2).fit(X, y)
    with pytest.raises(ValueError, match=message):
        mlp_xp.verify(model, *change(X, y))


class _Interrupt:
    def __init__(self, at: int) -> None:
        self.at = at

    def __call__(self, epoch, info):
        if info["epoch"] == self.at:
            raise KeyboardInterrupt


def test_resumed_and_early_stopped_models_verify(tmp_path):
    X, y = _data(400)
    model = _regressor(epochs=8, early_stopping=True, patience=3)
    with pytest.raises(KeyboardInterrupt):
        model.fit(X, y, callbacks=[_Interrupt(at=3)])
    path = tmp_path / "ckpt.npz"
    model.save(path)
    resumed = mlp_xp.load(path).fit(X, y, resume=True)
    kinds = [s["kind"] for s in resumed.provenance_["segments"]]
    assert kinds == ["fit", "resume"]
    report = mlp_xp.verify(resumed, X, y)
    assert report.passed, report.format()
    assert report.verdict.deviation.weights == 0.0


def test_a_classifier_with_string_labels_verifies():
    X, y = make_xor(200, seed=2)
    labels = np.array(["even", "odd"])[y]
    model = MLPClassifier((4,), epochs=5, batch_size=40, learning_rate=0.05).fit(X, labels)
    report = mlp_xp.verify(model, X, labels)
    assert report.passed, report.format()
    assert report.verdict.deviation.predictions["labels_differ"] == 0


def test_compare_two_backends_and_refuse_other_recipes():
    if not backend.backend_info("torch").available:
        pytest.skip("torch is not installed")
    X, y = _data()
    a = _regressor().fit(X, y)
    b = _regressor(backend="torch").fit(X, y)
    report = mlp_xp.compare(a, b, X, y)
    assert report.passed, report.format()
    with pytest.raises(ValueError, match="learning_rate"):
        mlp_xp.compare(a, _regressor(learning_rate=0.02).fit(X, y), X, y)


def test_compare_fails_on_a_planted_change():
    X, y = _data()
    a = _regressor().fit(X, y)
    b = _regressor().fit(X, y)
    W = np.array(b.params_[0].W)
    W[2, 1] -= 0.01
    b.params_ = (mlp_xp.Layer(W, b.params_[0].b), b.params_[1])
    assert not mlp_xp.compare(a, b, X, y).passed


def _one_line_error(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


def test_the_command_line_flow(tmp_path, capsys):
    model = tmp_path / "m.npz"
    args = ["--epochs", "3", "--hidden", "6", "--quiet", "--out"]
    assert main(["train", *args, str(model)]) == 0
    assert main(["train", "--backend", "numpy", *args, str(tmp_path / "b.npz")]) == 0
    capsys.readouterr()
    out_json, out_md = tmp_path / "v.json", tmp_path / "v.md"
    code = main(
        ["verify", str(model), "--data", "bmi", "--json", str(out_json), "--report", str(out_md)]
    )
    out = capsys.readouterr().out
    assert code == 0, out
    assert "PASS" in out
    assert json.loads(out_json.read_text())["passed"] is True
    text = out_md.read_text()
    assert "**Verdict: PASS**" in text
    if importlib.util.find_spec("matplotlib") is not None:
        assert "data:image/png;base64," in text
    assert main(["compare", str(model), str(tmp_path / "b.npz"), "--data", "bmi"]) == 0
    capsys.readouterr()
    # Other data: exit 2, one line.
    assert main(["verify", str(model), "--data", "xor"]) == 2
    assert "verify" not in _one_line_error(capsys.readouterr().err).split(":")[0]
    # An output path in a missing directory is refused before any work.
    assert (
        main(["verify", str(model), "--data", "bmi", "--json", str(tmp_path / "no/v.json")]) == 2
    )
    assert "does not exist" in _one_line_error(capsys.readouterr().err)


def test_the_command_line_fails_a_planted_change(tmp_path, capsys):
    path = tmp_path / "m.npz"
    assert main(["train", "--epochs", "2", "--hidden", "6", "--quiet", "--out", str(path)]) == 0
    model = mlp_xp.load(path)
    W = np.array(model.params_[0].W)
    W[0, 0] += 0.01
    model.params_ = (mlp_xp.Layer(W, model.params_[0].b), *model.params_[1:])
    model.save(path)
    capsys.readouterr()
    assert main(["verify", str(path), "--data", "bmi"]) == 1
    assert "FAIL" in capsys.readouterr().out


@pytest.mark.parametrize(
    "settings",
    [
        {"optimizer": "sgd", "alpha": 0.01},
        {"optimizer": "momentum", "scale": False},
        {"optimizer": "nesterov", "shuffle": False},
        {"optimizer": "adam", "dtype": "float64", "early_stopping": True},
    ],
)
def test_every_optimizer_l2_and_scaling_verify(settings):
    X, y = _data()
    model = _regressor(**settings).fit(X, y)
    report = mlp_xp.verify(model, X, y)
    assert report.passed, report.format()
    assert report.verdict.deviation.weights == 0.0


@pytest.mark.slow
def test_a_dask_model_on_lazy_data_is_replayed_on_dask():
    if not backend.backend_info("dask").available:
        pytest.skip("dask is not installed")
    da = pytest.importorskip("dask.array")
    X, y = _data(400)
    Xd, yd = da.from_array(X, chunks=(100, 2)), da.from_array(y, chunks=100)
    model = _regressor(backend="dask", batch_size=100, epochs=2).fit(Xd, yd)
    report = mlp_xp.verify(model, Xd, yd)
    assert report.against == "dask"
    assert report.passed, report.format()


def test_a_file_without_provenance_says_what_is_missing(tmp_path):
    X, y = _data()
    path = tmp_path / "old.npz"
    _regressor(epochs=2).fit(X, y).save(path)
    with np.load(path) as saved:
        arrays = dict(saved)
    meta = json.loads(str(arrays["__mlp_xp__"]))
    del meta["provenance"]  # as files of earlier versions were written
    arrays["__mlp_xp__"] = np.array(json.dumps(meta))
    np.savez(path, **arrays)
    old = mlp_xp.load(path)
    with pytest.raises(ValueError, match="records no provenance.*cannot be replayed"):
        mlp_xp.verify(old, X, y)


def test_edited_scalers_or_classes_fail():
    X, y = _data()
    model = _regressor(epochs=3).fit(X, y)
    model.y_scaler_.mean = model.y_scaler_.mean + 100.0
    report = mlp_xp.verify(model, X, y)
    assert not report.passed
    assert any("scaling statistic" in f for f in report.verdict.failures)
    Xc, yc = make_xor(200, seed=3)
    clf = MLPClassifier((4,), epochs=3, batch_size=40).fit(Xc, yc)
    clf.classes_ = clf.classes_[::-1]
    report = mlp_xp.verify(clf, Xc, yc)
    assert not report.passed
    assert any("classes differ" in f for f in report.verdict.failures)


def _interrupt_inside_epoch(monkeypatch, epoch: int) -> None:
    """A Ctrl-C while epoch ``epoch`` trains, as a user's would land (not at an epoch's end)."""
    import mlp_xp.training.observers as base

    real = base.check_diverged

    def check(e, completed, learning_rate):
        if completed + 1 == epoch:
            raise KeyboardInterrupt
        return real(e, completed, learning_rate)

    monkeypatch.setattr(base, "check_diverged", check)


@pytest.mark.parametrize("at", [1, 3, 5])
def test_a_run_interrupted_inside_an_epoch_and_resumed_verifies(monkeypatch, at):
    X, y = _data(400)
    settings = {"epochs": 10, "early_stopping": True, "patience": 2, "tol": 1e-3}
    model = _regressor(**settings)
    with monkeypatch.context() as patch:
        _interrupt_inside_epoch(patch, at)
        with pytest.raises(KeyboardInterrupt):
            model.fit(X, y)
    model.fit(X, y, resume=True)
    full = _regressor(**settings).fit(X, y)
    assert model.history_ == full.history_
    report = mlp_xp.verify(model, X, y)
    assert report.passed, report.format()
    assert report.verdict.deviation.weights == 0.0


def test_hyperparameters_changed_between_segments_are_replayed():
    X, y = _data()
    model = _regressor(epochs=3).fit(X, y)
    model.set_params(epochs=6, learning_rate=0.002, batch_size=30)
    model.fit(X, y, resume=True)
    report = mlp_xp.verify(model, X, y)
    assert report.passed, report.format()
    assert report.verdict.deviation.weights == 0.0


def test_an_edited_stopping_rule_fails():
    X, y = _data()
    model = _regressor(epochs=30, patience=2, tol=0.5).fit(X, y)
    assert model.provenance_["segments"][0]["ended"] == "stopped"
    model.provenance_["segments"][0]["hyperparameters"]["patience"] = 50
    report = mlp_xp.verify(model, X, y)
    assert not report.passed
    assert any("stopped by its tol/patience rule" in f for f in report.verdict.failures)


def test_the_markdown_report_lists_each_training_machine(tmp_path):
    X, y = _data()
    model = _regressor(epochs=2).fit(X, y)
    model.set_params(epochs=4)
    model.fit(X, y, resume=True)
    model.provenance_["segments"][1]["environment"] = {"python": "3.12.0", "platform": "H200 box"}
    text = mlp_xp.verify(model, X, y).to_markdown()
    assert "| training, segment 1 (fit) | training, segment 2 (resume) | replay |" in text
    assert "H200 box" in text


def test_a_run_of_partial_fit_calls_on_one_data_set_verifies():
    X, y = _data(120)
    model = _regressor(batch_size=40)
    for _ in range(4):
        model.partial_fit(X, y)
    (run,) = model.provenance_["segments"]
    assert run["calls"] == 4
    report = mlp_xp.verify(model, X, y)
    assert report.passed, report.format()


def test_streamed_partial_fit_batches_are_not_verified():
    X, y = _data(120)
    model = _regressor(batch_size=40)
    model.partial_fit(X, y)
    model.partial_fit(X[:60], y[:60])  # another batch: a replay on X, y cannot give it
    with pytest.raises(ValueError, match=r"segment 1 \(partial_fit, 2 calls.*cannot be verified"):
        mlp_xp.verify(model, X, y)
