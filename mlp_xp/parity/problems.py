"""What every run starts from: the seeded configuration and its host float64 data (parity layer).

Every run starts from the same numbers: the data and the initial weights are
drawn on the host in float64 (:func:`make_problem`), and the batch order comes
from a host generator with the same seed.
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
from ..nn.optimizers import OPTIMIZERS
from ..seeds import host_rng
from ..validation import check_layer_sizes, check_name, check_positive_float, check_positive_int
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
    params = init_params(sizes, seed=config.seed, dtype="float64", backend=HOST_BACKEND)
    return Problem(X, Y, params)
