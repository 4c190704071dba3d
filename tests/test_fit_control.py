"""What steers a fit: the learning-rate schedule, callbacks, and why training stopped."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

import mlp_xp
from mlp_xp import MLPClassifier, MLPRegressor
from mlp_xp.training import SCHEDULES


def _data(n=64, seed=1):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 2))
    return X, X[:, 0] - 2 * X[:, 1] ** 2


def _rates(model):
    return model.history_["learning_rate"]


def test_constant_keeps_the_rate_and_cosine_decays_to_zero():
    X, y = _data()
    flat = MLPRegressor((4,), epochs=5, learning_rate=0.01, tol=0.0).fit(X, y)
    assert _rates(flat) == [0.01] * 5
    cos = MLPRegressor((4,), epochs=4, learning_rate=0.01, schedule="cosine", tol=0.0)
    cos.fit(X, y)
    expected = [0.01 * 0.5 * (1 + math.cos(math.pi * e / 4)) for e in range(4)]
    assert _rates(cos) == pytest.approx(expected, rel=1e-15)


def test_invscaling_is_scikit_learns_rule_over_samples_seen():
    X, y = _data()
    model = MLPRegressor(
        (4,), epochs=3, learning_rate=0.1, schedule="invscaling", power_t=0.25, tol=0.0
    )
    model.fit(X, y)
    expected = [0.1 / (e * 64 + 1) ** 0.25 for e in range(3)]
    assert _rates(model) == pytest.approx(expected, rel=1e-15)


def test_adaptive_divides_by_five_when_the_loss_stalls():
    X, y = _data()
    model = MLPRegressor(
        (4,), epochs=12, learning_rate=0.5, schedule="adaptive", tol=1e9, patience=2
    )
    model.fit(X, y)  # tol=1e9: no epoch after the first counts as an improvement
    rates = _rates(model)
    # Epoch 1 improves on infinity; 2 and 3 do not, so epoch 4 runs at 0.5 / 5.
    assert rates[:3] == [0.5, 0.5, 0.5]
    assert rates[3] == pytest.approx(0.1)
    assert rates[5] == pytest.approx(0.02)
    assert model.stop_reason_ == "max_epochs" or rates[-1] <= 1e-6


def test_a_schedule_resumes_exactly_from_a_checkpoint(tmp_path):
    X, y = _data()
    for schedule in SCHEDULES:
        params = dict(
            hidden_layer_sizes=(4,),
            epochs=8,
            learning_rate=0.05,
            schedule=schedule,
            batch_size=16,
            tol=1e9,
            patience=3,
        )
        whole = MLPRegressor(**params).fit(X, y)
        half = MLPRegressor(**{**params, "epochs": 2}).fit(X, y)
        half.save(tmp_path / f"{schedule}.npz")
        resumed = mlp_xp.load(tmp_path / f"{schedule}.npz").set_params(epochs=8)
        resumed.fit(X, y, resume=True)
        if schedule == "cosine":
            # Cosine decays over the epochs in force: 2 then 8, not 8 throughout.
            continue
        assert _rates(resumed) == _rates(whole), schedule
        np.testing.assert_array_equal(resumed.predict(X), whole.predict(X))


def test_a_string_learning_rate_points_to_schedule():
    X, y = _data()
    with pytest.raises(TypeError, match=r"schedule= .*schedule='adaptive'"):
        MLPRegressor(learning_rate="adaptive").fit(X, y)
    with pytest.raises(ValueError, match="schedule"):
        MLPRegressor(schedule="step").fit(X, y)


def test_callbacks_see_every_epoch_and_may_stop_training():
    X, y = _data()
    seen = []

    class Logger:
        def on_epoch_end(self, epoch, logs):
            seen.append((epoch, sorted(logs)))

    def stop_at_three(epoch, logs):
        return epoch == 3

    model = MLPRegressor((4,), epochs=20, tol=0.0).fit(X, y, callbacks=[Logger(), stop_at_three])
    assert [e for e, _ in seen] == [1, 2, 3]
    assert seen[0][1] == ["epoch", "epochs", "learning_rate", "loss", "val_loss"]
    assert model.n_epochs_ == 3
    assert model.stop_reason_ == "callback"
    assert model.provenance_["segments"][-1]["ended"] == "callback"
    with pytest.raises(TypeError, match=r"callbacks\[0\] is a int"):
        MLPRegressor((4,), epochs=2).fit(X, y, callbacks=[3])


def test_verify_replays_a_callback_stopped_and_scheduled_model():
    X, y = _data()
    model = MLPRegressor(
        (4,), epochs=30, early_stopping=True, schedule="adaptive", patience=2, batch_size=16
    )
    model.fit(X, y, callbacks=[lambda epoch, logs: epoch == 7])
    assert model.stop_reason_ == "callback"
    report = mlp_xp.verify(model, X, y)
    assert report.passed, report.verdicts


def test_why_training_stopped():
    X, y = _data()
    converged = MLPRegressor((4,), epochs=500, tol=1e9, patience=3).fit(X, y)
    # Epoch 1 improves on infinity; 2, 3 and 4 do not.
    assert converged.stop_reason_ == "converged"
    assert converged.n_epochs_ == 4
    early = MLPRegressor((4,), epochs=500, tol=1e9, patience=3, early_stopping=True).fit(X, y)
    assert early.stop_reason_ == "early_stopping"
    assert early.best_epoch_ == 1
    with pytest.warns(ConvergenceWarning, match="the 3 epochs ran out"):
        out = MLPRegressor((4,), epochs=3, tol=0.0).fit(X, y)
    assert out.stop_reason_ == "max_epochs"
    with pytest.raises(mlp_xp.DivergenceError):
        MLPRegressor((4,), epochs=50, learning_rate=1e6, optimizer="sgd").fit(X, 1e6 * y)


def test_a_diverged_run_records_it():
    X, y = _data()
    model = MLPRegressor((4,), epochs=50, learning_rate=1e6, optimizer="sgd", scale=False)
    with pytest.raises(mlp_xp.DivergenceError):
        model.fit(X, 1e6 * y)
    assert model.stop_reason_ == "diverged"


def test_partial_fit_never_warns_of_convergence_and_a_capped_batch_never_warns():
    X, y = _data(30)
    labels = np.where(y > 0, 1, 0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        MLPClassifier((4,)).partial_fit(X, labels, classes=[0, 1])
        # The default batch_size (200) is capped at the 30 samples quietly.
        MLPRegressor((4,), epochs=400, tol=1e-2).fit(X, y)
