"""The lecture's first network: parallel sigmoid perceptrons, y_hat = sigma(W x + b).

One layer, no hidden units, several outputs, trained with the lecture's half
squared error and plain gradient descent, using the low-level API:

    python examples/perceptron_sigmoid.py --backend torch

Each of the 3 outputs is its own perceptron on the same 4 inputs; each learns
one linearly separable rule.  The gradient is the lecture's
dL/dw_ij = (y_hat_j - y_j) sigma(z_j) (1 - sigma(z_j)) x_i, with sigma' taken
of the pre-activation z.
"""

from __future__ import annotations

import argparse

import numpy as np

import mlp_xp


def main(argv: list[str] | None = None) -> float:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", default="numpy")
    parser.add_argument("--device", default=None)
    parser.add_argument("--steps", type=int, default=2000)
    args = parser.parse_args(argv)

    rng = np.random.default_rng(0)
    X_host = rng.normal(size=(512, 4))
    # Three rules, each a half-space: the outputs are independent perceptrons.
    rules = np.array([[1.0, 1.0, 0.0, 0.0], [0.0, -1.0, 2.0, 0.0], [1.0, 0.0, 0.0, -1.0]])
    Y_host = (X_host @ rules.T > 0).astype(np.float64)

    X = mlp_xp.to_backend(X_host.astype(np.float32), args.backend, args.device)
    Y = mlp_xp.to_backend(Y_host.astype(np.float32), args.backend, args.device)
    params = mlp_xp.init_params(
        (4, 3), seed=0, dtype="float32", backend=args.backend, device=args.device
    )
    settings = {"activation": "identity", "loss": "squared_error", "output": "sigmoid"}
    for step in range(args.steps + 1):
        if step % (args.steps // 4) == 0:
            value = float(mlp_xp.to_host(mlp_xp.loss(params, X, Y, **settings)))
            print(f"step {step:5d}  half squared error {value:.5f}")
        params = mlp_xp.step(params, X, Y, learning_rate=2.0, **settings)
    y_hat = mlp_xp.to_host(mlp_xp.forward(params, X, activation="identity", output="sigmoid"))
    accuracy = float(np.mean((y_hat > 0.5) == (Y_host > 0.5)))
    print(f"backend {args.backend}: accuracy of the 3 perceptrons {accuracy:.3f}")
    print("W (3 perceptrons x 4 inputs), scaled to unit rows:")
    W = mlp_xp.to_host(params[0].W)
    print(np.round(W / np.linalg.norm(W, axis=1, keepdims=True), 2))
    return accuracy


if __name__ == "__main__":
    main()
