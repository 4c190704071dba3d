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
