"""Verification reports: the verdict and its figures, as JSON, text, a plot, Markdown (verify)."""

from __future__ import annotations

import base64
import io
import json
import math
import os
from dataclasses import dataclass, field
from typing import Any

from .._version import __version__
from ..files import atomic_write
from ..parity.report import strict_json
from ..plotting import pyplot, save_figure
from .deviation import Deviation


@dataclass
class Verdict:
    """One comparison: passed or not, its limit, the figures, and each failure in words."""

    passed: bool
    limit: float
    deviation: Deviation
    failures: list[str]

    def to_dict(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "limit": self.limit,
            "failures": self.failures,
            **self.deviation.to_dict(),
        }

    def lines(self, label: str) -> list[str]:
        """The verdict's figures as text lines."""
        d = self.deviation
        worst = d.worst
        p = d.predictions
        lines = [
            f"{label}: {'PASS' if self.passed else 'FAIL'} (limit {self.limit:.3g})",
            f"  weights, normwise:          {d.weights:.3g}",
            f"  largest single weight:      {worst.element:.3g} of its layer's largest "
            f"(layer {worst.layer} {worst.name}{worst.index}: {worst.value:.6g} vs "
            f"{worst.reference:.6g})",
            f"  per-epoch loss, largest:    {max(d.losses, default=0.0):.3g}",
            f"  predictions: max abs {p.get('max_abs', 0.0):.3g}, max rel "
            f"{p.get('max_rel', 0.0):.3g}; {p.get('metric')} {p.get('model', math.nan):.6f} "
            f"(model) vs {p.get('reference', math.nan):.6f} (reference)",
        ]
        if "labels_differ" in p:
            lines.append(
                f"  labels that differ: {p['labels_differ']} "
                f"({100 * p['labels_differ_fraction']:.2f}% of rows)"
            )
        lines += [f"  ! {why}" for why in self.failures]
        return lines


RULE = (
    "tol(dtype, steps) = 4 eps depth (sqrt(width) + 2) sqrt(steps + 1), eps = finfo(dtype).eps, "
    "width = the longest dot product (batch or widest layer); two runs may differ by the sum "
    "of their tolerances. Weights are compared normwise and by their largest single element "
    "(against the layer's largest weight); every epoch's loss, relatively."
)


def _figure(curves: dict[str, tuple[list[float], float]], title: str) -> tuple[Any, Any]:
    """pyplot and a figure of each curve of per-epoch deviations on a log scale, with its limit."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7, 4))
    for label, (values, limit) in curves.items():
        epochs = range(1, len(values) + 1)
        floor = [max(v, 1e-18) for v in values]  # an exact agreement still shows, at the bottom
        (line,) = ax.plot(epochs, floor, label=f"{label}: per-epoch loss deviation")
        ax.axhline(limit, color=line.get_color(), linestyle="--", label=f"{label}: limit")
    ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("relative deviation")
    ax.set_title(title)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.18), ncol=2, fontsize="small")
    return plt, fig


def _plot(curves: dict[str, tuple[list[float], float]], path: Any, title: str) -> None:
    """The curves as a PNG file, written atomically."""
    plt, fig = _figure(curves, title)
    save_figure(fig, path)
    plt.close(fig)


def _png(curves: dict[str, tuple[list[float], float]], title: str) -> str | None:
    """The plot as a base64 PNG, or None without matplotlib."""
    try:
        plt, fig = _figure(curves, title)
    except ModuleNotFoundError:
        return None
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=120, bbox_inches="tight")
    plt.close(fig)
    return base64.b64encode(buffer.getvalue()).decode()


def _environment_lines(env: dict[str, Any]) -> list[str]:
    versions = ", ".join(f"{k} {v}" for k, v in (env.get("versions") or {}).items() if v)
    gpus = "; ".join(n for names in (env.get("gpus") or {}).values() for n in names) or "none"
    reduced = "; ".join(env.get("reduced_precision") or []) or "off"
    return [
        f"python {env.get('python')}, {env.get('platform')}",
        f"versions: {versions}",
        f"BLAS: {env.get('blas')}",
        f"GPUs: {gpus}",
        f"reduced-precision float32 matmul: {reduced}",
    ]


@dataclass
class VerifyReport:
    """What ``mlp_xp.verify`` found: ``passed``, and every figure behind it."""

    passed: bool
    model_dtype: str
    verdict_dtype: str
    against: str
    steps: int
    verdicts: dict[str, Verdict]
    """By replay dtype: the verdict's own and, beside it, float64."""
    replay_seconds: dict[str, float]
    recipe: dict[str, Any]
    data: dict[str, Any]
    trained: list[dict[str, Any]]
    """The environment of each training segment."""
    replayed: dict[str, Any]
    segments: list[dict[str, Any]] = field(default_factory=list)

    @property
    def verdict(self) -> Verdict:
        """The comparison that decides ``passed``."""
        return self.verdicts[self.verdict_dtype]

    def to_json(self) -> str:
        """The report as strict JSON."""
        data = {
            "mlp_xp": __version__,
            "passed": self.passed,
            "model_dtype": self.model_dtype,
            "verdict_dtype": self.verdict_dtype,
            "against": self.against,
            "steps": self.steps,
            "replays": {d: v.to_dict() for d, v in self.verdicts.items()},
            "replay_seconds": self.replay_seconds,
            "recipe": self.recipe,
            "data": self.data,
            "segments": self.segments,
            "replay_environment": self.replayed,
            "rule": RULE,
        }
        return json.dumps(strict_json(data), indent=2)

    def format(self) -> str:
        """The report as text, for the terminal."""
        lines = [
            f"verify: a {self.model_dtype} model, {self.steps} steps, replayed on "
            f"{self.against} in {', '.join(self.verdicts)}",
        ]
        for dtype, verdict in self.verdicts.items():
            role = "verdict" if dtype == self.verdict_dtype else "beside it"
            lines += verdict.lines(f"replay in {dtype} ({role})")
        seconds = ", ".join(f"{d} {s:.2f} s" for d, s in self.replay_seconds.items())
        lines.append(f"replay time: {seconds}")
        lines.append(f"{'PASS' if self.passed else 'FAIL'}")
        return "\n".join(lines)

    def _curves(self) -> dict[str, tuple[list[float], float]]:
        return {f"{d} replay": (v.deviation.losses, v.limit) for d, v in self.verdicts.items()}

    def plot(self, path: str | os.PathLike[str]) -> None:
        """The per-epoch deviation from each replay, with the limits, as a PNG."""
        _plot(self._curves(), path, f"mlp_xp verify: a {self.model_dtype} model")

    def to_markdown(self) -> str:
        """A self-contained Markdown report, the plot embedded, for an appendix or an audit."""
        recipe = "\n".join(f"| {k} | `{v!r}` |" for k, v in self.recipe.items())
        rows = "\n".join(
            f"| {d} | {v.deviation.weights:.3g} | {v.deviation.elements:.3g} | "
            f"{max(v.deviation.losses, default=0.0):.3g} | {v.limit:.3g} | "
            f"{'pass' if v.passed else 'FAIL'} |"
            for d, v in self.verdicts.items()
        )
        both = self._environments()
        fp = self.data
        png = _png(self._curves(), f"mlp_xp verify: a {self.model_dtype} model")
        picture = (
            f"![deviation per epoch](data:image/png;base64,{png})"
            if png
            else ("(no plot: matplotlib is not installed)")
        )
        failures = "\n".join(f"- {f}" for v in self.verdicts.values() for f in v.failures)
        return f"""# mlp_xp verification report

**Verdict: {"PASS" if self.passed else "FAIL"}**: the model ({self.model_dtype}, \
{self.steps} steps) against a replay on {self.against} in {self.verdict_dtype}.
{failures}

## Deviation

| replay | weights, normwise | largest weight | largest epoch loss | limit | verdict |
|---|---|---|---|---|---|
{rows}

{picture}

## Environments

{both}

## Recipe

| parameter | value |
|---|---|
{recipe}

## Data

X: sha256 `{fp["X"]["sha256"]}`, shape {tuple(fp["X"]["shape"])}, dtype {fp["X"]["dtype"]}

y: sha256 `{fp["y"]["sha256"]}`, shape {tuple(fp["y"]["shape"])}, dtype {fp["y"]["dtype"]}

## The tolerance rule

{RULE}

mlp_xp {__version__}
"""

    def _environments(self) -> str:
        """A Markdown table: each training segment's machine beside the replay's.

        Segments whose environment repeats the one before are not listed again.
        """
        columns: list[tuple[str, dict[str, Any]]] = []
        for i, (env, segment) in enumerate(zip(self.trained, self.segments or self.trained)):
            if not columns or env != columns[-1][1]:
                kind = segment.get("kind", "fit") if isinstance(segment, dict) else "fit"
                columns.append((f"training, segment {i + 1} ({kind})", env))
        columns.append(("replay", self.replayed))
        rows = zip(*(_environment_lines(env) for _, env in columns))
        head = "| " + " | ".join(name for name, _ in columns) + " |"
        rule = "|" + "---|" * len(columns)
        return "\n".join([head, rule, *("| " + " | ".join(r) + " |" for r in rows)])

    def write_markdown(self, path: str | os.PathLike[str]) -> None:
        """Write :meth:`to_markdown` atomically."""
        atomic_write(path, self.to_markdown().encode())


@dataclass
class CompareReport:
    """What ``mlp_xp.compare`` found between two models of one recipe."""

    passed: bool
    dtypes: tuple[str, str]
    places: tuple[str, str]
    steps: int
    verdict: Verdict
    recipe: dict[str, Any]
    data: dict[str, Any]

    def to_json(self) -> str:
        """The report as strict JSON."""
        data = {
            "mlp_xp": __version__,
            "passed": self.passed,
            "dtypes": self.dtypes,
            "trained_on": self.places,
            "steps": self.steps,
            "comparison": self.verdict.to_dict(),
            "recipe": self.recipe,
            "data": self.data,
            "rule": RULE,
        }
        return json.dumps(strict_json(data), indent=2)

    def format(self) -> str:
        """The report as text."""
        head = (
            f"compare: {self.places[0]} ({self.dtypes[0]}) against {self.places[1]} "
            f"({self.dtypes[1]}), {self.steps} steps"
        )
        return "\n".join([head, *self.verdict.lines("models"), "PASS" if self.passed else "FAIL"])

    def plot(self, path: str | os.PathLike[str]) -> None:
        """The per-epoch loss deviation between the two, with the limit, as a PNG."""
        curves = {"A vs B": (self.verdict.deviation.losses, self.verdict.limit)}
        _plot(curves, path, "mlp_xp compare")
