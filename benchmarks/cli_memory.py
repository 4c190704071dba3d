"""Peak resident memory of ``mlp-xp train`` over the size of the data, on .npz and CSV (issue 16).

Run: ``python benchmarks/cli_memory.py [ROWS ...]`` (default 100000 1000000).
Each size writes X (64 float32 features, normal) and y = x0 + x1 + x2 to
``$TMPDIR/mlp_xp_cli_memory/`` once, as an .npz and as a CSV (``%.9g``, so the
float32 values read back exactly), then runs ::

    mlp-xp train --data FILE --dtype float32 --epochs 1 --backend numpy --quiet \
        --hidden 64 --batch-size 1024 --early-stopping

(the model of ``benchmarks/fit_memory.py``; 20% of the rows held out, the
default) as a grandchild process (started by a small interpreter, so that none of
this one's pages count) and reads its peak resident set size (``ru_maxrss``).  The
baseline is the same command on 1,000 rows of the same kind of file: the
interpreter, the imports and a tiny fit.  The ratio is
``(peak - baseline - data) / data``, with data the bytes of X as float32: the
memory the command line needs beyond the data itself, to compare with the
ratio of ``fit`` alone (``benchmarks/fit_memory.py``).  The figures in README.md,
"How big can the data be", come from this script.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

FEATURES = 64
BASELINE_ROWS = 1_000
COMMAND = [
    *("--dtype", "float32", "--epochs", "1", "--backend", "numpy", "--quiet"),
    *("--hidden", "64", "--batch-size", "1024", "--early-stopping"),
]


def data_files(rows: int, folder: Path) -> dict[str, Path]:
    """The .npz and CSV files of ``rows`` rows, written once into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    files = {"npz": folder / f"rows{rows}.npz", "csv": folder / f"rows{rows}.csv"}
    if all(f.exists() for f in files.values()):
        return files
    X = np.random.default_rng(rows).normal(size=(rows, FEATURES)).astype(np.float32)
    y = X[:, :3].sum(axis=1, dtype=np.float32)
    partial = files["npz"].with_suffix(".part.npz")
    np.savez(partial, X=X, y=y)
    partial.replace(files["npz"])
    header = ",".join([*(f"x{j}" for j in range(FEATURES)), "y"])
    partial = files["csv"].with_suffix(".part")
    np.savetxt(
        partial, np.column_stack([X, y]), fmt="%.9g", delimiter=",", header=header, comments=""
    )
    partial.replace(files["csv"])
    return files


# A child forked from this process counts this process's pages in its ru_maxrss
# until it execs; one forked from a small interpreter does not.
_MEASURE = (
    "import resource, subprocess, sys; "
    "code = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL).returncode; "
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); sys.exit(code)"
)


def peak_rss(path: Path) -> tuple[int, float]:
    """(peak resident bytes, seconds) of ``mlp-xp train`` on ``path``, run as a grandchild."""
    argv = [sys.executable, "-m", "mlp_xp.cli", "train", "--data", str(path), *COMMAND]
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", _MEASURE, *argv], capture_output=True, text=True, check=False
    )
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed ({done.returncode}): {done.stderr}")
    return int(done.stdout.split()[-1]) * 1024, seconds  # Linux reports KiB


def main(argv: list[str]) -> int:
    sizes = [int(a) for a in argv] or [100_000, 1_000_000]
    folder = Path(tempfile.gettempdir()) / "mlp_xp_cli_memory"
    base = data_files(BASELINE_ROWS, folder)
    baseline = {kind: peak_rss(path)[0] for kind, path in base.items()}
    print("| file | rows | data (float32) | peak RSS | baseline | extra / data | seconds |")
    print("|---|---|---|---|---|---|---|")
    for rows in sizes:
        data = rows * FEATURES * 4
        for kind, path in data_files(rows, folder).items():
            peak, seconds = peak_rss(path)
            ratio = (peak - baseline[kind] - data) / data
            print(
                f"| {kind} | {rows:,} | {data / 2**20:,.0f} MiB | {peak / 2**20:,.0f} MiB "
                f"| {baseline[kind] / 2**20:,.0f} MiB | {ratio:.2f} | {seconds:.1f} |",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
