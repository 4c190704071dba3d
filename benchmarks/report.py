"""The rows a run measured, the performance targets, and the printed table and plot."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from timing import paired_ratio

PUBLIC = ("mlp_xp.step", "gradient_descent_step")
"""The public functions, held to the kernel's targets (their checks included)."""

# (case, dtype or None for both, what, limit): checked by --check on the CPU rows.
# ``what`` is "IMPL / OTHER": the row of IMPL on the main backend against OTHER.
TARGETS: list[tuple[str, str | None, str, float]] = [
    ("tiny", None, "mlp_xp / lecture", 1.0),
    ("mnist", "float32", "mlp_xp / floor", 1.3),
    ("mnist", "float32", "mlp_xp / torch autograd", 1.0),
    ("wide", None, "mlp_xp / floor", 1.1),
    *[
        (case, dtype, f"{impl} / {other}", limit)
        for impl in PUBLIC
        for case, dtype, other, limit in (
            ("tiny", None, "lecture", 1.0),
            ("mnist", "float32", "floor", 1.3),
            ("wide", None, "floor", 1.1),
        )
    ],
    # mlp_xp's step on the torch backend against the same work hand-written in torch.
    ("tiny", None, "mlp_xp on torch / torch eager+loss", 1.1),
    ("*", None, "fit epoch throughput / step throughput", -0.9),  # negative: a lower bound
    ("*", None, "peak step memory / necessary bytes", 1.5),
]
GPU_TARGETS: list[tuple[str, str | None, str, float]] = [
    ("wide", "float32", "floor / mlp_xp", -0.8),
    ("tiny", None, "mlp_xp / torch eager", 1.0),
]


@dataclass
class Row:
    """One timed implementation of one case."""

    case: str
    dtype: str
    impl: str
    backend: str
    device: str
    ms: float = math.nan
    ms_min: float = math.nan
    ms_max: float = math.nan
    gflops: float = math.nan
    x_floor: float = math.nan
    x_lecture: float = math.nan
    note: str = ""
    samples: list[float] = field(default_factory=list)
    """Seconds per step in each round."""


@dataclass
class Report:
    """Everything one run measured."""

    environment: dict[str, Any]
    rows: list[Row] = field(default_factory=list)
    extras: list[dict[str, Any]] = field(default_factory=list)
    checks: list[dict[str, Any]] = field(default_factory=list)


def evaluate_targets(report: Report, gpu: bool) -> None:
    """Add one check per target that the measured rows can answer."""
    targets = GPU_TARGETS if gpu else TARGETS
    keyed: dict[tuple[str, str, str, str], Row] = {
        (r.case, r.dtype, r.impl, r.backend): r for r in report.rows
    }
    for case, dtype, what, limit in targets:
        if case == "*":
            continue  # fit and memory checks are added where they are measured
        impl, against = what.split(" / ")
        impl, _, on = impl.partition(" on ")  # "mlp_xp on torch": that backend's row
        for dt in [dtype] if dtype else ["float32", "float64"]:
            main = on or ("cupy" if gpu else "numpy")
            mine = keyed.get((case, dt, "mlp_xp" if impl == "floor" else impl, main))
            if mine is None:
                continue
            if against == "lecture":
                value = mine.x_lecture
            elif against == "floor":
                value = mine.x_floor
            elif impl == "floor":  # floor / mlp_xp
                value = 1.0 / mine.x_floor
            else:  # against a torch row: autograd, eager, eager+loss
                other = keyed.get((case, dt, against, "torch"))
                value = paired_ratio(mine.samples, other.samples) if other else math.nan
            if math.isnan(value):
                continue
            ok = value >= -limit if limit < 0 else value <= limit
            report.checks.append(
                {
                    "case": case,
                    "dtype": dt,
                    "what": what,
                    "value": value,
                    "limit": abs(limit),
                    "ok": ok,
                }
            )


def print_report(report: Report) -> None:
    """The machine, the table of rows, the extras, and each target's verdict."""
    env = report.environment
    print(f"# mlp_xp step benchmark, {env['date']}")
    print(
        f"# {env['cpu']}, {env['cores']} cores; numpy {env['numpy']}; BLAS {env.get('blas')}"
        f"{_threads(env.get('threadpools'))}"
    )
    if "gpu" in env:
        print(f"# GPU {env['gpu']}")
    for line in env.get("reduced_precision", []):
        print(f"# reduced precision: {line}")
    header = (
        f"{'case':<6} {'dtype':<8} {'implementation':<21} {'backend':<8} {'device':<7} "
        f"{'ms/step':>9} {'min-max':>17} {'GFLOP/s':>8} {'x floor':>8} {'x lecture':>9}"
    )
    print(header)
    print("-" * len(header))
    for r in report.rows:
        spread = f"{r.ms_min:.3f}-{r.ms_max:.3f}"
        print(
            f"{r.case:<6} {r.dtype:<8} {r.impl:<21} {r.backend:<8} {r.device:<7} "
            f"{r.ms:9.3f} {spread:>17} {r.gflops:8.2f} {_fmt(r.x_floor):>8} "
            f"{_fmt(r.x_lecture):>9} {r.note}"
        )
    for extra in report.extras:
        print(
            "# "
            + ", ".join(f"{k}={_fmt(v) if isinstance(v, float) else v}" for k, v in extra.items())
        )
    if report.checks:
        print("targets:")
        for c in report.checks:
            value = c["value"] if isinstance(c["value"], list) else f"{c['value']:.3f}"
            print(
                f"  {'PASS' if c['ok'] else 'FAIL'}  {c['case']:<6} {c['dtype']:<8} "
                f"{c['what']}: {value} (limit {c['limit']})"
            )


def _threads(pools: Any) -> str:
    """The thread pools in one clause: "; threads openblas 2, openmp 2"."""
    if not isinstance(pools, list) or not pools:
        return ""
    return "; threads " + ", ".join(f"{p['internal_api']} {p['num_threads']}" for p in pools)


def _fmt(value: float) -> str:
    return (
        "" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.2f}"
    )


def plot(report: Report, path: str) -> None:
    """A bar chart of each row's time relative to its floor."""
    from mlp_xp.plotting import pyplot, save_figure

    plt = pyplot()
    rows = [r for r in report.rows if not math.isnan(r.x_floor) and r.impl != "floor"]
    labels = [f"{r.case} {r.dtype[-2:]}\n{r.impl} ({r.backend})" for r in rows]
    fig, ax = plt.subplots(figsize=(max(8, len(rows) * 0.45), 4.5))
    colors = ["tab:blue" if r.impl.startswith(("mlp_xp", PUBLIC[1])) else "tab:gray" for r in rows]
    ax.bar(range(len(rows)), [r.x_floor for r in rows], color=colors)
    ax.axhline(1.0, color="black", linewidth=0.8)
    ax.set_yscale("log")
    ax.set_xticks(range(len(rows)), labels, rotation=90, fontsize=7)
    ax.set_ylabel("time per step / matmul floor (log)")
    ax.set_title(
        f"mlp_xp step vs alternatives, {report.environment['date']} "
        f"({report.environment.get('gpu') or report.environment['cpu']})",
        fontsize=9,
    )
    save_figure(fig, path)
    plt.close(fig)
