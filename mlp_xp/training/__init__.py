"""The training layer: one step, the batches of an epoch, the shuffle, and the epoch driver."""

from .loop import Batches, Epoch, Stopping, check_diverged, run_epochs
from .shuffle import SHUFFLES, EpochOrders, batch_order, epoch_order, start_position
from .step import GATHER_BYTES, Step, epoch_loss, epoch_steps, train_step

__all__ = [
    "GATHER_BYTES",
    "SHUFFLES",
    "Batches",
    "Epoch",
    "EpochOrders",
    "Step",
    "Stopping",
    "batch_order",
    "check_diverged",
    "epoch_loss",
    "epoch_order",
    "epoch_steps",
    "run_epochs",
    "start_position",
    "train_step",
]
