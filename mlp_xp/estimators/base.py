"""What the two estimators share: parameters, data preparation, the fit loop (estimator layer).

``__init__`` only stores parameters; ``fit`` returns ``self``; fitted attributes
end in ``_``.  Training runs in the namespace and on the device of ``X`` when
``backend`` is None (scikit-learn's array-API convention), or wherever
``backend``/``device`` say.  The training loop reads one small array back to the
host per epoch (the epoch's training and validation loss), never per step.

Host NumPy appears here only for the host's jobs: the seeded generators that
split and shuffle, and label encoding (labels may be strings).
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np

from ..backend import (
    FLOAT_DTYPES,
    HOST_BACKEND,
    Array,
    Placement,
    check_supported,
    device_name,
    dtype_name,
    float_dtype,
    host_placement,
    is_array,
    is_lazy,
    is_placed,
    move,
    on_device,
    placement_of,
    resolve,
    shard_rows,
    take_rows,
    to_host,
)
from ..errors import NotFittedError
from ..nn.backprop import forward_output
from ..nn.checks import check_finite
from ..nn.init import init_params
from ..nn.layers import Params
from ..nn.optimizers import Optimizer
from ..nn.plan import Plan
from ..seeds import seeded_split
from ..training import (
    Batches,
    Epoch,
    Stopping,
    check_diverged,
    run_epochs,
    start_position,
)
from .params import Hyperparameters
from .persistence import save_model
from .provenance import end_segment, ending, start_segment, with_segment
from .scaling import Scaler

EpochCallback = Callable[[dict[str, Any]], None]


class _BaseMLP(Hyperparameters):
    """Shared data preparation, training loop, prediction and persistence of the estimators."""

    _estimator_type: ClassVar[str] = ""

    # Fitted attributes (set by fit, or by mlp_xp.load).
    params_: Params
    history_: dict[str, list[Any]]
    n_epochs_: int
    loss_: float | None
    n_features_in_: int
    n_outputs_: int
    backend_: str
    device_: str
    dtype_: str
    x_scaler_: Scaler | None
    y_scaler_: Scaler | None
    best_epoch_: int
    interrupted_: bool
    feature_names_in_: list[str] | None
    target_name_: str | None
    data_info_: dict[str, Any] | None
    provenance_: dict[str, Any]
    _state: dict[str, Any]
    _y_1d: bool

    # ------------------------------------------------------------------ data

    def _placement_for(self, X: Any) -> Placement:
        """Where training happens: X's namespace and device, or the chosen backend."""
        if self.backend is None and is_array(X):
            if self.device is None:
                return placement_of(X)
            # A device for X's own library keeps X there (torch X, device="cuda").
            with contextlib.suppress(ValueError):
                return resolve(placement_of(X).name, self.device)
        if self.backend is None:
            # A device alone picks the backend that has it, as backend="auto" does.
            return resolve(HOST_BACKEND if self.device is None else "auto", self.device)
        return resolve(self.backend, self.device)

    def _prepare_X(self, X: Any, placement: Placement, dtype: object) -> Array:
        """X as a finite 2-D float array in ``placement``."""
        if is_array(X):
            check_supported(X, "X")
        else:
            try:
                X = np.asarray(X)
            except (ValueError, TypeError) as exc:
                msg = f"X could not be read as a 2-D numeric array: {exc}"
                raise ValueError(msg) from None
        if isinstance(X, np.ndarray) and X.dtype.kind not in "biuf":
            msg = (
                f"X has dtype {X.dtype}, but numeric features are needed; "
                "encode text or categories as numbers first"
            )
            raise TypeError(msg)
        if X.ndim != 2:
            hint = " (reshape a single feature with X.reshape(-1, 1))" if X.ndim == 1 else ""
            msg = f"X must be 2-D (n_samples, n_features), got shape {tuple(X.shape)}{hint}"
            raise ValueError(msg)
        if X.shape[0] < 1 or X.shape[1] < 1:
            msg = f"X must have at least one sample and one feature, got shape {tuple(X.shape)}"
            raise ValueError(msg)
        name = dtype_name(X.dtype)
        if name.startswith("complex"):
            msg = f"X has dtype {name}; complex features are not supported"
            raise TypeError(msg)
        out = move(X, placement, dtype)
        check_finite(placement.xp, "X", out)
        return out

    def _resolve_dtype(self, X: Any, placement: Placement) -> str:
        if self.dtype is not None:
            return dtype_name(self.dtype)
        kind = dtype_name(X.dtype) if hasattr(X, "dtype") else np.asarray(X).dtype.name
        if kind in FLOAT_DTYPES:
            return kind
        return dtype_name(float_dtype(placement.xp, None, placement.device))

    def _check_n_features(self, Xd: Array) -> None:
        """X has as many features as the model was trained with (resume, predict)."""
        if Xd.shape[1] != self.n_features_in_:
            msg = (
                f"X has {Xd.shape[1]} features, but this {type(self).__name__} was "
                f"trained with {self.n_features_in_}"
            )
            raise ValueError(msg)

    def _check_fitted(self) -> None:
        if not hasattr(self, "params_"):
            msg = (
                f"this {type(self).__name__} is not fitted yet; call fit(X, y) first "
                "or load a saved model with mlp_xp.load(path)"
            )
            raise NotFittedError(msg)

    # ------------------------------------------------------------------ subclass hooks

    def _encode_targets(self, y: Any, placement: Placement, dtype: str, first: bool) -> Array:
        raise NotImplementedError

    def _plan(self) -> Plan:
        raise NotImplementedError

    # ------------------------------------------------------------------ training

    def fit(
        self,
        X: Any,
        y: Any,
        *,
        resume: bool = False,
        callback: EpochCallback | None = None,
    ) -> _BaseMLP:
        """Train on ``X`` and ``y`` for ``epochs`` epochs (or until stopping rules fire).

        Parameters
        ----------
        X : array, shape (n_samples, n_features)
            Any supported array or host data.
        y : array, shape (n_samples,) or (n_samples, n_outputs)
        resume : bool
            Continue an interrupted or loaded run where it stopped, up to ``epochs``
            epochs in total, with its optimizer state, random generator, scaling and
            validation split.  The result equals that of an uninterrupted run.
        callback : callable, optional
            Called after every epoch with a dict holding ``epoch``, ``loss``,
            ``val_loss`` and ``epochs``; used by the command line's progress bar.

        Every call adds a segment to ``provenance_`` (see
        :mod:`mlp_xp.estimators.provenance`): its epochs, steps, how it ended,
        where it ran and a fingerprint of ``X`` and ``y``; without ``resume``
        the record starts afresh.

        Returns
        -------
        self
        """
        if not resume:
            self._reset()
        elif not hasattr(self, "params_"):
            msg = "resume=True needs a fitted or loaded model; call fit without resume first"
            raise ValueError(msg)
        kind = "resume" if resume else "fit"
        self._train(X, y, kind=kind, max_epochs=self.epochs, callback=callback)
        return self

    def _partial_fit(self, X: Any, y: Any, classes: Any = None) -> None:
        """Train one epoch on ``X`` and ``y``, starting from the current weights."""
        epochs = getattr(self, "n_epochs_", 0) + 1
        self._train(
            X,
            y,
            kind="partial_fit",
            max_epochs=epochs,
            callback=None,
            stopping=False,
            classes=classes,
        )

    def _reset(self) -> None:
        for name in [n for n in vars(self) if n.endswith("_") and not n.startswith("__")]:
            delattr(self, name)
        self._state: dict[str, Any] = {}

    def _train(
        self,
        X: Any,
        y: Any,
        *,
        kind: str,
        max_epochs: int,
        callback: EpochCallback | None,
        stopping: bool = True,
        classes: Any = None,
    ) -> None:
        """The training loop, shared by fit, fit(resume=True) and partial_fit (``kind``)."""
        sizes, optimizer = self._check_params()
        first = not hasattr(self, "params_")
        if first:
            placement = self._placement_for(X)
            dtype = self._resolve_dtype(X, placement)
            if classes is not None:
                self._set_classes(classes)
        else:
            placement = resolve(self.backend_, self.device_)
            dtype = self.dtype_
        with on_device(placement):
            Xd, Yd = self._training_arrays(X, y, placement, dtype, first)
            if first:
                self._start(placement, dtype, sizes, optimizer, Xd, Yd)
            segment = start_segment(
                kind,
                placement=placement,
                dtype=dtype,
                X=X,
                y=y,
                start_epoch=self.n_epochs_,
                max_epochs=max_epochs,
                shuffle=self._shuffle_mode(placement),
                hyperparameters={
                    k: v
                    for k, v in self.get_params().items()
                    if k not in ("backend", "device", "dtype", "epochs", "shuffle")
                },
                classes=classes,
            )
            self._train_on(placement, Xd, Yd, optimizer, max_epochs, callback, stopping, segment)

    def _train_on(
        self,
        placement: Placement,
        Xd: Array,
        Yd: Array,
        optimizer: Optimizer,
        max_epochs: int,
        callback: EpochCallback | None,
        stopping: bool,
        segment: dict[str, Any],
    ) -> None:
        """The training loop, on the placement's device; ``segment`` records how it went."""
        state = getattr(self, "_state", None) or {}
        data = self._scaled(placement, Xd, Yd, split=self.early_stopping and stopping)
        n = int(data[0].shape[0])
        batches = Batches(
            min(int(self.batch_size), n), self._shuffle_mode(placement), state["rng"]
        )
        rule = Stopping(state, float(self.tol), int(self.patience))
        steps, stopped = 0, False
        try:
            for epoch in run_epochs(
                placement,
                self.params_,
                state["opt"],
                data,
                plan=self._plan(),
                optimizer=optimizer,
                batches=batches,
                alpha=float(self.alpha),
                epochs=max_epochs - self.n_epochs_,
            ):
                check_diverged(epoch, self.n_epochs_, self.learning_rate)
                self._commit(state, epoch)
                steps += epoch.steps
                # The epoch is handled whole (the stopping rule included) before the
                # callback runs: a callback that raises leaves the state an interrupt
                # in the next epoch would, so that a resume continues exactly.
                if stopping:
                    stopped, best = rule.update(epoch.loss, epoch.val_loss, self.params_)
                    if best:
                        self.best_epoch_ = self.n_epochs_
                if callback is not None:
                    callback(
                        {
                            "epoch": self.n_epochs_,
                            "epochs": max_epochs,
                            "loss": epoch.loss,
                            "val_loss": epoch.val_loss,
                        }
                    )
                if stopped:
                    break
        except BaseException as exc:
            # Keep the state of the last complete epoch, so that the checkpoint the
            # caller saves resumes exactly; then let the interrupt through.
            if isinstance(exc, KeyboardInterrupt):
                self.interrupted_ = True
            self._record(segment, ending(exc, stopped), steps, None)
            raise
        finally:
            self._state = state
        kept_best = self.early_stopping and stopping and state["best"] is not None
        if kept_best:
            self.params_ = state["best"]
        self.interrupted_ = False
        best_epoch = getattr(self, "best_epoch_", None) if kept_best else None
        self._record(segment, ending(None, stopped), steps, best_epoch)

    def _record(
        self, segment: dict[str, Any], ended: str, steps: int, best_epoch: int | None
    ) -> None:
        """Add the call's segment, now ended, to ``provenance_``."""
        end_segment(
            segment, ended=ended, end_epoch=self.n_epochs_, steps=steps, best_epoch=best_epoch
        )
        self.provenance_ = with_segment(getattr(self, "provenance_", None), segment)

    def _training_arrays(
        self, X: Any, y: Any, placement: Placement, dtype: str, first: bool
    ) -> tuple[Array, Array]:
        """X and the encoded targets in ``placement``, checked and laid out for batches."""
        Xd = self._prepare_X(X, placement, dtype)
        if not first:
            self._check_n_features(Xd)
        Yd = self._encode_targets(y, placement, dtype, first)
        if Yd.shape[0] != Xd.shape[0]:
            msg = f"X has {Xd.shape[0]} rows but y has {Yd.shape[0]}; they must match"
            raise ValueError(msg)
        return shard_rows(
            placement,
            Xd,
            Yd,
            batch_size=min(int(self.batch_size), int(Xd.shape[0])),
            x_in_memory=not is_lazy(X),
            y_in_memory=not is_lazy(y),
        )

    def _start(
        self,
        placement: Placement,
        dtype: str,
        sizes: tuple[int, ...],
        optimizer: Optimizer,
        Xd: Array,
        Yd: Array,
    ) -> None:
        """A new model's fitted attributes: placement, scaling, initial weights and state."""
        self.backend_ = placement.name
        self.device_ = device_name(placement)
        self.dtype_ = dtype
        self.n_features_in_ = int(Xd.shape[1])
        self.n_outputs_ = int(Yd.shape[1])
        if self.scale:
            self.x_scaler_ = Scaler.fit(placement, Xd)
            self.y_scaler_ = Scaler.fit(placement, Yd) if self._scales_targets() else None
        else:
            self.x_scaler_ = self.y_scaler_ = None
        self.params_ = init_params(
            (self.n_features_in_, *sizes, self.n_outputs_),
            init=self.init,
            seed=self.seed,
            dtype=dtype,
            backend=placement.name,
            device=self.device_,
        )
        self.n_epochs_ = 0
        self.history_ = {"loss": [], "val_loss": []}
        self._state = {
            "opt": optimizer.init(self.params_),
            "rng": start_position(np.random.default_rng([int(self.seed), 2])),
            "best": None,
            "best_loss": math.inf,
            "bad_epochs": 0,
        }

    def _scaled(
        self, placement: Placement, Xd: Array, Yd: Array, *, split: bool
    ) -> tuple[Array, Array, Array | None, Array | None]:
        """``(X, Y, X_val, Y_val)`` standardised, with the validation split when ``split``."""
        if self.x_scaler_ is not None:
            Xd = self.x_scaler_.transform(Xd)
        if self.y_scaler_ is not None:
            Yd = self.y_scaler_.transform(Yd)
        if not split:
            return Xd, Yd, None, None
        return self._split(placement, Xd, Yd)

    def _commit(self, state: dict[str, Any], epoch: Epoch) -> None:
        """An epoch is complete: keep its weights, optimizer state, position and losses."""
        self.params_, state["opt"] = epoch.params, epoch.state
        state["rng"] = epoch.position
        self.n_epochs_ += 1
        self.history_["loss"].append(epoch.loss)
        self.history_["val_loss"].append(epoch.val_loss)
        self.loss_ = epoch.loss

    def _split(
        self, placement: Placement, X: Array, Y: Array
    ) -> tuple[Array, Array, Array, Array]:
        """A seeded random validation split (the same rows on every backend)."""
        n = X.shape[0]
        n_val = max(1, round(n * float(self.validation_fraction)))
        if n - n_val < 1:
            msg = (
                f"validation_fraction={self.validation_fraction} leaves no training "
                f"samples out of {n}; lower it or pass more data"
            )
            raise ValueError(msg)
        train, val = seeded_split(n, n_val, [int(self.seed), 1])
        return (
            take_rows(placement, X, train),
            take_rows(placement, Y, train),
            take_rows(placement, X, val),
            take_rows(placement, Y, val),
        )

    def _scales_targets(self) -> bool:
        return False

    def _set_classes(self, classes: Any) -> None:
        msg = f"{type(self).__name__} takes no classes"
        raise TypeError(msg)

    # ------------------------------------------------------------------ prediction

    def _network_output(self, X: Any) -> tuple[Array, Placement]:
        """The network's (unscaled) output for ``X``, on the model's device, and X's placement."""
        self._check_fitted()
        where_in = placement_of(X) if is_array(X) else host_placement()
        placement = resolve(self.backend_, self.device_)
        with on_device(placement):
            Xd = self._prepare_X(X, placement, self.dtype_)
            self._check_n_features(Xd)
            if self.x_scaler_ is not None:
                Xd = self.x_scaler_.transform(Xd)
            _, out = forward_output(placement.xp, self.params_, Xd, self._plan())
        return out, where_in

    @staticmethod
    def _to_input_placement(a: Array, where_in: Placement) -> Array:
        """Return a result in the namespace and on the device of the caller's X."""
        if is_placed(a, where_in):
            return a
        return move(a, where_in, None)

    # ------------------------------------------------------------------ persistence

    def save(self, path: str) -> None:
        """Write the model to ``path`` atomically (``.safetensors`` or ``.npz``).

        The file holds the weights, scaling statistics, classes, optimizer state
        and training history, all on the host, so it loads on any backend.
        """
        self._check_fitted()
        save_model(self, path)


def host_values(y: Any) -> np.ndarray:
    """Labels or targets of any backend (or a list) as a host NumPy array."""
    return to_host(y) if is_array(y) else np.asarray(y)
