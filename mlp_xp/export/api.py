"""``mlp_xp.export.to_onnx``: build the graph, check it on onnxruntime, then write it (export).

Nothing is written unless the check passes, and then atomically: a file that
already exists at the path is either left as it was or replaced whole.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ..files import atomic_write
from ..validation import check_nonnegative_int, check_positive_int
from .check import GraphCheck, as_rows, check_graph, sample_rows
from .onnx import build_onnx, check_fitted, count_nodes, describe, require_onnx


@dataclass
class ExportReport:
    """What :func:`to_onnx` built, how it was checked, and whether it was written."""

    path: str
    passed: bool
    """Whether the graph's outputs are within tolerance of the model's predictions."""
    written: bool
    """Whether the file was written (only when the check passed)."""
    model: str
    """The model, e.g. ``MLPClassifier 64-32-10 (relu), float32``."""
    data: str
    """The rows the check ran over."""
    check: GraphCheck
    nodes: int
    """Nodes of the ONNX graph."""
    all_nodes: int
    """Nodes with those of its subgraphs: ndonnx guards each matrix product against an
    empty batch with an ``If``, whose branches hold most of them."""
    size: int
    """Bytes of the serialized graph."""
    outputs: list[str]

    @property
    def deviation(self) -> float:
        return self.check.deviation

    @property
    def tolerance(self) -> float:
        return self.check.tolerance

    def lines(self) -> list[str]:
        """The report as the command line prints it."""
        c = self.check
        verdict = "within" if c.passed else "BEYOND"
        found = [
            f"{self.model}: {self.nodes} ONNX nodes ({self.all_nodes} with subgraphs), "
            f"{self.size} bytes; "
            f"outputs {', '.join(self.outputs)}",
            f"checked on onnxruntime over {self.data}",
            f"{c.measure}: {c.deviation:.3g}, {verdict} the tolerance {c.tolerance:.3g}",
        ]
        if c.labels_differ:
            found.append(
                f"labels differ on {c.labels_differ} of {c.rows} rows, {c.labels_near_tie} of "
                "them where the probabilities are within rounding of a tie"
            )
        if self.written:
            found.append(f"wrote {self.path}")
        else:
            found.append(f"the check failed: nothing was written to {self.path}")
        return found

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def check_writable(path: str | os.PathLike[str]) -> Path:
    """Refuse an output path before any work: a directory, a missing folder, no write access.

    Raises
    ------
    IsADirectoryError, FileNotFoundError, PermissionError
        Naming the path.
    """
    target = Path(path)
    folder = target.parent if str(target.parent) else Path(".")
    if target.is_dir():
        msg = f"cannot write {str(target)!r}: it is a directory; give a file name"
        raise IsADirectoryError(msg)
    if not folder.is_dir():
        msg = f"cannot write {str(target)!r}: the directory {str(folder)!r} does not exist"
        raise FileNotFoundError(msg)
    if not os.access(folder, os.W_OK) or (target.exists() and not os.access(target, os.W_OK)):
        msg = f"cannot write {str(target)!r}: permission denied"
        raise PermissionError(msg)
    return target


def to_onnx(
    model: Any,
    path: str | os.PathLike[str],
    *,
    data: Any = None,
    rows: int = 1000,
    seed: int = 0,
    data_source: str | None = None,
) -> ExportReport:
    """Export ``model`` to an ONNX file, checked on onnxruntime before it is written.

    The graph is the library's own forward pass recorded by ndonnx (see
    :mod:`mlp_xp.export.onnx`): it takes raw features, scales them inside, and
    returns a regressor's predictions in the target's units, or a classifier's
    ``label`` and ``probabilities``.  It is run on onnxruntime over ``data``
    (or a seeded sample in the training range) and compared with the model's
    own predictions by the parity rule (:mod:`mlp_xp.export.check`).  Only
    when they agree is the file written, atomically.

    Parameters
    ----------
    model : MLPRegressor or MLPClassifier
        A fitted or loaded model.
    path : str or path
        Where to write the graph, conventionally ``*.onnx``.  Checked before
        any work; an existing file is left untouched unless the check passes.
    data : array, shape (n_samples, n_features), optional
        The rows to check on; None draws ``rows`` rows, seeded with ``seed``,
        uniform in the training mean +- 3 standard deviations.
    rows, seed : int
        The size and the seed of that sample.
    data_source : str, optional
        How to name ``data`` in the report (the command line gives the file).

    Returns
    -------
    ExportReport
        ``passed``, ``written``, ``deviation``, ``tolerance``, the node count
        and the size; ``lines()`` for printing.

    Raises
    ------
    ModuleNotFoundError
        When the ``onnx`` extra is missing; the message has the install command.
    OSError
        When ``path`` cannot be written (checked before any work).
    """
    target = check_writable(path)
    require_onnx()
    check_fitted(model)
    if data is None:
        n = check_positive_int("rows", rows)
        X, how = sample_rows(model, n, check_nonnegative_int("seed", seed))
    else:
        X = as_rows(model, data)
        how = f"{len(X)} rows of {data_source or 'the data given'}"
    proto = build_onnx(model)
    graph = proto.SerializeToString()
    result = check_graph(model, graph, X)
    if result.passed:
        atomic_write(target, graph)
    return ExportReport(
        path=str(target),
        passed=result.passed,
        written=result.passed,
        model=describe(model),
        data=how,
        check=result,
        nodes=len(proto.graph.node),
        all_nodes=count_nodes(proto.graph),
        size=len(graph),
        outputs=[o.name for o in proto.graph.output],
    )
