"""The maths, written once against the Array API and handed ``xp``.

Layers, activations, losses, backpropagation, the public functions, optimizers.
"""

from .layers import Layer, Params
from .network import forward, gradients, loss, step
from .optimizers import Optimizer, adam, apply_updates, momentum, sgd

__all__ = [
    "Layer",
    "Optimizer",
    "Params",
    "adam",
    "apply_updates",
    "forward",
    "gradients",
    "loss",
    "momentum",
    "sgd",
    "step",
]
