"""The lecture's example: BMI from (height, weight), 2 -> 8 ReLU -> 1.

    python examples/bmi_regression.py --backend auto

Trains MLPRegressor on 4000 generated adults and reports R^2 on 1000 more.
"""

from __future__ import annotations

import argparse
import time

import mlp_xp
from mlp_xp.data.builtin import make_bmi


def main(argv: list[str] | None = None) -> float:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", default="auto", help="auto, numpy, cupy, torch, ...")
    parser.add_argument("--device", default=None)
    parser.add_argument("--dtype", default="float32", choices=("float32", "float64"))
    parser.add_argument("--epochs", type=int, default=200)
    args = parser.parse_args(argv)

    X, y = make_bmi(5000, seed=0)
    model = mlp_xp.MLPRegressor(
        hidden_layer_sizes=(8,),
        activation="relu",
        optimizer="adam",
        learning_rate=0.01,
        batch_size=64,
        epochs=args.epochs,
        tol=0.0,
        dtype=args.dtype,
        backend=args.backend,
        device=args.device,
    )
    start = time.perf_counter()
    model.fit(X[:4000], y[:4000])
    seconds = time.perf_counter() - start
    r2 = model.score(X[4000:], y[4000:])
    W0 = model.params_[0].W
    print(
        f"backend {model.backend_} ({model.device_}, {model.dtype_}): {model.n_epochs_} epochs "
        f"in {seconds:.2f} s, held-out R^2 = {r2:.5f}; W0 has shape {tuple(W0.shape)}"
    )
    print(
        f"a 1.80 m, 80 kg adult: predicted BMI {float(model.predict([[1.80, 80.0]])[0]):.2f}, "
        f"true {80 / 1.80**2:.2f}"
    )
    return r2


if __name__ == "__main__":
    main()
