"""The host's random numbers: every backend draws from the same seeded generators (any layer).

All backends start from identical numbers because the draws happen here, in
float64 on the host, and are then cast and moved.
"""

from __future__ import annotations

import numbers

import numpy as np


def host_rng(seed: object) -> np.random.Generator:
    """The host random generator for ``seed`` (an int, None, or a Generator passed through)."""
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is None:
        return np.random.default_rng()
    if isinstance(seed, numbers.Integral) and not isinstance(seed, bool):
        return np.random.default_rng(int(seed))
    msg = f"seed must be an int, None or a numpy.random.Generator, got {seed!r}"
    raise TypeError(msg)


def seeded_split(n_samples: int, n_held: int, seed: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """Sorted row indices ``(kept, held out)``, ``n_held`` of them held out at random.

    ``seed`` is a generator seed such as ``[seed, stream]``: each split of the
    library draws from a stream of its own, so the same rows are held out on
    every backend and by every run with that seed.
    """
    order = np.random.default_rng(seed).permutation(n_samples)
    return np.sort(order[n_held:]), np.sort(order[:n_held])


def seeded_stratified_split(
    strata: np.ndarray, n_held: int, seed: list[int]
) -> tuple[np.ndarray, np.ndarray]:
    """Sorted row indices ``(kept, held out)``, each class held out in its own proportion.

    ``strata`` holds each row's class as an integer ``0 .. k-1``.  Class ``i``,
    with ``c_i`` rows, gives about ``c_i * n_held / n`` of them to the held-out
    side (the largest remainders round up, ties broken at random), with two
    guarantees where the sizes allow: every class keeps a row on the kept side
    (when ``n - n_held >= k``; otherwise the largest classes keep one row each)
    and has one on the held-out side (when ``n_held >= k`` and the class has two
    rows or more).  scikit-learn's
    ``StratifiedShuffleSplit`` rounds instead, and so holds out no row at all of
    a class of 2 rows in 100 when 20 are held out.  The rows each class gives
    are drawn at random.  Everything is drawn from ``seed``'s generator, so the
    split is the same on every backend and in every run.
    """
    strata = np.asarray(strata, dtype=np.intp).reshape(-1)
    n = strata.shape[0]
    counts = np.bincount(strata)
    k = counts.shape[0]
    rng = np.random.default_rng(seed)
    share = counts * (n_held / n) if n else counts.astype(np.float64)
    # Ties between classes are broken by a random priority, the same for every step.
    priority = rng.permutation(k)
    low = np.where((counts >= 2) & (n_held >= k), 1, 0)
    if n - n_held >= k:
        high = counts - 1
    else:  # fewer kept rows than classes: one row each of the largest classes is kept
        high = counts.copy()
        high[np.lexsort((priority, -counts))[: n - n_held]] -= 1
    held = np.clip(np.floor(share).astype(np.intp), low, high)
    while held.sum() < n_held:  # the largest shortfall below its share takes a row
        room = np.flatnonzero(held < high)
        gap = (share - held)[room]
        held[room[np.lexsort((priority[room], -gap))[0]]] += 1
    while held.sum() > n_held:  # the largest excess over its share gives a row back
        room = np.flatnonzero(held > low)
        gap = (held - share)[room]
        held[room[np.lexsort((priority[room], -gap))[0]]] -= 1
    # Each class's rows in a random order: the first ``held[i]`` of class i are held out.
    order = rng.permutation(n)
    order = order[np.argsort(strata[order], kind="stable")]
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
    position = np.arange(n) - np.repeat(starts, counts)
    out = position < np.repeat(held, counts)
    return np.sort(order[~out]), np.sort(order[out])
