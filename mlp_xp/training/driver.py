"""The training driver: epochs of one strategy, and the observers that watch them (training layer).

``fit``, ``partial_fit``, a resume, ``verify``'s replay (which refits) and the
parity suite all train through :class:`Driver`.  It takes the step's settings
(the plan, alpha), the data, how the batches are cut (:class:`Batches`) and an
execution strategy chosen from the backend's capabilities
(:mod:`mlp_xp.training.strategies`: eager, lazy or compiled), and calls its
observers around each epoch, as Keras calls a ``Callback`` and Lightning its
hooks:

* ``on_epoch_begin(run)``: before the epoch; a learning-rate schedule sets
  ``run.optimizer`` here (:class:`~mlp_xp.training.observers.Schedule`);
* ``on_step_end(run, step)``: after every step, only for observers that define
  it (the parity suite); True ends the run there, mid-epoch;
* ``on_epoch_end(run, epoch)``: after a complete epoch, in order: the
  divergence check, the schedule's count, the stopping rule, the estimator's
  history and provenance, the user's callbacks and checkpoints.  True asks
  the driver to stop after this epoch; every observer still sees it.

An epoch's losses are read back to the host once, when an observer first asks
for them (:attr:`Epoch.loss`), never per step.  A run is committed epoch by
epoch: an interrupted or diverged run keeps the last complete epoch.
"""

from __future__ import annotations

from collections.abc import Generator, Sequence
from typing import Any, NamedTuple

from ..backend import Placement, floating_point_errors_ignored, full_precision, to_host
from ..nn.layers import Params
from ..nn.optimizers import Optimizer, State
from ..nn.plan import Plan
from .compiled import EpochResult
from .shuffle import EpochOrders
from .step import Data, Step, epoch_loss
from .strategies import OnStep, Strategy, choose_strategy


class Batches(NamedTuple):
    """How an epoch cuts the data: batch size, shuffle mode and its starting position."""

    size: int
    shuffle: str | None
    position: dict[str, Any]


class Run:
    """What the driver shows its observers: the epoch under way and its optimizer.

    ``epoch`` counts from 0 in this run (a resumed fit adds the epochs before);
    ``optimizer`` and ``learning_rate`` are set by a schedule in
    ``on_epoch_begin`` (or stay the driver's own); ``order`` and ``batches`` are
    the epoch's shuffle (:class:`~mlp_xp.training.shuffle.EpochOrders`).
    """

    __slots__ = ("batches", "epoch", "epochs", "learning_rate", "optimizer", "order", "rows")

    def __init__(self, epochs: int, rows: int, optimizer: Optimizer | None) -> None:
        self.epoch = 0
        self.epochs = epochs
        self.rows = rows
        """The rows an epoch trains on."""
        self.optimizer = optimizer
        self.learning_rate: float | None = None
        self.order: Any = None
        self.batches: Any = None


class Epoch:
    """One complete epoch: its weights, optimizer state, shuffle position and losses.

    ``loss`` (the mean training loss per sample, with the L2 term) and
    ``val_loss`` (the validation loss without it, or None without a validation
    set) are read back to the host together: at once when ``read`` (an
    observer reads them), else when first asked for.
    """

    __slots__ = ("_has_val", "_result", "loss", "params", "position", "state", "steps", "val_loss")

    loss: float
    val_loss: float | None

    def __init__(
        self, result: EpochResult, position: dict[str, Any], has_val: bool, read: bool
    ) -> None:
        self.params: Params = result.params
        self.state: State = result.state
        self.position = position
        """The shuffle position after this epoch, for a checkpoint."""
        self.steps = result.layout.batches
        """How many optimizer steps (mini-batches) the epoch took."""
        self._result, self._has_val = result, has_val
        if read:
            self._read()

    def _read(self) -> None:
        """The epoch's one read-back: its batch losses (and weight sums) and validation loss."""
        result = self._result
        values = to_host(result.values).tolist()
        n, block = result.layout.batches, result.layout.slots
        rows = values[block : block + n] if result.rows is None else list(result.rows)
        self.loss = epoch_loss(values[:n], rows)
        self.val_loss = float(values[-1]) if self._has_val else None

    def __getattr__(self, name: str) -> Any:
        # Called only while ``loss`` and ``val_loss`` are unset (not read yet).
        if name not in ("loss", "val_loss"):
            raise AttributeError(name)
        self._read()
        return getattr(self, name)


class Observer:
    """An extension point of the driver; every hook is optional (see the module's text)."""

    reads_losses: bool = True
    """Whether ``on_epoch_end`` reads the epoch's losses; a driver whose observers
    all say False reads nothing back (the parity suite's constant schedules)."""

    def on_epoch_begin(self, run: Run) -> None:
        """Before an epoch."""

    def on_step_end(self, run: Run, step: Step) -> bool | None:
        """After a step (only called on observers that define it); True ends the run."""
        return None

    def on_epoch_end(self, run: Run, epoch: Epoch) -> bool | None:
        """After a complete epoch; True stops training after it."""
        return None


def _defines(observer: Observer, hook: str) -> bool:
    """Whether ``observer`` defines ``hook`` (the driver calls no hook that does nothing)."""
    return getattr(type(observer), hook) is not getattr(Observer, hook)


class Driver:
    """Trains epochs of one execution strategy, calling its observers.

    Parameters
    ----------
    placement : Placement
        Where the data and the weights live.
    data : Data
        What the epochs train on (and the validation set, if any).
    plan, alpha
        The step: the network's plan and the L2 penalty.
    batches : Batches
        The batch size, the shuffle mode and its starting position.
    observers : sequence of Observer
        Called in order around every epoch.
    optimizer : Optimizer, optional
        The optimizer of every epoch when no observer sets one (no schedule).
    compiled : bool
        Train in compiled epochs where the backend compiles (False: step by step).
    """

    def __init__(
        self,
        placement: Placement,
        data: Data,
        *,
        plan: Plan,
        alpha: float,
        batches: Batches,
        observers: Sequence[Observer] = (),
        optimizer: Optimizer | None = None,
        compiled: bool = True,
    ) -> None:
        self.placement, self.batches = placement, batches
        self.rows = data.n_rows
        self.has_val = data.X_val is not None
        self.observers = tuple(observers)
        self.watchers = tuple(o for o in self.observers if _defines(o, "on_step_end"))
        self.openers = tuple(o for o in self.observers if _defines(o, "on_epoch_begin"))
        self.reads = any(o.reads_losses for o in self.observers)
        self.optimizer = optimizer
        self.strategy: Strategy = choose_strategy(
            placement,
            data,
            plan=plan,
            batch_size=batches.size,
            alpha=alpha,
            compiled=compiled,
            trace=bool(self.watchers),
        )

    def run(self, params: Params, state: State, epochs: int) -> Run:
        """Train up to ``epochs`` epochs, until an observer asks to stop."""
        stepping = self._epochs(params, state, epochs)
        with floating_point_errors_ignored(self.placement):
            try:
                for _ in stepping:
                    if self._stop:
                        break
            finally:
                stepping.close()  # ends the shuffle's helper thread now
        return self._run

    def epochs(self, params: Params, state: State, epochs: int) -> Generator[Epoch, None, None]:
        """Yield each of ``epochs`` epochs, whatever the observers ask: the caller stops.

        Every scope is entered and left within each epoch, so that runs of
        several drivers may be interleaved (the parity suite steps them in
        lockstep): a scope held across a yield would be restored out of order.
        """
        stepping = self._epochs(params, state, epochs)
        try:
            while True:
                with floating_point_errors_ignored(self.placement):
                    epoch = next(stepping, None)
                if epoch is None:
                    return
                yield epoch
        finally:
            stepping.close()

    def _epochs(self, params: Params, state: State, epochs: int) -> Generator[Epoch, None, None]:
        """The one epoch loop: shuffle, observers, the strategy's epoch, observers."""
        placement, batches, strategy = self.placement, self.batches, self.strategy
        observers, openers = self.observers, self.openers
        run = self._run = Run(epochs, self.rows, self.optimizer)
        self._stop = False
        on_step = self._on_step(run)
        orders = EpochOrders(batches.position, self.rows, batches.size, batches.shuffle, epochs)
        with orders:
            for index in range(epochs):
                run.epoch = index
                run.order, run.batches, position = orders.next()
                for observer in openers:
                    observer.on_epoch_begin(run)
                optimizer = run.optimizer
                if optimizer is None:
                    msg = "no optimizer for the epoch: pass one, or an observer that sets it"
                    raise ValueError(msg)
                # Entered and left within the epoch: a scope held across a yield
                # would be restored out of order by interleaved generators.
                with full_precision(placement):
                    result = strategy.epoch(
                        params, state, optimizer, run.order, run.batches, on_step
                    )
                if result is None:  # a step observer ended the run mid-epoch
                    return
                params, state = result.params, result.state
                epoch = Epoch(result, position, self.has_val, self.reads)
                stop = False
                for observer in observers:
                    if observer.on_epoch_end(run, epoch):
                        stop = True
                self._stop = stop
                yield epoch

    def _on_step(self, run: Run) -> OnStep | None:
        """One callable for the step observers, or None when none watches the steps."""
        watchers = self.watchers
        if not watchers:
            return None

        def on_step(step: Step) -> bool:
            ended = False
            for observer in watchers:
                if observer.on_step_end(run, step):
                    ended = True
            return ended

        return on_step
