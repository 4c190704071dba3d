"""``mlp-xp train``: train on a built-in data set, a CSV or an .npz file.

With no arguments it trains the lecture's example, BMI from (height, weight)
with 8 ReLU hidden units, on the best available backend, and prints one
summary line.

With ``--backend dask`` it also reads data set directories lazily (``X.npy`` and
``y.npy``, npy stacks, or a Zarr group; see ``mlp_xp.cluster.sources``) and trains on
a cluster: ``--scheduler local --workers N`` starts one on this machine,
``--scheduler tcp://HOST:PORT`` connects to a running one.

A run never loses a file: a diverged, failed or interrupted run leaves an
existing ``--out`` as it was.  Ctrl-C, SIGTERM and SIGHUP save a checkpoint
(beside ``--out``, or at ``--checkpoint``) and print the command that continues
it; ``--checkpoint-every N`` saves it every N epochs too.  A diverged run's last
finite weights go beside ``--out`` as ``NAME.diverged.npz`` (or ``.safetensors``).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import sys
import time
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..backend import Placement, adapters, resolve
from ..data.fingerprint import fingerprint_array
from ..data.splits import (
    check_training_classes,
    check_validation_classes,
    recorded_split,
    single_classes,
    split_method,
)
from ..data.tables import STDIN, Dataset, choose_task, partition, same_data, split
from ..errors import DivergenceError
from .common import (
    UsageError,
    description,
    is_table,
    load_model,
    read_data,
    recorded_dtype,
    table_options,
)
from .paths import same_file
from .resume import check_resume_options, command_line, given
from .signals import exit_status, interrupted_by, signals_held
from .train_checks import (
    TrainFiles,
    batch_size_note,
    check_memory,
    check_options,
    epochs_done,
    plan_files,
    stratified_validation,
)
from .train_options import add_options, chosen_adapter, setting
from .train_report import class_report, metric, stop_reason

if TYPE_CHECKING:
    from ..estimators import MLPClassifier, MLPRegressor


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
    # A scheduler runs task graphs: it serves the lazy backends only.
    if args.scheduler is not None and (chosen is None or not chosen.lazy):
        takers = " or ".join(a.name for a in adapters() if a.lazy)
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


def _load(args: argparse.Namespace, checkpoint: Any) -> Dataset:
    """The data set: in host memory, or lazily from a directory on a lazy backend (dask).

    A file's features are read in the dtype they train in, so that ``fit`` casts
    nothing: ``--dtype``, or on ``--resume`` the dtype its checkpoint recorded them
    in (float64 in files written before features were read so).  On ``--resume``
    without --features, --drop, --categorical or --no-header, a CSV file's columns
    are read as the checkpoint records: the same columns, one-hot encoded with
    its categories, with or without a header.
    """
    chosen = chosen_adapter(args)
    lazy = chosen is not None and chosen.lazy  # a lazy backend reads directories lazily
    dtype = args.dtype if checkpoint is None else recorded_dtype(checkpoint)
    features, categorical = args.features, dict.fromkeys(args.categorical) or None
    info = (checkpoint.data_record().info or {}) if checkpoint is not None else {}
    chosen_here = {"features", "drop", "categorical", "no_header"} & given(args)
    if info.get("columns") and not chosen_here and is_table(str(args.data)):
        features, categorical = list(info["columns"]), info.get("categories") or None
        args.no_header = bool(info.get("no_header"))  # recorded with the model as read
    return read_data(
        args.data,
        args.target,
        lazy=lazy,
        table=table_options(args),
        dtype=dtype,
        features=features,
        drop=args.drop,
        categorical=categorical,
        choosing=True,
    )


def _build(args: argparse.Namespace, task: str, n_rows: int) -> MLPRegressor | MLPClassifier:
    from ..estimators import MLPClassifier, MLPRegressor  # scikit-learn's, imported when run

    batch_size = setting(args, "batch_size")
    if "batch_size" not in given(args):
        # A default batch size is capped at the rows quietly, as scikit-learn's "auto".
        batch_size = min(int(batch_size), n_rows)
    cls = MLPClassifier if task == "classification" else MLPRegressor
    model = cls(
        hidden_layer_sizes=tuple(setting(args, "hidden")),
        activation=args.activation,
        optimizer=args.optimizer,
        learning_rate=setting(args, "lr"),
        batch_size=batch_size,
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
        max_memory=args.max_memory,
    )
    if isinstance(model, MLPClassifier):
        model.set_params(class_weight=args.class_weight)
    return model


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

    def __call__(self, epoch: int, info: dict[str, Any]) -> None:
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


def _checkpoint(args: argparse.Namespace) -> Any:
    """The model of ``--resume``, loaded; None without ``--resume``."""
    if not args.resume:
        return None
    backend = args.backend if "backend" in given(args) else None
    return load_model(args.resume, backend, args.device)


def _resumed(args: argparse.Namespace, model: Any, task: str, X_train: Any, features: Any) -> Any:
    """The model of ``--resume``, checked against this command's task, data and options."""
    expected = "MLPClassifier" if task == "classification" else "MLPRegressor"
    if type(model).__name__ != expected:
        msg = f"--resume {args.resume} holds an {type(model).__name__}, but this is {task}"
        raise ValueError(msg)
    info = model.data_record().info or {}
    if not same_data(info.get("fingerprint"), X_train, features):
        msg = (
            f"--resume {args.resume} was trained on other data ({info.get('source')}); "
            "pass the same --data, --target, --test-fraction and --seed"
        )
        raise ValueError(msg)
    check_resume_options(args, model)
    if args.epochs is not None:
        model.set_params(epochs=args.epochs)
    return model


class _Saver:
    """Writes the model with what ``mlp-xp train`` records about its data, atomically."""

    def __init__(self, model: Any, data: Dataset, task: str, args: argparse.Namespace) -> None:
        self.model, self.data, self.task, self.args = model, data, task, args
        self.features: Any = None
        self.split = "random"
        self.wrote: set[str] = set()

    def __call__(self, path: str, *, ending: bool = False) -> None:
        """Save to ``path``; ``ending``: the run is ending, so further signals are dropped."""
        model, data, args = self.model, self.data, self.args
        # fit() starts by clearing the data record, so it is recorded just before saving;
        # fit records provenance_ itself, interrupted and diverged runs included.
        table = table_options(args)
        info: dict[str, Any] = {
            "source": data.source,
            "task": self.task,
            "fingerprint": self.features,
            "test_fraction": args.test_fraction,
            "seed": args.seed,
            "split": self.split,
            "delimiter": {"\t": "tab"}.get(table["delimiter"], table["delimiter"]),
            "encoding": table["encoding"],
            "no_header": table["no_header"],
        }
        if data.columns is not None:
            # The file's columns the features come from, and the categories of those
            # one-hot encoded: predict reads and encodes them the same way.
            info["columns"] = list(data.columns)
            info["categories"] = data.categories or {}
        model.record_data(
            feature_names=data.feature_names if data.named else None,
            target_name=data.target_name,
            info=info,
        )
        # A checkpoint being written is not cut short by a second Ctrl-C or SIGTERM.
        with signals_held(deliver=not ending):
            model.save(path)
        self.wrote.add(path)


def _interrupted(
    args: argparse.Namespace, model: Any, files: TrainFiles, save: _Saver, exc: KeyboardInterrupt
) -> int:
    """Save the checkpoint of an interrupted run and print the command that continues it."""
    how = interrupted_by(exc)
    if not model.__sklearn_is_fitted__():
        print(f"mlp-xp: {how} before the first epoch ended; nothing was saved", file=sys.stderr)
        return exit_status(exc)
    where = f"{how} after epoch {epochs_done(model)} of {model.epochs}"
    try:
        save(files.checkpoint, ending=True)
    except OSError as err:
        print(f"mlp-xp: {where}; the checkpoint could not be saved: {err}", file=sys.stderr)
        return exit_status(exc)
    again = command_line(args, resume=files.checkpoint, out=files.out or files.checkpoint)
    print(
        f"mlp-xp: {where}; checkpoint saved to {files.checkpoint}; continue with: {again}",
        file=sys.stderr,
    )
    return exit_status(exc)


def _diverged(model: Any, files: TrainFiles, save: _Saver, exc: DivergenceError) -> int:
    """Keep a diverged run's last finite weights beside --out, never over it."""
    saved = "; pass --out to keep the last finite weights"
    if files.diverged is not None and model.__sklearn_is_fitted__():
        save(files.diverged, ending=True)
        kept = (
            f"; {files.out} was left as it was" if files.out and Path(files.out).exists() else ""
        )
        saved = f"; the last finite weights were saved to {files.diverged}{kept}"
    print(f"mlp-xp: error: {exc}{saved}", file=sys.stderr)
    return 1


def _placement(args: argparse.Namespace, model: Any) -> Placement:
    """Where training will run: the checkpoint's device on --resume, else as asked."""
    if args.resume:
        network = model.fitted_model().network
        return resolve(network.backend, network.device)
    return resolve(args.backend, args.device)


def _fit(
    args: argparse.Namespace, model: Any, X: Any, y: Any, files: TrainFiles, save: _Saver
) -> tuple[int | None, bool]:
    """Train, saving the periodic checkpoints; (an exit status when the run did not finish,
    whether a ConvergenceWarning said the epochs ran out first)."""
    from sklearn.exceptions import ConvergenceWarning

    progress = _Progress(model.epochs, epochs_done(model), args.quiet, args.verbose)
    every = args.checkpoint_every

    def on_epoch(epoch: int, info: dict[str, Any]) -> None:
        progress(epoch, info)
        if every is not None and epoch % every == 0:
            save(files.checkpoint)

    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ConvergenceWarning)
            model.fit(X, y, resume=bool(args.resume), callbacks=[on_epoch])
    except KeyboardInterrupt as exc:
        progress.close()
        return _interrupted(args, model, files, save, exc), False
    except DivergenceError as exc:
        progress.close()
        return _diverged(model, files, save, exc), False
    progress.close()
    ran_out = False
    for found in caught:
        if issubclass(found.category, ConvergenceWarning):
            ran_out = True  # said in the summary line instead
        else:
            warnings.warn_explicit(found.message, found.category, found.filename, found.lineno)
    return None, ran_out


def run(args: argparse.Namespace) -> int:
    """Train, report one summary line, and save or plot on request."""
    _check_cluster_args(args)
    check_options(args)
    files = plan_files(args)
    with _cluster(args):
        return _run(args, files)


def _check_class_weight(args: argparse.Namespace, task: str, why: str) -> None:
    """``--class-weight`` weighs classes: refused for regression."""
    if args.class_weight is not None and task != "classification":
        msg = (
            f"--class-weight {args.class_weight} applies to classification, and this is "
            f"{task} ({why or 'as --task says'}); drop --class-weight, or pass "
            "--task classification"
        )
        raise UsageError(msg)


def _split(
    args: argparse.Namespace, data: Dataset, task: str, checkpoint: Any
) -> tuple[Any, Any, str, str | None]:
    """The training and held-out rows, the split's method, and a note on classes of one row.

    Class labels are split stratified; a resumed run's rows are those its
    checkpoint records (drawn at random in files from before the record).
    """
    method = (
        recorded_split(checkpoint.data_record().info)
        if checkpoint is not None
        else split_method(task, data.y)
    )
    labels = data.y if method == "stratified" else None
    train_rows, test_rows = split(len(data.X), args.test_fraction, args.seed, labels)
    if task == "classification":
        check_training_classes(data.y, train_rows, args.test_fraction, args.seed)
    single = None if labels is None else single_classes(labels, test_rows)
    return train_rows, test_rows, method, single


def _run(args: argparse.Namespace, files: TrainFiles) -> int:
    checkpoint = _checkpoint(args)
    data = _load(args, checkpoint)
    task, why = choose_task(data, args.task)
    _check_class_weight(args, task, why)
    train_rows, test_rows, method, single = _split(args, data, task, checkpoint)
    # The training rows as X[train_rows] gives them, without a copy of the data:
    # a file's rows are reordered in place, so data.X is not in the file's order now.
    X_train, y_train, X_test, y_test = partition(data, train_rows, test_rows)
    print_ = (lambda *a: None) if args.quiet else (lambda *a: print(*a, file=sys.stderr))
    if single:
        print_(f"mlp-xp: note: {single}")
    # For lazy data, the token of its source and rows: it is not read.
    features = fingerprint_array(X_train)
    if args.resume:
        model = _resumed(args, checkpoint, task, X_train, features)
        print_(f"resuming {args.resume} at epoch {epochs_done(model)} of {model.epochs}")
    else:
        model = _build(args, task, len(X_train))
    if task == "classification" and stratified_validation(model):
        check_validation_classes(y_train, model.validation_fraction)
    noted = batch_size_note(args, len(X_train))
    check_memory(_placement(args, model), model, X_train, y_train, task)
    save = _Saver(model, data, task, args)
    save.features, save.split = features, method
    start = time.perf_counter()
    epochs_before = epochs_done(model) if args.resume else 0
    with warnings.catch_warnings():
        if noted:  # the note said so already; the estimator need not say it again
            warnings.filterwarnings("ignore", message=".*batch_size.*")
        status, ran_out = _fit(args, model, X_train, y_train, files, save)
    if status is not None:
        return status
    seconds = time.perf_counter() - start
    scored = (X_test, y_test) if len(test_rows) else (X_train, y_train)
    _summary(
        args,
        model,
        task,
        why,
        (len(train_rows), len(test_rows), *scored),
        seconds,
        epochs_before,
        ran_out,
    )
    if files.out:
        save(files.out)
        print_(f"saved the model to {files.out}")
        checkpoint = files.checkpoint
        if not same_file(checkpoint, files.out) and (
            checkpoint in save.wrote or same_file(checkpoint, args.resume)
        ):
            # The finished model holds all the checkpoint held, and more.
            with contextlib.suppress(OSError):
                Path(checkpoint).unlink()
    if args.plot:
        from ..plotting import plot_history

        history = model.fitted_model().training.history
        plot_history(history, args.plot, title=f"mlp_xp: {Path(str(args.data)).name}")
        print_(f"saved the loss curves to {args.plot}")
    return 0


def _summary(
    args: argparse.Namespace,
    model: Any,
    task: str,
    why: str,
    rows: tuple[int, int, Any, Any],
    seconds: float,
    epochs_before: int,
    ran_out: bool,
) -> None:
    """The one summary line: model, data, task and why, where, epochs and why it stopped.

    ``rows``: the numbers of training and held-out rows, and the X and y scored
    (the held-out rows, or the training rows when none are held out).
    """
    n_train, n_test, X, y = rows
    fitted = model.fitted_model()
    network, epochs = fitted.network, fitted.training.n_epochs
    epochs_run = epochs - epochs_before
    throughput = n_train * epochs_run / seconds if seconds > 0 else float("nan")
    held = "held-out" if n_test else "training"
    sizes = "-".join(str(s) for s in network.layer_sizes)
    where = resolve(network.backend, network.device)
    stopped = stop_reason(model, ran_out)
    source = "<stdin>" if args.data == STDIN else args.data
    chosen = f"{task} ({why})" if why else task
    print(
        f"trained {type(model).__name__} {sizes} ({model.activation}, {model.optimizer}) "
        f"on {source} | task {chosen} | backend {where.name} "
        f"| device {network.device} | dtype {network.dtype} | {epochs} epochs, "
        f"stopped: {stopped} | {held} {metric(model, X, y, task)} | {seconds:.2f} s "
        f"| {throughput:,.0f} samples/s"
    )
    if args.verbose and task == "classification":
        for line in class_report(model, X, y):
            print(line)
