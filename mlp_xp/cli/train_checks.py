"""What ``mlp-xp train`` checks before it trains: options that apply, files, memory (command line).

Everything here runs before the first allocation of the network, so that a
run that cannot succeed, or that would lose a file, stops at once with one line.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from ..backend import FLOAT_DTYPES, Placement
from ..estimators.memory import check_fit_memory
from ..plotting import PLOT_FORMATS
from ..validation import check_name, check_nonnegative_int
from .common import UsageError, is_table
from .paths import (
    MODEL_SUFFIXES,
    beside,
    check_output,
    check_outputs,
    default_checkpoint,
    refuse_overwriting_inputs,
    same_file,
)
from .resume import given


class TrainFiles(NamedTuple):
    """Where a run writes: the model, its checkpoint, and a diverged run's last weights."""

    out: str | None
    checkpoint: str
    """Interrupted and periodic checkpoints: never over a finished model at ``out``."""
    diverged: str | None
    """A diverged run's last finite weights, beside ``out``; None without ``out``."""


def check_options(args: argparse.Namespace) -> None:
    """Refuse options that do not apply to this run, or a dtype there is not, naming them."""
    check_name("dtype", args.dtype, FLOAT_DTYPES)  # before the data is read in it
    check_nonnegative_int("seed", args.seed)  # before the held-out rows are drawn with it
    source = str(args.data)
    if args.target is not None and not is_table(source):
        raise UsageError(f"--target applies to CSV files only; --data {source} has its own target")
    for flag, value in (
        ("--features", args.features),
        ("--drop", args.drop),
        ("--categorical", args.categorical),
    ):
        if value and not is_table(source):
            raise UsageError(
                f"{flag} applies to CSV files only; --data {source} has no column names"
            )
    if args.features is not None and args.drop:
        raise UsageError("--features and --drop both choose the feature columns; give one of them")
    if "val_fraction" in given(args) and not args.early_stopping:
        raise UsageError("--val-fraction applies with --early-stopping only")
    if args.checkpoint_every is not None and args.checkpoint_every < 1:
        raise UsageError(f"--checkpoint-every must be at least 1, got {args.checkpoint_every}")


def plan_files(args: argparse.Namespace) -> TrainFiles:
    """Check every output before any work, and choose the checkpoint path.

    The checkpoint goes to ``--checkpoint``, else beside ``--out``
    (``m.checkpoint.npz``), else to ``mlp-xp-checkpoint.*`` here; with
    ``--resume F --out F`` it is F itself, the same run's file.  An existing
    checkpoint that is not the one being resumed is refused rather than replaced.
    """
    out, resume = args.out, args.resume
    check_outputs([("--out", out, MODEL_SUFFIXES), ("--plot", args.plot, PLOT_FORMATS)])
    if args.checkpoint is not None:  # it may be --out, when that is --resume (below)
        check_output("--checkpoint", args.checkpoint, MODEL_SUFFIXES)
    data = ("--data", str(args.data))
    refuse_overwriting_inputs([("--out", out), ("--checkpoint", args.checkpoint)], [data])
    refuse_overwriting_inputs([("--plot", args.plot)], [data, ("--resume", resume)])
    if args.checkpoint is not None:
        checkpoint = args.checkpoint
    elif out is not None and same_file(out, resume):
        checkpoint = out
    elif out is not None:
        checkpoint = beside(out, "checkpoint")
    else:
        checkpoint = default_checkpoint()
    if args.checkpoint is None and not same_file(checkpoint, out):
        _check_implicit_checkpoint(checkpoint, beside_out=out is not None)
    if same_file(checkpoint, out) and not same_file(out, resume):
        raise UsageError(
            f"--checkpoint {checkpoint} is also --out: a checkpoint never goes over the "
            "finished model; give another file"
        )
    if Path(checkpoint).exists() and not same_file(checkpoint, resume):
        msg = (
            f"the checkpoint file {checkpoint} exists already, from an earlier run: continue "
            f"that run with --resume {checkpoint}, remove the file, or give --checkpoint PATH"
        )
        raise UsageError(msg)
    return TrainFiles(out, checkpoint, None if out is None else beside(out, "diverged"))


def _check_implicit_checkpoint(path: str, beside_out: bool) -> None:
    """The checkpoint no option named (beside --out, or here) is checked as every output is.

    A run that could not save it would lose its epochs to Ctrl-C or SIGTERM.

    Raises
    ------
    UsageError
        Saying where it would go, why it cannot, and how to choose another place.
    """
    label = "the checkpoint"
    try:
        check_output(label, path, MODEL_SUFFIXES)
    except UsageError as exc:
        reason = str(exc).removeprefix(f"{label} {path}: ").split(";")[0]
        where = "beside --out" if beside_out else "in the current directory"
        msg = (
            f"{label} {path}, where an interrupted run saves its state ({where}): {reason}; "
            "give --checkpoint PATH in a writable directory"
        )
        raise UsageError(msg) from None


def batch_size_note(args: argparse.Namespace, n_rows: int) -> bool:
    """Say when an explicit --batch-size is more than the training rows (the default is capped)."""
    if "batch_size" in given(args) and args.batch_size is not None and args.batch_size > n_rows:
        print(
            f"mlp-xp: note: --batch-size {args.batch_size} is more than the {n_rows} training "
            f"rows; each step uses all {n_rows}",
            file=sys.stderr,
        )
        return True
    return False


def _outputs(y: Any, task: str) -> int:
    """Output units of the network for targets ``y``."""
    if task == "classification":
        classes = int(np.unique(np.asarray(y)).size)
        return 1 if classes <= 2 else classes
    return 1 if np.ndim(y) == 1 else int(np.shape(y)[1])


def check_memory(placement: Placement, model: Any, X: Any, y: Any, task: str) -> None:
    """Refuse a run whose estimated memory is more than the device has free, before allocating.

    The estimate and the limit are the estimator's own
    (:func:`mlp_xp.estimators.memory.fit_memory`, built on
    :func:`mlp_xp.estimators.memory.estimate_fit_bytes`): what fit allocates beyond the
    data (per chunk for lazy data), against ``--max-memory`` or the free memory.

    Raises
    ------
    UsageError
        With the estimate and the limit, in bytes.
    """
    hidden = tuple(int(h) for h in model.hidden_layer_sizes)
    batch = int(model.batch_size)
    if any(h < 1 for h in hidden) or batch < 1:
        return  # the estimator refuses these, with its own message
    fitted = model.__sklearn_is_fitted__()
    dtype = str(model.fitted_model().network.dtype if fitted else model.dtype)
    try:
        check_fit_memory(model, X, _outputs(y, task), placement, dtype, hidden)
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def stratified_validation(model: Any) -> bool:
    """Whether fit draws early stopping's validation rows class by class (as it records)."""
    return bool(model.early_stopping) and model.validation_split_method == "stratified"


def epochs_done(model: Any) -> int:
    """The epochs a model has trained (0 before it has weights)."""
    return model.fitted_model().training.n_epochs if model.__sklearn_is_fitted__() else 0
