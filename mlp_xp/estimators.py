"""scikit-learn-style estimators: :class:`MLPRegressor` and :class:`MLPClassifier`.

``__init__`` only stores parameters; ``fit`` returns ``self``; fitted attributes
end in ``_``.  Training runs in the namespace and on the device of ``X`` when
``backend`` is None (scikit-learn's array-API convention), or wherever
``backend``/``device`` say.  The training loop reads one small array back to the
host per epoch (the epoch's training and validation loss), never per step.

Host NumPy appears here only for the host's jobs: the seeded generators that
split and shuffle, and label encoding (labels may be strings).
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

import numpy as np

from ._backend import (
    Array,
    Placement,
    backend_name_of,
    device_name,
    dtype_name,
    float_dtype,
    floating_point_errors_ignored,
    from_host,
    is_array,
    is_lazy,
    materialize,
    move,
    placement_of,
    resolve,
    shard_rows,
    take_rows,
    to_host,
)
from .activations import HIDDEN_ACTIVATIONS
from .errors import DivergenceError, NotFittedError
from .forward import forward_output
from .init import INITS, init_params
from .layers import Params
from .optimizers import OPTIMIZERS, Optimizer
from .plan import Plan, make_plan
from .training import SHUFFLES, EpochOrders, epoch_loss, epoch_steps, start_position
from .validation import (
    check_finite,
    check_name,
    check_nonnegative_float,
    check_positive_float,
    check_positive_int,
)

EpochCallback = Callable[[dict[str, Any]], None]


class _Scaler:
    """Mean and standard deviation of columns, kept on the training device."""

    def __init__(self, mean: Array, scale: Array) -> None:
        self.mean = mean
        self.scale = scale

    @classmethod
    def fit(cls, placement: Placement, a: Array) -> _Scaler:
        xp = placement.xp
        mean = xp.mean(a, axis=0)
        std = xp.std(a, axis=0)
        # A constant column has std 0: leave it unscaled rather than divide by 0.
        scale = xp.where(std > 0, std, 1.0)
        # Computed once, now: on a lazy backend every step that scales a batch
        # would otherwise recompute them with a pass over all the data.
        mean, scale = materialize(placement, (mean, scale))
        return cls(mean, scale)

    def transform(self, a: Array) -> Array:
        return (a - self.mean) / self.scale

    def inverse(self, a: Array) -> Array:
        return a * self.scale + self.mean


class _BaseMLP:
    """Shared parameters, training loop and persistence of the two estimators."""

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
    x_scaler_: _Scaler | None
    y_scaler_: _Scaler | None
    best_epoch_: int
    interrupted_: bool
    feature_names_in_: list[str] | None
    target_name_: str | None
    data_info_: dict[str, Any] | None
    _state: dict[str, Any]
    _y_1d: bool

    def __init__(
        self,
        hidden_layer_sizes: Sequence[int] = (100,),
        activation: str = "relu",
        *,
        optimizer: str = "adam",
        learning_rate: float = 1e-3,
        batch_size: int = 200,
        epochs: int = 200,
        shuffle: bool | str = True,
        seed: int = 0,
        alpha: float = 1e-4,
        early_stopping: bool = False,
        validation_fraction: float = 0.1,
        patience: int = 10,
        tol: float = 1e-4,
        init: str = "glorot_normal",
        scale: bool = True,
        dtype: str | None = None,
        backend: str | None = None,
        device: str | None = None,
    ) -> None:
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.epochs = epochs
        self.shuffle = shuffle
        self.seed = seed
        self.alpha = alpha
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.tol = tol
        self.init = init
        self.scale = scale
        self.dtype = dtype
        self.backend = backend
        self.device = device

    # ------------------------------------------------------------------ parameters

    @classmethod
    def _param_names(cls) -> list[str]:
        sig = inspect.signature(_BaseMLP.__init__)
        return [p for p in sig.parameters if p != "self"]

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """The constructor parameters, as scikit-learn's ``get_params``."""
        return {name: getattr(self, name) for name in self._param_names()}

    def set_params(self, **params: Any) -> _BaseMLP:
        """Set constructor parameters; unknown names raise ValueError listing valid ones."""
        valid = self._param_names()
        for name, value in params.items():
            if name not in valid:
                msg = f"invalid parameter {name!r} for {type(self).__name__}; valid: {valid}"
                raise ValueError(msg)
            setattr(self, name, value)
        return self

    def __repr__(self) -> str:
        defaults = {
            k: p.default for k, p in inspect.signature(_BaseMLP.__init__).parameters.items()
        }
        changed = [
            f"{k}={v!r}"
            for k, v in self.get_params().items()
            if k in defaults and v != defaults[k]
        ]
        return f"{type(self).__name__}({', '.join(changed)})"

    def _check_params(self) -> tuple[tuple[int, ...], Optimizer]:
        """Validate every hyperparameter once, before any work."""
        hidden = self.hidden_layer_sizes
        if isinstance(hidden, (int, np.integer)) and not isinstance(hidden, bool):
            hidden = (int(hidden),)
        if isinstance(hidden, (str, bytes)) or not isinstance(hidden, Sequence):
            msg = f"hidden_layer_sizes must be a sequence of ints like (100,), got {hidden!r}"
            raise TypeError(msg)
        sizes = tuple(
            check_positive_int(f"hidden_layer_sizes[{i}]", h) for i, h in enumerate(hidden)
        )
        check_name("activation", self.activation, HIDDEN_ACTIVATIONS)
        check_name("optimizer", self.optimizer, OPTIMIZERS)
        check_name("init", self.init, INITS)
        lr = check_positive_float("learning_rate", self.learning_rate)
        check_positive_int("batch_size", self.batch_size)
        check_positive_int("epochs", self.epochs)
        check_positive_int("patience", self.patience)
        check_nonnegative_float("alpha", self.alpha)
        check_nonnegative_float("tol", self.tol)
        fraction = check_positive_float("validation_fraction", self.validation_fraction)
        if fraction >= 1.0:
            msg = f"validation_fraction must be in (0, 1), got {self.validation_fraction!r}"
            raise ValueError(msg)
        if self.dtype is not None:
            check_name("dtype", dtype_name(self.dtype), ("float32", "float64"))
        if not isinstance(self.shuffle, (bool, np.bool_)) and self.shuffle not in SHUFFLES:
            valid = ", ".join(repr(v) for v in (True, False, *SHUFFLES))
            msg = f"shuffle must be one of {valid}; got {self.shuffle!r}"
            raise ValueError(msg)
        return sizes, OPTIMIZERS[self.optimizer](lr)

    def _shuffle_mode(self, X: Array) -> str | None:
        """ "rows", "batches" or None: how each epoch reorders the training data.

        ``shuffle=True`` gathers the rows in a new order on eager backends.  On
        lazy ones (dask) it visits the contiguous batches in a new order instead:
        a row permutation would make every batch gather from every chunk.
        """
        if isinstance(self.shuffle, (bool, np.bool_)):
            if not self.shuffle:
                return None
            return "batches" if is_lazy(X) else "rows"
        return str(self.shuffle)

    # ------------------------------------------------------------------ data

    def _placement_for(self, X: Any) -> Placement:
        """Where training happens: X's namespace and device, or the chosen backend."""
        if self.backend is None and self.device is None and is_array(X):
            return placement_of(X)
        return resolve(self.backend if self.backend is not None else "numpy", self.device)

    def _prepare_X(self, X: Any, placement: Placement, dtype: object) -> Array:
        """X as a finite 2-D float array in ``placement``."""
        if not is_array(X):
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
        if kind in ("float32", "float64"):
            return kind
        return dtype_name(float_dtype(placement.xp, None, placement.device))

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

        Returns
        -------
        self
        """
        if not resume:
            self._reset()
        elif not hasattr(self, "params_"):
            msg = "resume=True needs a fitted or loaded model; call fit without resume first"
            raise ValueError(msg)
        self._train(X, y, max_epochs=self.epochs, callback=callback)
        return self

    def _partial_fit(self, X: Any, y: Any, classes: Any = None) -> None:
        """Train one epoch on ``X`` and ``y``, starting from the current weights."""
        epochs = getattr(self, "n_epochs_", 0) + 1
        self._train(X, y, max_epochs=epochs, callback=None, stopping=False, classes=classes)

    def _reset(self) -> None:
        for name in [n for n in vars(self) if n.endswith("_") and not n.startswith("__")]:
            delattr(self, name)
        self._state: dict[str, Any] = {}

    def _train(
        self,
        X: Any,
        y: Any,
        *,
        max_epochs: int,
        callback: EpochCallback | None,
        stopping: bool = True,
        classes: Any = None,
    ) -> None:
        """The training loop, shared by fit, fit(resume=True) and partial_fit."""
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
        xp = placement.xp
        Xd = self._prepare_X(X, placement, dtype)
        if not first and Xd.shape[1] != self.n_features_in_:
            msg = (
                f"X has {Xd.shape[1]} features but this model was trained "
                f"with {self.n_features_in_}"
            )
            raise ValueError(msg)
        Yd = self._encode_targets(y, placement, dtype, first)
        if Yd.shape[0] != Xd.shape[0]:
            msg = f"X has {Xd.shape[0]} rows but y has {Yd.shape[0]}; they must match"
            raise ValueError(msg)
        batch = min(int(self.batch_size), int(Xd.shape[0]))
        Xd, Yd = shard_rows(
            placement,
            Xd,
            Yd,
            batch_size=batch,
            x_in_memory=not is_lazy(X),
            y_in_memory=not is_lazy(y),
        )
        plan = self._plan()
        state = getattr(self, "_state", None) or {}

        if first:
            self.backend_ = placement.name
            self.device_ = device_name(placement)
            self.dtype_ = dtype
            self.n_features_in_ = int(Xd.shape[1])
            self.n_outputs_ = int(Yd.shape[1])
            if self.scale:
                self.x_scaler_ = _Scaler.fit(placement, Xd)
                self.y_scaler_ = _Scaler.fit(placement, Yd) if self._scales_targets() else None
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
            state = {
                "opt": optimizer.init(self.params_),
                "rng": start_position(np.random.default_rng([int(self.seed), 2])),
                "best": None,
                "best_loss": math.inf,
                "bad_epochs": 0,
            }

        if self.x_scaler_ is not None:
            Xd = self.x_scaler_.transform(Xd)
        if self.y_scaler_ is not None:
            Yd = self.y_scaler_.transform(Yd)
        X_val = Y_val = None
        if self.early_stopping and stopping:
            Xd, Yd, X_val, Y_val = self._split(placement, Xd, Yd)

        params, opt_state = self.params_, state["opt"]
        alpha = float(self.alpha)
        n = Xd.shape[0]
        batch = min(batch, n)
        shuffle = self._shuffle_mode(Xd)
        orders = EpochOrders(state["rng"], n, batch, shuffle, max_epochs - self.n_epochs_)
        try:
            with floating_point_errors_ignored(placement), orders:
                while self.n_epochs_ < max_epochs:
                    order, batches, position = orders.next()
                    losses: list[Array] = []
                    rows: list[int] = []
                    for step in epoch_steps(
                        placement,
                        params,
                        opt_state,
                        Xd,
                        Yd,
                        plan=plan,
                        optimizer=optimizer,
                        batch_size=batch,
                        order=order,
                        alpha=alpha,
                        batches=batches,
                    ):
                        params, opt_state = step.params, step.state
                        losses.append(step.loss)
                        rows.append(step.rows)
                    if X_val is not None:
                        z, y_hat = forward_output(xp, params, X_val, plan)
                        # No L2 term: the validation loss measures the fit alone.
                        losses.append(plan.loss.value(xp, z, y_hat, Y_val))
                    # The one read-back of the epoch: its batch losses and validation loss.
                    values = to_host(xp.stack([xp.asarray(v) for v in losses])).tolist()
                    loss = epoch_loss(values[: len(rows)], rows)
                    val_loss = float(values[-1]) if X_val is not None else None
                    if not (math.isfinite(loss) and (val_loss is None or math.isfinite(val_loss))):
                        epoch = self.n_epochs_ + 1
                        msg = (
                            f"training diverged in epoch {epoch}: the loss became {loss}"
                            f"{'' if val_loss is None else f' (validation {val_loss})'}; "
                            f"the weights of epoch {self.n_epochs_} were kept. Try a smaller "
                            f"learning_rate than {self.learning_rate}"
                        )
                        raise DivergenceError(msg)
                    # The epoch is complete: commit its results.
                    self.params_, state["opt"] = params, opt_state
                    state["rng"] = position
                    self.n_epochs_ += 1
                    self.history_["loss"].append(loss)
                    self.history_["val_loss"].append(val_loss)
                    self.loss_ = loss
                    if callback is not None:
                        callback(
                            {
                                "epoch": self.n_epochs_,
                                "epochs": max_epochs,
                                "loss": loss,
                                "val_loss": val_loss,
                            }
                        )
                    if stopping and self._should_stop(state, loss, val_loss):
                        break
        except KeyboardInterrupt:
            # Keep the state of the last complete epoch, so that the checkpoint the
            # caller saves resumes exactly; then let the interrupt through.
            self.interrupted_ = True
            raise
        finally:
            self._state = state
        if self.early_stopping and stopping and state["best"] is not None:
            self.params_ = state["best"]
        self.interrupted_ = False

    def _should_stop(self, state: dict[str, Any], loss: float, val_loss: float | None) -> bool:
        """scikit-learn's rule: stop after ``patience`` epochs without a ``tol`` improvement.

        With early stopping the validation loss is watched and the best weights
        are restored at the end; otherwise the training loss is watched.
        """
        watched = val_loss if val_loss is not None else loss
        if watched < state["best_loss"] - float(self.tol):
            state["bad_epochs"] = 0
        else:
            state["bad_epochs"] += 1
        if watched < state["best_loss"]:
            state["best_loss"] = watched
            if val_loss is not None:
                state["best"] = self.params_
                self.best_epoch_ = self.n_epochs_
        return bool(state["bad_epochs"] >= int(self.patience))

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
        order = np.random.default_rng([int(self.seed), 1]).permutation(n)
        train, val = np.sort(order[n_val:]), np.sort(order[:n_val])
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
        where_in = placement_of(X) if is_array(X) else resolve("numpy")
        placement = resolve(self.backend_, self.device_)
        Xd = self._prepare_X(X, placement, self.dtype_)
        if Xd.shape[1] != self.n_features_in_:
            msg = (
                f"X has {Xd.shape[1]} features, but this {type(self).__name__} was "
                f"trained with {self.n_features_in_}"
            )
            raise ValueError(msg)
        if self.x_scaler_ is not None:
            Xd = self.x_scaler_.transform(Xd)
        _, out = forward_output(placement.xp, self.params_, Xd, self._plan())
        return out, where_in

    @staticmethod
    def _to_input_placement(a: Array, where_in: Placement) -> Array:
        """Return a result in the namespace and on the device of the caller's X."""
        if backend_name_of(a) == where_in.name and (
            where_in.name == "dask" or placement_of(a).device == where_in.device
        ):
            return a
        return move(a, where_in, None)

    # ------------------------------------------------------------------ persistence

    def save(self, path: str) -> None:
        """Write the model to ``path`` atomically (``.safetensors`` or ``.npz``).

        The file holds the weights, scaling statistics, classes, optimizer state
        and training history, all on the host, so it loads on any backend.
        """
        from .io import save_model

        self._check_fitted()
        save_model(self, path)


class MLPRegressor(_BaseMLP):
    """A multilayer perceptron for regression, trained on the lecture's half squared error.

    Parameters
    ----------
    hidden_layer_sizes : sequence of int, default (100,)
        Units of each hidden layer; the lecture's BMI network is ``(8,)``.
    activation : {"relu", "sigmoid", "tanh", "identity"}, default "relu"
    optimizer : {"sgd", "momentum", "nesterov", "adam"}, default "adam"
    learning_rate : float, default 1e-3
    batch_size : int, default 200
        Capped at the number of samples.
    epochs : int, default 200
        The most passes over the data.
    shuffle : {True, False, "rows", "batches"}, default True
        Reorder the training data every epoch, from the host generator.
        ``"rows"`` gathers the rows in a new order; ``"batches"`` keeps them in
        place and visits the contiguous batches of ``batch_size`` rows in a new
        order, which is what a dask array larger than memory needs.  True
        means ``"batches"`` for dask arrays and ``"rows"`` for every other backend.
    seed : int, default 0
        Seeds initialisation, the validation split and shuffling.
    alpha : float, default 1e-4
        L2 strength, as in scikit-learn (divided by the batch size).
    early_stopping : bool, default False
        Hold out ``validation_fraction`` of the data, stop when the validation loss
        has not improved by ``tol`` for ``patience`` epochs, and restore the best
        weights.  Without it the same rule watches the training loss.
    validation_fraction : float, default 0.1
    patience : int, default 10
    tol : float, default 1e-4
    init : {"glorot_normal", "glorot_uniform", "he_normal"}, default "glorot_normal"
    scale : bool, default True
        Standardise X and y with their training mean and standard deviation; the
        statistics are stored in the model, and predictions are in y's units.
    dtype : {"float32", "float64"} or None
        None keeps X's floating dtype (or the backend's default for other dtypes).
    backend, device : str or None
        None trains where X lives; "auto" picks a usable GPU, else NumPy.

    Attributes
    ----------
    params_ : tuple of Layer
        The weights, W of shape (out, in), on the training device.
    history_ : dict
        ``"loss"`` and ``"val_loss"`` per epoch.
    n_epochs_ : int
    loss_ : float
        The last epoch's training loss.
    n_features_in_, n_outputs_ : int
    backend_, device_, dtype_ : str
        Where the model was trained.
    """

    _estimator_type: ClassVar[str] = "regressor"

    def _plan(self) -> Plan:
        return make_plan(self.activation, "squared_error", "identity")

    def _scales_targets(self) -> bool:
        return True

    def _encode_targets(self, y: Any, placement: Placement, dtype: str, first: bool) -> Array:
        if not is_array(y):
            y = np.asarray(y)
            if y.dtype.kind not in "biuf":
                msg = f"y has dtype {y.dtype}; regression targets must be numbers"
                raise TypeError(msg)
        if y.ndim not in (1, 2):
            msg = f"y must be 1-D or 2-D, got shape {tuple(y.shape)}"
            raise ValueError(msg)
        self._y_1d = y.ndim == 1 if first else getattr(self, "_y_1d", y.ndim == 1)
        Y = move(y, placement, dtype)
        if Y.ndim == 1:
            Y = placement.xp.reshape(Y, (-1, 1))
        check_finite(placement.xp, "y", Y)
        if not first and Y.shape[1] != self.n_outputs_:
            msg = f"y has {Y.shape[1]} outputs but this model was trained with {self.n_outputs_}"
            raise ValueError(msg)
        return Y

    def partial_fit(self, X: Any, y: Any) -> MLPRegressor:
        """One epoch on ``X`` and ``y``, starting from the current weights (or a new model)."""
        self._partial_fit(X, y)
        return self

    def predict(self, X: Any) -> Array:
        """Predicted targets, in the namespace and on the device of ``X``.

        Returns
        -------
        array, shape (n_samples,) or (n_samples, n_outputs)
            1-D when the model was trained on a 1-D y.
        """
        out, where_in = self._network_output(X)
        if self.y_scaler_ is not None:
            out = self.y_scaler_.inverse(out)
        if self.n_outputs_ == 1 and getattr(self, "_y_1d", True):
            out = out[:, 0]
        return self._to_input_placement(out, where_in)

    def score(self, X: Any, y: Any) -> float:
        """R^2, averaged uniformly over outputs as in scikit-learn."""
        pred = to_host(self.predict(X)).reshape(len(_host_values(y)), -1)
        truth = _host_values(y).reshape(pred.shape)
        ss_res = np.sum((truth - pred) ** 2, axis=0)
        ss_tot = np.sum((truth - truth.mean(axis=0)) ** 2, axis=0)
        r2 = np.where(ss_tot > 0, 1 - ss_res / np.where(ss_tot > 0, ss_tot, 1), 0.0)
        return float(np.mean(r2))


class MLPClassifier(_BaseMLP):
    """A multilayer perceptron classifier.

    Two classes use one sigmoid output with binary cross-entropy; more use a
    softmax output with cross-entropy.  Labels may be integers or strings;
    ``classes_`` holds them sorted.  Parameters are those of :class:`MLPRegressor`
    (``scale`` standardises X only).
    """

    _estimator_type: ClassVar[str] = "classifier"

    def _plan(self) -> Plan:
        if len(self.classes_) == 2:
            return make_plan(self.activation, "binary_cross_entropy")
        return make_plan(self.activation, "cross_entropy")

    def _set_classes(self, classes: Any) -> None:
        values = np.unique(_host_values(classes))
        if values.size < 2:
            msg = f"classes must hold at least two labels, got {values.tolist()}"
            raise ValueError(msg)
        self.classes_ = values

    def _encode_targets(self, y: Any, placement: Placement, dtype: str, first: bool) -> Array:
        labels = _host_values(y)
        if labels.ndim != 1:
            msg = f"y must be 1-D class labels, got shape {labels.shape}"
            raise ValueError(msg)
        if labels.dtype.kind == "f" and not np.all(np.isfinite(labels)):
            msg = "y contains NaN or infinite labels; remove those rows"
            raise ValueError(msg)
        if not hasattr(self, "classes_"):
            self._set_classes(labels)
        unknown = np.setdiff1d(np.unique(labels), self.classes_)
        if unknown.size:
            msg = (
                f"y has labels {unknown.tolist()[:10]} that are not among the classes "
                f"{self.classes_.tolist()}; pass classes= to the first partial_fit"
            )
            raise ValueError(msg)
        index = np.searchsorted(self.classes_, labels)
        if len(self.classes_) == 2:
            onehot = index[:, None].astype(np.float64)
        else:
            onehot = np.eye(len(self.classes_))[index]
        return from_host(onehot, placement, dtype)

    def partial_fit(self, X: Any, y: Any, classes: Any = None) -> MLPClassifier:
        """One epoch on ``X`` and ``y``; the first call needs every class in ``classes``."""
        if not hasattr(self, "params_") and classes is None:
            msg = "the first call to partial_fit needs classes=, the list of all labels"
            raise ValueError(msg)
        self._partial_fit(X, y, classes)
        return self

    def predict_proba(self, X: Any) -> Array:
        """Class probabilities, shape (n_samples, n_classes), in X's namespace and device."""
        out, where_in = self._network_output(X)
        if len(self.classes_) == 2:
            xp = placement_of(out).xp
            out = xp.concat([1.0 - out, out], axis=1)
        return self._to_input_placement(out, where_in)

    def predict(self, X: Any) -> Any:
        """Predicted labels; numeric labels come back in X's namespace, strings as NumPy."""
        out, where_in = self._network_output(X)
        xp = placement_of(out).xp
        if len(self.classes_) == 2:
            index = xp.astype(out[:, 0] >= 0.5, xp.int64)
        else:
            index = xp.argmax(out, axis=1)
        labels = self.classes_[to_host(index)]
        if labels.dtype.kind in "biuf":
            return move(labels, where_in, None)
        return labels

    def score(self, X: Any, y: Any) -> float:
        """Mean accuracy."""
        pred = np.asarray(_host_values(self.predict(X)))
        return float(np.mean(pred == _host_values(y)))


def _host_values(y: Any) -> np.ndarray:
    """Labels or targets of any backend (or a list) as a host NumPy array."""
    return to_host(y) if is_array(y) else np.asarray(y)
