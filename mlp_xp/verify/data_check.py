"""Is this the data the model was trained on?  Fingerprints compared (verify layer)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..data.fingerprint import chained_sha256, fingerprint_array


def recorded_provenance(model: Any, what: str) -> dict[str, Any]:
    """The model's provenance, or a ValueError saying what is missing and what to do."""
    fitted = model.__sklearn_is_fitted__()
    provenance = model.fitted_model().provenance.record if fitted else None
    if not provenance or not provenance.get("segments") or not provenance.get("data"):
        msg = (
            f"{what} records no provenance (no data fingerprint and no training segments): "
            "it was written by an mlp_xp before 0.2, so its training cannot be replayed; "
            "train it again with this version"
        )
        raise ValueError(msg)
    return dict(provenance)


def _describe(fp: dict[str, Any]) -> str:
    return f"shape {tuple(fp['shape'])}, dtype {fp['dtype']}"


def _same_sums(a: list[float] | None, b: list[float] | None) -> bool:
    if a is None or b is None or len(a) != len(b):
        return False
    x, y = np.asarray(a), np.asarray(b)
    return bool(np.allclose(x, y, rtol=1e-9, atol=1e-12 * max(1.0, float(np.max(np.abs(y))))))


def difference(arg: str, given: dict[str, Any], recorded: dict[str, Any]) -> str | None:
    """How the fingerprint ``given`` differs from ``recorded``, or None when they agree."""
    if given["sha256"] == recorded["sha256"]:
        return None
    if list(given["shape"]) != list(recorded["shape"]):
        return f"{arg} has {_describe(given)}, but the model was trained on {_describe(recorded)}"
    if given["dtype"] != recorded["dtype"]:
        return (
            f"{arg} has dtype {given['dtype']}, but the model was trained on {recorded['dtype']}"
        )
    if _same_sums(given.get("column_sums"), recorded.get("column_sums")) and _same_sums(
        given.get("column_sumsq"), recorded.get("column_sumsq")
    ):
        return f"{arg} holds the training rows in another order (same column sums, other bytes)"
    return (
        f"{arg} is not the training data: same {_describe(given)}, but other values "
        f"(sha256 {given['sha256'][:12]}..., recorded {recorded['sha256'][:12]}...)"
    )


def check_training_data(
    model: Any, X: Any, y: Any, what: str = "the model", sample_weight: Any = None
) -> dict[str, Any]:
    """Refuse ``X``, ``y`` and ``sample_weight`` unless they are what every segment saw.

    A model trained with sample weights records their fingerprint, not the
    weights, so a replay needs them again; one trained without refuses them.

    Returns the model's provenance.

    Raises
    ------
    ValueError
        One line naming what differs: the shape, the dtype, the order of the rows,
        or the values; or that a resumed segment trained on other data.
    """
    provenance = recorded_provenance(model, what)
    given = {"X": fingerprint_array(X), "y": fingerprint_array(y)}
    for arg in ("X", "y"):
        why = difference(arg, given[arg], provenance["data"][arg])
        if why is not None:
            raise ValueError(f"{why}; pass the data {what} was trained on")
    _check_weights(provenance, sample_weight, what)
    weights = None if sample_weight is None else fingerprint_array(sample_weight)
    for i, segment in enumerate(provenance["segments"]):
        for arg in ("X", "y"):
            recorded = (segment.get("data") or {}).get(arg)
            if recorded is not None and recorded["sha256"] != given[arg]["sha256"]:
                msg = (
                    f"training segment {i + 1} ({segment['kind']}, epochs "
                    f"{segment['start_epoch']}-{segment['end_epoch']}) trained on other data "
                    f"than the first; a replay needs one data set for every segment"
                )
                raise ValueError(msg)
        _check_batches(i, segment, (given["X"], given["y"], weights))
    return provenance


def _check_batches(i: int, segment: dict[str, Any], batch: tuple[Any, Any, Any]) -> None:
    """Refuse a run of ``partial_fit`` calls unless every call was given this batch.

    Its ``batches_sha256`` chains the fingerprints of each call's batch; a
    replay gives every call ``X``, ``y`` and the weights, so they must chain to
    the same hash ``calls`` times.  Streamed batches cannot be replayed from one
    data set: such a segment is not verified.
    """
    recorded = segment.get("batches_sha256")
    if recorded is None:  # a fit or a resume, or a file written before the chain
        return
    calls = int(segment.get("calls", 1))
    chain = None
    for _ in range(calls):
        chain = chained_sha256(chain, *batch)
    if chain != recorded:
        msg = (
            f"training segment {i + 1} (partial_fit, {calls} calls, epochs "
            f"{segment['start_epoch']}-{segment['end_epoch']}) was not given these X, y "
            "and sample_weight in every call (the chained sha256 of its batches differs): "
            "a replay gives every call the data passed here, so streamed training "
            "cannot be verified; pass the one data set every call was given"
        )
        raise ValueError(msg)


def _check_weights(provenance: dict[str, Any], sample_weight: Any, what: str) -> None:
    """The sample weights every segment recorded: given when recorded, and the same."""
    for i, segment in enumerate(provenance["segments"]):
        recorded = (segment.get("data") or {}).get("sample_weight")
        where = f"training segment {i + 1} ({segment['kind']})"
        if recorded is None and sample_weight is not None:
            msg = f"{where} of {what} trained without sample_weight; pass none to replay it"
            raise ValueError(msg)
        if recorded is None:
            continue
        if sample_weight is None:
            msg = (
                f"{where} of {what} trained with sample_weight ({_describe(recorded)}); "
                "pass the same weights to replay it"
            )
            raise ValueError(msg)
        why = difference("sample_weight", fingerprint_array(sample_weight), recorded)
        if why is not None:
            raise ValueError(f"{why}; pass the weights {what} was trained with")
