"""The parity layer: how far each backend strays from a float64 NumPy reference.

Every run starts from the same numbers, drawn on the host in float64
(:mod:`.problems`, or the user's own data encoded and scaled by
:mod:`.user_data`); each backend, device and dtype trains with the library's
own loop and is compared step by step with the reference (:mod:`.runs`),
within a tolerance derived from ``finfo(dtype).eps`` (:mod:`.tolerance`).
:mod:`.targets` says which runs a check makes, and :mod:`.report` holds the
result as JSON, text and a plot.
"""

from ..plotting import require_matplotlib
from .problems import (
    DEFAULT_LEARNING_RATES,
    DEFAULT_SAMPLES,
    REFERENCE,
    ParityConfig,
    Problem,
    make_problem,
)
from .report import ParityReport, Row, Skipped, format_report, plot_report
from .runs import KINKED_ACTIVATIONS, TrainingStep, check, start, trajectory
from .targets import DEFAULT_BACKENDS, parse_backend
from .tolerance import tolerance
from .user_data import encode_targets, loss_for_task, problem_from_data

__all__ = [
    "DEFAULT_BACKENDS",
    "DEFAULT_LEARNING_RATES",
    "DEFAULT_SAMPLES",
    "KINKED_ACTIVATIONS",
    "REFERENCE",
    "ParityConfig",
    "ParityReport",
    "Problem",
    "Row",
    "Skipped",
    "TrainingStep",
    "check",
    "encode_targets",
    "format_report",
    "loss_for_task",
    "make_problem",
    "parse_backend",
    "plot_report",
    "problem_from_data",
    "require_matplotlib",
    "start",
    "tolerance",
    "trajectory",
]
