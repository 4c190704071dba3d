"""The training layer: one step, the batches of an epoch, the shuffle, and the training driver."""

from .callbacks import Callbacks, check_callbacks, run_callbacks
from .compiled import compilations
from .driver import Batches, Driver, Epoch, Observer, Run
from .observers import (
    Divergence,
    Schedule,
    Stopping,
    StoppingRule,
    check_diverged,
    start_stopping,
)
from .schedules import SCHEDULES, adapt, after_epoch, epoch_rate, optimizer_at, start_schedule
from .shuffle import (
    SHUFFLES,
    EpochOrders,
    batch_order,
    epoch_order,
    shuffle_start,
    start_position,
)
from .step import GATHER_BYTES, Data, Prepare, Step, epoch_loss, train_step
from .strategies import Compiled, Eager, Lazy, choose_strategy

__all__ = [
    "GATHER_BYTES",
    "SCHEDULES",
    "SHUFFLES",
    "Batches",
    "Callbacks",
    "Compiled",
    "Data",
    "Divergence",
    "Driver",
    "Eager",
    "Epoch",
    "EpochOrders",
    "Lazy",
    "Observer",
    "Prepare",
    "Run",
    "Schedule",
    "Step",
    "Stopping",
    "StoppingRule",
    "adapt",
    "after_epoch",
    "batch_order",
    "check_callbacks",
    "check_diverged",
    "choose_strategy",
    "compilations",
    "epoch_loss",
    "epoch_order",
    "epoch_rate",
    "optimizer_at",
    "run_callbacks",
    "shuffle_start",
    "start_position",
    "start_schedule",
    "start_stopping",
    "train_step",
]
