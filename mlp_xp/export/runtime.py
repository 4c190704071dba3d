"""Exported graphs run on onnxruntime: the export check, and ``mlp-xp predict FILE.onnx`` (export).

onnxruntime is imported inside these functions, so that ``import mlp_xp``
never needs it.
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from typing import Any

import numpy as np

from ..estimators.schema import DataRecord
from .encoding import INPUT, encoding_of, feeds
from .onnx import require_onnx


def session(graph: bytes | str) -> Any:
    """An onnxruntime session on the CPU for a serialized graph or a file's path.

    Raises
    ------
    ModuleNotFoundError
        When onnxruntime is missing (the message has the install command).
    ValueError
        When onnxruntime cannot read the graph.
    """
    require_onnx("running an ONNX graph", builder=False)
    ort = importlib.import_module("onnxruntime")
    options = ort.SessionOptions()
    options.log_severity_level = 3  # errors only: its notes on graph rewrites are not ours
    try:
        return ort.InferenceSession(graph, options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own types for unreadable graphs
        where = f"{graph!r}" if isinstance(graph, str) else "the graph"
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        msg = f"onnxruntime cannot load {where}: {first}"
        raise ValueError(msg) from None


def run_session(sess: Any, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Every output of the graph for its ``inputs`` (see :func:`mlp_xp.export.encoding.feeds`),
    by output name."""
    names = [o.name for o in sess.get_outputs()]
    values = sess.run(names, inputs)
    return dict(zip(names, values))


_ONNX_DTYPES = {"tensor(float)": "float32", "tensor(double)": "float64"}


class OnnxModel:
    """An exported mlp_xp graph on onnxruntime, with the estimator's prediction methods.

    ``predict`` and, for a classifier, ``predict_proba`` and ``classes_``, with
    ``feature_names_in_``, ``target_name_``, ``n_features_in_`` and
    ``data_info_`` (how the command line reads the file's columns) from the
    graph and its metadata, so that the command line treats it as a model.
    Like the model's, its methods take the encoded features; a graph with
    one-hot encoded columns gets them back as text (see ``encoding.feeds``).
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self._session = session(path)
        meta = self._session.get_modelmeta().custom_metadata_map
        if "mlp_xp_version" not in meta:
            msg = f"{path!r} is an ONNX model, but not one exported by mlp_xp (no mlp_xp metadata)"
            raise ValueError(msg)
        self.metadata: dict[str, str] = dict(meta)
        self.data_info_: dict[str, Any] = json.loads(meta.get("data_info", "null")) or {}
        inputs = {i.name: i for i in self._session.get_inputs()}
        self.encoding = encoding_of(self.data_info_)
        if self.encoding is not None:
            self.n_features_in_ = self.encoding.width
            self.dtype_ = str(meta.get("dtype", "float32"))
        else:
            self.n_features_in_ = int(inputs[INPUT].shape[1])
            self.dtype_ = _ONNX_DTYPES.get(inputs[INPUT].type, "float32")
        self.feature_names_in_: list[str] | None = json.loads(meta.get("feature_names", "null"))
        self.target_name_: str | None = json.loads(meta.get("target_name", "null"))
        classes = json.loads(meta.get("classes", "null"))
        if classes is not None:
            self.classes_ = np.asarray(classes)

    def data_record(self) -> DataRecord:
        """The feature names, the target's name and how the data was read, as a model's."""
        return DataRecord.of(self.feature_names_in_, self.target_name_, self.data_info_ or None)

    def _run(self, X: Any) -> dict[str, np.ndarray]:
        rows = np.asarray(X, dtype=self.dtype_)
        if rows.ndim != 2 or rows.shape[1] != self.n_features_in_:
            msg = (
                f"X has shape {rows.shape}, but {self.path} takes "
                f"(n_samples, {self.n_features_in_})"
            )
            raise ValueError(msg)
        return run_session(self._session, feeds(self.encoding, rows))

    def predict(self, X: Any) -> np.ndarray:
        """The labels of a classifier, or the predictions of a regressor."""
        found = self._run(X)
        return found["label"] if "label" in found else found["predictions"]

    def predict_proba(self, X: Any) -> np.ndarray:
        """A classifier's probabilities, shape (n_samples, n_classes)."""
        found = self._run(X)
        if "probabilities" not in found:
            msg = f"{self.path} is a regressor's graph; it has no probabilities"
            raise TypeError(msg)
        return found["probabilities"]


def load_onnx(path: str) -> OnnxModel:
    """An ONNX file exported by mlp_xp, ready to predict on onnxruntime.

    Raises
    ------
    FileNotFoundError
        When ``path`` does not exist.
    ValueError
        When it is not an ONNX model, or not one exported by mlp_xp.
    ModuleNotFoundError
        When onnxruntime is missing.
    """
    if not Path(path).is_file():
        msg = f"model file {path!r} does not exist"
        raise FileNotFoundError(msg)
    return OnnxModel(path)
