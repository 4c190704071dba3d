"""The parity suite: every backend, device and dtype against float64 NumPy on the host.

Each test runs the same seeded computation on the ``target`` fixture (every
namespace, device and dtype usable here; ``pytest --backend torch`` selects one)
and on a float64 NumPy reference computed on the host, from identical numbers:
the data and initial weights are drawn on the host in float64 and cast, and the
batch order comes from a host generator with the same seed.

The tolerance rule lives in one place, :func:`mlp_xp.parity.tolerance`:

    tol = 4 * eps * depth * (sqrt(width) + 2) * sqrt(steps + 1)

on the normwise relative deviation ``||p - p_ref|| / ||p_ref||`` of all
parameters (or gradients), with ``eps = finfo(dtype).eps``, ``depth`` the number
of layers, ``width`` the longest dot product of a step (the batch or the widest
layer) and ``steps`` the optimizer steps taken (0 for a single gradient).  One
gradient passes through ``2 depth`` matrix products, each with a probabilistic
rounding error of about ``sqrt(width) u`` (``u = eps / 2``) plus a couple of
elementwise roundings; the rounding of different steps adds like a random walk,
and ``lambda = 4`` bounds a random walk's excursion with high probability.  The
function's docstring gives the full argument.

A failure here is a disagreement to investigate, not a tolerance to widen.

What is checked:

1. one gradient, and one step, for every activation x loss;
2. K = 200 steps of shuffled mini-batch training with sgd, momentum and adam:
   parameters after every step and the batch loss curve;
3. placement: every array of the training loop stays in the input's namespace,
   on its device and in its dtype; on array-api-strict any conversion to the
   host inside the loop fails the test;
4. determinism: a rerun is bit-identical.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import pytest

import mlp_xp
from mlp_xp import parity
from mlp_xp.backend import backend_name_of, device_of, resolve
from mlp_xp.nn.activations import HIDDEN_ACTIVATIONS
from mlp_xp.nn.layers import flatten
from mlp_xp.training.compiled import compiles

from . import reference as ref
from .test_gradients import LOSS_OUTPUTS

pytestmark = pytest.mark.parity

# The lecture's BMI network, and a deeper, wider one on synthetic data.
NETWORKS = {
    "bmi-2-8-1-relu": {"layer_sizes": (2, 8, 1), "activation": "relu", "batch_size": 50},
    "5-32-32-3-tanh": {"layer_sizes": (5, 32, 32, 3), "activation": "tanh", "batch_size": 64},
}
K = 200
N_SAMPLES = 500


def _vector(arrays) -> np.ndarray:
    """All arrays as one host float64 vector."""
    return np.concatenate([mlp_xp.to_host(a).astype(np.float64).ravel() for a in arrays])


def _deviation(got: np.ndarray, expected: np.ndarray) -> float:
    return float(np.linalg.norm(got - expected) / np.linalg.norm(expected))


# --------------------------------------------------------------------------- the rule


def test_tolerance_grows_with_the_work_done():
    base = {"steps": 10, "depth": 2, "width": 64}
    tol = parity.tolerance("float32", **base)
    assert parity.tolerance("float32", **{**base, "steps": 40}) > tol
    assert parity.tolerance("float32", **{**base, "depth": 3}) > tol
    assert parity.tolerance("float32", **{**base, "width": 256}) > tol
    ratio = tol / parity.tolerance("float64", **base)
    assert ratio == pytest.approx(np.finfo(np.float32).eps / np.finfo(np.float64).eps)
    # The documented formula, worked once by hand: 4 * eps * 2 * (8 + 2) * sqrt(11).
    expected = 4 * float(np.finfo(np.float32).eps) * 2 * 10 * math.sqrt(11)
    assert tol == pytest.approx(expected, rel=1e-15)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"dtype": "float16", "steps": 1, "depth": 1, "width": 1}, TypeError, "float16"),
        ({"dtype": "float32", "steps": -1, "depth": 1, "width": 1}, ValueError, "steps"),
        ({"dtype": "float32", "steps": 1, "depth": 0, "width": 1}, ValueError, "depth"),
        ({"dtype": "float32", "steps": 1, "depth": 1, "width": 2.5}, TypeError, "width"),
    ],
)
def test_tolerance_rejects_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        parity.tolerance(kwargs.pop("dtype"), **kwargs)


# --------------------------------------------------------------------------- one step


@pytest.mark.parametrize(("loss", "output"), LOSS_OUTPUTS)
@pytest.mark.parametrize("activation", HIDDEN_ACTIVATIONS)
def test_one_gradient_and_one_step_match_the_reference(target, activation, loss, output):
    sizes, n = (3, 6, 5, 3), 32
    params, X, Y = ref.random_problem(sizes, n, loss, 5)
    kw = {"activation": activation, "loss": loss, "output": output}
    host_params = tuple(mlp_xp.Layer(W, b) for W, b in params)
    expected = mlp_xp.gradients(host_params, X, Y, **kw)
    expected_step = mlp_xp.step(host_params, X, Y, 0.1, **kw)

    dev_params, dev_X, dev_Y = target.params(params), target.asarray(X), target.asarray(Y)
    got = mlp_xp.gradients(dev_params, dev_X, dev_Y, **kw)
    got_step = mlp_xp.step(dev_params, dev_X, dev_Y, 0.1, **kw)

    depth, width = len(sizes) - 1, max(n, *sizes)
    tol = parity.tolerance(target.dtype_name, steps=0, depth=depth, width=width)
    assert _deviation(_vector(flatten(got)), _vector(flatten(expected))) <= tol
    tol = parity.tolerance(target.dtype_name, steps=1, depth=depth, width=width)
    assert _deviation(_vector(flatten(got_step)), _vector(flatten(expected_step))) <= tol


# --------------------------------------------------------------------------- trajectories


def _config(network: str, optimizer: str, steps: int = K) -> parity.ParityConfig:
    return parity.ParityConfig(
        **NETWORKS[network], optimizer=optimizer, steps=steps, n_samples=N_SAMPLES
    ).validated()


_REFERENCES: dict[tuple[str, str], tuple[list[np.ndarray], list[float]]] = {}


def _reference(network: str, optimizer: str) -> tuple[list[np.ndarray], list[float]]:
    """The float64 NumPy run's parameters after every step and its batch losses (cached)."""
    key = (network, optimizer)
    if key not in _REFERENCES:
        config = _config(network, optimizer)
        problem = parity.make_problem(config)
        vectors, losses = [_vector(flatten(problem.params))], []
        for step in parity.trajectory(problem, config, resolve("numpy"), "float64"):
            vectors.append(_vector(flatten(step.params)))
            losses.append(float(step.loss))
        _REFERENCES[key] = (vectors, losses)
    return _REFERENCES[key]


@pytest.mark.slow_on("jax")
@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "adam"])
@pytest.mark.parametrize("network", sorted(NETWORKS))
def test_trajectory_matches_the_reference(target, network, optimizer):
    """K steps of shuffled mini-batch training stay within the rule at every step."""
    _check_trajectory(target, network, optimizer, compiled=False)


@pytest.mark.slow_on("jax")
@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "adam"])
@pytest.mark.parametrize("network", sorted(NETWORKS))
def test_a_compiled_trajectory_matches_the_reference(target, network, optimizer):
    """The same, in compiled epochs (one jit call each, as fit runs them on JAX).

    XLA fuses and reorders the step's operations; this measures what that does.
    """
    if not compiles(target.placement):
        pytest.skip(f"{target.placement.name} runs its epochs eagerly (nothing to compile)")
    _check_trajectory(target, network, optimizer, compiled=True)


def _check_trajectory(target, network, optimizer, *, compiled):
    config = _config(network, optimizer)
    problem = parity.make_problem(config)
    ref_vectors, ref_losses = _reference(network, optimizer)
    params, _, _ = parity.start(problem, target.placement, target.dtype_name)
    deviations = [_deviation(_vector(flatten(params)), ref_vectors[0])]
    losses = []
    place, dtype = target.placement, target.dtype_name
    for step in parity.trajectory(problem, config, place, dtype, compiled):
        deviations.append(_deviation(_vector(flatten(step.params)), ref_vectors[len(losses) + 1]))
        losses.append(float(mlp_xp.to_host(step.loss)))
    assert len(losses) == K

    tols = np.array([config.tolerance(target.dtype_name, k) for k in range(K + 1)])
    worst = int(np.argmax(np.array(deviations) / tols))
    assert deviations[worst] <= tols[worst], (
        f"step {worst}: deviation {deviations[worst]:.3e} > tolerance {tols[worst]:.3e}"
    )
    # The loss curve: a relative error e of the outputs moves sqrt(L), the RMS
    # residual, by at most e times the RMS output, so |sqrt L - sqrt L_ref| is
    # held to the same rule, scaled by sqrt(L_0), the loss of predicting 0.
    zero_loss = 0.5 * float(np.mean(np.sum(problem.Y**2, axis=1)))
    gaps = np.abs(np.sqrt(losses) - np.sqrt(ref_losses)) / math.sqrt(zero_loss)
    assert np.all(gaps <= tols[:-1]), f"loss curve: worst step {int(np.argmax(gaps / tols[:-1]))}"
    # Training did something: the loss fell, on every backend alike.
    assert np.mean(losses[-10:]) < 0.5 * np.mean(losses[:10])


@pytest.mark.parametrize(
    "settings",
    [
        {"sample_weight": True},
        {"schedule": "invscaling"},
        {"sample_weight": True, "schedule": "cosine", "optimizer": "adam", "alpha": 1e-3},
    ],
    ids=["weighted", "invscaling", "weighted-cosine-adam-l2"],
)
def test_weighted_and_scheduled_training_match_the_reference(target, settings):
    """Sample weights and learning-rate schedules keep every backend within the rule."""
    config = parity.ParityConfig(steps=60, batch_size=50, n_samples=400, **settings)
    problem = parity.make_problem(config)
    if settings.get("sample_weight"):
        assert problem.W is not None
        assert set(np.unique(problem.W)) <= {0.0, 1.0, 2.0, 3.0}
    host = mlp_xp.backend.host_placement()
    reference = [
        _vector(flatten(s.params)) for s in parity.trajectory(problem, config, host, "float64")
    ]
    steps = parity.trajectory(problem, config, target.placement, target.dtype_name)
    for k, (step, ref_vector) in enumerate(zip(steps, reference, strict=True), start=1):
        deviation = _deviation(_vector(flatten(step.params)), ref_vector)
        limit = config.tolerance(target.dtype_name, k)
        assert deviation <= limit, f"step {k}: {deviation:.3e} > {limit:.3e}"
    # The weights and the schedule change the run: it is not the plain one.
    plain = parity.ParityConfig(steps=60, batch_size=50, n_samples=400)
    *_, final = parity.trajectory(parity.make_problem(plain), plain, host, "float64")
    last = _vector(flatten(final.params))
    assert _deviation(reference[-1], last) > 1e-3


# --------------------------------------------------------------------------- placement


@contextmanager
def _no_host_transfers(monkeypatch: pytest.MonkeyPatch, target) -> Iterator[None]:
    """Inside the block, any conversion of an array_api_strict array to the host fails.

    array_api_strict refuses NumPy conversion off its default device, but still
    allows ``float()`` and ``bool()``; this closes those doors too, so that a
    value read back to the host inside the library is caught.
    """
    if target.backend != "array_api_strict":
        yield
        return
    cls = type(target.asarray([0.0]))

    def refuse(name: str):
        def method(self, *args, **kwargs):
            msg = f"{name} called inside the training loop: a value left the device"
            raise AssertionError(msg)

        return method

    with monkeypatch.context() as m:
        for name in ("__array__", "__bool__", "__float__", "__int__", "__index__", "__dlpack__"):
            m.setattr(cls, name, refuse(name))
        yield


def _placed(target, a) -> None:
    assert backend_name_of(a) == target.backend
    assert device_of(a) == target.device, f"{device_of(a)!r} is not {target.device!r}"
    assert a.dtype == target.dtype


def test_training_stays_on_the_input_device(target, monkeypatch):
    config = _config("bmi-2-8-1-relu", "adam", steps=25)
    problem = parity.make_problem(config)
    with _no_host_transfers(monkeypatch, target):
        steps = list(parity.trajectory(problem, config, target.placement, target.dtype_name))
    assert len(steps) == 25
    for step in steps:
        for a in (*flatten(step.params), step.loss, step.X):
            _placed(target, a)
        assert step.loss.shape == ()
    # A fitted model's predictions come back where the model lives, too.
    _placed(target, mlp_xp.forward(steps[-1].params, steps[-1].X))


def test_the_host_guard_catches_a_read_back(target, monkeypatch):
    """The guard above is not vacuous: reading a value back inside it fails."""
    if target.backend != "array_api_strict":
        pytest.skip("the host guard only applies to array_api_strict")
    x = target.asarray([1.0, 2.0])
    with _no_host_transfers(monkeypatch, target), pytest.raises(AssertionError, match="__float__"):
        float(x[0])


# --------------------------------------------------------------------------- determinism


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_a_rerun_is_bit_identical(target, optimizer):
    config = _config("bmi-2-8-1-relu", optimizer, steps=50)
    problem = parity.make_problem(config)
    runs = []
    for _ in range(2):
        steps = parity.trajectory(problem, config, target.placement, target.dtype_name)
        runs.append(
            [
                (_vector(flatten(s.params)), mlp_xp.to_host(s.loss).astype(np.float64))
                for s in steps
            ]
        )
    for (p1, l1), (p2, l2) in zip(*runs):
        np.testing.assert_array_equal(p1, p2)
        np.testing.assert_array_equal(l1, l2)
