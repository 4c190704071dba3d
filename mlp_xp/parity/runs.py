"""Cross-backend parity: train one seeded model everywhere and measure how far each run strays.

Every run starts from the same numbers: the data and the initial weights are
drawn on the host in float64 (:func:`make_problem`), and the batch order comes
from a host generator with the same seed.  Each backend, device and dtype then
trains with the library's own loop (:func:`trajectory`, built on
:func:`mlp_xp.training.epoch_steps`), and :func:`check` compares every step with
the same training run in float64 NumPy on the host, the reference.

What may differ is rounding, and only rounding: :func:`tolerance` states how much
of it a run may show, from ``finfo(dtype).eps`` and the work done.  A run that
strays further disagrees with the reference, and the report says so.

Reading parameters back to the host after every step is fine here: this is a
verification tool, not the training path, and it reads through
:func:`mlp_xp._backend.to_host` only after the step has been computed.
"""

from __future__ import annotations

import dataclasses
import importlib
import importlib.util
import json
import math
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np

from .. import __version__
from ..backend import (
    BACKENDS,
    FLOAT_DTYPES,
    Array,
    BackendUnavailableError,
    Placement,
    adapters,
    backend_info,
    default_parity_targets,
    device_name,
    dtype_name,
    environment_report,
    from_host,
    resolve,
    take_rows,
    to_host,
)
from ..data.builtin import make_bmi
from ..nn.activations import HIDDEN_ACTIVATIONS
from ..nn.init import init_params
from ..nn.layers import Layer, Params, flatten
from ..nn.network import forward, loss
from ..nn.optimizers import OPTIMIZERS
from ..nn.plan import make_plan
from ..seeds import host_rng
from ..training import epoch_order, epoch_steps
from ..validation import check_layer_sizes, check_name, check_positive_float, check_positive_int

DEFAULT_BACKENDS: tuple[str, ...] = tuple(default_parity_targets())
"""The runs :func:`check` tries when no backends are named, as ``BACKEND[:DEVICE]``."""

DEFAULT_LEARNING_RATES: dict[str, float] = {
    "sgd": 0.05,
    "momentum": 0.05,
    "nesterov": 0.05,
    "adam": 0.01,
}
"""The learning rate of each optimizer when none is given."""

REFERENCE = "numpy:cpu float64"
"""Where the reference run is computed."""


# --------------------------------------------------------------------------- the rule


def tolerance(dtype: object, *, steps: int, depth: int, width: int) -> float:
    """The largest normwise relative deviation from the float64 reference that is rounding.

    ``tol = 4 * eps * depth * (sqrt(width) + 2) * sqrt(steps + 1)``

    with ``eps = finfo(dtype).eps``.  The reasoning, with the unit roundoff
    ``u = eps / 2``:

    * A dot product of length m is computed with a relative error of at most
      about ``m u``; when its rounding errors behave like independent random
      variables, of at most ``lambda sqrt(m) u`` with probability at least
      ``1 - 2 exp(-lambda^2 / 2)`` (Higham and Mary, 2019).  ``lambda = 4``
      leaves a chance below 1e-3 per product, and a normwise deviation
      averages over many products.
    * One gradient passes through ``2 depth`` matrix products on its longest
      path (``depth`` forward, ``depth - 1`` deltas backward, one weight
      gradient), each at most ``width`` long, with about two elementwise
      roundings (bias, activation) beside each: a relative error of
      ``2 depth (sqrt(width) + 2) u = depth (sqrt(width) + 2) eps``.
    * A step adds the learning rate times that gradient to parameters that are
      larger than the update in any run that trains, and rounds the sum: a
      step adds no more than one gradient's relative error to the parameters.
    * The steps' rounding errors are independent, so they add like a random
      walk, ``sqrt(steps)``; the ``+ 1`` is the rounding of the initial weights
      and the data to ``dtype``.

    ``steps=0`` gives the tolerance of one gradient evaluation.  The rule
    assumes training that is stable (each step does not amplify a deviation);
    a diverging or chaotic run is not limited by rounding and fails it.  So
    does Adam where a gradient component is far smaller than Adam's ``eps``
    (1e-8), for instance one that is 0 in exact arithmetic: its update is
    ``lr * g / eps``, which turns the rounding of ``g`` into a step up to
    ``lr / eps`` times larger.  That is a real difference between the runs,
    and the check reports it.  With
    ReLU, a pre-activation within rounding of 0 can take the other branch in
    one run, a discrete change in one sample's gradient; :func:`check` counts
    these ``sign flips`` so that such a jump can be told from a real
    disagreement.

    Parameters
    ----------
    dtype : str or dtype
        ``"float32"`` or ``"float64"`` (or a dtype object of any namespace).
    steps : int
        Optimizer steps taken, >= 0.
    depth : int
        Number of layers (weight matrices), >= 1.
    width : int
        The longest dot product of a step: the largest of the batch size and
        the layer sizes, >= 1.

    Returns
    -------
    float
        The tolerance for ``||p - p_ref|| / ||p_ref||`` over all parameters.

    Examples
    --------
    >>> round(tolerance("float32", steps=200, depth=2, width=100) / 1.1920929e-07)
    1361
    """
    eps = float(np.finfo(_dtype_name(dtype)).eps)
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 0:
        msg = f"steps must be an integer >= 0, got {steps!r}"
        raise ValueError(msg)
    d = check_positive_int("depth", depth)
    w = check_positive_int("width", width)
    return 4.0 * eps * d * (math.sqrt(w) + 2.0) * math.sqrt(steps + 1)


def _dtype_name(dtype: object) -> str:
    """``"float32"`` or ``"float64"`` for a name or any namespace's dtype object."""
    name = dtype_name(dtype)
    if name not in FLOAT_DTYPES:
        msg = f"dtype={dtype!r} is not supported; use one of {', '.join(FLOAT_DTYPES)}"
        raise TypeError(msg)
    return name


# --------------------------------------------------------------------------- configuration


@dataclass(frozen=True)
class ParityConfig:
    """One seeded training run, as every backend repeats it.

    The default is the lecture's BMI network: 2 inputs (height, weight), 8 ReLU
    hidden units and 1 output, trained with the lecture's half squared error.

    Attributes
    ----------
    layer_sizes : tuple of int
        ``(n_in, hidden..., n_out)``.  ``(2, ..., 1)`` trains on the BMI data;
        other sizes on a synthetic regression (see :func:`make_problem`).
    activation : {"relu", "sigmoid", "tanh", "identity"}
        The hidden activation; the output is linear.
    optimizer : {"sgd", "momentum", "nesterov", "adam"}
    learning_rate : float or None
        None picks ``DEFAULT_LEARNING_RATES[optimizer]``.
    steps : int
        Mini-batch steps K, over as many shuffled epochs as they need.
    batch_size : int
        Rows per step; the last batch of an epoch may be smaller.
    n_samples : int
        Rows of training data.
    seed : int
        Seeds the data, the initial weights and the batch order.
    """

    layer_sizes: tuple[int, ...] = (2, 8, 1)
    activation: str = "relu"
    optimizer: str = "sgd"
    learning_rate: float | None = None
    steps: int = 200
    batch_size: int = 100
    n_samples: int = 1000
    seed: int = 0

    def validated(self) -> ParityConfig:
        """The same configuration with checked values and the learning rate filled in."""
        sizes = check_layer_sizes(self.layer_sizes)
        check_name("activation", self.activation, HIDDEN_ACTIVATIONS)
        check_name("optimizer", self.optimizer, OPTIMIZERS)
        lr = self.learning_rate
        rate = DEFAULT_LEARNING_RATES.get(self.optimizer, 0.01) if lr is None else lr
        n = check_positive_int("n_samples", self.n_samples)
        batch = check_positive_int("batch_size", self.batch_size)
        if batch > n:
            msg = f"batch_size={batch} is larger than n_samples={n}; use at most {n}"
            raise ValueError(msg)
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            msg = f"seed must be an integer >= 0, got {self.seed!r}"
            raise ValueError(msg)
        return dataclasses.replace(
            self,
            layer_sizes=sizes,
            learning_rate=check_positive_float("learning_rate", rate),
            steps=check_positive_int("steps", self.steps),
            batch_size=batch,
            n_samples=n,
        )

    @property
    def depth(self) -> int:
        """Number of layers."""
        return len(self.layer_sizes) - 1

    @property
    def width(self) -> int:
        """The longest dot product of a step: the batch or the widest layer."""
        return max(self.batch_size, *self.layer_sizes)

    def tolerance(self, dtype: object, steps: int) -> float:
        """:func:`tolerance` for this network after ``steps`` steps."""
        return tolerance(dtype, steps=steps, depth=self.depth, width=self.width)

    def describe(self) -> str:
        """One line: network, optimizer, steps and data."""
        sizes = "-".join(str(s) for s in self.layer_sizes)
        data = "BMI" if _is_bmi(self.layer_sizes) else "synthetic regression"
        return (
            f"layers {sizes}, {self.activation}, {self.optimizer} (learning rate "
            f"{self.learning_rate:g}), {self.steps} steps of batch {self.batch_size} "
            f"from {self.n_samples} shuffled {data} samples, seed {self.seed}"
        )


def _is_bmi(sizes: Sequence[int]) -> bool:
    """Whether the network maps (height, weight) to one output, the BMI data's shape."""
    return sizes[0] == 2 and sizes[-1] == 1


class Problem(NamedTuple):
    """The host float64 numbers every run starts from."""

    X: np.ndarray
    """Standardised inputs, shape (n_samples, n_in)."""
    Y: np.ndarray
    """Standardised targets, shape (n_samples, n_out)."""
    params: Params
    """Initial weights, host float64 arrays."""


def make_problem(config: ParityConfig) -> Problem:
    """The data and initial weights of a configuration, on the host in float64.

    ``(2, ..., 1)`` networks get the lecture's BMI data (height, weight -> BMI);
    other sizes get inputs drawn from N(0, 1) and targets from a random tanh
    network with 16 hidden units.  Inputs and targets are standardised, so the
    loss starts near 1/2 per output whatever the sizes.
    """
    config = config.validated()
    sizes = config.layer_sizes
    if _is_bmi(sizes):
        X, y = make_bmi(config.n_samples, seed=config.seed)
        Y = y[:, None]
    else:
        rng = host_rng(config.seed)
        X = rng.normal(size=(config.n_samples, sizes[0]))
        A = rng.normal(size=(sizes[0], 16)) / math.sqrt(sizes[0])
        B = rng.normal(size=(16, sizes[-1]))
        Y = np.tanh(X @ A) @ B
    X = (X - X.mean(axis=0)) / X.std(axis=0)
    Y = (Y - Y.mean(axis=0)) / Y.std(axis=0)
    params = init_params(sizes, seed=config.seed, dtype="float64", backend="numpy")
    return Problem(X, Y, params)


# --------------------------------------------------------------------------- one run


class TrainingStep(NamedTuple):
    """One optimizer step of a run, as its backend computed it (device arrays)."""

    params: Params
    """The parameters after the step."""
    loss: Array
    """The batch loss before the step, a 0-d array."""
    X: Array
    """The batch the step trained on, shape (rows, n_in)."""


def start(problem: Problem, placement: Placement, dtype: str) -> tuple[Params, Array, Array]:
    """The problem's weights and data cast to ``dtype`` and moved to ``placement``."""
    params = tuple(
        Layer(from_host(W, placement, dtype), from_host(b, placement, dtype))
        for W, b in problem.params
    )
    return params, from_host(problem.X, placement, dtype), from_host(problem.Y, placement, dtype)


def trajectory(
    problem: Problem, config: ParityConfig, placement: Placement, dtype: str
) -> Iterator[TrainingStep]:
    """Yield the ``config.steps`` steps of one run, trained with the library's loop.

    The loop is :func:`mlp_xp.training.epoch_steps` over shuffled epochs whose
    order :func:`mlp_xp.training.epoch_order` draws from a host generator seeded
    with ``config.seed``, so every run sees the same batches.  Nothing is read
    back to the host here.
    """
    config = config.validated()
    params, X, Y = start(problem, placement, dtype)
    plan = make_plan(config.activation, "squared_error")
    optimizer = OPTIMIZERS[config.optimizer](config.learning_rate)
    state = optimizer.init(params)
    rng = host_rng(config.seed)
    n = problem.X.shape[0]
    done = 0
    while True:
        order = epoch_order(rng, n, shuffle=True)
        # The rows epoch_steps trains on, in its order, kept so each step can say which.
        shuffled = take_rows(placement, X, order) if order is not None else X
        first = 0
        for step in epoch_steps(
            placement,
            params,
            state,
            X,
            Y,
            plan=plan,
            optimizer=optimizer,
            batch_size=config.batch_size,
            order=order,
        ):
            params, state = step.params, step.state
            yield TrainingStep(params, step.loss, shuffled[first : first + step.rows, ...])
            first += step.rows
            done += 1
            if done == config.steps:
                return


# --------------------------------------------------------------------------- the report


@dataclass(frozen=True)
class Skipped:
    """A run that did not happen, and why."""

    backend: str
    device: str
    reason: str


@dataclass(frozen=True)
class Row:
    """One backend, device and dtype compared with the reference.

    Deviations compare all parameters as one vector p with the reference's r.
    """

    backend: str
    device: str
    dtype: str
    final_loss: float
    """The loss on all the training data with the final parameters."""
    max_abs: float
    """max |p - r| after the last step."""
    max_rel: float
    """max |p - r| / |r| after the last step, over entries with r != 0 (large near r = 0)."""
    deviation: float
    """||p - r|| / ||r|| after the last step: what the tolerance bounds."""
    tolerance: float
    """The tolerance after the last step."""
    worst: float
    """The largest ratio of deviation to tolerance over all steps and the loss curve."""
    sign_flips: int | None
    """ReLU pre-activations whose sign differed from the reference's in the same step
    (None for smooth activations, where a sign carries no jump)."""
    curve: tuple[float, ...] = field(repr=False)
    """||p - r|| / ||r|| before the first step and after each step (steps + 1 values)."""
    losses: tuple[float, ...] = field(repr=False)
    """The batch loss of each step."""
    loss_curve: tuple[float, ...] = field(repr=False)
    """|sqrt(L) - sqrt(L_ref)| / sqrt(L_0) of each step's batch loss (see :func:`check`)."""

    @property
    def passed(self) -> bool:
        """Whether every step stayed within its tolerance (NaN fails)."""
        return self.worst <= 1.0

    @property
    def label(self) -> str:
        return f"{self.backend}:{self.device} {self.dtype}"


@dataclass(frozen=True)
class ParityReport:
    """The result of :func:`check`: one row per run, the skipped runs, the environment."""

    config: ParityConfig
    reference_loss: float
    """The reference's final loss on all the training data."""
    reference_losses: tuple[float, ...] = field(repr=False)
    rows: tuple[Row, ...]
    skipped: tuple[Skipped, ...]
    environment: dict[str, Any] = field(repr=False)

    @property
    def passed(self) -> bool:
        """Whether every run agrees with the reference within its tolerance."""
        return bool(self.rows) and all(row.passed for row in self.rows)

    def format(self) -> str:
        """The table, the skipped runs and the environment, as printed by ``mlp-xp parity``."""
        return format_report(self)

    def to_dict(self) -> dict[str, Any]:
        """Everything in the report as JSON-ready data (non-finite numbers become None)."""
        rows = []
        for row in self.rows:
            entry = dataclasses.asdict(row)
            entry["passed"] = row.passed
            rows.append(entry)
        data = {
            "mlp_xp": __version__,
            "config": dataclasses.asdict(self.config),
            "description": self.config.describe(),
            "tolerance_rule": (
                "4 * eps * depth * (sqrt(width) + 2) * sqrt(steps + 1), "
                "eps = finfo(dtype).eps, width = max(batch_size, layer sizes)"
            ),
            "depth": self.config.depth,
            "width": self.config.width,
            "reference": {
                "where": REFERENCE,
                "final_loss": self.reference_loss,
                "losses": list(self.reference_losses),
            },
            "rows": rows,
            "skipped": [dataclasses.asdict(s) for s in self.skipped],
            "environment": self.environment,
            "passed": self.passed,
        }
        return _finite_or_none(data)

    def write_json(self, path: str | os.PathLike[str]) -> None:
        """Write :meth:`to_dict` to ``path`` as JSON."""
        with open(path, "w", encoding="utf-8") as fh:
            json.dump(self.to_dict(), fh, indent=2)
            fh.write("\n")

    def plot(self, path: str | os.PathLike[str]) -> None:
        """Draw each run's deviation from the reference over the steps (log scale) to a PNG."""
        plot_report(self, path)


def _finite_or_none(value: Any) -> Any:
    """``value`` with NaN and infinities replaced by None, so that it is strict JSON."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite_or_none(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite_or_none(v) for v in value]
    return value


# --------------------------------------------------------------------------- choosing runs


def parse_backend(spec: str) -> tuple[str, str | None]:
    """Split ``"BACKEND[:DEVICE]"`` (``"torch:cuda"``, ``"cupy:cuda:1"``) into its parts."""
    if not isinstance(spec, str) or not spec.strip():
        msg = f"write a backend as BACKEND or BACKEND:DEVICE (e.g. torch:cuda), got {spec!r}"
        raise ValueError(msg)
    name, _, device = spec.strip().partition(":")
    if name not in BACKENDS:
        msg = (
            f"unknown backend {name!r} in {spec!r}; valid backends are {', '.join(BACKENDS)}, "
            "written BACKEND or BACKEND:DEVICE (e.g. torch:cuda, array_api_strict:device1)"
        )
        raise ValueError(msg)
    return name, device or None


def _targets(backends: Sequence[str] | str | None) -> tuple[list[Placement], list[Skipped]]:
    """The placements to run and the runs skipped, with why.

    Named backends that are installed but cannot run here are an error; named
    backends that are not installed, and default ones that cannot run, are skipped.
    """
    requested = backends is not None
    if isinstance(backends, str):
        specs = [s for s in backends.split(",") if s.strip()]
    else:
        specs = list(DEFAULT_BACKENDS if backends is None else backends)
    if not specs:
        msg = "backends is empty; name at least one, e.g. 'numpy,torch'"
        raise ValueError(msg)
    placements: list[Placement] = []
    skipped: list[Skipped] = []
    seen: set[tuple[str, str]] = set()
    for spec in specs:
        name, device = parse_backend(spec)
        info = backend_info(name)
        try:
            placement = resolve(name, device)
        except BackendUnavailableError as exc:
            if requested and info.installed:
                msg = f"cannot run the requested backend {spec!r}: {exc}"
                raise BackendUnavailableError(msg) from None
            skipped.append(Skipped(name, device or "default", str(exc)))
            continue
        key = (placement.name, device_name(placement))
        if key not in seen:
            seen.add(key)
            placements.append(placement)
    if not requested:
        for lazy in adapters():
            if lazy.slow_steps and backend_info(lazy.name).available:
                reason = (
                    f"not run by default: {lazy.slow_steps}; "
                    f"ask for it with --backends {lazy.name}"
                )
                skipped.append(Skipped(lazy.name, "cpu", reason))
    return placements, skipped


# --------------------------------------------------------------------------- measuring


def _vector(params: Params) -> np.ndarray:
    """All parameters of a run as one host float64 vector."""
    return np.concatenate([to_host(a).astype(np.float64).ravel() for a in flatten(params)])


KINKED_ACTIVATIONS: tuple[str, ...] = ("relu",)
"""Hidden activations whose derivative jumps at 0, where a sign flip changes the gradient."""


def _negative(params: Params, X: Array, activation: str) -> list[np.ndarray]:
    """For each hidden layer, which pre-activations are negative (host booleans).

    The pre-activation of layer i is the output of the first i + 1 layers with
    a linear output, computed by the backend in its own dtype: exactly the
    values whose sign ReLU's derivative (0 below 0, 1 from 0 up) depends on.
    """
    return [
        to_host(forward(params[: i + 1], X, activation=activation, output="identity")) < 0
        for i in range(len(params) - 1)
    ]


class _Run:
    """A run in progress: its steps and what has been measured so far."""

    def __init__(self, placement: Placement, dtype: str, steps: Iterator[TrainingStep]) -> None:
        self.placement, self.dtype, self.steps = placement, dtype, steps
        self.curve: list[float] = []
        self.losses: list[float] = []
        self.flips = 0
        self.params: Params = ()
        self.last = np.zeros(0)


def check(
    config: ParityConfig | None = None,
    *,
    backends: Sequence[str] | str | None = None,
    dtypes: Sequence[str] = FLOAT_DTYPES,
    **settings: Any,
) -> ParityReport:
    """Train one seeded configuration on every backend and compare it with float64 NumPy.

    Each run repeats :func:`trajectory`; after every step its parameters are
    compared with the reference's, ``||p - r|| / ||r||``, and held to
    ``tolerance(dtype, steps=k, ...)``.  The batch losses are compared as
    ``|sqrt(L) - sqrt(L_ref)| / sqrt(L_0)``, with ``L_0`` the loss of predicting
    0: a relative error ``e`` of the outputs changes ``sqrt(L)``, the RMS
    residual, by at most ``e`` times the RMS output, so the same tolerance holds.

    Parameters
    ----------
    config : ParityConfig, optional
        The run; the lecture's BMI network by default.
    backends : sequence of str, or str, optional
        ``BACKEND[:DEVICE]`` entries (a comma-separated string is split), e.g.
        ``["numpy", "torch:cuda", "array_api_strict:device1"]``.  None tries
        ``DEFAULT_BACKENDS`` and skips, with the reason, those that cannot run
        here.  A named backend that is installed but cannot run here (CuPy
        without a GPU) raises; one that is not installed is skipped.
    dtypes : sequence of {"float32", "float64"}
    **settings
        Fields of :class:`ParityConfig` to change, e.g. ``steps=50``.

    Returns
    -------
    ParityReport
        ``report.passed`` is True when every run is within tolerance.

    Raises
    ------
    ValueError
        For an unknown backend, device, dtype or setting.
    BackendUnavailableError
        When a named backend is installed but cannot run here.
    """
    base = ParityConfig() if config is None else config
    valid = {f.name for f in dataclasses.fields(ParityConfig)}
    unknown = sorted(set(settings) - valid)
    if unknown:
        msg = f"unknown setting(s) {', '.join(unknown)}; valid: {', '.join(sorted(valid))}"
        raise TypeError(msg)
    config = dataclasses.replace(base, **settings).validated()
    if isinstance(dtypes, str):
        dtypes = [d for d in dtypes.split(",") if d]
    dtype_list = [check_name("dtype", d, FLOAT_DTYPES) for d in dtypes]
    if not dtype_list:
        msg = f"dtypes is empty; use one or more of {', '.join(FLOAT_DTYPES)}"
        raise ValueError(msg)
    placements, skipped = _targets(backends)
    problem = make_problem(config)

    reference_place = resolve("numpy")
    runs = [
        _Run(p, d, trajectory(problem, config, p, d))
        for p in placements
        for d in dict.fromkeys(dtype_list)
    ]
    reference = _Run(
        reference_place, "float64", trajectory(problem, config, reference_place, "float64")
    )
    initial = tuple(Layer(W, b) for W, b in problem.params)
    ref_vector = _vector(initial)
    for run in runs:
        run.params = start(problem, run.placement, run.dtype)[0]
        run.last = _vector(run.params)
        run.curve.append(_deviation(run.last, ref_vector))
    ref_params = initial
    kinked = config.activation in KINKED_ACTIVATIONS
    for _ in range(config.steps):
        ref_step = next(reference.steps)
        if kinked:
            ref_signs = _negative(ref_params, ref_step.X, config.activation)
        ref_params = ref_step.params
        ref_vector = _vector(ref_params)
        reference.losses.append(float(to_host(ref_step.loss)))
        for run in runs:
            step = next(run.steps)
            if kinked:
                signs = _negative(run.params, step.X, config.activation)
                run.flips += sum(int(np.sum(a != b)) for a, b in zip(signs, ref_signs))
            run.params = step.params
            run.last = _vector(run.params)
            run.curve.append(_deviation(run.last, ref_vector))
            run.losses.append(float(to_host(step.loss)))

    zero_loss = 0.5 * float(np.mean(np.sum(problem.Y**2, axis=1)))
    reference_loss = _full_loss(config, ref_params, problem, reference_place, "float64")
    rows = [_row(config, run, ref_vector, reference.losses, zero_loss, problem) for run in runs]
    return ParityReport(
        config=config,
        reference_loss=reference_loss,
        reference_losses=tuple(reference.losses),
        rows=tuple(rows),
        skipped=tuple(skipped),
        environment={"mlp_xp": __version__, **environment_report()},
    )


def _deviation(p: np.ndarray, r: np.ndarray) -> float:
    """||p - r|| / ||r||."""
    return float(np.linalg.norm(p - r) / np.linalg.norm(r))


def _full_loss(
    config: ParityConfig, params: Params, problem: Problem, placement: Placement, dtype: str
) -> float:
    """The loss on all the training data, computed where the run trained."""
    _, X, Y = start(problem, placement, dtype)
    return float(to_host(loss(params, X, Y, activation=config.activation)))


def _row(
    config: ParityConfig,
    run: _Run,
    ref_vector: np.ndarray,
    ref_losses: Sequence[float],
    zero_loss: float,
    problem: Problem,
) -> Row:
    """Summarise a finished run."""
    diff = np.abs(run.last - ref_vector)
    nonzero = ref_vector != 0
    max_rel = float(np.max(diff[nonzero] / np.abs(ref_vector[nonzero]))) if nonzero.any() else 0.0
    loss_curve = [
        abs(math.sqrt(max(a, 0.0)) - math.sqrt(max(b, 0.0))) / math.sqrt(zero_loss)
        for a, b in zip(run.losses, ref_losses)
    ]
    # Step k's parameters follow k steps; step k's batch loss is computed before step k.
    ratios = [d / config.tolerance(run.dtype, k) for k, d in enumerate(run.curve)]
    ratios += [d / config.tolerance(run.dtype, k) for k, d in enumerate(loss_curve)]
    worst = max(ratios)
    if any(math.isnan(r) for r in ratios):
        worst = math.inf
    return Row(
        backend=run.placement.name,
        device=device_name(run.placement),
        dtype=run.dtype,
        final_loss=_full_loss(config, run.params, problem, run.placement, run.dtype),
        max_abs=float(np.max(diff)),
        max_rel=max_rel,
        deviation=run.curve[-1],
        tolerance=config.tolerance(run.dtype, config.steps),
        worst=worst,
        sign_flips=run.flips if config.activation in KINKED_ACTIVATIONS else None,
        curve=tuple(run.curve),
        losses=tuple(run.losses),
        loss_curve=tuple(loss_curve),
    )


# --------------------------------------------------------------------------- output


def format_report(report: ParityReport) -> str:
    """The report as text: configuration, table, skipped runs, environment, verdict."""
    config = report.config
    lines = [
        f"mlp-xp parity: {config.describe()}",
        f"reference: {REFERENCE} on the host, final loss {report.reference_loss:.6e}",
        "deviation = ||p - p_ref|| / ||p_ref|| over all parameters after the last step; "
        f"tolerance = 4 eps depth (sqrt(width) + 2) sqrt(steps + 1), depth {config.depth}, "
        f"width {config.width}",
        "",
    ]
    header = (
        "backend",
        "device",
        "dtype",
        "final loss",
        "max abs",
        "max rel",
        "deviation",
        "tolerance",
        "flips",
        "result",
    )
    table = [header]
    for row in report.rows:
        table.append(
            (
                row.backend,
                row.device,
                row.dtype,
                f"{row.final_loss:.6e}",
                f"{row.max_abs:.2e}",
                f"{row.max_rel:.2e}",
                f"{row.deviation:.2e}",
                f"{row.tolerance:.2e}",
                "-" if row.sign_flips is None else str(row.sign_flips),
                "pass" if row.passed else f"FAIL ({row.worst:.3g}x tolerance)",
            )
        )
    widths = [max(len(r[i]) for r in table) for i in range(len(header))]
    for r in table:
        lines.append("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())
    if report.skipped:
        lines.append("")
        lines.append("skipped:")
        for s in report.skipped:
            lines.append(f"  {s.backend}:{s.device}: {s.reason}")
    lines.append("")
    lines.extend(_format_environment(report.environment))
    lines.append("")
    failed = [row for row in report.rows if not row.passed]
    if not report.rows:
        lines.append("no backend ran")
    elif failed:
        labels = ", ".join(row.label for row in failed)
        lines.append(
            f"FAIL: {len(failed)} of {len(report.rows)} runs deviate from the reference "
            f"beyond tolerance: {labels}"
        )
    else:
        count = len(report.rows)
        lines.append(f"pass: all {count} runs agree with the reference within tolerance")
    return "\n".join(lines)


def _format_environment(env: dict[str, Any]) -> list[str]:
    """The environment section of the text report."""
    versions = ", ".join(f"{k} {v}" for k, v in env.get("versions", {}).items() if v is not None)
    lines = [
        "environment:",
        f"  mlp_xp {env.get('mlp_xp')}, python {env.get('python')}, {env.get('platform')}",
        f"  versions: {versions}",
        f"  numpy BLAS: {env.get('blas')}",
    ]
    gpus = env.get("gpus") or {}
    if gpus:
        for backend, names in gpus.items():
            lines.append(f"  GPU ({backend}): {'; '.join(names)}")
    else:
        lines.append("  GPU: none visible")
    settings = env.get("settings") or {}
    for key, value in settings.items():
        lines.append(f"  {key}: {value}")
    for key, value in (env.get("env") or {}).items():
        lines.append(f"  ${key}={value}")
    reduced = env.get("reduced_precision") or []
    if reduced:
        lines.append(f"  reduced-precision float32 matmul: ON ({'; '.join(reduced)})")
    else:
        lines.append("  reduced-precision float32 matmul (TF32/FP16/BF16): off")
    return lines


def require_matplotlib() -> None:
    """Raise a clear error when matplotlib, needed for plots, is not installed."""
    if importlib.util.find_spec("matplotlib") is None:
        msg = "plotting needs matplotlib, which is not installed; pip install 'mlp_xp[plot]'"
        raise ModuleNotFoundError(msg)


def plot_report(report: ParityReport, path: str | os.PathLike[str]) -> None:
    """Draw each run's deviation from the reference after every step, on a log scale.

    Runs that are bit-identical to the reference have no point on a log scale;
    the legend says so.  Dashed lines are each dtype's tolerance.
    """
    require_matplotlib()
    matplotlib = importlib.import_module("matplotlib")
    matplotlib.use("Agg")
    plt = importlib.import_module("matplotlib.pyplot")
    config = report.config
    fig, ax = plt.subplots(figsize=(8, 6), layout="constrained")
    steps = np.arange(config.steps + 1)
    for row in report.rows:
        curve = np.asarray(row.curve)
        shown = np.where(curve > 0, curve, np.nan)
        label = f"{row.label}" + (" (identical to the reference)" if not curve.any() else "")
        ax.plot(steps, shown, label=label, linewidth=1.2)
    for dtype in dict.fromkeys(row.dtype for row in report.rows):
        tol = [config.tolerance(dtype, int(k)) for k in steps]
        ax.plot(steps, tol, linestyle="--", color="black", linewidth=0.8)
        ax.annotate(f"tolerance {dtype}", (steps[-1], tol[-1]), ha="right", va="bottom")
    ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel("||p - p_ref|| / ||p_ref||")
    ax.set_title(f"Deviation from float64 NumPy\n{config.describe()}", fontsize=9)
    fig.legend(loc="outside lower center", ncols=2, fontsize=8)
    fig.savefig(path, dpi=120)
    plt.close(fig)
