"""The choice of activations and loss, resolved once into the functions that run.

A :class:`Plan` is built at the public boundary from names, validated once, and
then handed to the forward and backward kernels on every step.
"""

from __future__ import annotations

from typing import NamedTuple

from ..validation import check_name
from .activations import ACTIVATIONS, HIDDEN_ACTIVATIONS, Activation
from .losses import LOSSES, Loss


class Plan(NamedTuple):
    """The hidden activation, the output activation and the loss of a network."""

    hidden: Activation
    output: Activation
    loss: Loss


def make_plan(
    activation: str = "relu", loss: str = "squared_error", output: str | None = None
) -> Plan:
    """Resolve and validate activation, loss and output-activation names.

    Parameters
    ----------
    activation : {"relu", "sigmoid", "tanh", "identity"}
        The activation between layers.
    loss : {"squared_error", "binary_cross_entropy", "cross_entropy"}
        ``squared_error`` is the lecture's half squared error.
    output : str or None
        The output activation.  None picks the loss's natural one: identity for
        squared error, sigmoid for binary and softmax for categorical cross-entropy.
        The cross-entropies only accept their matched activation.
    """
    check_name("activation", activation, HIDDEN_ACTIVATIONS)
    check_name("loss", loss, LOSSES)
    entry = LOSSES[loss]
    out = output if output is not None else (entry.matched_output or "identity")
    check_name("output activation", out, ACTIVATIONS)
    if entry.matched_output is not None and out != entry.matched_output:
        msg = (
            f"loss={loss!r} is defined with a {entry.matched_output} output, "
            f"got output={out!r}; use output={entry.matched_output!r} or loss='squared_error'"
        )
        raise ValueError(msg)
    return Plan(ACTIVATIONS[activation], ACTIVATIONS[out], entry)
