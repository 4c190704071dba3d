"""What a fitted model records about how it was trained: its provenance (estimator layer).

Every call that trains (``fit``, ``fit(resume=True)``, ``partial_fit``) adds one
segment to the model's ``provenance_``: which epochs it ran, how many optimizer
steps, how it ended, where (backend, device, dtype, the machine's numerics) and
on which data (a fingerprint of ``X`` and ``y`` as the call received them).
Consecutive ``partial_fit`` calls that complete with the same settings share one
segment: its ``calls`` count them, its ``data`` is the first call's, and
``batches_sha256`` chains the fingerprints of every call's batch
(:func:`mlp_xp.data.fingerprint.chained_sha256`), so that a stream of calls
keeps the record a fixed size.
``mlp_xp.verify`` replays the segments on a reference backend.  The record is
plain JSON; ``save`` writes it into the model file's metadata, ``load`` reads it back.

::

    provenance_ = {
        "data": {"X": FP, "y": FP},          # the first segment's data
        "segments": [{"kind", "start_epoch", "end_epoch", "max_epochs", "steps",
                      "ended", "best_epoch", "backend", "device", "dtype",
                      "shuffle", "validation_split", "hyperparameters", "mlp_xp_version",
                      "environment", "data", "classes"}, ...],
        # a segment's data: {"X", "y", "sample_weight"}; partial_fit's segment
        # also "calls" and "batches_sha256"
    }

with ``FP`` a :func:`mlp_xp.data.fingerprint.fingerprint_array`.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np

from .._version import __version__
from ..backend import Placement, device_name, environment_report
from ..data.fingerprint import chained_sha256, fingerprint_array
from ..errors import DivergenceError
from ..training.compiled import compiles

KINDS: tuple[str, ...] = ("fit", "resume", "partial_fit")
"""The calls that add a segment."""
ENDINGS: tuple[str, ...] = ("completed", "stopped", "callback", "interrupted", "diverged")
"""How a segment ends: out of epochs, by the stopping rule, by a callback, by an
exception, by divergence."""


def start_segment(
    kind: str,
    *,
    placement: Placement,
    dtype: str,
    X: Any,
    y: Any,
    start_epoch: int,
    max_epochs: int,
    shuffle: str | None,
    hyperparameters: dict[str, Any],
    classes: Any = None,
    sample_weight: Any = None,
    validation_split: str = "random",
) -> dict[str, Any]:
    """A new segment, before its first epoch; :func:`end_segment` fills in how it ended.

    ``X`` and ``y`` are the arrays the call received, before any scaling;
    ``shuffle`` is the mode the epochs use ("rows", "batches" or None), which
    ``shuffle=True`` leaves to the backend; ``hyperparameters`` those in force
    for this call (a resume may change the learning rate or the batch size);
    ``validation_split`` how early stopping's validation rows are drawn
    ("random", or "stratified" by class; segments recorded before it was
    recorded drew them at random).
    """
    data = {
        "X": fingerprint_array(X),
        "y": fingerprint_array(y),
        # The weights' fingerprint, never the weights: verify asks for them again.
        "sample_weight": None if sample_weight is None else fingerprint_array(sample_weight),
    }
    streamed: dict[str, Any] = {}
    if kind == "partial_fit":
        streamed = {"calls": 1, "batches_sha256": chained_sha256(None, *batch(data))}
    return {
        "kind": kind,
        "start_epoch": int(start_epoch),
        "end_epoch": int(start_epoch),
        "max_epochs": int(max_epochs),
        "steps": 0,
        "ended": "interrupted",
        "best_epoch": None,
        "backend": placement.name,
        "device": device_name(placement),
        "dtype": dtype,
        "shuffle": shuffle,
        "validation_split": validation_split,
        # Each epoch one compiled call (JAX): XLA fuses and reorders the step's
        # operations, so a replay's deviation is rounding of another order.
        "compiled_epochs": compiles(placement),
        "hyperparameters": _plain(hyperparameters),
        "mlp_xp_version": __version__,
        "environment": environment_report([placement.name]),
        "data": data,
        "classes": None if classes is None else np.asarray(classes).tolist(),
        **streamed,
    }


def batch(data: dict[str, Any]) -> tuple[Any, Any, Any]:
    """The fingerprints a call's link of the chain hashes: X, y and the weights (or None)."""
    return data["X"], data["y"], data.get("sample_weight")


def _plain(params: dict[str, Any]) -> dict[str, Any]:
    """Hyperparameters as JSON values: NumPy scalars as numbers, tuples as lists."""

    def value(v: Any) -> Any:
        if isinstance(v, (tuple, list)):
            return [value(x) for x in v]
        return v.item() if isinstance(v, np.generic) else v

    return {k: value(v) for k, v in params.items()}


def ending(exc: BaseException | None, stopped: bool) -> str:
    """How a segment ended: from the exception that ended it, or whether the rule stopped it."""
    if exc is None:
        return "stopped" if stopped else "completed"
    if isinstance(exc, DivergenceError):
        return "diverged"
    # KeyboardInterrupt, or anything else raised from a callback or a step.
    return "interrupted"


def end_segment(
    segment: dict[str, Any], *, ended: str, end_epoch: int, steps: int, best_epoch: int | None
) -> None:
    """Fill in how ``segment`` ended."""
    segment.update(
        ended=ended,
        end_epoch=int(end_epoch),
        steps=int(steps),
        best_epoch=None if best_epoch is None else int(best_epoch),
    )


def with_segment(provenance: dict[str, Any] | None, segment: dict[str, Any]) -> dict[str, Any]:
    """``provenance`` with ``segment`` appended; a new record when there is none yet.

    A model loaded from a file written before provenance was recorded starts its
    record at the segment that resumes it (``segments[0]["start_epoch"] > 0``).
    The call that trains makes this record once and then updates ``segment``
    in place (:func:`progress`, :func:`end_segment`); :func:`joined` ends it.
    """
    if not provenance:
        provenance = new_record(segment)
    return {**provenance, "segments": [*provenance.get("segments", []), segment]}


def progress(segment: dict[str, Any], *, end_epoch: int, steps: int) -> None:
    """The epochs and steps ``segment`` has run so far (a checkpoint records them)."""
    segment["end_epoch"] = int(end_epoch)
    segment["steps"] = int(steps)


SAME_RUN: tuple[str, ...] = (
    "backend",
    "device",
    "dtype",
    "shuffle",
    "compiled_epochs",
    "hyperparameters",
    "mlp_xp_version",
    "environment",
)
"""What two ``partial_fit`` calls must share to be one segment: a replay runs its
calls alike, with one recipe."""


def _continues(last: dict[str, Any], new: dict[str, Any]) -> bool:
    """Whether segment ``new`` is one more call of the ``partial_fit`` run ``last``."""
    return (
        last.get("kind") == new["kind"] == "partial_fit"
        and last.get("ended") == new["ended"] == "completed"
        and "batches_sha256" in last
        and new.get("calls") == 1
        and last.get("end_epoch") == new["start_epoch"]
        and all(last.get(key) == new.get(key) for key in SAME_RUN)
    )


def joined(provenance: dict[str, Any]) -> dict[str, Any]:
    """``provenance`` once its last segment has ended: a completed ``partial_fit`` call
    that continues the run before it joins that segment, which counts it and chains
    its batch, instead of adding one (the record made by :func:`with_segment` is its own,
    so its list of segments is changed in place)."""
    segments = provenance["segments"]
    if len(segments) < 2 or not _continues(segments[-2], segments[-1]):
        return provenance
    last, new = segments[-2], segments[-1]
    segments[-2:] = [
        {
            **last,
            "end_epoch": new["end_epoch"],
            "max_epochs": new["max_epochs"],
            "steps": int(last["steps"]) + int(new["steps"]),
            "calls": int(last["calls"]) + 1,
            "batches_sha256": chained_sha256(last["batches_sha256"], *batch(new["data"])),
        }
    ]
    return provenance


def new_record(segment: dict[str, Any]) -> dict[str, Any]:
    """A record with no segment yet, holding its own copy of ``segment``'s data fingerprint."""
    return {"data": copy.deepcopy(segment["data"]), "segments": []}
