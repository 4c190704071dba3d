"""A fitted model as an ONNX graph, built by running its own forward pass on ndonnx (export layer).

ndonnx implements the Array API by recording ONNX operators.  So the graph is
not converted from the model by a second implementation of the network: it is
what :func:`mlp_xp.nn.backprop.forward_output` records when it is handed
ndonnx arrays, the weights as constants and the features as the graph's input.
The model's own scalers, holding graph constants, scale the input and, for a
regressor, unscale the output, so the graph takes raw features and returns
what ``predict`` returns.

The graph has one input, ``X`` of shape (batch, n_features) in the model's
dtype, with a dynamic batch dimension; a model trained with ``--categorical``
takes its file's columns instead, numbers and text, and one-hot encodes the text
inside the graph (:mod:`mlp_xp.export.encoding`).  Its outputs:

* a regressor: ``predictions``, shape (batch,) when the model was trained on a
  1-D y, else (batch, n_outputs), in the target's units;
* a classifier: ``label``, shape (batch,), the predicted classes as a tensor of
  the classes' own type (strings, integers, floats or booleans), and
  ``probabilities``, shape (batch, n_classes), in the order of ``classes``.

The model's metadata properties (:func:`metadata`) carry the feature names, the
classes, the mlp_xp version and the training data's fingerprint.
"""

from __future__ import annotations

import copy
import importlib
import importlib.util
import json
from dataclasses import replace
from typing import Any, cast

import numpy as np

from .._version import __version__
from ..backend import Placement, adapter, move, resolve
from ..estimators.schema import FittedModel, Network
from ..nn.layers import Layer, Params
from .encoding import INPUT, encoding_of, graph_inputs

READING: tuple[str, ...] = ("columns", "categories", "no_header", "delimiter", "encoding")
"""What ``data_info_`` records about how the command line reads a file's columns."""
GRAPH_BACKEND = "ndonnx"
"""The backend whose arrays record an ONNX graph (an ``inference_only`` adapter)."""
RUNTIME_MODULES: tuple[str, ...] = ("onnx", "onnxruntime")
"""The file format and the runtime, beside the graph builder."""
INSTALL = "pip install 'mlp_xp[onnx]' (ndonnx, onnx and onnxruntime)"
"""How to install what the export needs."""
BATCH = "batch"
"""The name of the graph input's dynamic first dimension."""


def missing_modules(modules: tuple[str, ...] = RUNTIME_MODULES) -> list[str]:
    """The packages of the ``onnx`` extra among ``modules`` that cannot be imported here."""
    return [name for name in modules if importlib.util.find_spec(name) is None]


def require_onnx(what: str = "ONNX export", *, builder: bool = True) -> None:
    """Refuse to start when the ``onnx`` extra is missing, naming what and how to install it.

    Raises
    ------
    ModuleNotFoundError
        Naming the missing packages and the install command.
    """
    missing = missing_modules()
    if builder:
        info = adapter(GRAPH_BACKEND).info()
        if not info.installed:
            missing.insert(0, GRAPH_BACKEND)
        elif not info.available:
            msg = f"{what} needs {GRAPH_BACKEND}, which is unusable here: {info.reason}"
            raise ModuleNotFoundError(msg)
    if missing:
        verb = "is" if len(missing) == 1 else "are"
        msg = f"{what} needs {' and '.join(missing)}, which {verb} not installed: {INSTALL}"
        raise ModuleNotFoundError(msg)


def fitted_of(model: Any) -> FittedModel:
    """The model's schema, :meth:`fitted_model`; a model without weights is refused.

    Raises
    ------
    NotFittedError
        Saying to fit the model or load a saved one.
    """
    return cast("FittedModel", model.fitted_model())


def check_fitted(model: Any) -> None:
    """Refuse a model that has no weights yet."""
    fitted_of(model)


def is_classifier(model: Any) -> bool:
    """Whether ``model`` predicts classes (it has ``classes_``)."""
    return fitted_of(model).network.is_classifier


def layer_sizes(params: Params) -> tuple[int, ...]:
    """``(n_features, *hidden, n_outputs)`` from the weights, W of shape (out, in)."""
    return (int(params[0].W.shape[1]), *(int(layer.W.shape[0]) for layer in params))


def _graph_classes(classes: Any) -> np.ndarray:
    """Classes as a host array ONNX can hold: text as str, numbers as they are."""
    classes = np.asarray(classes)
    return classes.astype(str) if classes.dtype.kind in "OSU" else classes


def _on_graph(scaler: Any, graph: Placement, dtype: str) -> Any:
    """The model's own scaler with its statistics as graph constants, so it scales as predict."""
    if scaler is None:
        return None
    moved = copy.copy(scaler)
    moved.mean = move(scaler.mean, graph, dtype)
    moved.scale = move(scaler.scale, graph, dtype)
    return moved


def _outputs(network: Network, xp: Any, out: Any) -> dict[str, Any]:
    """The graph's outputs from the network's output ``out``: the network's own post-processing."""
    if not network.is_classifier:
        return {"predictions": network.targets(out)}
    classes = xp.asarray(_graph_classes(network.classes))
    index = network.label_index(xp, out)
    return {"label": xp.take(classes, index), "probabilities": network.probabilities(xp, out)}


def build_onnx(model: Any, *, params: Params | None = None) -> Any:
    """Record ``model``'s prediction as an ONNX graph.

    Parameters
    ----------
    model : MLPRegressor or MLPClassifier
        A fitted or loaded model, on any backend; read, never changed.
    params : tuple of Layer, optional
        The weights to put in the graph; None takes ``model.params_``.  Other
        weights make a graph that is not the model's, which the export check
        (:func:`mlp_xp.export.check.check_graph`) must refuse.

    Returns
    -------
    onnx.ModelProto
        The graph, with its metadata properties (see :func:`metadata`).

    Raises
    ------
    ModuleNotFoundError
        When the ``onnx`` extra is missing (the message has the install command).
    """
    require_onnx()
    fitted = fitted_of(model)
    network = fitted.network
    weights = network.params if params is None else params
    dtype = network.dtype
    graph = resolve(GRAPH_BACKEND)
    xp = graph.xp
    # The model's network, its weights and scalers as graph constants.
    on_graph = replace(
        network,
        params=tuple(
            Layer(move(layer.W, graph, dtype), move(layer.b, graph, dtype)) for layer in weights
        ),
        x_scaler=_on_graph(network.x_scaler, graph, dtype),
        y_scaler=_on_graph(network.y_scaler, graph, dtype),
        n_outputs=layer_sizes(weights)[-1],
    )
    n_features = int(weights[0].W.shape[1])
    encoding = encoding_of(fitted.data.info)
    if encoding is None:
        X = xp.argument(shape=(BATCH, n_features), dtype=getattr(xp, dtype))
        inputs = {INPUT: X}
    else:
        inputs, X = graph_inputs(xp, encoding, dtype, BATCH)
    proto = xp.build(inputs, _outputs(on_graph, xp, on_graph.forward(xp, X)))
    proto.producer_name = "mlp_xp"
    proto.producer_version = __version__
    proto.doc_string = describe(model)
    proto.graph.name = f"mlp_xp_{fitted.estimator}"
    for key, value in metadata(model).items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value
    return proto


def count_nodes(graph: Any) -> int:
    """The nodes of an ONNX graph, those of its subgraphs (the branches of ``If``) included."""
    total = 0
    for node in graph.node:
        total += 1
        for attribute in node.attribute:
            if attribute.HasField("g"):
                total += count_nodes(attribute.g)
            total += sum(count_nodes(g) for g in attribute.graphs)
    return total


def describe(model: Any) -> str:
    """One line naming the model, e.g. ``MLPClassifier 64-32-10 (relu), float32``."""
    fitted = fitted_of(model)
    sizes = "-".join(str(n) for n in fitted.network.layer_sizes)
    activation = fitted.hyperparameters["activation"]
    return f"{fitted.estimator} {sizes} ({activation}), {fitted.network.dtype}"


def _data_fingerprint(fitted: FittedModel) -> Any:
    """What the model records about its training data: the fingerprints of X and y."""
    if fitted.provenance.data:
        return fitted.provenance.data
    fingerprint = fitted.data.get("fingerprint")
    return {"X": fingerprint} if fingerprint else None


def metadata(model: Any) -> dict[str, str]:
    """The graph's metadata properties, each value a string (JSON where it is not text).

    ``mlp_xp_version``, ``estimator``, ``description``, ``dtype``,
    ``feature_names`` (a JSON list, or null), ``target_name``, ``classes`` (a
    JSON list in the order of the ``probabilities`` columns; null for a
    regressor), ``outputs`` (the output names, JSON), ``data_fingerprint``
    (JSON: the sha256, shape, dtype and column sums of the training X and y,
    as ``provenance_["data"]`` records them; null when not recorded),
    ``data_source`` (where the CLI read the data, or null) and ``data_info``
    (JSON: how the CLI read the file's columns, as ``data_info_`` records it:
    ``columns``, the one-hot encoded ``categories``, ``no_header``,
    ``delimiter`` and ``encoding``; null when not recorded).
    """
    fitted = fitted_of(model)
    network, data = fitted.network, fitted.data
    classes = _graph_classes(network.classes).tolist() if network.is_classifier else None
    info = data.info or {}
    outputs = ["label", "probabilities"] if network.is_classifier else ["predictions"]
    names = data.feature_names
    return {
        "mlp_xp_version": __version__,
        "estimator": fitted.estimator,
        "description": describe(model),
        "dtype": str(network.dtype),
        "feature_names": json.dumps(None if names is None else list(names)),
        "target_name": json.dumps(data.target_name),
        "classes": json.dumps(classes),
        "outputs": json.dumps(outputs),
        "data_fingerprint": json.dumps(_data_fingerprint(fitted)),
        "data_source": json.dumps(info.get("source")),
        "data_info": json.dumps({k: info[k] for k in READING if k in info} or None),
    }
