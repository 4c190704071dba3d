"""The command line's names for the library's arguments: its messages name the flags (cli).

The estimators, the parity check and the backends name their arguments as
Python spells them (``learning_rate must be a positive finite number``).
``mlp-xp`` runs every command inside :func:`mlp_xp.validation.argument_names`
with :data:`FLAGS`, so that the same message names the flag the user typed
(``--lr must be a positive finite number``).  This is the one table of them.
"""

from __future__ import annotations

FLAGS: dict[str, str] = {
    "hidden_layer_sizes": "--hidden",
    "layer_sizes": "--hidden",  # parity's: the data fix the input and output sizes
    "activation": "--activation",
    "optimizer": "--optimizer",
    "learning_rate": "--lr",
    "epochs": "--epochs",
    "steps": "--steps",
    "batch_size": "--batch-size",
    "alpha": "--alpha",
    "init": "--init",
    "seed": "--seed",
    "test_fraction": "--test-fraction",
    "validation_fraction": "--val-fraction",
    "patience": "--patience",
    "tol": "--tol",
    "dtype": "--dtype",
    "max_memory": "--max-memory",
    "backend": "--backend",
    "device": "--device",
    "task": "--task",
    "loss": "--loss",
    "n_samples": "--samples",
    "rows": "--rows",
    "workers": "--workers",
}
"""Each argument's flag, by the argument's Python name."""
