"""Saving and loading the estimators, side by side (estimator layer).

A model file holds host copies of every array (weights, scaling statistics,
optimizer state, early-stopping best weights) and a JSON document with the
architecture, hyperparameters, classes, history, provenance (how and on what
data it was trained) and the state needed to resume training.
:mod:`mlp_xp.files` writes it atomically, in either container.

Nothing device-specific is stored, so a model trained on CuPy loads on a laptop
without CuPy, and the reverse.
"""

from __future__ import annotations

import importlib
import json
import os
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from .._version import __version__
from ..backend import (
    FLOAT_DTYPES,
    BackendUnavailableError,
    Placement,
    backend_info,
    device_name,
    dtype_unavailable,
    from_host,
    host_placement,
    resolve,
    to_host,
)
from ..errors import PlacementWarning, warn_at_caller
from ..files import read_container, write_container
from ..nn.layers import Layer
from ..nn.optimizers import OPTIMIZERS
from ..tree import Tree, tree_leaves, tree_map_with_path, tree_unflatten
from .scaling import Scaler
from .schema import DataRecord, FittedModel, Network, Provenance, TrainingState

FORMAT = "mlp_xp.model"
FORMAT_VERSION = 2
"""2: the training state's shuffle position counts draws since a generator state.

Later additions are optional keys that older files lack and loading defaults:
the schedule's state (``training.lr``, ``training.seen``), how early stopping's
validation rows are drawn (``training.split``: "stratified" or "random", which
files without it used), the resolved class
weights (``class_weight``), and the hyperparameters ``schedule``, ``power_t``
and ``class_weight`` (stored as ``[label, weight]`` pairs, since JSON keys are
strings and labels may be integers).
"""

ESTIMATORS: dict[str, type] = {}
"""The estimator classes a model file may name, filled by :func:`persisted`."""


_MODULES = {"MLPClassifier": ".classifier", "MLPRegressor": ".regressor"}
"""The module of each estimator class, which registers it when imported."""


def persisted(cls: type) -> type:
    """Class decorator: model files may hold estimators of this class."""
    ESTIMATORS[cls.__name__] = cls
    return cls


def _estimator_class(name: str) -> Any:
    """The estimator class a model file names; its module is imported on first use.

    The package imports its estimators lazily, so ``mlp_xp.load`` may be the
    first call that needs one.  An unknown name raises KeyError.
    """
    if name not in ESTIMATORS and name in _MODULES:
        importlib.import_module(_MODULES[name], __package__)
    return ESTIMATORS[name]


# --------------------------------------------------------------------------- trees


def _encode_tree(tree: Tree, prefix: str, tensors: dict[str, np.ndarray]) -> Any:
    """A JSON description of a tree of arrays and numbers; arrays go to ``tensors``.

    Named states (``ScaleByAdamState``) carry their name, so that a checkpoint
    describes itself; readers rebuild them from the optimizer (see load).
    """

    def leaf(path: str, value: Any) -> dict[str, Any]:
        if isinstance(value, (bool, int, float)):
            return {"value": value}
        tensors[path] = to_host(value)
        return {"array": path}

    return _describe(tree_map_with_path(leaf, tree, prefix))


def _describe(node: Any) -> Any:
    """The JSON form of a tree whose leaves are already described."""
    if not isinstance(node, tuple):
        return node
    children = [_describe(child) for child in node]
    if isinstance(node, Layer):
        return {"layer": children}
    if type(node) is tuple:
        return {"tuple": children}
    return {"tuple": children, "name": type(node).__name__}


def _decode_tree(
    spec: Any, tensors: dict[str, np.ndarray], placement: Placement, dtype: str
) -> Tree:
    """The inverse of :func:`_encode_tree`, with arrays moved to ``placement``."""
    if "layer" in spec:
        return Layer(*(_decode_tree(s, tensors, placement, dtype) for s in spec["layer"]))
    if "tuple" in spec:
        return tuple(_decode_tree(s, tensors, placement, dtype) for s in spec["tuple"])
    if "value" in spec:
        return spec["value"]
    return from_host(tensors[spec["array"]], placement, dtype)


def _json_value(value: Any) -> Any:
    """Hyperparameters as JSON: tuples become lists, NumPy scalars Python numbers.

    A dict (``class_weight``) becomes ``{"pairs": [[key, value], ...]}``, so that
    integer labels stay integers.
    """
    if isinstance(value, dict):
        return {"pairs": [[_json_value(k), _json_value(v)] for k, v in value.items()]}
    if isinstance(value, (tuple, list)):
        return [_json_value(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def _from_json(value: Any) -> Any:
    """The inverse of :func:`_json_value` for a dict stored as pairs."""
    if isinstance(value, dict) and set(value) == {"pairs"}:
        return {k: v for k, v in value["pairs"]}
    return value


# --------------------------------------------------------------------------- save


def save_model(fitted: FittedModel, path: str | os.PathLike[str]) -> None:
    """Write a fitted model to ``path`` atomically; see the module docstring."""
    tensors: dict[str, np.ndarray] = {}
    net, state = fitted.network, fitted.training
    params_spec = _encode_tree(tuple(net.params), "params", tensors)
    scalers: dict[str, Any] = {}
    for name, scaler in (("x_scaler_", net.x_scaler), ("y_scaler_", net.y_scaler)):
        if scaler is not None:
            scalers[name] = {
                "mean": _encode_tree(scaler.mean, f"{name}mean", tensors),
                "scale": _encode_tree(scaler.scale, f"{name}scale", tensors),
            }
    training: dict[str, Any] = {
        "n_epochs": int(state.n_epochs),
        "rng": state.rng,
        "best_loss": state.best_loss,
        "bad_epochs": state.bad_epochs,
        "lr": state.lr,
        "seen": state.seen,
        "split": state.split,
        "best_epoch": state.best_epoch,
        "optimizer_state": None if state.opt is None else _encode_tree(state.opt, "opt", tensors),
        "best_params": (
            None if state.best is None else _encode_tree(tuple(state.best), "best", tensors)
        ),
    }
    classes = net.classes
    metadata = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "mlp_xp_version": __version__,
        "estimator": fitted.estimator,
        "hyperparameters": {k: _json_value(v) for k, v in fitted.hyperparameters.items()},
        "trained_on": {"backend": net.backend, "device": net.device},
        "dtype": net.dtype,
        "n_features_in": int(net.n_features_in),
        "n_outputs": int(net.n_outputs),
        "y_1d": bool(net.y_1d),
        "params": params_spec,
        "scalers": scalers,
        "classes": None
        if classes is None
        else {"kind": classes.dtype.kind, "values": classes.tolist()},
        "feature_names": _names(fitted.data.feature_names),
        "class_weight": _json_value(fitted.class_weight),
        "target_name": fitted.data.target_name,
        "data": fitted.data.info,
        # How it was trained, segment by segment (see provenance.py); files before have none.
        "provenance": fitted.provenance.record,
        "history": state.history,
        "loss": state.loss,
        "training": training,
    }
    write_container(path, metadata, tensors)


def _names(names: Any) -> list[str] | None:
    """Feature names as a JSON list."""
    return None if names is None else [str(n) for n in names]


# --------------------------------------------------------------------------- load


def _shuffle_position(saved: dict[str, Any] | None, version: int) -> dict[str, Any] | None:
    """The training state's shuffle position: format 1 saved the generator state alone."""
    if saved is not None and version < 2:
        return {"state": saved, "drawn": 0, "rows": 0}
    return saved


def _checked_metadata(file: Path) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """The file's metadata and arrays, refused unless it is an mlp_xp model this version reads."""
    meta, arrays = read_container(file)
    if meta.get("format") != FORMAT:
        msg = f"its metadata says format {meta.get('format')!r}, not {FORMAT!r}"
        raise ValueError(msg)
    if int(meta.get("format_version", -1)) > FORMAT_VERSION:
        msg = (
            f"it has format version {meta['format_version']}, newer than this "
            f"mlp_xp ({__version__}) reads; upgrade mlp_xp"
        )
        raise ValueError(msg)
    return meta, arrays


def _where(meta: dict[str, Any], backend: str | None, device: object) -> Placement:
    """Where the weights go: as asked, else where trained if usable here, else nearest to it.

    A model trained on a device this machine lacks (``torch`` ``cuda:0`` on a
    laptop) goes to its backend's default device; one trained on a backend that
    is not usable here, or in a dtype its backend cannot compute in here (JAX's
    float64 without x64 mode), goes to NumPy.  Either way a
    :class:`PlacementWarning` says so, once.  A backend asked for that lacks
    the model's dtype is refused with the fix.
    """
    dtype = str(meta["dtype"])
    if dtype not in FLOAT_DTYPES:
        msg = f"its metadata gives the dtype {dtype!r}, not one of {', '.join(FLOAT_DTYPES)}"
        raise ValueError(msg)
    if backend is not None:
        placement = resolve(backend, device)
        lacking = dtype_unavailable(placement, dtype)
        if lacking:
            msg = f"cannot load this {dtype} model on {placement.name}: {lacking}"
            raise BackendUnavailableError(msg)
        return placement
    trained = meta["trained_on"]
    name, where = trained["backend"], f"{trained['backend']} {trained['device']}"
    info = backend_info(name)
    if info.available:
        try:
            placement, why = resolve(name, trained["device"]), ""
        except BackendUnavailableError as exc:
            placement, why = resolve(name), str(exc)
        lacking = dtype_unavailable(placement, dtype)
        if lacking:
            placement, why = host_placement(), "; ".join(filter(None, (why, lacking)))
            where += f" in {dtype}"
        if not why:
            return placement
    else:
        placement, why = host_placement(), info.reason
    msg = (
        f"the model was trained on {where}, which is not usable here ({why}); "
        f"it is loaded on {placement.name} {device_name(placement)} instead"
    )
    warn_at_caller(msg, PlacementWarning)
    return placement


def _restore(meta: dict[str, Any], arrays: dict[str, np.ndarray], where: Placement) -> Any:
    """A fitted estimator from a file's metadata and arrays, with its weights in ``where``."""
    hyper = {k: _from_json(v) for k, v in meta["hyperparameters"].items()}
    hyper["hidden_layer_sizes"] = tuple(hyper["hidden_layer_sizes"])
    dtype = meta["dtype"]
    cls: Any = _estimator_class(meta["estimator"])
    params = _decode_tree(meta["params"], arrays, where, dtype)
    _check_architecture(params, meta)
    scalers = []
    for name in ("x_scaler_", "y_scaler_"):
        spec = meta["scalers"].get(name)
        scalers.append(
            None
            if spec is None
            else Scaler(
                _decode_tree(spec["mean"], arrays, where, dtype),
                _decode_tree(spec["scale"], arrays, where, dtype),
            )
        )
    classes = None
    if meta.get("classes") is not None:
        kind = meta["classes"]["kind"]
        values = meta["classes"]["values"]
        classes = np.asarray(values, dtype=None if kind in "biuf" else str)
    # The plan comes from the estimator's hyperparameters and classes, as fit made it.
    network = Network(
        params=params,
        plan=cls.plan_for(hyper, classes),
        n_features_in=int(meta["n_features_in"]),
        n_outputs=int(meta["n_outputs"]),
        backend=where.name,
        device=device_name(where),
        dtype=dtype,
        x_scaler=scalers[0],
        y_scaler=scalers[1],
        classes=classes,
        y_1d=bool(meta.get("y_1d", True)),
    )
    fitted = FittedModel(
        estimator=meta["estimator"],
        hyperparameters=hyper,
        network=network,
        training=_training_state(meta, arrays, where, params),
        data=DataRecord.of(meta.get("feature_names"), meta.get("target_name"), meta.get("data")),
        provenance=Provenance(
            None if meta.get("provenance") is None else dict(meta["provenance"])
        ),
        class_weight=None
        if meta.get("class_weight") is None
        else _from_json(meta["class_weight"]),
    )
    return cls.from_fitted(fitted)


def _training_state(
    meta: dict[str, Any], arrays: dict[str, np.ndarray], where: Placement, params: Any
) -> TrainingState:
    """The state that resumes training: optimizer, shuffle position, early stopping."""
    training, dtype = meta["training"], meta["dtype"]
    opt = None
    if training["optimizer_state"] is not None:
        saved = _decode_tree(training["optimizer_state"], arrays, where, dtype)
        # Rebuilt in the optimizer's own state types: files that stored them as
        # plain tuples (before they had names) resume the same way.
        hyper = meta["hyperparameters"]
        fresh = OPTIMIZERS[hyper["optimizer"]](hyper["learning_rate"]).init(params)
        opt = tree_unflatten(fresh, tree_leaves(saved))
    best = training["best_params"]
    return TrainingState(
        opt=opt,
        rng=_shuffle_position(training["rng"], int(meta["format_version"])),
        best=None if best is None else _decode_tree(best, arrays, where, dtype),
        best_loss=training["best_loss"],
        bad_epochs=int(training["bad_epochs"]),
        lr=training.get("lr") or float(meta["hyperparameters"]["learning_rate"]),
        seen=int(training.get("seen") or 0),
        # Files before the method was recorded drew the validation rows at random.
        split=training.get("split") or "random",
        n_epochs=int(training["n_epochs"]),
        best_epoch=None if training.get("best_epoch") is None else int(training["best_epoch"]),
        history=meta["history"],
        loss=meta.get("loss"),
    )


def load(
    path: str | os.PathLike[str], *, backend: str | None = None, device: object = None
) -> Any:
    """Load a model saved with ``model.save(path)`` onto any backend.

    Parameters
    ----------
    path : str or path
        A ``.safetensors`` or ``.npz`` file written by mlp_xp.
    backend, device : str or None
        Where to put the weights.  None means where the model was trained if that
        backend is usable here, else NumPy on the CPU.

    Returns
    -------
    MLPRegressor or MLPClassifier
        Fitted, ready to predict, and ready to resume training with
        ``fit(X, y, resume=True)``.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        If the file is truncated, corrupted, or not an mlp_xp model.
    """
    file = Path(path)
    if not file.is_file():
        msg = f"model file {str(file)!r} does not exist"
        raise FileNotFoundError(msg)
    if file.suffix.lower() == ".onnx":
        msg = (
            f"{str(file)!r} is an ONNX graph, not an mlp_xp model file: ONNX files carry no "
            "training record; use the .safetensors or .npz model file it was exported from "
            "(mlp_xp.export.load_onnx, mlp-xp predict and mlp-xp evaluate run the graph)"
        )
        raise ValueError(msg)
    try:
        meta, arrays = _checked_metadata(file)
        return _restore(meta, arrays, _where(meta, backend, device))
    except (
        KeyError,
        TypeError,
        IndexError,
        json.JSONDecodeError,
        zipfile.BadZipFile,
        EOFError,
        OSError,
        ValueError,
    ) as exc:
        if isinstance(exc, (FileNotFoundError, ModuleNotFoundError, BackendUnavailableError)):
            raise
        detail = f"{type(exc).__name__}: {exc}" if not isinstance(exc, ValueError) else str(exc)
        msg = (
            f"{str(file)!r} is not a readable mlp_xp model file ({detail}); "
            "it may be truncated, corrupted, or not written by mlp_xp"
        )
        raise ValueError(msg) from None
    except Exception as exc:  # safetensors raises its own error type on a bad header
        msg = (
            f"{str(file)!r} is not a readable mlp_xp model file ({type(exc).__name__}: {exc}); "
            "it may be truncated or corrupted"
        )
        raise ValueError(msg) from None


def _check_architecture(params: tuple[Layer, ...], meta: dict[str, Any]) -> None:
    """The stored weights must chain and match the stored input and output sizes."""
    sizes = [int(params[0].W.shape[1])]
    for i, (W, b) in enumerate(params):
        if int(W.shape[1]) != sizes[-1] or int(b.shape[0]) != int(W.shape[0]):
            msg = f"layer {i} has shapes {tuple(W.shape)} and {tuple(b.shape)} that do not chain"
            raise ValueError(msg)
        sizes.append(int(W.shape[0]))
    if sizes[0] != int(meta["n_features_in"]) or sizes[-1] != int(meta["n_outputs"]):
        msg = (
            f"its weights map {sizes[0]} inputs to {sizes[-1]} outputs but its metadata "
            f"says {meta['n_features_in']} to {meta['n_outputs']}"
        )
        raise ValueError(msg)
