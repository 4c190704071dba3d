"""Plots with matplotlib (the ``plot`` extra), drawn off-screen into files (any layer)."""

from __future__ import annotations

import importlib
import importlib.util
import io
import os
from pathlib import Path
from typing import Any

from .files import atomic_write


def require_matplotlib() -> None:
    """Raise a clear error when matplotlib, needed for plots, is not installed.

    Call it before a long run whose result is to be plotted, so that a missing
    matplotlib is reported before the work rather than after it.

    Raises
    ------
    ModuleNotFoundError
        With one line that says what to install.
    """
    if importlib.util.find_spec("matplotlib") is None:
        msg = (
            "plotting needs matplotlib, which is not installed; "
            "pip install 'mlp_xp[plot]' (or pip install matplotlib)"
        )
        raise ModuleNotFoundError(msg)


def pyplot() -> Any:
    """matplotlib.pyplot on the non-interactive Agg backend, or a clear error."""
    require_matplotlib()
    matplotlib = importlib.import_module("matplotlib")
    matplotlib.use("Agg")
    return importlib.import_module("matplotlib.pyplot")


PLOT_FORMATS: tuple[str, ...] = (".png", ".pdf", ".svg")
"""The suffixes a figure file may have; each is written in its own format."""


def plot_format(path: str | os.PathLike[str]) -> str:
    """The matplotlib format of a figure file, from its suffix: ``"png"``, ``"pdf"`` or ``"svg"``.

    Raises
    ------
    ValueError
        For any other suffix, naming the path and the suffixes that are written.
    """
    suffix = Path(path).suffix.lower()
    if suffix not in PLOT_FORMATS:
        msg = (
            f"cannot draw {str(path)!r}: a figure file must end in "
            f"{', '.join(PLOT_FORMATS)} (it is written in that format)"
        )
        raise ValueError(msg)
    return suffix[1:]


def save_figure(fig: Any, path: str | os.PathLike[str]) -> None:
    """Render ``fig`` in the format of ``path``'s suffix (PNG, PDF or SVG), atomically."""
    fmt = plot_format(path)
    buffer = io.BytesIO()
    fig.savefig(buffer, format=fmt, dpi=120, bbox_inches="tight")
    atomic_write(path, buffer.getvalue())


def plot_history(history: dict[str, list[float | None]], path: str, title: str = "") -> None:
    """The training and validation loss per epoch, on a log scale, into a PNG, PDF or SVG file."""
    plot_format(path)
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))
    epochs = range(1, len(history["loss"]) + 1)
    ax.plot(epochs, history["loss"], label="training loss")
    val = history.get("val_loss") or []
    if any(v is not None for v in val):
        ax.plot(epochs, [float("nan") if v is None else v for v in val], label="validation loss")
    ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    ax.set_title(title or "mlp_xp training")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    save_figure(fig, path)
    plt.close(fig)
