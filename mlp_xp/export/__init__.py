"""ONNX export: a model's own forward pass recorded as a graph by ndonnx, checked on onnxruntime.

``to_onnx(model, path)`` builds, checks and writes; ``load_onnx(path)`` runs an
exported file.  Nothing here imports ndonnx, onnx or onnxruntime until it is
called (the ``onnx`` extra: ``pip install 'mlp_xp[onnx]'``).
"""

from .api import ExportReport, check_writable, to_onnx
from .check import GraphCheck, check_graph, limit, sample_rows
from .onnx import build_onnx, metadata, require_onnx
from .runtime import OnnxModel, load_onnx

__all__ = [
    "ExportReport",
    "GraphCheck",
    "OnnxModel",
    "build_onnx",
    "check_graph",
    "check_writable",
    "limit",
    "load_onnx",
    "metadata",
    "require_onnx",
    "sample_rows",
    "to_onnx",
]
