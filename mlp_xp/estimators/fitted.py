"""A fitted estimator's attributes to and from its schema, :class:`FittedModel` (estimator layer).

The estimators keep scikit-learn's fitted attributes (``params_``,
``x_scaler_``, ``history_``, ...) and the epoch loop's ``_state``; these
functions are the one place that maps them to the frozen schema of
:mod:`mlp_xp.estimators.schema` and back.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .schema import DataRecord, FittedModel, Network, Provenance, TrainingState


def network_of(model: Any) -> Network:
    """The network a fitted estimator predicts with."""
    return Network(
        params=model.params_,
        plan=model._plan(),
        n_features_in=int(model.n_features_in_),
        n_outputs=int(model.n_outputs_),
        backend=model.backend_,
        device=model.device_,
        dtype=model.dtype_,
        x_scaler=getattr(model, "x_scaler_", None),
        y_scaler=getattr(model, "y_scaler_", None),
        classes=getattr(model, "classes_", None),
        y_1d=bool(getattr(model, "_y_1d", True)),
    )


def fitted_model_of(model: Any) -> FittedModel:
    """A fitted estimator as one :class:`FittedModel` (its arrays are the model's own)."""
    names = getattr(model, "feature_names_in_", None)
    training = TrainingState.from_state(
        getattr(model, "_state", None) or {},
        float(model.learning_rate),
        n_epochs=int(model.n_epochs_),
        best_epoch=getattr(model, "best_epoch_", None),
        history=model.history_,
        loss=getattr(model, "loss_", None),
        stop_reason=getattr(model, "stop_reason_", None),
    )
    return FittedModel(
        estimator=type(model).__name__,
        hyperparameters=model.get_params(),
        network=network_of(model),
        training=training,
        data=DataRecord.of(
            names, getattr(model, "target_name_", None), getattr(model, "data_info_", None)
        ),
        provenance=Provenance(getattr(model, "provenance_", None)),
        class_weight=getattr(model, "class_weight_", None),
    )


def restored(model: Any, fitted: FittedModel) -> Any:
    """``model`` (a new estimator with ``fitted``'s hyperparameters) given ``fitted``'s state."""
    net, training = fitted.network, fitted.training
    model.params_ = net.params
    model.backend_, model.device_, model.dtype_ = net.backend, net.device, net.dtype
    model.n_features_in_, model.n_outputs_ = int(net.n_features_in), int(net.n_outputs)
    model._y_1d = bool(net.y_1d)
    model.x_scaler_, model.y_scaler_ = net.x_scaler, net.y_scaler
    if net.classes is not None:
        model.classes_ = net.classes
    if fitted.class_weight is not None:
        model.class_weight_ = dict(fitted.class_weight)
    record_data(model, fitted.data)
    if fitted.provenance.record is not None:
        model.provenance_ = fitted.provenance.as_dict()
    model.history_ = training.history
    model.loss_ = training.loss
    model.n_epochs_ = int(training.n_epochs)
    if training.best_epoch is not None:
        model.best_epoch_ = int(training.best_epoch)
    if training.stop_reason is not None:
        model.stop_reason_ = training.stop_reason
    model._state = training.as_state()
    model.interrupted_ = False
    return model


def record_data(model: Any, data: DataRecord) -> None:
    """Set (or clear, where None) ``feature_names_in_``, ``target_name_`` and ``data_info_``."""
    for name in ("feature_names_in_", "target_name_", "data_info_"):
        model.__dict__.pop(name, None)
    if data.feature_names is not None:
        model.feature_names_in_ = np.asarray(data.feature_names, dtype=object)
    if data.target_name is not None:
        model.target_name_ = data.target_name
    if data.info is not None:
        model.data_info_ = dict(data.info)
