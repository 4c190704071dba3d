"""``mlp_xp.verify`` and ``mlp_xp.compare``: is a model the one the reference gives? (verify)."""

from __future__ import annotations

from typing import Any

from ..backend import (
    FLOAT_DTYPES,
    HOST_BACKEND,
    adapter_of,
    dtype_name,
    environment_report,
    is_lazy,
)
from ..parity.tolerance import tolerance
from .data_check import check_training_data, recorded_provenance
from .deviation import Deviation, measure
from .replay import replay
from .report import CompareReport, Verdict, VerifyReport


def _steps(provenance: dict[str, Any]) -> int:
    return sum(int(s.get("steps", 0)) for s in provenance["segments"])


def _shape_of_rule(model: Any, n_samples: int) -> tuple[int, int]:
    """The tolerance rule's depth and width for ``model``: layers, longest dot product."""
    sizes = model.fitted_model().network.layer_sizes
    batch = min(int(model.batch_size), n_samples)
    return len(sizes) - 1, max(batch, *sizes)


def _limit(model: Any, n_samples: int, steps: int, *dtypes: str) -> float:
    """The sum of each run's tolerance: each may stray from float64 by its own."""
    depth, width = _shape_of_rule(model, n_samples)
    return sum(tolerance(d, steps=steps, depth=depth, width=width) for d in dtypes)


def _verdict(deviation: Deviation, limit: float, mismatches: list[str]) -> Verdict:
    """Whether weights, elements and every epoch's loss are within ``limit``, and where not."""
    failures = list(mismatches)
    if not deviation.weights <= limit:
        failures.append(f"the weights deviate by {deviation.weights:.3g} (limit {limit:.3g})")
    worst = deviation.worst
    if not worst.element <= limit:
        failures.append(
            f"layer {worst.layer} {worst.name}{worst.index} is {worst.value:.6g} where the "
            f"reference has {worst.reference:.6g} ({worst.element:.3g} of the layer's largest "
            f"weight; limit {limit:.3g})"
        )
    epoch = deviation.first_epoch_beyond(limit)
    if epoch is not None:
        failures.append(
            f"the loss left tolerance first in epoch {epoch} "
            f"({deviation.losses[epoch - 1]:.3g}; limit {limit:.3g})"
        )
    if not deviation.scalers <= limit:
        failures.append(
            f"a scaling statistic moved by {deviation.scalers:.3g} standard deviations "
            f"(limit {limit:.3g})"
        )
    if not deviation.classes_equal:
        failures.append("the classes differ (other labels, or the same in another order)")
    # Predictions: relative to the largest prediction; probabilities are their own scale.
    p = deviation.predictions
    key = "max_abs" if "labels_differ" in p else "max_rel"
    if not p.get(key, 0.0) <= limit:
        failures.append(f"the predictions differ by {p[key]:.3g} (limit {limit:.3g})")
    return Verdict(not failures, limit, deviation, failures)


def verify(
    model: Any,
    X: Any,
    y: Any,
    *,
    sample_weight: Any = None,
    against: str | None = None,
    device: object = None,
    dtype: str | None = None,
) -> VerifyReport:
    """Replay ``model``'s recorded training on ``against`` and compare the two.

    Parameters
    ----------
    model : MLPRegressor or MLPClassifier
        A fitted or loaded model whose file records its provenance.
    X, y : arrays
        The data it was trained on (checked against the recorded fingerprints).
    sample_weight : array, optional
        The weights it was trained with, when it was (the model records their
        fingerprint, not the weights).
    against, device : str
        The reference backend: by default NumPy on the CPU, or for lazy data
        (dask arrays, which may not fit in memory) their own backend, in float64
        chunks for the float64 replay.
    dtype : {"float32", "float64"} or None
        The dtype of the replay that decides the verdict.  None replays in the
        model's own dtype, which is what the reference would have given; the
        float64 replay's deviation is reported beside it.

    Returns
    -------
    VerifyReport
        ``passed``, the measured figures, ``to_json()``, ``plot()`` and
        ``to_markdown()``.

    Raises
    ------
    ValueError
        When ``X`` or ``y`` is not the training data (the message names what
        differs), or the model records no provenance.
    """
    provenance = check_training_data(model, X, y, sample_weight=sample_weight)
    if against is None:
        against = adapter_of(X).name if is_lazy(X) else HOST_BACKEND
    own = str(model.fitted_model().network.dtype)
    main_dtype = own if dtype is None else dtype_name(dtype)
    if main_dtype not in FLOAT_DTYPES:
        msg = f"dtype={dtype!r} is not supported; use one of {', '.join(FLOAT_DTYPES)}"
        raise ValueError(msg)
    steps = _steps(provenance)
    n = int(provenance["data"]["X"]["shape"][0])
    dtypes = [main_dtype] + [d for d in ("float64",) if d != main_dtype]
    verdicts: dict[str, Verdict] = {}
    seconds: dict[str, float] = {}
    for d in dtypes:
        again = replay(
            model,
            X,
            y,
            provenance,
            backend=against,
            device=device,
            dtype=d,
            sample_weight=sample_weight,
        )
        deviation = measure(model, again.model, X, y)
        verdicts[d] = _verdict(deviation, _limit(model, n, steps, own, d), again.mismatches)
        seconds[d] = again.seconds
    return VerifyReport(
        passed=verdicts[main_dtype].passed,
        model_dtype=own,
        verdict_dtype=main_dtype,
        against=against,
        steps=steps,
        verdicts=verdicts,
        replay_seconds=seconds,
        recipe=model.get_params(),
        data=provenance["data"],
        trained=[s.get("environment", {}) for s in provenance["segments"]],
        replayed=environment_report([against]),
        segments=provenance["segments"],
    )


def _recipe_differences(a: Any, b: Any) -> list[str]:
    """How two models' recipes or data differ, where it matters (not where they ran)."""
    # shuffle=True means what each backend chose: the modes used are compared below.
    ignore = {"backend", "device", "dtype", "shuffle"}
    pa, pb = a.get_params(), b.get_params()
    found = [f"{k}: {pa[k]!r} vs {pb[k]!r}" for k in pa if k not in ignore and pa[k] != pb.get(k)]
    ra, rb = a.fitted_model().provenance, b.fitted_model().provenance
    da, db = ra.data or {}, rb.data or {}
    for arg in ("X", "y"):
        if da[arg]["sha256"] != db[arg]["sha256"]:
            found.append(
                f"they were trained on other {arg} ({da[arg]['shape']} vs {db[arg]['shape']})"
            )
    modes = [[s.get("shuffle") for s in r.segments] for r in (ra, rb)]
    if modes[0] != modes[1]:
        found.append(f"their epochs were shuffled differently ({modes[0]} vs {modes[1]})")
    # Interrupted and resumed equals uninterrupted, so segment kinds are not compared;
    # hyperparameters changed between segments are.
    recipes = [[s.get("hyperparameters") for s in r.segments] for r in (ra, rb)]
    if recipes[0] != recipes[1] and len(recipes[0]) == len(recipes[1]):
        found.append("their hyperparameters changed differently between training segments")
    return found


def compare(a: Any, b: Any, X: Any, y: Any, *, sample_weight: Any = None) -> CompareReport:
    """Compare two models of one recipe, without a replay (a GPU model and a laptop model).

    The tolerance is the sum of the two runs' tolerances, each in its own dtype.

    Raises
    ------
    ValueError
        When the two come from different recipes or data (the message says how),
        or ``X``, ``y`` are not their training data.
    """
    for model, name in ((a, "the first model"), (b, "the second model")):
        recorded_provenance(model, name)
    differences = _recipe_differences(a, b)
    if differences:
        msg = "the models come from different recipes: " + "; ".join(differences)
        raise ValueError(msg)
    provenance = check_training_data(a, X, y, "the first model", sample_weight)
    steps = _steps(provenance)
    n = int(provenance["data"]["X"]["shape"][0])
    fa, fb = a.fitted_model(), b.fitted_model()
    na, nb = fa.network, fb.network
    ea, eb = fa.training.n_epochs, fb.training.n_epochs
    limit = _limit(a, n, steps, str(na.dtype), str(nb.dtype))
    ends = [f"the first model ran {ea} epochs, the second {eb}"]
    verdict = _verdict(measure(a, b, X, y), limit, [] if ea == eb else ends)
    return CompareReport(
        passed=verdict.passed,
        dtypes=(str(na.dtype), str(nb.dtype)),
        places=(f"{na.backend} {na.device}", f"{nb.backend} {nb.device}"),
        steps=steps,
        verdict=verdict,
        recipe=a.get_params(),
        data=provenance["data"],
    )
