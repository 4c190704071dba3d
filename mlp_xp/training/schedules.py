"""Learning-rate schedules: the rate of each epoch, decided on the host (training layer).

The estimators' ``schedule`` parameter names one of these; ``learning_rate`` stays
the initial (or constant) rate.  Each is a rule over the epoch number and the
samples seen so far, except ``adaptive``, which reacts to the stopping rule:

* ``constant``: the same rate every epoch.
* ``invscaling``: scikit-learn's ``learning_rate="invscaling"``: after ``t``
  samples have been seen the rate is ``learning_rate / (t + 1) ** power_t``, so
  the first epoch runs at ``learning_rate`` and the next ones decay with the
  number of rows trained on.
* ``adaptive``: scikit-learn's ``learning_rate="adaptive"``: the rate is kept
  while the watched loss improves; when the stopping rule would stop
  (``patience`` epochs without a ``tol`` improvement) the rate is divided by 5
  and the patience count starts again, until the rate falls to 1e-6 or below.
* ``cosine``: cosine decay from ``learning_rate`` to 0 over ``epochs`` epochs,
  ``learning_rate * (1 + cos(pi * e / epochs)) / 2`` in epoch ``e`` (0-based).

The rate in force (``lr``) and the samples seen (``seen``) live in the training
state a checkpoint saves, so that a resumed run continues the same schedule.
Unlike scikit-learn, which applies the schedules to its ``sgd`` solver only,
every optimizer here follows the schedule (Keras's convention).
"""

from __future__ import annotations

import functools
import math
from typing import Any

from ..nn.optimizers import OPTIMIZERS, Optimizer

SCHEDULES: tuple[str, ...] = ("constant", "invscaling", "adaptive", "cosine")
"""Every schedule by name."""

ADAPTIVE_FLOOR = 1e-6
"""``adaptive`` stops dividing (and lets training stop) once the rate is at or below this."""


def start_schedule(state: dict[str, Any], learning_rate: float) -> None:
    """Set a new run's schedule state: the initial rate, no samples seen."""
    state["lr"] = float(learning_rate)
    state["seen"] = 0


def epoch_rate(
    name: str,
    state: dict[str, Any],
    *,
    learning_rate: float,
    power_t: float,
    epoch: int,
    epochs: int,
) -> float:
    """The learning rate of 0-based ``epoch`` out of ``epochs``, under schedule ``name``."""
    if name == "invscaling":
        return learning_rate / (int(state.get("seen", 0)) + 1) ** power_t
    if name == "adaptive":
        return float(state.get("lr", learning_rate))
    if name == "cosine":
        return learning_rate * 0.5 * (1.0 + math.cos(math.pi * min(epoch, epochs) / epochs))
    return learning_rate


@functools.lru_cache(maxsize=64)
def optimizer_at(name: str, learning_rate: float) -> Optimizer:
    """The optimizer ``name`` at ``learning_rate``, made once per rate (the latest 64).

    Optimizers are immutable, so epochs at one rate share one: making Adam anew
    every epoch took 2 us of the lecture network's 0.4 ms epoch.
    """
    return OPTIMIZERS[name](learning_rate)


def after_epoch(state: dict[str, Any], rows: int) -> None:
    """Count an epoch's rows as seen (``invscaling`` decays with them)."""
    state["seen"] = int(state.get("seen", 0)) + int(rows)


def adapt(name: str, state: dict[str, Any], stop: bool) -> bool:
    """Whether to stop, once the stopping rule has said ``stop``.

    Under ``adaptive`` a stop divides the rate by 5 and restarts the patience
    count instead, while the rate is above :data:`ADAPTIVE_FLOOR`.
    """
    if not stop or name != "adaptive":
        return stop
    if float(state["lr"]) <= ADAPTIVE_FLOOR:
        return True
    state["lr"] = float(state["lr"]) / 5.0
    state["bad_epochs"] = 0
    return False
