"""The options of mlp-xp train, and the defaults that depend on the data set (command line)."""

from __future__ import annotations

import argparse
from typing import Any

from ..backend import Adapter, adapter, adapters
from ..data.tables import MAX_CLASSES, TASKS
from ..nn.activations import HIDDEN_ACTIVATIONS
from ..nn.init import INITS
from ..nn.optimizers import OPTIMIZERS
from .common import add_placement_args, add_table_args

# Settings that differ per built-in data set when the user does not give them.
# bmi is the lecture's network; the rest follow scikit-learn's defaults.
PRESETS: dict[str, dict[str, Any]] = {
    "bmi": {"hidden": [8], "lr": 0.01, "batch_size": 64, "epochs": 200, "tol": 0.0},
    "xor": {"hidden": [4], "lr": 0.05, "batch_size": 32, "epochs": 300, "tol": 0.0},
}
# On a lazy backend (dask) every step pays a scheduler round trip (tens of
# milliseconds; see the README's "Scaling out"), so the lecture's 12,600 steps of
# 64 rows would take many minutes: there bmi takes batches of 1000 rows (200
# steps in all, held-out R^2 0.9994 measured).
LAZY_PRESETS: dict[str, dict[str, Any]] = {
    "bmi": {"hidden": [8], "lr": 0.05, "batch_size": 1000, "epochs": 50, "tol": 0.0},
}
DEFAULTS: dict[str, Any] = {
    "hidden": [100],
    "lr": 1e-3,
    "batch_size": 200,
    "epochs": 200,
    "tol": 1e-4,
}


def _show(value: Any) -> str:
    """A setting as --help writes it: 1e-3 as 0.001, [8, 8] as 8 8."""
    return " ".join(str(v) for v in value) if isinstance(value, list) else f"{value:g}"


def _differing(
    name: str, presets: dict[str, dict[str, Any]], base: dict[str, dict[str, Any]]
) -> str:
    """The data sets whose preset of ``name`` differs from ``base``'s: "8 for bmi, 4 for xor"."""
    by_value: dict[str, list[str]] = {}
    for data, preset in presets.items():
        value = preset.get(name, DEFAULTS[name])
        if value != base.get(data, DEFAULTS).get(name, DEFAULTS[name]):
            by_value.setdefault(_show(value), []).append(data)
    return ", ".join(f"{value} for {' and '.join(sets)}" for value, sets in by_value.items())


def _preset_default(name: str) -> str:
    """The default of a per-data-set setting, for --help: "8 for bmi, 4 for xor, else 100"."""
    eager = _differing(name, PRESETS, {})
    text = f"{eager}, else {_show(DEFAULTS[name])}" if eager else _show(DEFAULTS[name])
    lazy = _differing(name, LAZY_PRESETS, PRESETS)
    if lazy:
        names = " or ".join(a.name for a in adapters() if a.lazy)
        text += f"; on a lazy backend ({names}): {lazy}"
    return text


def add_options(p: argparse.ArgumentParser) -> None:
    """Every option of ``mlp-xp train``, in the order --help lists them."""
    _add_data_args(p)
    _add_network_args(p)
    _add_fit_args(p)
    add_placement_args(p, "auto")
    _add_cluster_args(p)
    _add_output_args(p)


def _add_data_args(p: argparse.ArgumentParser) -> None:
    """--data, --target and --task."""
    p.add_argument(
        "--data",
        default="bmi",
        help=(
            "bmi, xor, digits, a CSV (with header) or .npz file, - for standard input, or "
            "a data set directory (X.npy and y.npy, npy stacks X/ and y/, or a Zarr group; "
            "read lazily on dask) (default: %(default)s)"
        ),
    )
    p.add_argument("--target", default=None, help="the CSV column to predict (default: last)")
    add_table_args(p)
    _add_column_args(p)
    p.add_argument(
        "--task",
        default="auto",
        choices=TASKS,
        help=(
            "what to fit; auto: a built-in data set's own task, else classification when "
            f"the target holds text, or only integers with at most {MAX_CLASSES} distinct "
            "values, and regression otherwise; the summary line says which and why "
            "(default: %(default)s)"
        ),
    )


def _add_column_args(p: argparse.ArgumentParser) -> None:
    """--features, --drop and --categorical: which CSV columns are features, and how."""
    p.add_argument(
        "--features",
        nargs="+",
        default=None,
        metavar="COL",
        help="the CSV columns to train on, in this order; a date or ID column named here is "
        "taken as asked (default: every column but the target and --drop; a column that "
        "looks like a date or an ID is refused)",
    )
    p.add_argument(
        "--drop",
        nargs="+",
        default=[],
        metavar="COL",
        help="CSV columns that are not features, such as ids, dates and free text (default: none)",
    )
    p.add_argument(
        "--categorical",
        nargs="+",
        default=[],
        metavar="COL",
        help="CSV feature columns of categories (text or codes) to one-hot encode; the "
        "categories are recorded in the model, and one it never saw is refused at predict "
        "time (default: none)",
    )


def _add_network_args(p: argparse.ArgumentParser) -> None:
    """The network and its optimizer: sizes, activation, learning rate, batches, seed."""
    p.add_argument(
        "--hidden",
        type=int,
        nargs="+",
        default=None,
        metavar="N",
        help=f"hidden layer sizes, e.g. --hidden 8 8 (default: {_preset_default('hidden')})",
    )
    p.add_argument(
        "--activation",
        default="relu",
        metavar="NAME",
        help=f"hidden activation: one of {', '.join(HIDDEN_ACTIVATIONS)} (default: %(default)s)",
    )
    p.add_argument(
        "--optimizer",
        default="adam",
        metavar="NAME",
        help=f"one of {', '.join(OPTIMIZERS)} (default: %(default)s)",
    )
    p.add_argument(
        "--lr", type=float, default=None, help=f"learning rate (default: {_preset_default('lr')})"
    )
    p.add_argument(
        "--epochs",
        type=int,
        default=None,
        help=(
            "passes over the training rows, in all "
            f"(default: {_preset_default('epochs')}; with --resume, the checkpoint's)"
        ),
    )
    p.add_argument(
        "--batch-size",
        type=int,
        default=None,
        help=f"rows per gradient step (default: {_preset_default('batch_size')})",
    )
    p.add_argument(
        "--alpha",
        type=float,
        default=1e-4,
        help="L2 penalty strength, as scikit-learn's alpha (default: %(default)s)",
    )
    p.add_argument(
        "--init",
        default="glorot_normal",
        metavar="NAME",
        help=f"weight initialisation: one of {', '.join(INITS)} (default: %(default)s)",
    )
    p.add_argument(
        "--seed",
        type=int,
        default=0,
        help="seed of the train/test split, the initial weights and the shuffling "
        "(default: %(default)s)",
    )


def _add_fit_args(p: argparse.ArgumentParser) -> None:
    """Held-out rows, when to stop, scaling and the dtype."""
    p.add_argument(
        "--test-fraction",
        type=float,
        default=0.2,
        help="share of rows held out to report R^2 or accuracy; for classification "
        "each class is held out in its own proportion (stratified) (default: %(default)s)",
    )
    p.add_argument(
        "--val-fraction",
        type=float,
        default=0.1,
        help="share of training rows used for early stopping, stratified for "
        "classification (default: %(default)s)",
    )
    p.add_argument(
        "--early-stopping",
        action="store_true",
        help=(
            "hold out --val-fraction of the training rows, stop when their loss stops "
            "improving and keep the best weights (default: off: the training loss decides "
            "when to stop, and the last weights are kept)"
        ),
    )
    p.add_argument(
        "--class-weight",
        default=None,
        choices=["balanced"],
        help=(
            "classification: weigh each class by n_rows / (n_classes * its rows), as "
            "scikit-learn's class_weight='balanced', so that a rare class counts as much as "
            "a common one (default: every row weighs 1)"
        ),
    )
    p.add_argument(
        "--patience",
        type=int,
        default=10,
        help="epochs without an improvement of more than --tol before training stops "
        "(default: %(default)s)",
    )
    p.add_argument(
        "--tol",
        type=float,
        default=None,
        help=f"the least loss improvement that counts (default: {_preset_default('tol')})",
    )
    p.add_argument(
        "--no-scale",
        action="store_true",
        help="do not standardise X (and y) (default: standardise X, and y for regression)",
    )
    p.add_argument(
        "--dtype",
        default="float32",
        metavar="NAME",
        help="float32 or float64 (default: %(default)s)",
    )
    p.add_argument(
        "--max-memory",
        default=None,
        metavar="SIZE",
        help=(
            "refuse a run whose estimated memory beyond the data exceeds SIZE, e.g. 8GB "
            "or 512MiB (default: what the device has free)"
        ),
    )


def _add_cluster_args(p: argparse.ArgumentParser) -> None:
    """--scheduler, --workers and --memory-limit, for a backend that takes a scheduler."""
    p.add_argument(
        "--scheduler",
        default=None,
        metavar="ADDRESS",
        help=(
            "with --backend dask: 'local' starts a cluster on this machine (loopback only), "
            "tcp://HOST:PORT connects to a running scheduler (default: dask's threads, "
            "in this process)"
        ),
    )
    p.add_argument(
        "--workers",
        type=int,
        default=None,
        metavar="N",
        help="worker processes of --scheduler local (default: one per CPU core)",
    )
    p.add_argument(
        "--memory-limit",
        default=None,
        metavar="SIZE",
        help="memory limit of each --scheduler local worker, e.g. 2GB (default: shared out)",
    )


def _add_output_args(p: argparse.ArgumentParser) -> None:
    """Saving, resuming, plotting and how much to print."""
    p.add_argument(
        "--out",
        default=None,
        help="save the trained model here, .safetensors or .npz; a run that diverges or is "
        "interrupted never writes it (default: not saved)",
    )
    p.add_argument(
        "--checkpoint",
        default=None,
        metavar="PATH",
        help="where an interrupted run (Ctrl-C, SIGTERM, SIGHUP) and --checkpoint-every save "
        "their state (default: beside --out as NAME.checkpoint.npz or .safetensors, else "
        "mlp-xp-checkpoint.safetensors or .npz here)",
    )
    p.add_argument(
        "--checkpoint-every",
        type=int,
        default=None,
        metavar="N",
        help="also save the checkpoint every N epochs, atomically (default: only when "
        "interrupted)",
    )
    p.add_argument(
        "--resume",
        default=None,
        metavar="MODEL",
        help="continue a run from its checkpoint, with the checkpoint's settings; --resume F "
        "--out F continues into the same file (default: start afresh)",
    )
    p.add_argument(
        "--plot",
        default=None,
        metavar="FILE",
        help="draw the loss curves to this .png, .pdf or .svg file, in that format "
        "(default: no plot)",
    )
    verbosity = p.add_mutually_exclusive_group()
    verbosity.add_argument(
        "--quiet",
        action="store_true",
        help="print only the summary line (default: also a progress bar and notes on stderr)",
    )
    verbosity.add_argument(
        "--verbose",
        action="store_true",
        help="print a line per epoch instead of the progress bar, and for classification "
        "per-class precision and recall, balanced accuracy and the confusion matrix after "
        "the summary (default: the bar, on a terminal with tqdm installed)",
    )


def chosen_adapter(args: argparse.Namespace) -> Adapter | None:
    """The adapter of the backend named by --backend, or None for "auto"."""
    if args.backend in (None, "auto"):
        return None
    return adapter(args.backend)


def setting(args: argparse.Namespace, name: str) -> Any:
    """The value of option ``name``: as given, else the preset of --data on this backend."""
    value = getattr(args, name)
    if value is not None:
        return value
    chosen = chosen_adapter(args)
    lazy = chosen is not None and chosen.lazy and args.data in LAZY_PRESETS
    presets = LAZY_PRESETS if lazy else PRESETS
    return presets.get(args.data, DEFAULTS).get(name, DEFAULTS[name])
