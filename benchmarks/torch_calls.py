"""Count the torch operations one step makes: mlp_xp on the torch backend and by hand.

On tiny every torch call costs a few microseconds of dispatch whatever its size,
so the step's time follows the number of calls.  This counts them with a
``TorchDispatchMode`` (every ATen operation that reaches the dispatcher, views
included) for mlp_xp's kernel step on the torch backend, the hand-written eager
step, and the hand-written step that also computes the loss value (the same work
as mlp_xp's), and lists them with ``--list``.

    python benchmarks/torch_calls.py [--cases tiny] [--dtype float32] [--list]
"""

from __future__ import annotations

import argparse
from typing import Any

from cases import CASES, make_problem, mlp_xp_step, torch_steps


def count_calls(fn: Any) -> list[str]:
    """The ATen operations one call of ``fn`` dispatches, in order, with their shapes."""
    import torch
    from torch.utils._python_dispatch import TorchDispatchMode

    class Log(TorchDispatchMode):
        def __init__(self) -> None:
            super().__init__()
            self.ops: list[str] = []

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            shapes = [tuple(a.shape) if isinstance(a, torch.Tensor) else a for a in args]
            self.ops.append(f"{func.overloadpacket.__name__}{shapes}")
            return func(*args, **(kwargs or {}))

    fn()  # warm-up: nothing first-call-only is counted
    with Log() as log:
        fn()
    return log.ops


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", default="tiny", help=f"of {', '.join(CASES)} (default: tiny)")
    parser.add_argument("--dtype", default="float32", help="(default: float32)")
    parser.add_argument("--list", action="store_true", help="print every operation")
    args = parser.parse_args(argv)
    for case in args.cases.split(","):
        problem = make_problem(case, args.dtype)
        hand = torch_steps(problem, "cpu")
        steps = {
            "mlp_xp on torch": mlp_xp_step(problem, "torch", "cpu"),
            "torch eager": hand["torch eager"],
            "torch eager+loss": hand["torch eager+loss"],
        }
        for name, fn in steps.items():
            ops = count_calls(fn)
            print(f"{case} {args.dtype} {name}: {len(ops)} torch calls")
            if args.list:
                print("\n".join(f"    {op}" for op in ops))


if __name__ == "__main__":
    main()
