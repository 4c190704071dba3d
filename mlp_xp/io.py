"""Saving and loading models: portable files, written atomically.

A model file holds host copies of every array (weights, scaling statistics,
optimizer state, early-stopping best weights) and a JSON document with the
architecture, hyperparameters, classes, history and the state needed to resume
training.  Two containers are supported, chosen by the file's first bytes on
load and by the path's suffix on save:

* ``.safetensors`` (needs the ``safetensors`` package): the JSON sits in the
  header's ``__metadata__``;
* anything else is a NumPy ``.npz`` archive, the JSON in a ``__mlp_xp__`` entry;
  it needs nothing beyond NumPy and is read with ``allow_pickle=False``.

Nothing device-specific is stored, so a model trained on CuPy loads on a laptop
without CuPy, and the reverse.
"""

from __future__ import annotations

import importlib
import importlib.util
import io
import json
import os
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from ._backend import Placement, backend_info, device_name, from_host, resolve, to_host
from ._version import __version__
from .layers import Layer

FORMAT = "mlp_xp.model"
FORMAT_VERSION = 2
"""2: the training state's shuffle position counts draws since a generator state."""
_METADATA_KEY = "__mlp_xp__"


# --------------------------------------------------------------------------- atomic files


def atomic_write(path: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to ``path`` so that readers see the old file or the new one, never half.

    The bytes go to a temporary file in the same directory, are flushed to disk,
    and the temporary file is renamed over ``path`` (atomic on POSIX and Windows).
    """
    target = Path(path)
    directory = target.parent if str(target.parent) else Path(".")
    if not directory.is_dir():
        msg = f"cannot write {str(target)!r}: the directory {str(directory)!r} does not exist"
        raise FileNotFoundError(msg)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


# --------------------------------------------------------------------------- state trees


def _encode_tree(tree: Any, prefix: str, tensors: dict[str, np.ndarray]) -> Any:
    """A JSON description of a tree of arrays and numbers; arrays go to ``tensors``."""
    if isinstance(tree, tuple):
        children = [_encode_tree(t, f"{prefix}.{i}", tensors) for i, t in enumerate(tree)]
        return {"layer" if isinstance(tree, Layer) else "tuple": children}
    if isinstance(tree, (bool, int, float)):
        return {"value": tree}
    tensors[prefix] = to_host(tree)
    return {"array": prefix}


def _decode_tree(
    spec: Any, tensors: dict[str, np.ndarray], placement: Placement, dtype: str
) -> Any:
    """The inverse of :func:`_encode_tree`, with arrays moved to ``placement``."""
    if "layer" in spec:
        return Layer(*(_decode_tree(s, tensors, placement, dtype) for s in spec["layer"]))
    if "tuple" in spec:
        return tuple(_decode_tree(s, tensors, placement, dtype) for s in spec["tuple"])
    if "value" in spec:
        return spec["value"]
    return from_host(tensors[spec["array"]], placement, dtype)


def _json_value(value: Any) -> Any:
    """Hyperparameters as JSON: tuples become lists, NumPy scalars Python numbers."""
    if isinstance(value, (tuple, list)):
        return [_json_value(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


# --------------------------------------------------------------------------- save


def save_model(model: Any, path: str | os.PathLike[str]) -> None:
    """Write a fitted estimator to ``path`` atomically; see the module docstring."""
    tensors: dict[str, np.ndarray] = {}
    params_spec = _encode_tree(tuple(model.params_), "params", tensors)
    scalers: dict[str, Any] = {}
    for name in ("x_scaler_", "y_scaler_"):
        scaler = getattr(model, name, None)
        if scaler is not None:
            scalers[name] = {
                "mean": _encode_tree(scaler.mean, f"{name}mean", tensors),
                "scale": _encode_tree(scaler.scale, f"{name}scale", tensors),
            }
    state = getattr(model, "_state", {}) or {}
    training: dict[str, Any] = {
        "n_epochs": int(model.n_epochs_),
        "rng": state.get("rng"),
        "best_loss": state.get("best_loss"),
        "bad_epochs": state.get("bad_epochs", 0),
        "best_epoch": getattr(model, "best_epoch_", None),
        "optimizer_state": _encode_tree(state["opt"], "opt", tensors) if "opt" in state else None,
        "best_params": (
            _encode_tree(tuple(state["best"]), "best", tensors)
            if state.get("best") is not None
            else None
        ),
    }
    classes = getattr(model, "classes_", None)
    metadata = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "mlp_xp_version": __version__,
        "estimator": type(model).__name__,
        "hyperparameters": {k: _json_value(v) for k, v in model.get_params().items()},
        "trained_on": {"backend": model.backend_, "device": model.device_},
        "dtype": model.dtype_,
        "n_features_in": int(model.n_features_in_),
        "n_outputs": int(model.n_outputs_),
        "y_1d": bool(getattr(model, "_y_1d", True)),
        "params": params_spec,
        "scalers": scalers,
        "classes": None
        if classes is None
        else {"kind": classes.dtype.kind, "values": classes.tolist()},
        "feature_names": getattr(model, "feature_names_in_", None),
        "target_name": getattr(model, "target_name_", None),
        "data": getattr(model, "data_info_", None),
        "history": model.history_,
        "loss": getattr(model, "loss_", None),
        "training": training,
    }
    text = json.dumps(metadata, allow_nan=True)
    if Path(path).suffix == ".safetensors":
        if importlib.util.find_spec("safetensors") is None:
            msg = (
                f"writing {str(path)!r} needs the safetensors package: pip install safetensors "
                "(or 'mlp_xp[cli]'); or give a .npz path instead"
            )
            raise ModuleNotFoundError(msg)
        st = importlib.import_module("safetensors.numpy")
        contiguous = {k: np.ascontiguousarray(v) for k, v in tensors.items()}
        data = st.save(contiguous, metadata={_METADATA_KEY: text})
    else:
        buffer = io.BytesIO()
        entries: dict[str, Any] = {**tensors, _METADATA_KEY: np.array(text)}
        np.savez(buffer, **entries)
        data = buffer.getvalue()
    atomic_write(path, data)


# --------------------------------------------------------------------------- load


def _read(path: Path) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """The metadata and host arrays of a model file, whichever container it is."""
    with path.open("rb") as handle:
        head = handle.read(16)
    if head[:2] == b"PK":
        # Open the file ourselves: np.load leaks its handle when the zip is damaged.
        with path.open("rb") as handle, np.load(handle, allow_pickle=False) as archive:
            arrays = {k: archive[k] for k in archive.files}
        text = str(arrays.pop(_METADATA_KEY))
        return json.loads(text), arrays
    if len(head) >= 9 and head[8:9] == b"{":
        if importlib.util.find_spec("safetensors") is None:
            msg = f"{str(path)!r} is a safetensors file; reading it needs: pip install safetensors"
            raise ModuleNotFoundError(msg)
        safetensors = importlib.import_module("safetensors")
        with safetensors.safe_open(str(path), framework="np") as f:
            meta = f.metadata() or {}
            arrays = {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118 (not a dict)
        return json.loads(meta[_METADATA_KEY]), arrays
    msg = "it is neither a .npz archive nor a safetensors file"
    raise ValueError(msg)


def _shuffle_position(saved: dict[str, Any] | None, version: int) -> dict[str, Any] | None:
    """The training state's shuffle position: format 1 saved the generator state alone."""
    if saved is not None and version < 2:
        return {"state": saved, "drawn": 0, "rows": 0}
    return saved


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
    from . import estimators

    file = Path(path)
    if not file.is_file():
        msg = f"model file {str(file)!r} does not exist"
        raise FileNotFoundError(msg)
    try:
        meta, arrays = _read(file)
        if meta.get("format") != FORMAT:
            msg = f"its metadata says format {meta.get('format')!r}, not {FORMAT!r}"
            raise ValueError(msg)
        if int(meta.get("format_version", -1)) > FORMAT_VERSION:
            msg = (
                f"it has format version {meta['format_version']}, newer than this "
                f"mlp_xp ({__version__}) reads; upgrade mlp_xp"
            )
            raise ValueError(msg)
        cls = {"MLPRegressor": estimators.MLPRegressor, "MLPClassifier": estimators.MLPClassifier}[
            meta["estimator"]
        ]
        hyper = dict(meta["hyperparameters"])
        hyper["hidden_layer_sizes"] = tuple(hyper["hidden_layer_sizes"])
        if backend is None:
            trained = meta["trained_on"]
            usable = backend_info(trained["backend"]).available
            where = resolve(trained["backend"], trained["device"]) if usable else resolve("numpy")
        else:
            where = resolve(backend, device)
        dtype = meta["dtype"]
        model: Any = cls(**hyper)
        model.params_ = _decode_tree(meta["params"], arrays, where, dtype)
        _check_architecture(model.params_, meta)
        model.backend_, model.device_, model.dtype_ = where.name, device_name(where), dtype
        model.n_features_in_ = int(meta["n_features_in"])
        model.n_outputs_ = int(meta["n_outputs"])
        model._y_1d = bool(meta.get("y_1d", True))
        for name in ("x_scaler_", "y_scaler_"):
            spec = meta["scalers"].get(name)
            setattr(
                model,
                name,
                None
                if spec is None
                else estimators._Scaler(
                    _decode_tree(spec["mean"], arrays, where, dtype),
                    _decode_tree(spec["scale"], arrays, where, dtype),
                ),
            )
        if meta.get("classes") is not None:
            kind = meta["classes"]["kind"]
            values = meta["classes"]["values"]
            model.classes_ = np.asarray(values, dtype=None if kind in "biuf" else str)
        if meta.get("feature_names") is not None:
            model.feature_names_in_ = list(meta["feature_names"])
        if meta.get("target_name") is not None:
            model.target_name_ = meta["target_name"]
        if meta.get("data") is not None:
            model.data_info_ = dict(meta["data"])
        model.history_ = meta["history"]
        model.loss_ = meta.get("loss")
        training = meta["training"]
        model.n_epochs_ = int(training["n_epochs"])
        if training.get("best_epoch") is not None:
            model.best_epoch_ = int(training["best_epoch"])
        model._state = {
            "opt": None
            if training["optimizer_state"] is None
            else _decode_tree(training["optimizer_state"], arrays, where, dtype),
            "rng": _shuffle_position(training["rng"], int(meta["format_version"])),
            "best": None
            if training["best_params"] is None
            else _decode_tree(training["best_params"], arrays, where, dtype),
            "best_loss": training["best_loss"],
            "bad_epochs": int(training["bad_epochs"]),
        }
        model.interrupted_ = False
        return model
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
        if isinstance(exc, (FileNotFoundError, ModuleNotFoundError)):
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
