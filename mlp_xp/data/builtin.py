"""Built-in data sets, generated on the host from a seed.

``bmi`` is the lecture's regression example: BMI from (height, weight).
``xor`` is the lecture's Knowledge Check 1: no linear model can fit it.
``digits`` is scikit-learn's bundled 8x8 digits (needs scikit-learn).
Every loader returns host NumPy float64 features ``X`` and targets ``y``.
"""

from __future__ import annotations

import importlib.util

import numpy as np

from ..seeds import host_rng

DATASETS: tuple[str, ...] = ("bmi", "xor", "digits")
BMI_FEATURES: tuple[str, ...] = ("height_m", "weight_kg")


def make_bmi(n_samples: int = 5000, *, seed: object = 0) -> tuple[np.ndarray, np.ndarray]:
    """Heights and weights of adults, and their body-mass index.

    Heights follow two normal distributions (women 1.63 m, men 1.76 m, sd about
    7 cm); BMI follows a log-normal distribution around 25 with the spread seen in
    adult surveys, and weight = BMI * height^2.  The target is then recomputed
    exactly as weight / height^2, so the relation is the lecture's formula.

    Returns
    -------
    X : ndarray, shape (n_samples, 2)
        Height in metres and weight in kilograms.
    y : ndarray, shape (n_samples,)
        BMI in kg/m^2.
    """
    rng = host_rng(seed)
    male = rng.random(n_samples) < 0.5
    height = np.where(male, rng.normal(1.76, 0.07, n_samples), rng.normal(1.63, 0.065, n_samples))
    height = np.clip(height, 1.40, 2.10)
    bmi = np.clip(np.exp(rng.normal(np.log(25.0), 0.17, n_samples)), 15.0, 50.0)
    weight = bmi * height**2
    X = np.stack([height, weight], axis=1)
    return X, weight / height**2


def make_xor(
    n_repeats: int = 64, *, noise: float = 0.0, seed: object = 0
) -> tuple[np.ndarray, np.ndarray]:
    """The four XOR points, repeated, with optional Gaussian noise on the inputs.

    Returns
    -------
    X : ndarray, shape (4 * n_repeats, 2)
    y : ndarray of int, shape (4 * n_repeats,)
        ``x0 XOR x1``.
    """
    rng = host_rng(seed)
    base = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    X = np.tile(base, (n_repeats, 1))
    if noise:
        X = X + rng.normal(0.0, noise, X.shape)
    y = np.tile(np.array([0, 1, 1, 0]), n_repeats)
    return X, y


def load_digits() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's bundled 8x8 handwritten digits: 1797 samples, 64 features, 10 classes."""
    if importlib.util.find_spec("sklearn") is None:
        msg = (
            "the digits data set ships with scikit-learn, which is not installed; "
            "pip install scikit-learn"
        )
        raise ModuleNotFoundError(msg)
    from sklearn.datasets import load_digits as sklearn_digits

    data = sklearn_digits()
    return np.asarray(data.data, dtype=np.float64), np.asarray(data.target)
