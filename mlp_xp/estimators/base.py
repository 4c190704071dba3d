"""What the two estimators share: data preparation, fit, prediction, persistence (estimator layer).

``__init__`` only stores parameters; ``fit`` returns ``self``; fitted attributes
end in ``_``.  The estimators are scikit-learn estimators (``BaseEstimator``
with ``RegressorMixin``/``ClassifierMixin``), so ``clone``, ``Pipeline`` and
the searches work as scikit-learn intends, while X keeps its own array
validation (:mod:`mlp_xp.estimators.inputs`): training runs in the namespace
and on the device of ``X`` when ``backend`` is None (scikit-learn's array-API
convention), or wherever ``backend``/``device`` say.  The epoch loop
(:mod:`mlp_xp.estimators.epochs`) reads one small array back to the host per
epoch (the epoch's losses), never per step.

Host NumPy appears here only for the host's jobs: the seeded generators that
split and shuffle, and label encoding (labels may be strings).
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np

from ..backend import (
    HOST_BACKEND,
    Array,
    Placement,
    device_name,
    from_host,
    full_precision,
    host_placement,
    is_array,
    is_lazy,
    is_placed,
    move,
    on_device,
    placement_of,
    resolve,
    shard_rows,
)
from ..blocks import block_rows, row_blocks
from ..errors import NotFittedError
from ..nn.init import init_params
from ..nn.layers import Params
from ..nn.optimizers import Optimizer
from ..nn.plan import Plan
from ..training import check_callbacks, shuffle_start, start_schedule
from .epochs import EpochLoop
from .fitted import fitted_model_of, network_of, record_data, restored
from .inputs import (
    feature_names,
    match_columns,
    prepare_features,
    prepare_sample_weight,
    training_dtype,
)
from .memory import check_fit_memory
from .params import Hyperparameters
from .persistence import save_model
from .provenance import start_segment
from .scaling import Scaler
from .schema import DataRecord, FittedModel, Network, TrainingState
from .splitting import TrainingData

PREDICT_BLOCK_BYTES = 2**24
"""About how many bytes the widest layer's activations take per block of rows ``predict`` runs."""


class _BaseMLP(TrainingData, EpochLoop, Hyperparameters):
    """Shared data preparation, training, prediction and persistence of the estimators."""

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
    stop_reason_: str
    interrupted_: bool
    feature_names_in_: np.ndarray
    target_name_: str | None
    data_info_: dict[str, Any] | None
    provenance_: dict[str, Any]
    _state: dict[str, Any]
    _y_1d: bool

    # ------------------------------------------------------------------ scikit-learn

    def __sklearn_tags__(self) -> Any:
        """The tags that hold: array-API input, no NaN, dense only, deterministic per backend."""
        tags = super().__sklearn_tags__()
        tags.array_api_support = True
        tags.input_tags.allow_nan = False
        tags.input_tags.sparse = False
        # The same seed gives the same model on one backend and machine; across
        # backends the parity suite measures how far they differ.
        tags.non_deterministic = False
        return tags

    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self, "params_")

    @property
    def n_iter_(self) -> int:
        """The epochs trained, scikit-learn's name for ``n_epochs_``."""
        self._check_fitted()
        return int(self.n_epochs_)

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
        """X as a finite 2-D float array in ``placement``, its columns matched by name."""
        X = match_columns(X, self._known_names(), type(self).__name__)
        return prepare_features(X, placement, dtype)

    def _known_names(self) -> list[str] | None:
        names = getattr(self, "feature_names_in_", None)
        return None if names is None else [str(n) for n in names]

    def _resolve_dtype(self, X: Any, placement: Placement) -> str:
        """``dtype``, else X's float dtype where the backend has it (:func:`training_dtype`)."""
        return training_dtype(X, placement, self.dtype)

    def _check_n_features(self, Xd: Array) -> None:
        """X has as many features as the model was trained with (resume, predict)."""
        if Xd.shape[1] != self.n_features_in_:
            msg = (
                f"X has {Xd.shape[1]} features, but {type(self).__name__} is expecting "
                f"{self.n_features_in_} features as input"
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

    def _output_width(self, y: Any) -> int:
        """The network's output units for targets ``y`` (before they are encoded)."""
        shape = getattr(y, "shape", None) or np.asarray(y).shape
        return 1 if len(shape) < 2 else int(shape[1])

    def _row_class_weights(self, y: Any) -> np.ndarray | None:
        """Each row's class weight (the classifier's ``class_weight``); None for none."""
        return None

    def _split_labels(self, y: Any) -> np.ndarray | None:
        """The class labels that stratify the validation split (the classifier's); None."""
        return None

    @classmethod
    def plan_for(cls, hyperparameters: Mapping[str, Any], classes: Any) -> Plan:
        """The plan (activations, loss) of a model with these hyperparameters and classes."""
        raise NotImplementedError

    def _plan(self) -> Plan:
        return self.plan_for({"activation": self.activation}, getattr(self, "classes_", None))

    # ------------------------------------------------------------------ training

    def fit(
        self,
        X: Any,
        y: Any,
        sample_weight: Any = None,
        *,
        callbacks: Any = None,
        resume: bool = False,
    ) -> _BaseMLP:
        """Train on ``X`` and ``y`` for ``epochs`` epochs (or until stopping rules fire).

        Parameters
        ----------
        X : array or DataFrame, shape (n_samples, n_features)
            Any supported array, or host data; a DataFrame's column names are
            kept in ``feature_names_in_`` and later inputs are matched by name.
        y : array, shape (n_samples,) or (n_samples, n_outputs)
        sample_weight : array, shape (n_samples,), optional
            Non-negative weights: the loss is the weighted mean over each batch,
            the scaler's statistics, the L2 term's normalisation and early
            stopping's validation loss are weighted too, so an integer weight is
            the same as repeating the row.  The model records their fingerprint.
        callbacks : list, optional
            Each ``callback(epoch, logs)`` (or ``.on_epoch_end(epoch, logs)``) is
            called after every epoch with ``logs`` holding ``loss``,
            ``val_loss``, ``learning_rate`` and ``epochs``; returning True stops
            training (``stop_reason_ == "callback"``).  See
            :mod:`mlp_xp.training.callbacks`.
        resume : bool
            Continue an interrupted or loaded run where it stopped, up to ``epochs``
            epochs in total, with its optimizer state, random generator, schedule,
            scaling, class weights and validation split.  The result equals that
            of an uninterrupted run.

        Every call adds a segment to ``provenance_`` (see
        :mod:`mlp_xp.estimators.provenance`); without ``resume`` the record
        starts afresh.  ``stop_reason_`` says why training stopped.

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
        self._train(
            X,
            y,
            kind=kind,
            max_epochs=self.epochs,
            callbacks=check_callbacks(callbacks),
            sample_weight=sample_weight,
        )
        return self

    def _partial_fit(self, X: Any, y: Any, classes: Any = None, sample_weight: Any = None) -> None:
        """Train one epoch on ``X`` and ``y``, starting from the current weights."""
        epochs = getattr(self, "n_epochs_", 0) + 1
        self._train(
            X,
            y,
            kind="partial_fit",
            max_epochs=epochs,
            callbacks=(),
            stopping=False,
            classes=classes,
            sample_weight=sample_weight,
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
        callbacks: tuple[Any, ...],
        stopping: bool = True,
        classes: Any = None,
        sample_weight: Any = None,
    ) -> None:
        """The training run shared by fit, fit(resume=True) and partial_fit (``kind``)."""
        sizes, optimizer = self._check_params()
        first = not hasattr(self, "params_")
        if first:
            names = feature_names(X)
            placement = self._placement_for(X)
            dtype = self._resolve_dtype(X, placement)
            if classes is not None:
                self._set_classes(classes)
            if names is not None:
                self.feature_names_in_ = np.asarray(names, dtype=object)
            check_fit_memory(self, X, self._output_width(y), placement, dtype, sizes)
        else:
            placement = resolve(self.backend_, self.device_)
            dtype = self.dtype_
        with on_device(placement):
            Xd, Yd, Wd = self._training_arrays(X, y, sample_weight, placement, dtype, first)
            if first:
                self._start(placement, dtype, sizes, optimizer, Xd, Yd, Wd)
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
                    if k not in ("backend", "device", "dtype", "epochs", "shuffle", "class_weight")
                },
                classes=classes,
                sample_weight=sample_weight,
                validation_split=self._state.get("split", "random"),
            )
            split = bool(self.early_stopping and stopping)
            labels = None
            if split and self._state.get("split", "random") == "stratified":
                labels = self._split_labels(y)
            data = self._scaled(placement, Xd, Yd, Wd, split=split, labels=labels)
            self._train_on(placement, data, max_epochs, callbacks, stopping, segment)

    def _training_arrays(
        self, X: Any, y: Any, sample_weight: Any, placement: Placement, dtype: str, first: bool
    ) -> tuple[Array, Array, Array | None]:
        """X, the encoded targets and the row weights in ``placement``, checked."""
        Xd = self._prepare_X(X, placement, dtype)
        if not first:
            self._check_n_features(Xd)
        n = int(Xd.shape[0])
        if first and n < 2:
            msg = (
                f"n_samples={n}: fit needs at least 2 samples, got 1 sample; "
                "a network cannot be trained (or scaled) on a single row"
            )
            raise ValueError(msg)
        Wd = prepare_sample_weight(sample_weight, n, placement, dtype)
        Yd = self._encode_targets(y, placement, dtype, first)
        if Yd.shape[0] != n:
            msg = f"X has {n} rows but y has {Yd.shape[0]}; they must match"
            raise ValueError(msg)
        per_class = self._row_class_weights(y)
        if per_class is not None:
            column = from_host(per_class.reshape(-1, 1), placement, dtype)
            Wd = column if Wd is None else Wd * column
        batch = min(int(self.batch_size), n)
        Xd, Yd = shard_rows(
            placement,
            Xd,
            Yd,
            batch_size=batch,
            x_in_memory=not is_lazy(X),
            y_in_memory=not is_lazy(y),
        )
        return Xd, Yd, Wd

    def _start(
        self,
        placement: Placement,
        dtype: str,
        sizes: tuple[int, ...],
        optimizer: Optimizer,
        Xd: Array,
        Yd: Array,
        Wd: Array | None,
    ) -> None:
        """A new model's fitted attributes: placement, scaling, initial weights and state."""
        self.backend_ = placement.name
        self.device_ = device_name(placement)
        self.dtype_ = dtype
        self.n_features_in_ = int(Xd.shape[1])
        self.n_outputs_ = int(Yd.shape[1])
        if self.scale:
            self.x_scaler_ = Scaler.fit(placement, Xd, Wd)
            self.y_scaler_ = Scaler.fit(placement, Yd, Wd) if self._scales_targets() else None
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
        fresh = TrainingState(
            opt=optimizer.init(self.params_),
            rng=shuffle_start(int(self.seed)),
            lr=float(self.learning_rate),
            split=self._validation_split,
        )
        self.n_epochs_ = fresh.n_epochs
        self.history_ = {k: list(v) for k, v in fresh.history.items()}
        self._state = fresh.as_state()
        start_schedule(self._state, float(self.learning_rate))

    def _scales_targets(self) -> bool:
        return False

    def _set_classes(self, classes: Any) -> None:
        msg = f"{type(self).__name__} takes no classes"
        raise TypeError(msg)

    # ------------------------------------------------------------------ prediction

    def _network_output(self, X: Any) -> tuple[Network, Array, Placement]:
        """The network, its (unscaled) output for ``X`` on the model's device, and X's placement.

        Rows are run a block at a time (:data:`PREDICT_BLOCK_BYTES` of the widest
        layer's activations each), so predicting many rows never holds the
        activations of all of them; each row's output is computed as it would be
        among all the rows.
        """
        self._check_fitted()
        where_in = placement_of(X) if is_array(X) else host_placement()
        network = network_of(self)
        placement = resolve(self.backend_, self.device_)
        with on_device(placement), full_precision(placement):
            Xd = self._prepare_X(X, placement, self.dtype_)
            self._check_n_features(Xd)
            n, row_bytes = int(Xd.shape[0]), 8 * max(network.layer_sizes[:-1])
            if is_lazy(Xd) or n <= block_rows(row_bytes, PREDICT_BLOCK_BYTES):
                # One compiled call on JAX, rather than a compilation per operation.
                out = network.output(placement, Xd)
            else:
                blocks = row_blocks(n, row_bytes, PREDICT_BLOCK_BYTES)
                parts = [network.output(placement, Xd[i:stop, ...]) for i, stop in blocks]
                out = placement.xp.concat(parts, axis=0)
        return network, out, where_in

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
        save_model(self.fitted_model(), path)

    # ------------------------------------------------------------------ schema

    def fitted_model(self) -> FittedModel:
        """The fitted model as one frozen :class:`~mlp_xp.estimators.schema.FittedModel`.

        What ``save``, the ONNX export and ``verify`` read; the arrays are the
        model's own (not copies).

        Raises
        ------
        NotFittedError
            If the model has not been fitted or loaded.
        """
        self._check_fitted()
        return fitted_model_of(self)

    @classmethod
    def from_fitted(cls, fitted: FittedModel) -> Any:
        """A fitted estimator from a :class:`FittedModel` (what ``mlp_xp.load`` returns)."""
        return restored(cls(**fitted.hyperparameters), fitted)

    def data_record(self) -> DataRecord:
        """The feature names, the target's name and how the data was read (see record_data)."""
        return self.fitted_model().data

    def record_data(
        self,
        *,
        feature_names: Any = None,
        target_name: str | None = None,
        info: dict[str, Any] | None = None,
    ) -> None:
        """Record what the model's data was: feature names, the target's name, how it was read.

        ``save`` writes them with the model; ``predict`` matches a DataFrame's
        columns against ``feature_names``.  ``info`` is what ``mlp-xp train``
        records (:class:`~mlp_xp.estimators.schema.DataRecord`).  A None leaves
        that entry unset; ``fit`` clears all three, so record them after it.
        """
        self._check_fitted()
        record_data(self, DataRecord.of(feature_names, target_name, info))
