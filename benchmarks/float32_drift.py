"""How far float32 training drifts from float64, per backend, after a number of epochs.

    python benchmarks/float32_drift.py --data digits --epochs 30
    python benchmarks/float32_drift.py --data bmi --epochs 20 --hidden 8 --batch-size 64 --lr 0.01

Each backend trains the same seeded ``MLPRegressor`` or ``MLPClassifier`` in float32,
NumPy trains it in float64, and the deviation of the weights is printed the way
``mlp-xp verify`` measures it: normwise, and the largest single weight against its
layer's largest.  The README's figures on where float32 runs part from float64 come
from these commands.
"""

from __future__ import annotations

import argparse

import mlp_xp
from mlp_xp.data.builtin import load_digits, make_bmi
from mlp_xp.verify.deviation import weight_deviation


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", choices=("digits", "bmi"), default="digits")
    parser.add_argument("--epochs", type=int, default=30, help="(default: %(default)s)")
    parser.add_argument("--hidden", type=int, default=100, help="(default: %(default)s)")
    parser.add_argument("--batch-size", type=int, default=200, help="(default: %(default)s)")
    parser.add_argument("--lr", type=float, default=1e-3, help="(default: %(default)s)")
    parser.add_argument(
        "--backends", default="numpy,torch", help="float32 runs (default: %(default)s)"
    )
    args = parser.parse_args(argv)
    if args.data == "digits":
        X, y = load_digits()
        cls: type = mlp_xp.MLPClassifier
    else:
        X, y = make_bmi(5000, seed=0)
        cls = mlp_xp.MLPRegressor
    settings = {
        "hidden_layer_sizes": (args.hidden,),
        "epochs": args.epochs,
        "batch_size": args.batch_size,
        "learning_rate": args.lr,
        "tol": 0.0,
        "patience": 10**6,
    }
    reference = cls(**settings, dtype="float64", backend="numpy").fit(X, y)
    print(f"{args.data}, {args.epochs} epochs, float32 against NumPy float64:")
    for backend in args.backends.split(","):
        if not mlp_xp.available_backends()[backend].available:
            print(f"  {backend:<17} skipped: not usable here")
            continue
        model = cls(**settings, dtype="float32", backend=backend).fit(X, y)
        norm, arrays = weight_deviation(model.params_, reference.params_)
        element = max(a.element for a in arrays)
        print(f"  {backend:<17} normwise {norm:.2e}   largest single weight {element:.2e}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
