"""The result of a check: its records, as JSON, as text and as a plot (parity layer)."""

from __future__ import annotations

import dataclasses
import json
import math
import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .. import __version__
from ..files import atomic_write
from ..plotting import pyplot, save_figure
from .problems import REFERENCE, ParityConfig


@dataclass(frozen=True)
class Skipped:
    """A run that did not happen, and why."""

    backend: str
    device: str
    reason: str
    dtype: str | None = None
    """The dtype that cannot run (JAX's float64 without x64); None: no dtype could."""

    @property
    def label(self) -> str:
        """``backend:device``, and the dtype when only that dtype was skipped."""
        where = f"{self.backend}:{self.device}"
        return where if self.dtype is None else f"{where} {self.dtype}"


@dataclass(frozen=True)
class Row:
    """One backend, device and dtype compared with the reference.

    Deviations compare all parameters as one vector p with the reference's r.
    """

    backend: str
    device: str
    dtype: str
    final_loss: float
    """The loss on all the training data with the final parameters."""
    max_abs: float
    """max |p - r| after the last step."""
    max_rel: float
    """max |p - r| / |r| after the last step, over entries with r != 0 (large near r = 0)."""
    deviation: float
    """||p - r|| / ||r|| after the last step: what the tolerance bounds."""
    tolerance: float
    """The tolerance after the last step."""
    worst: float
    """The largest ratio of deviation to tolerance over all steps and the loss curve."""
    sign_flips: int | None
    """ReLU pre-activations whose sign differed from the reference's in the same step
    (None for smooth activations, where a sign carries no jump)."""
    curve: tuple[float, ...] = field(repr=False)
    """||p - r|| / ||r|| before the first step and after each step (steps + 1 values)."""
    losses: tuple[float, ...] = field(repr=False)
    """The batch loss of each step."""
    loss_curve: tuple[float, ...] = field(repr=False)
    """|sqrt(L) - sqrt(L_ref)| / sqrt(L_0) of each step's batch loss (see :func:`check`)."""

    @property
    def passed(self) -> bool:
        """Whether every step stayed within its tolerance (NaN fails)."""
        return self.worst <= 1.0

    @property
    def label(self) -> str:
        return f"{self.backend}:{self.device} {self.dtype}"


@dataclass(frozen=True)
class ParityReport:
    """The result of :func:`check`: one row per run, the skipped runs, the environment."""

    config: ParityConfig
    reference_loss: float
    """The reference's final loss on all the training data."""
    reference_losses: tuple[float, ...] = field(repr=False)
    rows: tuple[Row, ...]
    skipped: tuple[Skipped, ...]
    environment: dict[str, Any] = field(repr=False)
    zero_loss: float = math.nan
    """L_0, the loss of zero outputs, that scales the loss comparison (see :func:`check`)."""

    @property
    def passed(self) -> bool:
        """Whether every run agrees with the reference within its tolerance."""
        return bool(self.rows) and all(row.passed for row in self.rows)

    def format(self) -> str:
        """The table, the skipped runs and the environment, as printed by ``mlp-xp parity``."""
        return format_report(self)

    def to_dict(self) -> dict[str, Any]:
        """Everything in the report as JSON-ready data (non-finite numbers become None)."""
        rows = []
        for row in self.rows:
            entry = dataclasses.asdict(row)
            entry["passed"] = row.passed
            rows.append(entry)
        data = {
            "mlp_xp": __version__,
            "config": dataclasses.asdict(self.config),
            "description": self.config.describe(),
            "tolerance_rule": (
                "4 * eps * depth * (sqrt(width) + 2) * sqrt(steps + 1), "
                "eps = finfo(dtype).eps, width = max(batch_size, layer sizes)"
            ),
            "depth": self.config.depth,
            "width": self.config.width,
            "loss_comparison": "|sqrt(L) - sqrt(L_ref)| / sqrt(L_0), L_0 the loss of zero outputs",
            "zero_loss": self.zero_loss,
            "reference": {
                "where": REFERENCE,
                "final_loss": self.reference_loss,
                "losses": list(self.reference_losses),
            },
            "rows": rows,
            "skipped": [dataclasses.asdict(s) for s in self.skipped],
            "environment": self.environment,
            "passed": self.passed,
        }
        return strict_json(data)

    def write_json(self, path: str | os.PathLike[str]) -> None:
        """Write :meth:`to_dict` to ``path`` as JSON, atomically."""
        text = json.dumps(self.to_dict(), indent=2) + "\n"
        atomic_write(path, text.encode("utf-8"))

    def plot(self, path: str | os.PathLike[str]) -> None:
        """Draw each run's deviation from the reference over the steps (log scale) to a PNG."""
        plot_report(self, path)


def strict_json(value: Any) -> Any:
    """``value`` with NaN and infinities replaced by None, so that it is strict JSON."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): strict_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [strict_json(v) for v in value]
    return value


def format_report(report: ParityReport) -> str:
    """The report as text: configuration, table, skipped runs, environment, verdict."""
    config = report.config
    lines = [
        f"mlp-xp parity: {config.describe()}",
        f"reference: {REFERENCE} on the host, final loss {report.reference_loss:.6e}",
        "deviation = ||p - p_ref|| / ||p_ref|| over all parameters after the last step; "
        f"tolerance = 4 eps depth (sqrt(width) + 2) sqrt(steps + 1), depth {config.depth}, "
        f"width {config.width}",
        "",
    ]
    header = (
        "backend",
        "device",
        "dtype",
        "final loss",
        "max abs",
        "max rel",
        "deviation",
        "tolerance",
        "flips",
        "result",
    )
    table = [header]
    for row in report.rows:
        table.append(
            (
                row.backend,
                row.device,
                row.dtype,
                f"{row.final_loss:.6e}",
                f"{row.max_abs:.2e}",
                f"{row.max_rel:.2e}",
                f"{row.deviation:.2e}",
                f"{row.tolerance:.2e}",
                "-" if row.sign_flips is None else str(row.sign_flips),
                "pass" if row.passed else f"FAIL ({row.worst:.3g}x tolerance)",
            )
        )
    widths = [max(len(r[i]) for r in table) for i in range(len(header))]
    for r in table:
        lines.append("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())
    if report.skipped:
        lines.append("")
        lines.append("skipped:")
        for s in report.skipped:
            lines.append(f"  {s.label}: {s.reason}")
    lines.append("")
    lines.extend(_format_environment(report.environment))
    lines.append("")
    failed = [row for row in report.rows if not row.passed]
    if not report.rows:
        lines.append("no backend ran")
    elif failed:
        labels = ", ".join(row.label for row in failed)
        lines.append(
            f"FAIL: {len(failed)} of {len(report.rows)} runs deviate from the reference "
            f"beyond tolerance: {labels}"
        )
    else:
        count = len(report.rows)
        lines.append(f"pass: all {count} runs agree with the reference within tolerance")
    return "\n".join(lines)


def _format_environment(env: dict[str, Any]) -> list[str]:
    """The environment section of the text report."""
    versions = ", ".join(f"{k} {v}" for k, v in env.get("versions", {}).items() if v is not None)
    lines = [
        "environment:",
        f"  mlp_xp {env.get('mlp_xp')}, python {env.get('python')}, {env.get('platform')}",
        f"  versions: {versions}",
        f"  numpy BLAS: {env.get('blas')}",
    ]
    gpus = env.get("gpus") or {}
    if gpus:
        for backend, names in gpus.items():
            lines.append(f"  GPU ({backend}): {'; '.join(names)}")
    else:
        lines.append("  GPU: none visible")
    settings = env.get("settings") or {}
    for key, value in settings.items():
        lines.append(f"  {key}: {value}")
    for key, value in (env.get("env") or {}).items():
        lines.append(f"  ${key}={value}")
    reduced = env.get("reduced_precision") or []
    if reduced:
        lines.append(f"  reduced-precision float32 matmul: ON ({'; '.join(reduced)})")
    else:
        lines.append("  reduced-precision float32 matmul (TF32/FP16/BF16): off")
    return lines


def plot_report(report: ParityReport, path: str | os.PathLike[str]) -> None:
    """Draw each run's deviation from the reference after every step, on a log scale.

    Runs that are bit-identical to the reference have no point on a log scale;
    the legend says so.  Dashed lines are each dtype's tolerance.
    """
    plt = pyplot()
    config = report.config
    fig, ax = plt.subplots(figsize=(8, 6), layout="constrained")
    steps = np.arange(config.steps + 1)
    for row in report.rows:
        curve = np.asarray(row.curve)
        shown = np.where(curve > 0, curve, np.nan)
        label = f"{row.label}" + (" (identical to the reference)" if not curve.any() else "")
        ax.plot(steps, shown, label=label, linewidth=1.2)
    for dtype in dict.fromkeys(row.dtype for row in report.rows):
        tol = [config.tolerance(dtype, int(k)) for k in steps]
        ax.plot(steps, tol, linestyle="--", color="black", linewidth=0.8)
        ax.annotate(f"tolerance {dtype}", (steps[-1], tol[-1]), ha="right", va="bottom")
    ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel("||p - p_ref|| / ||p_ref||")
    ax.set_title(f"Deviation from float64 NumPy\n{config.describe()}", fontsize=9)
    fig.legend(loc="outside lower center", ncols=2, fontsize=8)
    save_figure(fig, path)
    plt.close(fig)
