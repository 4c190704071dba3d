"""The fitted model's schema: one frozen, versioned object for predict, save, export, verify."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import numpy as np
import pytest

import mlp_xp
from mlp_xp import MLPClassifier, MLPRegressor
from mlp_xp.cli import train_report
from mlp_xp.data.builtin import make_bmi
from mlp_xp.estimators import base
from mlp_xp.estimators.schema import (
    DataRecord,
    FittedModel,
    Network,
    Provenance,
    TrainingState,
)

OLD_MODEL = Path(__file__).parent / "data" / "fraud_v0.safetensors"
SMALL = {"hidden_layer_sizes": (5,), "epochs": 3, "batch_size": 50, "learning_rate": 0.01}


def _bmi(n: int = 300) -> tuple[np.ndarray, np.ndarray]:
    X, y = make_bmi(n, seed=0)
    return np.asarray(X, dtype=np.float64), np.asarray(y, dtype=np.float64)


def _classes(n: int = 300, k: int = 3) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n, 4))
    y = np.array(["a", "b", "c"][:k])[np.argmax(X[:, :k], axis=1)]
    return X, y


def test_the_fitted_model_is_one_frozen_versioned_object(tmp_path):
    X, y = _bmi()
    model = MLPRegressor(**SMALL, early_stopping=True).fit(X, y)
    fitted = model.fitted_model()
    assert isinstance(fitted, FittedModel)
    for part in (fitted, fitted.network, fitted.training, fitted.data, fitted.provenance):
        assert isinstance(type(part).VERSION, int)
        assert dataclasses.is_dataclass(part)
    with pytest.raises(dataclasses.FrozenInstanceError):
        fitted.network.dtype = "float32"  # type: ignore[misc]
    # The epoch loop's state holds exactly the schema's resume fields (and its own scratch).
    assert set(TrainingState.RESUME) <= set(model._state)
    assert fitted.training.n_epochs == model.n_epochs_ == 3
    assert fitted.training.split == "random"
    assert fitted.provenance.segments[-1]["kind"] == "fit"
    # save and load go through the schema: what comes back is the same record.
    model.save(str(tmp_path / "m.safetensors"))
    again = mlp_xp.load(tmp_path / "m.safetensors").fitted_model()
    assert again.estimator == "MLPRegressor"
    assert again.training.as_state().keys() == fitted.training.as_state().keys()
    assert again.training.history == fitted.training.history
    assert again.training.best_epoch == fitted.training.best_epoch
    assert again.provenance.record == fitted.provenance.record
    assert again.network.plan == fitted.network.plan
    assert again.network.layer_sizes == fitted.network.layer_sizes == (2, 5, 1)


def test_an_unfitted_model_has_no_schema():
    with pytest.raises(mlp_xp.NotFittedError, match="not fitted yet"):
        MLPRegressor().fitted_model()


@pytest.mark.parametrize("k", [2, 3])
def test_the_networks_post_processing_is_predicts(k):
    X, y = _classes(k=k)
    model = MLPClassifier(**SMALL).fit(X, y)
    network = model.fitted_model().network
    out = network.forward(np, X)
    np.testing.assert_array_equal(model.predict_proba(X), network.probabilities(np, out))
    np.testing.assert_array_equal(model.predict(X), model.classes_[network.label_index(np, out)])
    assert network.probabilities(np, out).shape == (len(X), k)


def test_predict_runs_in_row_blocks_and_gives_the_same_numbers(monkeypatch):
    X, y = _bmi(1000)
    model = MLPRegressor(**SMALL).fit(X, y)
    whole = model.predict(X)
    calls: list[int] = []
    output = Network.output

    def counted(self, placement, Xd):
        calls.append(int(Xd.shape[0]))
        return output(self, placement, Xd)

    monkeypatch.setattr(Network, "output", counted)
    # Blocks of 64 rows: the widest layer before the output has 5 units of 8 bytes.
    monkeypatch.setattr(base, "PREDICT_BLOCK_BYTES", 64 * 8 * 5)
    np.testing.assert_allclose(model.predict(X), whole, rtol=1e-12, atol=0)
    assert calls == [64] * 15 + [40]
    calls.clear()
    clf = MLPClassifier(**SMALL).fit(*_classes(300))
    clf.predict_proba(_classes(300)[0])
    assert calls == [64] * 4 + [44]


def test_the_training_summary_scores_with_the_model_itself(monkeypatch):
    X, y = _bmi()
    model = MLPRegressor(**SMALL).fit(X, y)
    seen = []
    score = MLPRegressor.score

    def spy(self, X, y, sample_weight=None):
        seen.append(self)
        return score(self, X, y, sample_weight)

    monkeypatch.setattr(MLPRegressor, "score", spy)
    assert train_report.metric(model, X, y, "regression").startswith("R^2 ")
    assert seen == [model]  # not a proxy standing in for it


def test_the_data_record_is_set_through_the_estimator_and_saved(tmp_path):
    X, y = _bmi()
    model = MLPRegressor(**SMALL).fit(X, y)
    info = {"source": "bmi.csv", "task": "regression", "seed": 0}
    model.record_data(feature_names=["height", "weight"], target_name="bmi", info=info)
    assert model.fitted_model().data == DataRecord(("height", "weight"), "bmi", info)
    model.save(str(tmp_path / "m.safetensors"))
    loaded = mlp_xp.load(tmp_path / "m.safetensors")
    assert loaded.fitted_model().data == DataRecord(("height", "weight"), "bmi", info)
    np.testing.assert_array_equal(loaded.feature_names_in_, ["height", "weight"])
    # None clears an entry: a model trained on an unnamed array matches no names.
    loaded.record_data(target_name="bmi")
    assert loaded.fitted_model().data == DataRecord(None, "bmi", None)
    assert not hasattr(loaded, "feature_names_in_")
    with pytest.raises(mlp_xp.NotFittedError):
        MLPRegressor().record_data(target_name="bmi")


def test_old_files_load_into_the_schema():
    fitted = mlp_xp.load(OLD_MODEL).fitted_model()
    assert fitted.training.split == "random"
    assert fitted.network.is_classifier
    assert isinstance(fitted.provenance, Provenance)


_OTHER_LAYERS = ("cli", "export", "verify", "parity")
_FORBIDDEN = {
    "reads a fitted attribute by name": re.compile(r"getattr\(\w+, \"[a-z_]+_\""),
    "touches a model's private attribute": re.compile(
        r"\b(model|checkpoint|again|reference|estimator)\._[a-z]"
    ),
    "writes a fitted attribute": re.compile(r"\b(model|checkpoint)\.[a-z_]+_(\[.*\])? = "),
    "reads a model's __dict__ or vars": re.compile(r"vars\((model|checkpoint)\)|model\.__dict__"),
}


def test_no_other_layer_reads_or_writes_a_models_fitted_state_by_name():
    root = Path(mlp_xp.__file__).parent
    found = []
    for layer in _OTHER_LAYERS:
        for path in sorted((root / layer).rglob("*.py")):
            for number, line in enumerate(path.read_text().splitlines(), 1):
                found += [
                    f"{path.relative_to(root)}:{number} {what}: {line.strip()}"
                    for what, pattern in _FORBIDDEN.items()
                    if pattern.search(line)
                ]
    assert found == []
