"""The training layer: one step, the batches of an epoch, the shuffle, and the epoch driver."""

from .callbacks import check_callbacks, run_callbacks
from .compiled import compilations
from .loop import Batches, Epoch, Stopping, check_diverged, run_epochs
from .schedules import SCHEDULES, adapt, after_epoch, epoch_rate, start_schedule
from .shuffle import SHUFFLES, EpochOrders, batch_order, epoch_order, start_position
from .step import GATHER_BYTES, Data, Prepare, Step, epoch_loss, epoch_steps, train_step

__all__ = [
    "GATHER_BYTES",
    "SCHEDULES",
    "SHUFFLES",
    "Batches",
    "Data",
    "Epoch",
    "EpochOrders",
    "Prepare",
    "Step",
    "Stopping",
    "adapt",
    "after_epoch",
    "batch_order",
    "check_callbacks",
    "check_diverged",
    "compilations",
    "epoch_loss",
    "epoch_order",
    "epoch_rate",
    "epoch_steps",
    "run_callbacks",
    "run_epochs",
    "start_position",
    "start_schedule",
    "train_step",
]
