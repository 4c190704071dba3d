"""``mlp-xp train``: train on a built-in data set, a CSV or an .npz file.

With no arguments it trains the lecture's example, BMI from (height, weight)
with 8 ReLU hidden units, on the best available backend, and prints one
summary line.

With ``--backend dask`` it also reads data set directories lazily (``X.npy`` and
``y.npy``, npy stacks, or a Zarr group; see ``mlp_xp.cluster.sources``) and trains on
a cluster: ``--scheduler local --workers N`` starts one on this machine,
``--scheduler tcp://HOST:PORT`` connects to a running one.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from ..backend import adapters, resolve
from ..data.fingerprint import fingerprint_array
from ..data.tables import Dataset, infer_task, same_data, split
from ..errors import DivergenceError
from ..estimators import MLPClassifier, MLPRegressor, load
from .common import UsageError, description, read_data
from .train_options import add_options, chosen_adapter, setting


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``train`` to the ``mlp-xp`` parser."""
    p = sub.add_parser(
        "train",
        help="train a model (default: the lecture's BMI example)",
        description=description(__doc__),
    )
    add_options(p)
    p.set_defaults(func=run)


def _check_cluster_args(args: argparse.Namespace) -> None:
    """--scheduler, --workers and --memory-limit: together, and where a scheduler fits."""
    chosen = chosen_adapter(args)
    if args.scheduler is not None and (chosen is None or not chosen.needs_scheduler):
        takers = " or ".join(a.name for a in adapters() if a.needs_scheduler)
        msg = f"--scheduler needs --backend {takers}, not --backend {args.backend}"
        raise UsageError(msg)
    for flag, value in (("--workers", args.workers), ("--memory-limit", args.memory_limit)):
        if value is not None and args.scheduler != "local":
            msg = f"{flag} applies to --scheduler local only (a cluster started here)"
            raise UsageError(msg)
    if args.workers is not None and args.workers < 1:
        msg = f"--workers must be at least 1, got {args.workers}"
        raise UsageError(msg)


def _cluster(args: argparse.Namespace) -> contextlib.AbstractContextManager[Any]:
    """A dask client around the run when --scheduler is given."""
    if args.scheduler is None:
        return contextlib.nullcontext()
    from ..cluster.client import dask_client

    return dask_client(args.scheduler, workers=args.workers, memory_limit=args.memory_limit)


def _load(args: argparse.Namespace) -> Dataset:
    """The data set: in host memory, or lazily from a directory on a lazy backend (dask)."""
    chosen = chosen_adapter(args)
    return read_data(args.data, args.target, lazy=chosen is not None and chosen.reads_lazy_sources)


def _build(args: argparse.Namespace, task: str) -> MLPRegressor | MLPClassifier:
    cls = MLPClassifier if task == "classification" else MLPRegressor
    return cls(
        hidden_layer_sizes=tuple(setting(args, "hidden")),
        activation=args.activation,
        optimizer=args.optimizer,
        learning_rate=setting(args, "lr"),
        batch_size=setting(args, "batch_size"),
        epochs=setting(args, "epochs"),
        seed=args.seed,
        alpha=args.alpha,
        early_stopping=args.early_stopping,
        validation_fraction=args.val_fraction,
        patience=args.patience,
        tol=setting(args, "tol"),
        init=args.init,
        scale=not args.no_scale,
        dtype=args.dtype,
        backend=args.backend,
        device=args.device,
    )


class _Progress:
    """A tqdm bar with the epoch, loss and validation loss; off when not on a terminal."""

    def __init__(self, total: int, start: int, quiet: bool, verbose: bool) -> None:
        self.verbose = verbose
        self.bar = None
        if not quiet and not verbose and importlib.util.find_spec("tqdm") is not None:
            from tqdm import tqdm

            # disable=None turns the bar off when stderr is not a terminal.
            self.bar = tqdm(
                total=total,
                initial=start,
                unit="epoch",
                disable=None,
                file=sys.stderr,
                dynamic_ncols=True,
            )

    def __call__(self, info: dict[str, Any]) -> None:
        val = info["val_loss"]
        if self.bar is not None:
            post = {"loss": f"{info['loss']:.4g}"}
            if val is not None:
                post["val_loss"] = f"{val:.4g}"
            self.bar.set_postfix(post, refresh=False)
            self.bar.update(1)
        elif self.verbose:
            extra = "" if val is None else f"  val_loss {val:.6g}"
            print(
                f"epoch {info['epoch']}/{info['epochs']}  loss {info['loss']:.6g}{extra}",
                file=sys.stderr,
            )

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _checkpoint_path(args: argparse.Namespace) -> str:
    if args.out:
        return str(args.out)
    suffix = ".safetensors" if importlib.util.find_spec("safetensors") else ".npz"
    return f"mlp-xp-checkpoint{suffix}"


def _metric(model: Any, data: Dataset, rows: np.ndarray, task: str) -> tuple[str, float]:
    X, y = data.X[rows], data.y[rows]  # type: ignore[index]
    if task == "classification":
        return "accuracy", model.score(X, y)
    return "R^2", model.score(X, y)


def run(args: argparse.Namespace) -> int:
    """Train, report one summary line, and save or plot on request."""
    _check_cluster_args(args)
    with _cluster(args):
        return _run(args)


def _run(args: argparse.Namespace) -> int:
    data = _load(args)
    task = infer_task(data, args.task)
    train_rows, test_rows = split(len(data.X), args.test_fraction, args.seed)
    X_train, y_train = data.X[train_rows], data.y[train_rows]  # type: ignore[index]
    print_ = (lambda *a: None) if args.quiet else (lambda *a: print(*a, file=sys.stderr))
    # For lazy data, the token of its source and rows: it is not read.
    features = fingerprint_array(X_train)

    if args.resume:
        model = load(args.resume, backend=args.backend, device=args.device)
        expected = "MLPClassifier" if task == "classification" else "MLPRegressor"
        if type(model).__name__ != expected:
            msg = f"--resume {args.resume} holds an {type(model).__name__}, but this is {task}"
            raise ValueError(msg)
        info = getattr(model, "data_info_", None) or {}
        if not same_data(info.get("fingerprint"), X_train, features):
            msg = (
                f"--resume {args.resume} was trained on other data ({info.get('source')}); "
                "pass the same --data, --target, --test-fraction and --seed"
            )
            raise ValueError(msg)
        if args.epochs is not None:
            model.set_params(epochs=args.epochs)
        print_(f"resuming {args.resume} at epoch {model.n_epochs_} of {model.epochs}")
    else:
        model = _build(args, task)

    def save(path: str) -> None:
        # fit() starts by clearing fitted attributes, so these are set just before saving;
        # fit records provenance_ itself, interrupted and diverged runs included.
        model.feature_names_in_ = data.feature_names if data.named else None
        model.target_name_ = data.target_name
        model.data_info_ = {
            "source": data.source,
            "task": task,
            "fingerprint": features,
            "test_fraction": args.test_fraction,
            "seed": args.seed,
        }
        model.save(path)

    progress = _Progress(model.epochs, getattr(model, "n_epochs_", 0), args.quiet, args.verbose)
    start = time.perf_counter()
    epochs_before = getattr(model, "n_epochs_", 0) if args.resume else 0
    try:
        model.fit(X_train, y_train, resume=bool(args.resume), callback=progress)
    except KeyboardInterrupt:
        progress.close()
        path = _checkpoint_path(args)
        save(path)
        print(
            f"mlp-xp: interrupted after epoch {model.n_epochs_} of {model.epochs}; checkpoint "
            f"saved to {path}; continue with the same command plus --resume {path}",
            file=sys.stderr,
        )
        return 130
    except DivergenceError as exc:
        progress.close()
        saved = ""
        if args.out and getattr(model, "params_", None) is not None:
            save(args.out)
            saved = f"; the last finite weights were saved to {args.out}"
        print(f"mlp-xp: error: {exc}{saved}", file=sys.stderr)
        return 1
    progress.close()
    seconds = time.perf_counter() - start
    epochs_run = model.n_epochs_ - epochs_before
    throughput = len(X_train) * epochs_run / seconds if seconds > 0 else float("nan")
    name, value = _metric(model, data, test_rows if len(test_rows) else train_rows, task)
    held = "held-out" if len(test_rows) else "training"
    sizes = "-".join(
        str(s) for s in (model.n_features_in_, *model.hidden_layer_sizes, model.n_outputs_)
    )
    where = resolve(model.backend_, model.device_)
    print(
        f"trained {type(model).__name__} {sizes} ({model.activation}, {model.optimizer}) "
        f"on {args.data} | backend {where.name} | device {model.device_} | dtype {model.dtype_} "
        f"| {model.n_epochs_} epochs | {held} {name} {value:.5f} | {seconds:.2f} s "
        f"| {throughput:,.0f} samples/s"
    )
    if args.out:
        save(args.out)
        print_(f"saved the model to {args.out}")
    if args.plot:
        from ..plotting import plot_history

        plot_history(model.history_, args.plot, title=f"mlp_xp: {Path(str(args.data)).name}")
        print_(f"saved the loss curves to {args.plot}")
    return 0
