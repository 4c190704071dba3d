"""The recorded training, run again on a reference backend, segment by segment (verify layer).

Training is deterministic given its recipe: the seed fixes the initial weights,
the validation split and every epoch's batch order, all drawn on the host.  A
replay therefore builds a fresh estimator with the model's hyperparameters on
the reference backend and runs each recorded segment (a fit, each resume, each
``partial_fit``) again, stopping where the segment stopped.
"""

from __future__ import annotations

import contextlib
import time
from typing import Any, NamedTuple

from ..errors import DivergenceError


class _SegmentEnd(Exception):
    """Raised by the replay's callback at the epoch where a recorded segment ended."""


class Replay(NamedTuple):
    """A replayed model, what the replay cost, and where it ended otherwise than recorded."""

    model: Any
    seconds: float
    mismatches: list[str]
    """One line per segment whose replay stopped at another epoch than the original."""


def _stop_at(end: int, ended: str) -> Any:
    """A fit callback that ends the fit once epoch ``end`` is complete, as the original ended.

    A segment a callback stopped is stopped the same way (the early-stopping
    best weights are restored as they were); an interrupted or diverged one is
    cut by an exception, which keeps the last epoch's state.
    """

    def callback(done: int, info: dict[str, Any]) -> bool:
        if done >= end and ended != "callback":
            raise _SegmentEnd
        return done >= end

    return callback


def replay(
    model: Any,
    X: Any,
    y: Any,
    provenance: dict[str, Any],
    *,
    backend: str,
    device: object,
    dtype: str,
    sample_weight: Any = None,
) -> Replay:
    """Train ``model``'s recipe again on ``backend``/``device`` in ``dtype``, as recorded.

    Segments that were interrupted, or diverged after their last complete epoch,
    are stopped after that epoch, so that their state (the last epoch's weights,
    not the early-stopping best) is what the next segment resumes from, as it
    was in the original run.
    """
    params = model.get_params()
    params.update(backend=backend, device=device, dtype=dtype)
    again = type(model)(**params)
    mismatches: list[str] = []
    start = time.perf_counter()
    fitted = False
    for i, segment in enumerate(provenance["segments"]):
        _apply_recipe(again, segment)
        if segment["kind"] == "partial_fit":
            # A run of calls, each given the same data (checked by its chained hash).
            classes = segment.get("classes")
            for _ in range(int(segment.get("calls", 1))):
                if classes is None:
                    again.partial_fit(X, y, sample_weight=sample_weight)
                else:
                    again.partial_fit(X, y, classes=classes, sample_weight=sample_weight)
            fitted = True
            continue
        end = int(segment["end_epoch"])
        if end == int(segment["start_epoch"]):
            # Ended inside its first epoch (Ctrl-C, divergence): nothing was kept, and
            # resuming from a state of no epochs is training afresh.
            continue
        # Up to the recorded end and no further: a run that stopped by its rule
        # is compared at the same epoch even if the replay's rule would go on.
        again.set_params(epochs=end)
        # A callback's stop is replayed as the cut it was: the state after that epoch.
        cut = segment["ended"] in ("interrupted", "diverged", "callback")
        with contextlib.suppress(_SegmentEnd, DivergenceError):
            again.fit(
                X,
                y,
                sample_weight,
                resume=fitted,
                callbacks=[_stop_at(end, segment["ended"])] if cut else None,
            )
        fitted = True
        record = again.fitted_model()
        done = int(record.training.n_epochs)
        ended = record.provenance.segments[-1]["ended"]
        if done != end:
            mismatches.append(
                f"segment {i + 1} ({segment['kind']}): the replay stopped after epoch {done}, "
                f"the model after epoch {end}"
            )
        elif not cut and ended != segment["ended"]:
            mismatches.append(
                f"segment {i + 1} ({segment['kind']}): the model's training "
                f"{_ENDINGS[segment['ended']]} after epoch {end}, the replay's "
                f"{_ENDINGS[ended]}"
            )
    again.set_params(epochs=int(model.epochs), shuffle=model.shuffle)
    return Replay(again, time.perf_counter() - start, mismatches)


_ENDINGS = {
    "completed": "ran out of epochs",
    "stopped": "was stopped by its tol/patience rule",
    "callback": "was stopped by a callback",
    "interrupted": "was interrupted",
    "diverged": "diverged",
}


def _apply_recipe(model: Any, segment: dict[str, Any]) -> None:
    """The hyperparameters and shuffle mode a segment trained with (a resume may change them)."""
    recorded = dict(segment.get("hyperparameters") or {})
    if "hidden_layer_sizes" in recorded:
        recorded["hidden_layer_sizes"] = tuple(recorded["hidden_layer_sizes"])
    if recorded:
        model.set_params(**recorded)
    # The same epoch orders: shuffle=True means what the training backend chose.
    if "shuffle" in segment:
        mode = segment["shuffle"]
        model.set_params(shuffle=False if mode is None else mode)
    # The same validation rows: segments recorded before the method was drew them at random.
    model.set_validation_split(segment.get("validation_split", "random"))
