"""Every fitted model records its provenance: the data's fingerprint and each training segment."""

from __future__ import annotations

import importlib
import json
import math

import numpy as np
import pytest

import mlp_xp
from mlp_xp import MLPClassifier, MLPRegressor
from mlp_xp.backend import environment_report
from mlp_xp.cli import main
from mlp_xp.cli import train as train_cmd
from mlp_xp.data.builtin import make_bmi
from mlp_xp.data.fingerprint import chained_sha256, fingerprint_array
from mlp_xp.data.tables import same_data
from mlp_xp.errors import DivergenceError
from mlp_xp.estimators.provenance import new_record, with_segment
from mlp_xp.files import read_container

# The package re-exports the CLI's fingerprint() function under this module's name.
fingerprint_module = importlib.import_module("mlp_xp.data.fingerprint")

SEGMENT_KEYS = {
    "kind",
    "start_epoch",
    "end_epoch",
    "max_epochs",
    "steps",
    "ended",
    "best_epoch",
    "backend",
    "device",
    "dtype",
    "mlp_xp_version",
    "environment",
    "data",
    "classes",
}
FP_KEYS = {"sha256", "shape", "dtype", "column_sums", "column_sumsq"}


class _Interrupt:
    def __init__(self, at: int) -> None:
        self.at = at

    def __call__(self, epoch: int, info: dict) -> None:
        if info["epoch"] == self.at:
            raise KeyboardInterrupt


def _host_data(n: int = 300, d: int = 3, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(n, d)) * 10.0


def _summary(model) -> list[tuple]:
    return [
        (s["kind"], s["start_epoch"], s["end_epoch"], s["ended"], s["steps"])
        for s in model.provenance_["segments"]
    ]


# ---------------------------------------------------------------------- the fingerprint


def test_the_sha_is_the_same_on_every_backend_and_device(target):
    host = _host_data()
    expected = fingerprint_array(host.astype(target.dtype_name))
    found = fingerprint_array(target.asarray(host))
    assert found == expected
    assert found["shape"] == [300, 3]
    assert found["dtype"] == target.dtype_name
    assert len(found["sha256"]) == 64


def test_the_sha_does_not_depend_on_the_block_size(target, monkeypatch):
    host = _host_data(n=257)
    x = target.asarray(host)
    expected = fingerprint_array(x)
    for block in (1, 100, 8 * 3 * 5):
        monkeypatch.setattr(fingerprint_module, "BLOCK_BYTES", block)
        assert fingerprint_array(x)["sha256"] == expected["sha256"]
        found = fingerprint_array(x)
        np.testing.assert_allclose(found["column_sums"], expected["column_sums"], rtol=1e-12)


def test_one_changed_element_or_reordered_rows_change_the_sha_but_not_the_sums():
    X = _host_data()
    base = fingerprint_array(X)
    changed = X.copy()
    changed[17, 1] += 1e-12
    assert fingerprint_array(changed)["sha256"] != base["sha256"]

    shuffled = fingerprint_array(X[np.random.default_rng(1).permutation(len(X))])
    assert shuffled["sha256"] != base["sha256"]
    for key in ("column_sums", "column_sumsq"):
        np.testing.assert_allclose(shuffled[key], base[key], rtol=1e-9)


def test_the_sha_covers_the_dtype_and_the_shape():
    X = _host_data()
    assert fingerprint_array(X)["sha256"] != fingerprint_array(X.astype(np.float32))["sha256"]
    assert fingerprint_array(X)["sha256"] != fingerprint_array(X.reshape(100, 9))["sha256"]


def test_labels_hash_their_text_and_have_no_sums():
    found = fingerprint_array(np.array(["cat", "dog", "cat"], dtype=object))
    assert found == fingerprint_array(["cat", "dog", "cat"])
    assert found["column_sums"] is None
    assert found["column_sumsq"] is None
    assert found["shape"] == [3]
    assert set(found) == FP_KEYS


def test_a_1d_target_has_one_column_of_sums():
    y = np.arange(10.0)
    found = fingerprint_array(y)
    assert found["column_sums"] == [45.0]
    assert found["column_sumsq"] == [285.0]


# ---------------------------------------------------------------------- the environment


def test_an_environment_report_of_some_backends_describes_only_those():
    report = environment_report(["numpy"])
    assert set(report["versions"]) == {"numpy", "array_api_compat"}
    assert report["settings"] == {}
    full = environment_report()
    assert set(full) == set(report)
    assert set(full["versions"]) >= set(mlp_xp.backend.BACKENDS)


# ---------------------------------------------------------------------- the segments


def test_a_fit_records_one_segment_and_save_and_load_keep_it(tmp_path):
    X, y = make_bmi(300, seed=0)
    model = MLPRegressor((6,), batch_size=64, epochs=3, tol=0.0).fit(X, y)
    record = model.provenance_
    assert set(record) >= {"data", "segments"}
    (segment,) = record["segments"]
    assert set(segment) >= SEGMENT_KEYS
    assert segment["kind"] == "fit"
    assert (segment["start_epoch"], segment["end_epoch"], segment["max_epochs"]) == (0, 3, 3)
    assert segment["steps"] == 3 * math.ceil(300 / 64)
    assert segment["ended"] == "completed"
    assert segment["best_epoch"] is None
    assert segment["classes"] is None
    assert (segment["backend"], segment["device"], segment["dtype"]) == ("numpy", "cpu", "float64")
    assert segment["mlp_xp_version"] == mlp_xp.__version__
    assert segment["environment"]["versions"]["numpy"] == np.__version__
    assert segment["data"] == record["data"]
    assert record["data"]["X"] == fingerprint_array(X)
    assert record["data"]["y"] == fingerprint_array(y)
    json.dumps(record, allow_nan=False)  # plain JSON

    for name in ("m.npz", "m.safetensors"):
        if name.endswith(".safetensors"):
            pytest.importorskip("safetensors")
        path = tmp_path / name
        model.save(path)
        meta, _ = read_container(path)
        assert meta["provenance"] == record
        assert mlp_xp.load(path).provenance_ == record


def test_an_interrupted_fit_and_its_resume_are_two_segments(tmp_path):
    X, y = make_bmi(300, seed=1)
    model = MLPRegressor((6,), batch_size=64, epochs=6, tol=0.0)
    with pytest.raises(KeyboardInterrupt):
        model.fit(X, y, callbacks=[_Interrupt(at=2)])
    per_epoch = math.ceil(300 / 64)
    assert _summary(model) == [("fit", 0, 2, "interrupted", 2 * per_epoch)]

    path = tmp_path / "ckpt.npz"
    model.save(path)
    resumed = mlp_xp.load(path).fit(X, y, resume=True)
    (first, second) = resumed.provenance_["segments"]
    assert first["ended"] == "interrupted"
    assert (second["kind"], second["start_epoch"]) == ("resume", 2)
    assert second["ended"] in ("completed", "stopped")
    assert second["end_epoch"] == resumed.n_epochs_
    assert second["steps"] == (resumed.n_epochs_ - 2) * per_epoch
    assert second["max_epochs"] == 6

    # fit without resume starts the record afresh.
    resumed.fit(X, y)
    assert [s["kind"] for s in resumed.provenance_["segments"]] == ["fit"]


def test_any_exception_from_a_callback_ends_the_segment_as_interrupted():
    X, y = make_bmi(200, seed=1)
    model = MLPRegressor((4,), batch_size=50, epochs=4)

    def fail(epoch: int, info: dict) -> None:
        msg = "a callback failed"
        raise RuntimeError(msg)

    with pytest.raises(RuntimeError, match="a callback failed"):
        model.fit(X, y, callbacks=[fail])
    assert _summary(model) == [("fit", 0, 1, "interrupted", 4)]


def test_early_stopping_records_the_best_epoch():
    X, y = make_bmi(400, seed=2)
    model = MLPRegressor((6,), batch_size=50, epochs=40, early_stopping=True, patience=3)
    model.fit(X, y)
    (segment,) = model.provenance_["segments"]
    assert segment["best_epoch"] == model.best_epoch_
    assert 1 <= segment["best_epoch"] <= segment["end_epoch"]
    n_train = 400 - round(400 * 0.1)
    assert segment["steps"] == segment["end_epoch"] * math.ceil(n_train / 50)
    assert segment["ended"] in ("completed", "stopped")


def test_a_stopping_rule_that_fires_ends_the_segment_as_stopped():
    X, y = make_bmi(200, seed=2)
    model = MLPRegressor((4,), batch_size=50, epochs=50, tol=1e9, patience=2).fit(X, y)
    # The first epoch improves on no loss at all; the next two do not by tol.
    assert _summary(model) == [("fit", 0, 3, "stopped", 3 * 4)]


def test_a_diverging_fit_records_that_it_diverged():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(64, 2)) * 1e3
    y = X.sum(axis=1) * 1e3
    model = MLPRegressor((4,), learning_rate=1e6, optimizer="sgd", scale=False, batch_size=16)
    with pytest.raises(DivergenceError):
        model.fit(X, y)
    (segment,) = model.provenance_["segments"]
    assert segment["ended"] == "diverged"
    assert (segment["start_epoch"], segment["end_epoch"], segment["steps"]) == (0, 0, 0)


def test_partial_fit_records_its_kind_and_classes():
    X, y = make_bmi(120, seed=3)
    labels = np.where(y > 25, "high", "low")
    clf = MLPClassifier((4,), batch_size=40)
    clf.partial_fit(X, labels, classes=["high", "low"]).partial_fit(X, labels)
    # Consecutive calls with one recipe are one segment that counts them.
    (run,) = clf.provenance_["segments"]
    assert run["kind"] == "partial_fit"
    assert run["calls"] == 2
    assert run["classes"] == ["high", "low"]
    assert (run["start_epoch"], run["end_epoch"], run["max_epochs"]) == (0, 2, 2)
    assert run["steps"] == 6
    assert run["data"]["y"]["column_sums"] is None
    assert clf.provenance_["data"]["y"] == fingerprint_array(labels)


def test_a_dask_fit_records_the_same_fingerprint_as_the_data_in_memory():
    da = pytest.importorskip("dask.array")
    X = _host_data(n=400)
    y = X[:, 0] - X[:, 1]
    Xd = da.from_array(X, chunks=(100, -1))
    model = MLPRegressor((4,), batch_size=100, epochs=1).fit(Xd, y)
    (segment,) = model.provenance_["segments"]
    assert segment["backend"] == "dask"
    assert "dask" in segment["environment"]["versions"]
    recorded = segment["data"]["X"]
    # The content, not the source: a copy of the data elsewhere verifies too.
    assert recorded["sha256"] == fingerprint_array(X)["sha256"]
    assert recorded["column_sums"] == pytest.approx(fingerprint_array(X)["column_sums"])
    assert recorded["shape"] == [400, 3]
    assert segment["data"]["y"] == fingerprint_array(y)


def test_a_numpy_fit_does_not_import_other_libraries_to_describe_itself():
    X, y = make_bmi(100, seed=0)
    model = MLPRegressor((4,), epochs=1, backend="numpy").fit(X, y)
    versions = model.provenance_["segments"][0]["environment"]["versions"]
    assert set(versions) == {"numpy", "array_api_compat"}


def test_a_file_without_provenance_still_loads_and_resumes(tmp_path):
    X, y = make_bmi(200, seed=4)
    model = MLPRegressor((4,), batch_size=50, epochs=2).fit(X, y)
    path = tmp_path / "old.npz"
    model.save(path)
    with np.load(path) as saved:
        arrays = dict(saved)
    meta = json.loads(str(arrays["__mlp_xp__"]))
    del meta["provenance"]
    arrays["__mlp_xp__"] = np.array(json.dumps(meta))
    np.savez(path, **arrays)
    old = mlp_xp.load(path)
    assert getattr(old, "provenance_", None) is None
    old.set_params(epochs=3)
    old.fit(X, y, resume=True)
    assert _summary(old) == [("resume", 2, 3, "completed", 4)]


# ---------------------------------------------------------------------- the command line


def test_the_cli_saves_provenance_and_an_interrupted_run_still_resumes(
    tmp_path, monkeypatch, capsys
):
    path = tmp_path / "m.npz"
    assert main(["train", "--epochs", "2", "--out", str(path), "--quiet"]) == 0
    meta, _ = read_container(path)
    (segment,) = meta["provenance"]["segments"]
    assert (segment["kind"], segment["end_epoch"], segment["ended"]) == ("fit", 2, "completed")
    assert meta["data"]["fingerprint"]["sha256"] == segment["data"]["X"]["sha256"]

    args = ["train", "--epochs", "5", "--tol", "0", "--quiet"]
    ckpt = tmp_path / "ckpt.npz"
    original = train_cmd._Progress.__call__

    def interrupt_at_epoch_2(self, epoch, info):
        original(self, epoch, info)
        if epoch == 2:
            raise KeyboardInterrupt

    monkeypatch.setattr(train_cmd._Progress, "__call__", interrupt_at_epoch_2)
    assert main([*args, "--out", str(ckpt)]) == 130
    monkeypatch.setattr(train_cmd._Progress, "__call__", original)
    # The interrupt's checkpoint goes beside --out, never over it.
    saved = tmp_path / "ckpt.checkpoint.npz"
    assert not ckpt.exists()
    meta, _ = read_container(saved)
    assert [(s["kind"], s["ended"]) for s in meta["provenance"]["segments"]] == [
        ("fit", "interrupted")
    ]

    assert main([*args, "--resume", str(saved), "--out", str(ckpt)]) == 0
    meta, _ = read_container(ckpt)
    kinds = [(s["kind"], s["start_epoch"], s["end_epoch"]) for s in meta["provenance"]["segments"]]
    assert kinds == [("fit", 0, 2), ("resume", 2, 5)]
    capsys.readouterr()


def test_the_cli_resumes_files_with_the_old_fingerprint(tmp_path, capsys):
    ckpt = tmp_path / "old.npz"
    assert main(["train", "--epochs", "2", "--out", str(ckpt), "--quiet"]) == 0
    with np.load(ckpt) as saved:
        arrays = dict(saved)
    meta = json.loads(str(arrays["__mlp_xp__"]))
    X = mlp_xp.data.load_data("bmi").X
    train_rows, _ = mlp_xp.data.split(len(X), 0.2, 0)
    # What files written before held: 16 hex digits of the sha256 of a float64 copy.
    old = fingerprint_module.hashlib.sha256(np.ascontiguousarray(X[train_rows]).tobytes())
    meta["data"]["fingerprint"] = old.hexdigest()[:16]
    assert same_data(meta["data"]["fingerprint"], X[train_rows])
    assert not same_data(meta["data"]["fingerprint"], X[train_rows][::-1])
    arrays["__mlp_xp__"] = np.array(json.dumps(meta))
    np.savez(ckpt, **arrays)
    assert main(["train", "--epochs", "3", "--resume", str(ckpt), "--quiet"]) == 0
    out, _ = capsys.readouterr()
    assert "3 epochs" in out


def test_the_cli_saves_provenance_of_a_diverged_run(tmp_path, capsys):
    out = tmp_path / "d.npz"
    argv = ["train", "--optimizer", "sgd", "--activation", "identity", "--lr", "50"]
    code = main([*argv, "--epochs", "5", "--out", str(out), "--quiet"])
    assert code == 1
    capsys.readouterr()
    # The last finite weights go beside --out, never over it.
    assert not out.exists()
    meta, _ = read_container(tmp_path / "d.diverged.npz")
    assert [s["ended"] for s in meta["provenance"]["segments"]] == ["diverged"]
    backend = meta["provenance"]["segments"][0]["backend"]
    assert backend in meta["provenance"]["segments"][0]["environment"]["versions"]


def test_a_new_record_owns_its_copy_of_the_data_fingerprint():
    # fit builds the record's fixed part once (new_record) and appends each epoch's
    # segment to it with with_segment; that is what with_segment(None, ...) gives.
    segment = {"data": {"rows": 5, "columns": ["a", "b"]}, "start_epoch": 1}
    base = new_record(segment)
    assert with_segment(base, segment) == with_segment(None, segment)
    segment["data"]["columns"].append("c")
    assert with_segment(base, segment)["data"]["columns"] == ["a", "b"]


# ---------------------------------------------------------------------- partial_fit runs


def test_consecutive_partial_fit_calls_chain_the_hash_of_their_batches():
    X = _host_data(n=60)
    y = X[:, 0] - X[:, 1]
    batches = [(X[i : i + 20], y[i : i + 20]) for i in (0, 20, 40)]
    model = MLPRegressor((4,), batch_size=20)
    for Xb, yb in batches:
        model.partial_fit(Xb, yb)
    (run,) = model.provenance_["segments"]
    chain = None
    for Xb, yb in batches:
        chain = chained_sha256(chain, fingerprint_array(Xb), fingerprint_array(yb), None)
    assert run["batches_sha256"] == chain
    assert (run["calls"], run["start_epoch"], run["end_epoch"], run["steps"]) == (3, 0, 3, 3)
    assert run["data"]["X"] == fingerprint_array(batches[0][0])  # the first call's data
    # The same batches in another order are another chain.
    other = None
    for Xb, yb in batches[::-1]:
        other = chained_sha256(other, fingerprint_array(Xb), fingerprint_array(yb), None)
    assert other != chain


def test_a_changed_recipe_or_a_fit_starts_another_segment():
    X = _host_data(n=40)
    y = X[:, 0]
    model = MLPRegressor((4,), batch_size=20).partial_fit(X, y).partial_fit(X, y)
    model.set_params(learning_rate=0.01)
    model.partial_fit(X, y)
    runs = [(s["kind"], s["calls"], s["start_epoch"], s["end_epoch"]) for s in
            model.provenance_["segments"]]  # fmt: skip
    assert runs == [("partial_fit", 2, 0, 2), ("partial_fit", 1, 2, 3)]
    model.set_params(epochs=2)
    model.fit(X, y, resume=True)
    model.partial_fit(X, y)
    kinds = [(s["kind"], s.get("calls")) for s in model.provenance_["segments"]]
    assert kinds == [("partial_fit", 2), ("partial_fit", 1), ("resume", None), ("partial_fit", 1)]


def test_a_fit_updates_its_record_in_place_each_epoch():
    X = _host_data(n=40)
    y = X[:, 0]
    seen = []

    def watch(epoch, info):
        seen.append((id(model.provenance_), model.provenance_["segments"][-1]["end_epoch"]))

    model = MLPRegressor((4,), batch_size=20, epochs=5, tol=0.0)
    model.fit(X, y, callbacks=[watch])
    # One record, made once for the call, that each epoch brings up to date.
    assert len({record for record, _ in seen}) == 1
    assert [end for _, end in seen] == [1, 2, 3, 4, 5]


def _header_bytes(path) -> int:
    with open(path, "rb") as handle:
        return int.from_bytes(handle.read(8), "little")


def _provenance_after(calls: int, tmp_path) -> tuple[int, int, int]:
    X = _host_data(n=16)
    y = X[:, 0]
    model = MLPRegressor((3,), batch_size=16)
    for _ in range(calls):
        model.partial_fit(X, y)
    path = tmp_path / f"after{calls}.safetensors"
    model.save(path)
    provenance = json.dumps(model.provenance_)
    history = json.dumps(model.history_)
    return len(provenance), len(history), _header_bytes(path)


@pytest.mark.slow
def test_two_thousand_partial_fit_calls_keep_the_file_header_bounded(tmp_path):
    prov_20, hist_20, header_20 = _provenance_after(20, tmp_path)
    prov_2000, hist_2000, header_2000 = _provenance_after(2000, tmp_path)
    # The record grows by the digits of its counts only ...
    assert prov_2000 - prov_20 < 32
    # ... and the header by the history's one loss (and learning rate) per epoch.
    assert header_2000 - header_20 <= (hist_2000 - hist_20) + 64


def test_many_partial_fit_calls_keep_the_record_bounded(tmp_path):
    prov_3, _, _ = _provenance_after(3, tmp_path)
    prov_60, _, _ = _provenance_after(60, tmp_path)
    assert prov_60 - prov_3 < 16
