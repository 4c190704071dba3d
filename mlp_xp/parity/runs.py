"""One configuration trained everywhere, each step compared with the reference (parity layer).

Each backend, device and dtype trains with the driver ``fit`` trains with
(:func:`trajectory`, built on :class:`mlp_xp.training.Driver`), and
:func:`check` compares every step with the same training run in float64 NumPy
on the host, the reference.

What may differ is rounding, and only rounding: :func:`~mlp_xp.parity.tolerance`
states how much of it a run may show, from ``finfo(dtype).eps`` and the work
done.  A run that strays further disagrees with the reference, and the report
says so.

Reading parameters back to the host after every step is fine here: this is a
verification tool, not the training path, and it reads through
:func:`mlp_xp.backend.to_host` only after the step has been computed.
"""

from __future__ import annotations

import dataclasses
import math
from collections import deque
from collections.abc import Iterator, Sequence
from typing import Any, NamedTuple, cast

import numpy as np

from .. import __version__
from ..backend import (
    FLOAT_DTYPES,
    Array,
    Placement,
    device_name,
    dtype_unavailable,
    environment_report,
    from_host,
    host_placement,
    on_device,
    take_rows,
    to_host,
)
from ..nn.layers import Layer, Params, flatten
from ..nn.network import forward, loss, value_and_grad
from ..nn.optimizers import OPTIMIZERS
from ..nn.plan import make_plan
from ..training import (
    Batches,
    Data,
    Driver,
    Observer,
    Run,
    Schedule,
    Step,
    StoppingRule,
    shuffle_start,
    start_schedule,
    start_stopping,
)
from ..training.compiled import compiles
from ..validation import check_name
from .problems import ParityConfig, Problem, make_problem
from .report import ParityReport, Row, Skipped
from .targets import choose_targets
from .user_data import for_data, host_data, problem_from_data

KINKED_ACTIVATIONS: tuple[str, ...] = ("relu",)
"""Hidden activations whose derivative jumps at 0, where a sign flip changes the gradient."""


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
    problem: Problem,
    config: ParityConfig,
    placement: Placement,
    dtype: str,
    compiled: bool = False,
) -> Iterator[TrainingStep]:
    """Yield the ``config.steps`` steps of one run, trained by ``fit``'s driver.

    The run is :class:`mlp_xp.training.Driver` with the observers ``fit`` runs
    for the schedule (and, for ``"adaptive"``, the stopping rule that adapts
    it), over epochs shuffled by rows from the generator ``fit`` draws from
    for ``config.seed`` (:func:`mlp_xp.training.shuffle_start`), so every run
    sees the same batches.  It trains ``config.loss`` with its matched output
    activation and the L2 penalty ``config.alpha``.  A step observer records
    each step; nothing else is read back to the host, except each epoch's loss
    for the adaptive schedule's rule, as ``fit`` reads it.  ``compiled`` runs
    each epoch as ``fit`` does on a backend that compiles, as one compiled call
    that also records its steps; otherwise the epoch runs step by step (lazy
    backends materialise each step).
    """
    config = config.validated()
    params, X, Y = start(problem, placement, dtype)
    W = None if problem.W is None else from_host(problem.W, placement, dtype)
    n = problem.X.shape[0]
    epochs = math.ceil(config.steps / math.ceil(n / config.batch_size))
    lr0 = cast(float, config.learning_rate)  # validated() filled it in
    state: dict[str, Any] = {}
    start_schedule(state, lr0)
    start_stopping(state)
    recorder = _Steps(placement, X, config.steps)
    observers: list[Observer] = [
        Schedule(
            state,
            name=config.schedule,
            optimizer=config.optimizer,
            learning_rate=lr0,
            power_t=config.power_t,
            start=0,
            epochs=epochs,
        )
    ]
    if config.schedule == "adaptive":
        # The rule matters to a run that never stops only through the schedule.
        rule = StoppingRule(
            state, tol=config.tol, patience=config.patience, schedule=config.schedule
        )
        observers.append(rule)
    driver = Driver(
        placement,
        Data(X, Y, W=W),
        plan=make_plan(config.activation, config.loss),
        alpha=config.alpha,
        batches=Batches(config.batch_size, "rows", shuffle_start(config.seed)),
        observers=[*observers, recorder],
        compiled=compiled,
    )
    running = driver.epochs(params, OPTIMIZERS[config.optimizer](lr0).init(params), epochs)
    try:
        while True:
            if not recorder.taken:
                if recorder.left == 0:
                    return
                next(running, None)  # one epoch, or its steps up to the last one asked
                if not recorder.taken:
                    return
            yield recorder.taken.popleft()
    finally:
        running.close()


class _Steps(Observer):
    """Records each step of a run, with the rows it trained on, until ``left`` are taken."""

    reads_losses = False

    def __init__(self, placement: Placement, X: Array, left: int) -> None:
        self.placement, self.X, self.left = placement, X, left
        self.taken: deque[TrainingStep] = deque()
        self.shuffled, self.first = X, 0

    def on_epoch_begin(self, run: Run) -> None:
        # The rows the epoch trains on, in its order, kept so each step can say which.
        order = run.order
        self.shuffled = take_rows(self.placement, self.X, order) if order is not None else self.X
        self.first = 0

    def on_step_end(self, run: Run, step: Step) -> bool:
        first, self.first = self.first, self.first + step.rows
        rows = self.shuffled[first : self.first, ...]
        self.taken.append(TrainingStep(step.params, step.loss, rows))
        self.left -= 1
        return self.left == 0


def _vector(params: Params) -> np.ndarray:
    """All parameters of a run as one host float64 vector."""
    return np.concatenate([to_host(a).astype(np.float64).ravel() for a in flatten(params)])


def _deviation(p: np.ndarray, r: np.ndarray) -> float:
    """||p - r|| / ||r||."""
    return float(np.linalg.norm(p - r) / np.linalg.norm(r))


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

    def __init__(
        self,
        placement: Placement,
        dtype: str,
        steps: Iterator[TrainingStep],
        backend: str | None = None,
    ) -> None:
        self.placement, self.dtype, self.steps = placement, dtype, steps
        self.backend = placement.name if backend is None else backend
        """The row's backend: the placement's name, and "NAME compiled" for compiled epochs."""
        self.curve: list[float] = []
        self.losses: list[float] = []
        self.flips = 0
        self.params: Params = ()
        self.last = np.zeros(0)

    def begin(self, problem: Problem, ref_vector: np.ndarray) -> None:
        """Measure the starting parameters against the reference's."""
        with on_device(self.placement):
            self.params = start(problem, self.placement, self.dtype)[0]
        self._measure(ref_vector)

    def advance(
        self, ref_vector: np.ndarray, activation: str, ref_signs: list[np.ndarray] | None
    ) -> None:
        """Take the next step and measure it; count sign flips when ``ref_signs`` is given."""
        with on_device(self.placement):  # the run's generator computes on its device
            step = next(self.steps)
        if ref_signs is not None:
            signs = _negative(self.params, step.X, activation)
            self.flips += sum(int(np.sum(a != b)) for a, b in zip(signs, ref_signs))
        self.params = step.params
        self._measure(ref_vector)
        self.losses.append(float(to_host(step.loss)))

    def _measure(self, ref_vector: np.ndarray) -> None:
        """Record the deviation of the current parameters from the reference's."""
        self.last = _vector(self.params)
        self.curve.append(_deviation(self.last, ref_vector))


def check(
    config: ParityConfig | None = None,
    *,
    data: tuple[Any, Any] | None = None,
    backends: Sequence[str] | str | None = None,
    dtypes: Sequence[str] = FLOAT_DTYPES,
    **settings: Any,
) -> ParityReport:
    """Train one seeded configuration on every backend and compare it with float64 NumPy.

    Each run repeats :func:`trajectory`; after every step its parameters are
    compared with the reference's, ``||p - r|| / ||r||``, and held to
    ``tolerance(dtype, steps=k, ...)``.  The batch losses are compared as
    ``|sqrt(L) - sqrt(L_ref)| / sqrt(L_0)``, held to the same tolerance.  For
    each of the three losses ``sqrt(L)`` moves by at most ``RMS|dz| / sqrt(2)``
    when the outputs z move by dz: squared error has ``sqrt(L) = RMS|r| /
    sqrt(2)`` for the residuals r, and a cross-entropy row's gradient ``p - y``
    has ``|p - y|^2 <= 2 l`` for softmax (``<= l`` for sigmoid columns), which
    Cauchy-Schwarz carries over the batch.  A relative error e of the outputs
    thus moves the gap by at most ``e RMS|z| / sqrt(2 L_0)``.

    ``L_0``, fixed by the data and the loss alone, is the loss of the output
    that says nothing: predicting 0 for squared error, ``0.5 mean(sum(Y**2))``,
    so ``sqrt(2 L_0)`` is the RMS target, which a fitted output matches; zero
    logits (the uniform prediction) for the cross-entropies, ``log(K)`` per row
    for softmax over K classes and ``log(2)`` per column for binary
    cross-entropy.  It is the loss a network starts near and the scale on
    which training lowers it; the current loss, falling towards 0, would
    inflate the gap without new rounding.  Logits outgrow ``sqrt(2 L_0)`` as a
    classifier grows confident (RMS 5.6 against 2.1 after 100 steps on
    digits), so the bound allows a few times e, but rounding errors are not
    aligned with ``p - y`` and cancel in the batch mean: on digits (64-32-10,
    1000 float32 steps) the largest loss gap is 0.009 of the tolerance, the
    parameters' 0.002.  The L2 term adds at most ``e sqrt(P / L_0)``.

    Parameters
    ----------
    config : ParityConfig, optional
        The run; the lecture's BMI network by default.
    data : (X, y), optional
        The user's data, X of shape (n_samples, n_features) and y numbers or
        class labels, instead of the built-in problem; encoded and scaled by
        :func:`~mlp_xp.parity.problem_from_data`, which says what must fit.
    backends : sequence of str, or str, optional
        ``BACKEND[:DEVICE]`` entries (a comma-separated string is split), e.g.
        ``["numpy", "torch:cuda", "array_api_strict:device1"]``.  None tries
        ``DEFAULT_BACKENDS`` and skips, with the reason, those that cannot run
        here.  A named backend that is installed but cannot run here (CuPy
        without a GPU) raises; one that is not installed is skipped.
    dtypes : sequence of {"float32", "float64"}
        One a backend lacks here (JAX's float64 without x64) is skipped there, with why.
    **settings
        Fields of :class:`ParityConfig` to change, e.g. ``steps=50``.

    Returns
    -------
    ParityReport
        ``report.passed`` is True when every run is within tolerance.

    Raises
    ------
    ValueError
        For an unknown backend, device or dtype, a bad setting value, or data
        that do not fit the configuration.
    TypeError
        For an unknown setting.
    BackendUnavailableError
        When a named backend is installed but cannot run here.
    """
    host = None if data is None else host_data(data)
    config = _configure(config, settings, host)
    dtype_list = _dtypes(dtypes)
    placements, skipped = choose_targets(backends)
    problem = make_problem(config) if host is None else problem_from_data(*host, config)

    reference_place = host_placement()
    usable = _usable(placements, dtype_list, skipped)
    # A backend that compiles is checked twice: step by step, and in compiled epochs.
    runs = [
        _Run(p, d, trajectory(problem, config, p, d, c), f"{p.name} compiled" if c else None)
        for p, d in usable
        for c in ((False, True) if compiles(p) else (False,))
    ]
    reference = _Run(
        reference_place, "float64", trajectory(problem, config, reference_place, "float64")
    )
    ref_params, ref_vector = _step_together(config, problem, reference, runs)

    zero_loss = _zero_loss(config.loss, problem.Y)
    reference_loss = _full_loss(config, ref_params, problem, reference_place, "float64")
    rows = [_row(config, run, ref_vector, reference.losses, zero_loss, problem) for run in runs]
    return ParityReport(
        config=config,
        reference_loss=reference_loss,
        reference_losses=tuple(reference.losses),
        rows=tuple(rows),
        skipped=tuple(skipped),
        environment={"mlp_xp": __version__, **environment_report()},
        zero_loss=zero_loss,
    )


def _configure(
    config: ParityConfig | None,
    settings: dict[str, Any],
    data: tuple[np.ndarray, np.ndarray] | None,
) -> ParityConfig:
    """``config`` (default if None) with ``settings`` applied, fitted to ``data``, validated."""
    base = ParityConfig() if config is None else config
    valid = {f.name for f in dataclasses.fields(ParityConfig)}
    unknown = sorted(set(settings) - valid)
    if unknown:
        msg = f"unknown setting(s) {', '.join(unknown)}; valid: {', '.join(sorted(valid))}"
        raise TypeError(msg)
    config = dataclasses.replace(base, **settings)
    return (config if data is None else for_data(config, data[0])).validated()


def _zero_loss(loss: str, Y: np.ndarray) -> float:
    """L_0, the loss of zero outputs: the scale of the loss comparison (see :func:`check`)."""
    if loss == "cross_entropy":
        return math.log(Y.shape[1])
    if loss == "binary_cross_entropy":
        return math.log(2.0) * Y.shape[1]
    return 0.5 * float(np.mean(np.sum(Y**2, axis=1)))


def _usable(
    placements: Sequence[Placement], dtypes: Sequence[str], skipped: list[Skipped]
) -> list[tuple[Placement, str]]:
    """Each placement with each dtype it computes in here; the others go to ``skipped``.

    A backend lacking a dtype (JAX's float64 without x64 mode) is listed as
    skipped for that dtype, with the reason and the fix, and its other runs go ahead.
    """
    usable = []
    for placement in placements:
        for dtype in dict.fromkeys(dtypes):
            why = dtype_unavailable(placement, dtype)
            if why:
                skipped.append(Skipped(placement.name, device_name(placement), why, dtype=dtype))
            else:
                usable.append((placement, dtype))
    return usable


def _dtypes(dtypes: Sequence[str] | str) -> list[str]:
    """The checked dtype names of a sequence or a comma-separated string."""
    if isinstance(dtypes, str):
        dtypes = [d for d in dtypes.split(",") if d]
    dtype_list = [check_name("dtype", d, FLOAT_DTYPES) for d in dtypes]
    if not dtype_list:
        msg = f"dtypes is empty; use one or more of {', '.join(FLOAT_DTYPES)}"
        raise ValueError(msg)
    return dtype_list


def _step_together(
    config: ParityConfig, problem: Problem, reference: _Run, runs: Sequence[_Run]
) -> tuple[Params, np.ndarray]:
    """Step the reference and every run in lockstep, measuring each run after every step.

    Returns the reference's final parameters, and the same as one host vector.
    """
    initial: Params = tuple(Layer(W, b) for W, b in problem.params)
    ref_vector = _vector(initial)
    for run in runs:
        run.begin(problem, ref_vector)
    ref_params = initial
    kinked = config.activation in KINKED_ACTIVATIONS
    for _ in range(config.steps):
        ref_step = next(reference.steps)
        # The reference's signs before its step, for the runs' signs before theirs.
        ref_signs = _negative(ref_params, ref_step.X, config.activation) if kinked else None
        ref_params = ref_step.params
        ref_vector = _vector(ref_params)
        reference.losses.append(float(to_host(ref_step.loss)))
        for run in runs:
            run.advance(ref_vector, config.activation, ref_signs)
    return ref_params, ref_vector


def _full_loss(
    config: ParityConfig, params: Params, problem: Problem, placement: Placement, dtype: str
) -> float:
    """The loss on all the training data, computed where the run trained."""
    _, X, Y = start(problem, placement, dtype)
    if problem.W is None:
        value = loss(
            params, X, Y, activation=config.activation, loss=config.loss, alpha=config.alpha
        )
        return float(to_host(value))
    # Weighted: the kernel's weighted mean, as a full-data step would see it.
    W = from_host(problem.W, placement, dtype)
    plan = make_plan(config.activation, config.loss)
    with on_device(placement):
        value, _ = value_and_grad(placement.xp, params, X, Y, plan, config.alpha, W)
    return float(to_host(value))


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
        backend=run.backend,
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
