"""What every run starts from: the seeded configuration and its host float64 data (parity layer).

Every run starts from the same numbers: the data and the initial weights are
drawn on the host in float64 (:func:`make_problem`, or
:func:`~mlp_xp.parity.user_data.problem_from_data` for the user's own data),
and the batch order comes from the host generator ``fit`` shuffles with for the
same seed (:func:`mlp_xp.training.shuffle_start`).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from ..backend import HOST_BACKEND
from ..data.builtin import make_bmi
from ..nn.activations import HIDDEN_ACTIVATIONS
from ..nn.init import init_params
from ..nn.layers import Params
from ..nn.losses import LOSSES
from ..nn.optimizers import OPTIMIZERS
from ..seeds import host_rng
from ..validation import (
    arg_setting,
    check_layer_sizes,
    check_name,
    check_nonnegative_float,
    check_nonnegative_int,
    check_positive_float,
    check_positive_int,
)
from .tolerance import tolerance

DEFAULT_LEARNING_RATES: dict[str, float] = {
    "sgd": 0.05,
    "momentum": 0.05,
    "nesterov": 0.05,
    "adam": 0.01,
}
"""The learning rate of each optimizer when none is given."""

REFERENCE = f"{HOST_BACKEND}:cpu float64"
"""Where the reference run is computed: on the host, in float64."""

DEFAULT_SAMPLES = 1000
"""The rows of a built-in problem when ``n_samples`` is None."""


@dataclass(frozen=True)
class ParityConfig:
    """One seeded training run, as every backend repeats it.

    The default is the lecture's BMI network: 2 inputs (height, weight), 8 ReLU
    hidden units and 1 output, trained with the lecture's half squared error.
    With the user's own data (``check(config, data=(X, y))``) the data replace
    the built-in problem, and ``layer_sizes`` must start with X's features and
    end with the encoded targets' columns.

    Attributes
    ----------
    layer_sizes : tuple of int
        ``(n_in, hidden..., n_out)``.  Without user data, ``(2, ..., 1)``
        trains on the BMI data and other sizes on a synthetic regression (see
        :func:`make_problem`).
    activation : {"relu", "sigmoid", "tanh", "identity"}
        The hidden activation; the output is the loss's matched one.
    optimizer : {"sgd", "momentum", "nesterov", "adam"}
    learning_rate : float or None
        None picks ``DEFAULT_LEARNING_RATES[optimizer]``.
    steps : int
        Mini-batch steps K, over as many shuffled epochs as they need.
    batch_size : int
        Rows per step; the last batch of an epoch may be smaller.
    n_samples : int or None
        Rows of training data: the first ``n_samples`` rows of user data, all of
        them when None; a built-in problem draws ``DEFAULT_SAMPLES`` when None.
    seed : int
        Seeds the data, the initial weights and the batch order.
    loss : {"squared_error", "binary_cross_entropy", "cross_entropy"}
        With its matched output: identity, sigmoid, softmax.  The built-in
        problems are regressions (squared error); the cross-entropies need user
        data with class labels, encoded as :class:`mlp_xp.MLPClassifier` does.
    alpha : float
        The L2 penalty ``alpha / (2 n) * sum ||W||^2`` of a batch of n rows, as
        the estimators' ``alpha``; 0 adds none.
    scale : bool
        Standardise X, and the targets of a squared error, on the host in
        float64, as the estimators do (a constant column is left unscaled).
    source : str or None
        Where the user's data came from (a file, a data set's name), or None
        for the built-in problems; :func:`~mlp_xp.parity.check` sets
        ``"user data"`` when data come without a name.
    sample_weight : bool
        Weigh the rows with integer weights 0 to 3 drawn from ``seed`` (as
        ``fit(X, y, sample_weight=...)`` does: each batch's loss is its weighted
        mean, the L2 term divided by its weight sum).
    schedule : {"constant", "invscaling", "adaptive", "cosine"}
        The learning-rate schedule over the run's epochs, as the estimators'
        ``schedule``: the run goes through the training driver ``fit`` uses,
        with its schedule observer (and, for ``"adaptive"``, its stopping rule,
        which divides the rate where ``fit`` would stop; a parity run always
        trains its ``steps``).
    power_t : float
        The exponent of ``"invscaling"``, as the estimators' ``power_t``.
    tol, patience : float, int
        The stopping rule's, as the estimators' (``"adaptive"`` follows it).
    """

    layer_sizes: tuple[int, ...] = (2, 8, 1)
    activation: str = "relu"
    optimizer: str = "sgd"
    learning_rate: float | None = None
    steps: int = 200
    batch_size: int = 100
    n_samples: int | None = None
    seed: int = 0
    loss: str = "squared_error"
    alpha: float = 0.0
    scale: bool = True
    source: str | None = None
    sample_weight: bool = False
    schedule: str = "constant"
    power_t: float = 0.5
    tol: float = 1e-4
    patience: int = 10

    def validated(self) -> ParityConfig:
        """The same configuration with checked values and the learning rate filled in."""
        sizes = check_layer_sizes(self.layer_sizes)
        check_name("activation", self.activation, HIDDEN_ACTIVATIONS)
        check_name("optimizer", self.optimizer, OPTIMIZERS)
        check_name("loss", self.loss, LOSSES)
        lr = self.learning_rate
        rate = DEFAULT_LEARNING_RATES.get(self.optimizer, 0.01) if lr is None else lr
        rows = DEFAULT_SAMPLES if self.n_samples is None else self.n_samples
        n = check_positive_int("n_samples", rows)
        batch = check_positive_int("batch_size", self.batch_size)
        if batch > n:
            larger = (
                f"{arg_setting('batch_size', batch)} is larger than {arg_setting('n_samples', n)}"
            )
            msg = f"{larger}; use at most {n}"
            raise ValueError(msg)
        check_nonnegative_int("seed", self.seed)
        if not isinstance(self.scale, bool):
            msg = f"scale must be True or False, got {self.scale!r}"
            raise TypeError(msg)
        if not isinstance(self.sample_weight, bool):
            msg = f"sample_weight must be True or False, got {self.sample_weight!r}"
            raise TypeError(msg)
        check_name("schedule", self.schedule, PARITY_SCHEDULES)
        if self.source is not None and (not isinstance(self.source, str) or not self.source):
            msg = f"source must be None or a non-empty name of the data, got {self.source!r}"
            raise ValueError(msg)
        return dataclasses.replace(
            self,
            layer_sizes=sizes,
            learning_rate=check_positive_float("learning_rate", rate),
            steps=check_positive_int("steps", self.steps),
            batch_size=batch,
            n_samples=n,
            alpha=check_nonnegative_float("alpha", self.alpha),
            power_t=check_nonnegative_float("power_t", self.power_t),
            tol=check_nonnegative_float("tol", self.tol),
            patience=check_positive_int("patience", self.patience),
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
        """One line: network, loss, optimizer, steps and data."""
        sizes = "-".join(str(s) for s in self.layer_sizes)
        output = LOSSES[self.loss].matched_output or "identity"
        penalty = f", L2 alpha {self.alpha:g}" if self.alpha else ""
        schedule = "" if self.schedule == "constant" else f", {self.schedule} schedule"
        weights = ", weighted rows" if self.sample_weight else ""
        return (
            f"layers {sizes}, {self.activation}, {self.loss} loss ({output} output){penalty}, "
            f"{self.optimizer} (learning rate {self.learning_rate:g}{schedule}){weights}, "
            f"{self.steps} steps of "
            f"batch {self.batch_size} from {self.n_samples} shuffled {self._data()}, "
            f"seed {self.seed}"
        )

    def _data(self) -> str:
        """Which data, and how they were scaled: "BMI samples", "samples of digits (...)"."""
        if self.source is None:
            data = "BMI" if _is_bmi(self.layer_sizes) else "synthetic regression"
            return f"{data} samples" + ("" if self.scale else " (not standardised)")
        if not self.scale:
            scaled = "not standardised"
        elif self.loss == "squared_error":
            scaled = "X and y standardised"
        else:
            scaled = "X standardised"
        return f"samples of {self.source} ({scaled})"


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
    W: np.ndarray | None = None
    """Sample weights, shape (n_samples, 1), or None when every row counts the same."""


PARITY_SCHEDULES: tuple[str, ...] = ("constant", "invscaling", "adaptive", "cosine")
"""The learning-rate schedules a parity run can follow (see :class:`ParityConfig`)."""


def sample_weights(config: ParityConfig, n: int) -> np.ndarray | None:
    """The run's row weights: integers 0 to 3 from the seed, or None when not weighted."""
    if not config.sample_weight:
        return None
    w = np.random.default_rng([int(config.seed), 7]).integers(0, 4, size=(n, 1)).astype(np.float64)
    w[0, 0] = max(w[0, 0], 1.0)  # never all zero
    return w


def make_problem(config: ParityConfig) -> Problem:
    """The data and initial weights of a built-in problem, on the host in float64.

    ``(2, ..., 1)`` networks get the lecture's BMI data (height, weight -> BMI);
    other sizes get inputs drawn from N(0, 1) and targets from a random tanh
    network with 16 hidden units.  Inputs and targets are standardised (unless
    ``config.scale`` is False), so the loss starts near 1/2 per output whatever
    the sizes.  Both are regressions: ``config.loss`` must be squared error.
    """
    config = config.validated()
    if config.source is not None:
        msg = (
            f"config.source={config.source!r} names user data, which make_problem does not "
            "have; pass it as check(config, data=(X, y)) or to problem_from_data"
        )
        raise ValueError(msg)
    if config.loss != "squared_error":
        msg = (
            f"{arg_setting('loss', config.loss)} needs class labels, and the built-in problems "
            f"are regressions; use {arg_setting('loss', 'squared_error')}, or your own data "
            "with class labels"
        )
        raise ValueError(msg)
    sizes = config.layer_sizes
    n = int(config.n_samples or DEFAULT_SAMPLES)
    if _is_bmi(sizes):
        X, y = make_bmi(n, seed=config.seed)
        Y = y[:, None]
    else:
        rng = host_rng(config.seed)
        X = rng.normal(size=(n, sizes[0]))
        A = rng.normal(size=(sizes[0], 16)) / math.sqrt(sizes[0])
        B = rng.normal(size=(16, sizes[-1]))
        Y = np.tanh(X @ A) @ B
    if config.scale:
        X, Y = standardise(X), standardise(Y)
    params = init_params(sizes, seed=config.seed, dtype="float64", backend=HOST_BACKEND)
    return Problem(X, Y, params, sample_weights(config, n))


def standardise(a: np.ndarray) -> np.ndarray:
    """Columns of ``a`` (host float64) less their mean, over their standard deviation.

    A constant column has standard deviation 0 and is only centred, as the
    estimators' scaler leaves it.
    """
    std = a.std(axis=0)
    return (a - a.mean(axis=0)) / np.where(std > 0, std, 1.0)
