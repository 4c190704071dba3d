"""Is this the data the model was trained on?  Fingerprints compared (verify layer)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..data.fingerprint import fingerprint_array


def recorded_provenance(model: Any, what: str) -> dict[str, Any]:
    """The model's provenance, or a ValueError saying what is missing and what to do."""
    provenance = getattr(model, "provenance_", None)
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
    return provenance


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
