"""ONNX export: the model's own forward pass recorded by ndonnx, checked on onnxruntime.

Each exported graph is run on onnxruntime and compared with ``predict`` and
``predict_proba`` by the parity rule (``mlp_xp.export.check.limit``: the
tolerance of two evaluations in the model's dtype); the labels must agree
exactly.  A graph whose one weight moved by 1e-3 (relative) must fail the check.
"""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys

import numpy as np
import pytest

pytest.importorskip("ndonnx", reason="the onnx extra: pip install 'mlp_xp[onnx]'")
ort = pytest.importorskip("onnxruntime", reason="the onnx extra: pip install 'mlp_xp[onnx]'")

import mlp_xp  # noqa: E402
from mlp_xp import export  # noqa: E402
from mlp_xp.backend import adapter, to_host  # noqa: E402
from mlp_xp.cli import main  # noqa: E402
from mlp_xp.data.builtin import make_bmi  # noqa: E402
from mlp_xp.export import api as export_api  # noqa: E402
from mlp_xp.nn.backprop import forward_output  # noqa: E402
from mlp_xp.nn.plan import make_plan  # noqa: E402

DTYPES = ("float32", "float64")
LABELS = np.array(["ant", "bee", "cat"])


def _classes_data(n: int = 150, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Four features on different scales, three string classes."""
    rng = np.random.default_rng(seed)
    Z = rng.normal(size=(n, 4))
    X = Z * [1.0, 10.0, 0.1, 3.0] + [0.0, 50.0, -2.0, 7.0]
    return X, LABELS[np.argmax(Z[:, :3] + 0.5 * Z[:, 3:], axis=1)]


def _fit(kind: str, dtype: str, activation: str = "relu") -> object:
    """A tiny fitted model of ``kind``: regressor (1-D or 2-D y), classifier (3 or 2 classes)."""
    common = {"hidden_layer_sizes": (8,), "epochs": 30, "dtype": dtype, "activation": activation}
    if kind.startswith("regressor"):
        X, y = make_bmi(200, seed=3)
        if kind == "regressor-2d":
            y = np.c_[y, 2.0 * y - 10.0]
        return mlp_xp.MLPRegressor(learning_rate=0.01, **common).fit(X, y)
    X, labels = _classes_data()
    if kind == "classifier-binary":
        labels = np.where(labels == "ant", "ant", "other")
    return mlp_xp.MLPClassifier(learning_rate=0.01, **common).fit(X, labels)


def _rows(model: object, n: int = 64) -> np.ndarray:
    X, _ = export.sample_rows(model, n, seed=5)
    return X


def _session(path_or_bytes: object) -> object:
    return ort.InferenceSession(path_or_bytes, providers=["CPUExecutionProvider"])


def _tampered(params: tuple, relative: float = 1e-3) -> tuple:
    """Host copies of ``params`` with the output layer's largest weight scaled by 1 + relative."""
    host = [mlp_xp.Layer(to_host(p.W).copy(), to_host(p.b).copy()) for p in params]
    W = host[-1].W
    where = np.unravel_index(int(np.argmax(np.abs(W))), W.shape)
    W[where] *= 1.0 + relative
    return tuple(host)


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _one_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


# ---------------------------------------------------------------------- the graph


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kind", ["regressor", "regressor-2d"])
def test_a_regressor_runs_on_onnxruntime_as_predict_does(tmp_path, kind, dtype):
    model = _fit(kind, dtype)
    path = tmp_path / "model.onnx"
    report = export.to_onnx(model, path)
    assert report.passed
    assert report.written
    assert path.is_file()
    assert report.deviation <= report.tolerance == export.limit(model)
    sess = _session(str(path))
    (graph_input,) = sess.get_inputs()
    assert graph_input.type == {"float32": "tensor(float)", "float64": "tensor(double)"}[dtype]
    X = _rows(model)
    for n in (1, 7, len(X)):  # the batch dimension is dynamic
        (got,) = sess.run(["predictions"], {"X": X[:n]})
        want = to_host(model.predict(X[:n]))
        assert got.dtype == np.dtype(dtype)
        assert got.shape == want.shape  # 1-D for a 1-D y, (n, 2) for two targets
        assert np.max(np.abs(got - want)) <= export.limit(model) * np.max(np.abs(want))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kind", ["classifier", "classifier-binary"])
def test_a_classifier_gives_string_labels_and_probabilities(tmp_path, kind, dtype):
    model = _fit(kind, dtype)
    path = tmp_path / "model.onnx"
    report = export.to_onnx(model, path)
    assert report.passed, report.lines()
    sess = _session(str(path))
    types = {o.name: o.type for o in sess.get_outputs()}
    assert types["label"] == "tensor(string)"
    X = np.concatenate([_rows(model), _classes_data(40, seed=9)[0].astype(dtype)])
    label, proba = sess.run(["label", "probabilities"], {"X": X})
    np.testing.assert_array_equal(label, model.predict(X))
    want = to_host(model.predict_proba(X))
    assert proba.shape == want.shape
    assert np.max(np.abs(proba - want)) <= export.limit(model)


def test_the_metadata_carries_features_classes_version_and_data_fingerprint(tmp_path):
    model = _fit("classifier", "float32")
    model.feature_names_in_ = ["a", "b", "c", "d"]
    path = tmp_path / "model.onnx"
    export.to_onnx(model, path)
    meta = _session(str(path)).get_modelmeta().custom_metadata_map
    assert json.loads(meta["feature_names"]) == ["a", "b", "c", "d"]
    assert json.loads(meta["classes"]) == LABELS.tolist()
    assert meta["mlp_xp_version"] == mlp_xp.__version__
    assert json.loads(meta["data_fingerprint"]) == model.provenance_["data"]
    assert meta["dtype"] == "float32"


def test_integer_classes_come_back_as_integers(tmp_path):
    X, labels = _classes_data()
    y = np.searchsorted(LABELS, labels) * 10 + 3
    model = mlp_xp.MLPClassifier(hidden_layer_sizes=(8,), epochs=10).fit(X, y)
    path = tmp_path / "model.onnx"
    assert export.to_onnx(model, path).passed
    (label,) = _session(str(path)).run(["label"], {"X": X})
    assert label.dtype.kind == "i"
    np.testing.assert_array_equal(label, to_host(model.predict(X)))


# ---------------------------------------------------------------------- the check


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kind", ["regressor", "classifier"])
def test_a_weight_changed_by_1e_3_relative_fails_the_check(kind, dtype):
    model = _fit(kind, dtype, activation="tanh")
    X = _rows(model, 200)
    honest = export.build_onnx(model).SerializeToString()
    assert export.check_graph(model, honest, X).passed
    bad = export.build_onnx(model, params=_tampered(model.params_)).SerializeToString()
    found = export.check_graph(model, bad, X)
    assert not found.passed
    assert found.deviation > found.tolerance


def _tampering_builder(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the export build every graph with one weight 1e-3 off."""
    honest = export_api.build_onnx

    def build(model: object, **kw: object) -> object:
        return honest(model, params=_tampered(model.params_))  # type: ignore[attr-defined]

    monkeypatch.setattr(export_api, "build_onnx", build)


def test_a_failed_check_writes_nothing_and_leaves_the_old_file(tmp_path, monkeypatch):
    model = _fit("classifier", "float64", activation="tanh")
    path = tmp_path / "model.onnx"
    path.write_bytes(b"the old file")
    _tampering_builder(monkeypatch)
    report = export.to_onnx(model, path)
    assert not report.passed
    assert not report.written
    assert path.read_bytes() == b"the old file"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.onnx"]
    assert "nothing was written" in report.lines()[-1]


def test_the_check_runs_on_the_data_given(tmp_path):
    model = _fit("regressor", "float32")
    X, _ = make_bmi(30, seed=11)
    report = export.to_onnx(model, tmp_path / "m.onnx", data=X, data_source="bmi")
    assert report.check.rows == 30
    assert "30 rows of bmi" in report.data
    with pytest.raises(ValueError, match="shape"):
        export.to_onnx(model, tmp_path / "m.onnx", data=X[:, :1])


# ---------------------------------------------------------------------- bad input, Python


def test_an_unwritable_path_is_refused_before_any_work(tmp_path):
    unfitted = mlp_xp.MLPRegressor()
    with pytest.raises(FileNotFoundError, match="does not exist"):
        export.to_onnx(unfitted, tmp_path / "missing" / "m.onnx")
    with pytest.raises(IsADirectoryError, match="directory"):
        export.to_onnx(unfitted, tmp_path)
    with pytest.raises(mlp_xp.NotFittedError):
        export.to_onnx(unfitted, tmp_path / "m.onnx")


def test_a_missing_extra_is_named_with_the_install_command(tmp_path, monkeypatch):
    model = _fit("regressor", "float64")
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # as if not installed
    with pytest.raises(ModuleNotFoundError, match=r"onnxruntime.*pip install 'mlp_xp\[onnx\]'"):
        export.to_onnx(model, tmp_path / "m.onnx")
    assert not (tmp_path / "m.onnx").exists()


def test_importing_mlp_xp_needs_none_of_the_onnx_packages():
    code = (
        "import sys, mlp_xp, mlp_xp.export, mlp_xp.cli.main; "
        "print([m for m in ('ndonnx', 'onnx', 'onnxruntime', 'spox') if m in sys.modules])"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


# ---------------------------------------------------------------------- the adapter


def test_available_backends_reports_ndonnx_as_inference_only():
    info = mlp_xp.available_backends()["ndonnx"]
    assert info.installed
    assert info.available
    assert adapter("ndonnx").inference_only
    from mlp_xp.parity import DEFAULT_BACKENDS

    assert "ndonnx" not in " ".join(DEFAULT_BACKENDS)


def test_the_forward_pass_runs_on_ndonnx_constants():
    xp = adapter("ndonnx").namespace()
    rng = np.random.default_rng(0)
    host = [(rng.normal(size=(5, 3)), rng.normal(size=5)), (rng.normal(size=(2, 5)), np.zeros(2))]
    X = rng.normal(size=(4, 3))
    plan = make_plan("tanh", "cross_entropy")
    params = tuple(mlp_xp.Layer(xp.asarray(W), xp.asarray(b)) for W, b in host)
    _, got = forward_output(xp, params, xp.asarray(X), plan)
    _, want = forward_output(np, tuple(mlp_xp.Layer(W, b) for W, b in host), X, plan)
    np.testing.assert_allclose(to_host(got), want, rtol=1e-14)
    # The public forward pass on a graph input builds a graph that onnxruntime runs.
    x = xp.argument(shape=("N", 3), dtype=xp.float64)
    y = mlp_xp.forward(params, x, activation="tanh")
    (ran,) = _session(xp.build({"X": x}, {"y": y}).SerializeToString()).run(None, {"X": X})
    host_params = tuple(mlp_xp.Layer(W, b) for W, b in host)
    np.testing.assert_allclose(ran, mlp_xp.forward(host_params, X, activation="tanh"), rtol=1e-12)


def test_training_on_ndonnx_is_refused_with_one_line():
    X, y = make_bmi(50, seed=0)
    with pytest.raises(ValueError, match="inference only and cannot train") as info:
        mlp_xp.MLPRegressor(backend="ndonnx", epochs=2).fit(X, y)
    assert "\n" not in str(info.value)
    xp = adapter("ndonnx").namespace()
    with pytest.raises(TypeError, match="X is an ndonnx array"):
        mlp_xp.MLPRegressor(epochs=2).fit(xp.asarray(X), y)


# ---------------------------------------------------------------------- the command line


@pytest.fixture
def saved(tmp_path):
    """A classifier saved by mlp_xp, and a CSV of its features (named columns, a label column)."""
    X, labels = _classes_data(80, seed=4)
    model = mlp_xp.MLPClassifier(hidden_layer_sizes=(8,), epochs=20, dtype="float32")
    model.fit(X, labels)
    model.feature_names_in_ = ["a", "b", "c", "d"]
    model.target_name_ = "kind"
    path = tmp_path / "model.npz"
    model.save(str(path))
    table = tmp_path / "rows.csv"
    lines = ["a,b,c,d,kind"] + [",".join([*map(str, x), lab]) for x, lab in zip(X, labels)]
    table.write_text("\n".join(lines) + "\n")
    return path, table


def _csv(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def test_export_then_predict_from_the_onnx_file(capsys, tmp_path, saved):
    model_path, table = saved
    out = tmp_path / "model.onnx"
    code, stdout, _ = _run(
        capsys, "export", str(model_path), "--onnx", str(out), "--data", str(table)
    )
    assert code == 0, stdout
    assert "largest probability deviation" in stdout
    assert "tolerance" in stdout
    assert "80 rows of" in stdout
    assert out.is_file()
    code, from_onnx, _ = _run(capsys, "predict", str(out), "--data", str(table))
    assert code == 0
    code, from_model, _ = _run(capsys, "predict", str(model_path), "--data", str(table))
    assert code == 0
    onnx_rows, model_rows = _csv(from_onnx), _csv(from_model)
    assert onnx_rows[0] == model_rows[0] == ["predicted_kind", "p_ant", "p_bee", "p_cat"]
    assert [r[0] for r in onnx_rows] == [r[0] for r in model_rows]  # the labels, exactly
    got = np.array([r[1:] for r in onnx_rows[1:]], dtype=float)
    want = np.array([r[1:] for r in model_rows[1:]], dtype=float)
    np.testing.assert_allclose(got, want, atol=1e-5)


def test_export_without_data_checks_a_seeded_sample(capsys, tmp_path, saved):
    model_path, _ = saved
    code, stdout, _ = _run(
        capsys, "export", str(model_path), "--onnx", str(tmp_path / "m.onnx"), "--rows", "50"
    )
    assert code == 0
    assert "50 seeded rows" in stdout


def test_export_beyond_tolerance_exits_1_and_keeps_the_old_file(
    capsys, tmp_path, saved, monkeypatch
):
    model_path, _ = saved
    out = tmp_path / "model.onnx"
    out.write_bytes(b"deployed")
    _tampering_builder(monkeypatch)
    code, stdout, err = _run(capsys, "export", str(model_path), "--onnx", str(out))
    assert code == 1
    assert "BEYOND the tolerance" in stdout
    assert "was not written" in _one_line(err)
    assert out.read_bytes() == b"deployed"


def test_export_refuses_a_file_that_is_not_an_mlp_xp_model(capsys, tmp_path):
    bogus = tmp_path / "notes.npz"
    bogus.write_text("not a model\n")
    code, _, err = _run(capsys, "export", str(bogus), "--onnx", str(tmp_path / "m.onnx"))
    assert code == 2
    assert _one_line(err).startswith("mlp-xp: error:")
    assert not (tmp_path / "m.onnx").exists()


def test_export_checks_the_output_path_before_reading_the_model(capsys, tmp_path):
    missing_model = tmp_path / "absent.npz"
    target = tmp_path / "no" / "such" / "dir" / "m.onnx"
    code, _, err = _run(capsys, "export", str(missing_model), "--onnx", str(target))
    assert code == 2
    line = _one_line(err)
    assert "--onnx" in line
    assert "does not exist" in line


def test_export_wants_an_onnx_file_name(capsys, tmp_path, saved):
    model_path, _ = saved
    code, _, err = _run(capsys, "export", str(model_path), "--onnx", str(tmp_path / "m.npz"))
    assert code == 2
    assert "must end in .onnx" in _one_line(err)


def test_export_names_a_missing_extra(capsys, tmp_path, saved, monkeypatch):
    model_path, _ = saved
    monkeypatch.setitem(sys.modules, "onnxruntime", None)
    code, _, err = _run(capsys, "export", str(model_path), "--onnx", str(tmp_path / "m.onnx"))
    assert code == 2
    line = _one_line(err)
    assert "onnxruntime" in line
    assert "pip install 'mlp_xp[onnx]'" in line


def test_predict_refuses_an_onnx_file_that_mlp_xp_did_not_export(capsys, tmp_path, saved):
    _, table = saved
    xp = adapter("ndonnx").namespace()
    x = xp.argument(shape=("N", 4), dtype=xp.float32)
    foreign = tmp_path / "foreign.onnx"
    foreign.write_bytes(xp.build({"X": x}, {"y": x + 1.0}).SerializeToString())
    code, _, err = _run(capsys, "predict", str(foreign), "--data", str(table))
    assert code == 2
    assert "not one exported by mlp_xp" in _one_line(err)
    broken = tmp_path / "broken.onnx"
    broken.write_text("not a graph")
    code, _, err = _run(capsys, "predict", str(broken), "--data", str(table))
    assert code == 2
    assert "onnxruntime cannot load" in _one_line(err)


def _metrics(line: str) -> dict[str, str]:
    """``samples 80 | accuracy 0.9 | log loss 0.3`` -> {"samples": "80", ...}."""
    return dict(part.strip().rsplit(" ", 1) for part in line.split("|"))  # type: ignore[misc]


def test_evaluate_runs_an_onnx_file_as_predict_does(capsys, tmp_path, saved):
    """Not "'model.onnx' is not a readable mlp_xp model file ... corrupted"."""
    model_path, table = saved
    graph = tmp_path / "model.onnx"
    assert _run(capsys, "export", str(model_path), "--onnx", str(graph))[0] == 0
    code, from_graph, err = _run(capsys, "evaluate", str(graph), "--data", str(table))
    assert code == 0, err
    code, from_model, _ = _run(capsys, "evaluate", str(model_path), "--data", str(table))
    assert code == 0
    # The first line holds the metrics; the per-class report follows it.
    got = _metrics(from_graph.splitlines()[0])
    want = _metrics(from_model.splitlines()[0])
    assert from_graph.splitlines()[1:] == from_model.splitlines()[1:]
    assert got["samples"] == want["samples"] == "80"
    assert got["accuracy"] == want["accuracy"]
    assert float(got["log loss"]) == pytest.approx(float(want["log loss"]), abs=2e-5)
    code, _, err = _run(capsys, "evaluate", str(graph), "--data", str(table), "--backend", "numpy")
    assert code == 2
    assert "--backend does not apply to an ONNX model" in _one_line(err)


def test_evaluate_scores_a_regressors_onnx_file(capsys, tmp_path):
    model, graph = tmp_path / "r.npz", tmp_path / "r.onnx"
    train = ["train", "--epochs", "3", "--hidden", "4", "--quiet", "--out", str(model)]
    assert _run(capsys, *train)[0] == 0
    assert _run(capsys, "export", str(model), "--onnx", str(graph))[0] == 0
    code, from_graph, err = _run(capsys, "evaluate", str(graph), "--data", "bmi")
    assert code == 0, err
    _, from_model, _ = _run(capsys, "evaluate", str(model), "--data", "bmi")
    # The first line holds the metrics; the per-class report follows it.
    got = _metrics(from_graph.splitlines()[0])
    want = _metrics(from_model.splitlines()[0])
    assert from_graph.splitlines()[1:] == from_model.splitlines()[1:]
    for name in ("R^2", "MSE", "MAE"):
        assert float(got[name]) == pytest.approx(float(want[name]), rel=1e-5)


def test_verify_on_an_onnx_file_names_the_model_file_to_verify(capsys, tmp_path, saved):
    model_path, table = saved
    graph = tmp_path / "model.onnx"
    assert _run(capsys, "export", str(model_path), "--onnx", str(graph))[0] == 0
    code, out, err = _run(capsys, "verify", str(graph), "--data", str(table))
    assert code == 2
    assert out == ""
    line = _one_line(err)
    assert "ONNX files carry no training record" in line
    assert line.endswith("verify the model file you exported it from (its .safetensors or .npz)")
    assert "corrupted" not in line
    with pytest.raises(ValueError, match="is an ONNX graph, not an mlp_xp model file") as info:
        mlp_xp.load(graph)
    assert "corrupted" not in str(info.value)
