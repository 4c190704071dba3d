"""mlp_xp's ONNX export against skl2onnx's converter of scikit-learn's MLPClassifier.

    python benchmarks/onnx_vs_skl2onnx.py
    python benchmarks/onnx_vs_skl2onnx.py --hidden 100 --epochs 30 --threads 1

Both libraries train a classifier of the same shape on the digits (1797 rows,
64 features, 10 classes); scikit-learn's runs in a pipeline behind a
``StandardScaler``, so that both graphs take raw features and scale inside.
mlp_xp exports with ``mlp_xp.export.to_onnx`` (its own forward pass, recorded by
ndonnx, checked on export), skl2onnx with its hand-written converter, in float32
and float64.  For each graph: its nodes (at the top level, and with the
branches of its ``If`` nodes), the size of its file, the largest deviation of
its probabilities from its own library's ``predict_proba`` on all 1797 rows,
whether the labels agree, and onnxruntime's time per 1,000 rows (the median of
``--repeats`` runs of one 1,000-row batch, after a warm-up), with the ratio to
mlp_xp's graph of the same dtype measured in the same run.
"""

from __future__ import annotations

import argparse
import importlib
import statistics
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

import mlp_xp
from mlp_xp.data.builtin import load_digits
from mlp_xp.export import to_onnx
from mlp_xp.export.onnx import count_nodes

DTYPES = ("float32", "float64")


def _ms_per_1000(sess: Any, X: np.ndarray, repeats: int) -> float:
    """onnxruntime's median time for the first 1,000 rows of ``X``, in milliseconds."""
    batch = X[:1000]
    name = sess.get_inputs()[0].name
    sess.run(None, {name: batch})
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        sess.run(None, {name: batch})
        times.append(time.perf_counter() - start)
    return 1e3 * statistics.median(times) * 1000 / len(batch)


def _session(graph: bytes, threads: int) -> Any:
    ort = importlib.import_module("onnxruntime")
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    return ort.InferenceSession(graph, options, providers=["CPUExecutionProvider"])


def _row(
    name: str,
    dtype: str,
    proto: Any,
    graph: bytes,
    X: np.ndarray,
    proba: np.ndarray,
    labels: np.ndarray,
    args: argparse.Namespace,
) -> dict[str, Any]:
    """One graph's figures: nodes, size, deviation from its library, labels, time."""
    sess = _session(graph, args.threads)
    names = [o.name for o in sess.get_outputs()]
    found = dict(zip(names, sess.run(names, {sess.get_inputs()[0].name: X.astype(dtype)})))
    return {
        "graph": name,
        "dtype": dtype,
        "nodes": len(proto.graph.node),
        "all_nodes": count_nodes(proto.graph),
        "bytes": len(graph),
        "deviation": float(np.max(np.abs(found["probabilities"] - proba))),
        "labels_equal": bool(np.array_equal(found["label"], labels)),
        "ms": _ms_per_1000(sess, X.astype(dtype), args.repeats),
    }


def _mlp_xp_rows(X: np.ndarray, y: np.ndarray, args: argparse.Namespace) -> list[dict]:
    """mlp_xp's classifier in each dtype, exported and checked by to_onnx."""
    rows = []
    onnx = importlib.import_module("onnx")
    for dtype in DTYPES:
        model = mlp_xp.MLPClassifier(
            hidden_layer_sizes=(args.hidden,), epochs=args.epochs, dtype=dtype, seed=0
        ).fit(X, y)
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "mlp_xp.onnx"
            report = to_onnx(model, path, data=X, data_source="the digits")
            print(f"  mlp_xp {dtype}: " + "; ".join(report.lines()[1:3]))
            graph = path.read_bytes()
        proba = mlp_xp.to_host(model.predict_proba(X))
        labels = np.asarray(model.predict(X))
        rows.append(
            _row("mlp_xp", dtype, onnx.load_from_string(graph), graph, X, proba, labels, args)
        )
    return rows


def _skl2onnx_rows(X: np.ndarray, y: np.ndarray, args: argparse.Namespace) -> list[dict]:
    """scikit-learn's MLPClassifier behind a StandardScaler, converted by skl2onnx."""
    from skl2onnx import to_onnx as skl_to_onnx
    from skl2onnx.common.data_types import DoubleTensorType, FloatTensorType
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    clf = MLPClassifier(hidden_layer_sizes=(args.hidden,), max_iter=args.epochs, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # a few epochs, on purpose
        pipe = make_pipeline(StandardScaler(), clf).fit(X, y)
    proba, labels = pipe.predict_proba(X), pipe.predict(X)
    rows = []
    for dtype, tensor in zip(DTYPES, (FloatTensorType, DoubleTensorType)):
        proto = skl_to_onnx(
            pipe, initial_types=[("X", tensor([None, X.shape[1]]))], options={"zipmap": False}
        )
        graph = proto.SerializeToString()
        rows.append(_row("skl2onnx", dtype, proto, graph, X, proba, labels, args))
    return rows


def _table(rows: list[dict]) -> str:
    """The figures as a Markdown table, with each time's ratio to mlp_xp's of its dtype."""
    ours = {r["dtype"]: r["ms"] for r in rows if r["graph"] == "mlp_xp"}
    lines = [
        "| graph | dtype | nodes (with If branches) | file | max deviation from own "
        "predict_proba | labels | ms per 1,000 rows | time vs mlp_xp |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['graph']} | {r['dtype']} | {r['nodes']} ({r['all_nodes']}) | "
            f"{r['bytes'] / 1024:.1f} KiB | {r['deviation']:.2g} | "
            f"{'equal' if r['labels_equal'] else 'DIFFER'} | {r['ms']:.3f} | "
            f"{r['ms'] / ours[r['dtype']]:.2f}x |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hidden", type=int, default=32, help="(default: %(default)s)")
    parser.add_argument("--epochs", type=int, default=50, help="(default: %(default)s)")
    parser.add_argument("--repeats", type=int, default=200, help="(default: %(default)s)")
    parser.add_argument(
        "--threads", type=int, default=1, help="onnxruntime's threads (default: %(default)s)"
    )
    args = parser.parse_args(argv)
    X, y = load_digits()
    print(f"digits {X.shape}, 64-{args.hidden}-10, {args.epochs} epochs; export checks:")
    rows = _mlp_xp_rows(X, y, args) + _skl2onnx_rows(X, y, args)
    print()
    print(_table(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
