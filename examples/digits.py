"""Classification of scikit-learn's 8x8 handwritten digits (needs scikit-learn).

    python examples/digits.py --backend torch

A 64 -> 100 ReLU -> 10 softmax network trained with cross-entropy and Adam,
scored on a seeded 25% hold-out.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import mlp_xp
from mlp_xp.data.builtin import load_digits
from mlp_xp.data.tables import split


def main(argv: list[str] | None = None) -> float:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", default="auto")
    parser.add_argument("--device", default=None)
    parser.add_argument("--epochs", type=int, default=200)
    args = parser.parse_args(argv)

    X, y = load_digits()
    train, test = split(len(X), 0.25, seed=0)
    model = mlp_xp.MLPClassifier(
        hidden_layer_sizes=(100,),
        epochs=args.epochs,
        dtype="float32",
        backend=args.backend,
        device=args.device,
    )
    start = time.perf_counter()
    model.fit(X[train], y[train])
    seconds = time.perf_counter() - start
    accuracy = model.score(X[test], y[test])
    predicted = np.asarray(mlp_xp.to_host(model.predict(X[test])))
    confusion = np.zeros((10, 10), dtype=int)
    np.add.at(confusion, (y[test], predicted), 1)
    print(
        f"backend {model.backend_}: {model.n_epochs_} epochs in {seconds:.2f} s, "
        f"held-out accuracy {accuracy:.4f} on {len(test)} digits"
    )
    print("confusion matrix (rows: true digit, columns: predicted):")
    print(confusion)
    return accuracy


if __name__ == "__main__":
    main()
