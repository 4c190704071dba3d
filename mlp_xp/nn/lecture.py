"""The lecture's ``gradient_descent_step``, for arrays of any namespace."""

from __future__ import annotations

from ..backend import Array
from .layers import Layer
from .network import step


def gradient_descent_step(
    X: Array, Y: Array, W0: Array, b0: Array, W1: Array, b1: Array, learning_rate: float
) -> tuple[Array, Array, Array, Array]:
    """One gradient-descent step of the lecture's 2-layer ReLU network.

    h = ReLU(W0 x + b0), y_hat = W1 h + b1, and L = 1/2 sum_k (y_hat_k - y_k)^2
    averaged over the batch, with ReLU'(0) = 1.  Unlike the lecture's NumPy code,
    float32 input stays float32 throughout.

    Parameters
    ----------
    X : array, shape (n_samples, n_in)
    Y : array, shape (n_samples, n_out)
    W0 : array, shape (n_hidden, n_in)
    b0 : array, shape (n_hidden,)
    W1 : array, shape (n_out, n_hidden)
    b1 : array, shape (n_out,)
    learning_rate : float
        A positive finite number.

    Returns
    -------
    W0, b0, W1, b1 : arrays
        The updated parameters: new arrays in the namespace, on the device and in
        the dtype of the inputs.  The inputs are not modified.
    """
    new = step(
        (Layer(W0, b0), Layer(W1, b1)),
        X,
        Y,
        learning_rate,
        activation="relu",
        loss="squared_error",
        output="identity",
    )
    return new[0].W, new[0].b, new[1].W, new[1].b
