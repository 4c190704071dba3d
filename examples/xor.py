"""Knowledge Check 1: why a hidden layer needs a non-linear activation.

XOR is not linearly separable.  Stacking layers without an activation gives
W2 (W1 x + b1) + b2 = W x + b, a single linear layer, however deep: it cannot
do better than 75% on the four XOR points.  The same network with ReLU solves it.

    python examples/xor.py --backend array_api_strict
"""

from __future__ import annotations

import argparse

import mlp_xp
from mlp_xp.data.builtin import make_xor


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", default="numpy")
    parser.add_argument("--device", default=None)
    parser.add_argument("--epochs", type=int, default=300, help="at most this many epochs")
    args = parser.parse_args(argv)

    X, y = make_xor(32, noise=0.0, seed=0)
    scores = {}
    for activation in ("identity", "relu"):
        model = mlp_xp.MLPClassifier(
            hidden_layer_sizes=(8, 8),
            activation=activation,
            learning_rate=0.05,
            batch_size=32,
            epochs=args.epochs,  # each stops sooner, once its loss stops improving
            scale=False,
            backend=args.backend,
            device=args.device,
        ).fit(X, y)
        scores[activation] = model.score(X, y)
        print(
            f"2 -> 8 -> 8 -> 1 with {activation:>8} between layers: "
            f"accuracy {scores[activation]:.2f}, final loss {model.loss_:.4f}"
        )
    print("without an activation the layers collapse into one linear map; with ReLU XOR is solved")
    return scores


if __name__ == "__main__":
    main()
