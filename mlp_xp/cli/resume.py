"""``mlp-xp train --resume``: what a checkpoint fixes, and the command that continues it (cli).

A resumed run continues with the checkpoint's own settings.  An option given
with ``--resume`` that differs from them is refused, naming each difference;
``--epochs`` is the one that applies (the total to train to).
"""

from __future__ import annotations

import argparse
import shlex
from typing import Any

from .common import UsageError

# Each option that a checkpoint fixes: its dest, and the estimator parameter it sets.
FIXED_BY_CHECKPOINT: dict[str, str] = {
    "hidden": "hidden_layer_sizes",
    "activation": "activation",
    "optimizer": "optimizer",
    "lr": "learning_rate",
    "batch_size": "batch_size",
    "alpha": "alpha",
    "init": "init",
    "seed": "seed",
    "tol": "tol",
    "patience": "patience",
    "early_stopping": "early_stopping",
    "val_fraction": "validation_fraction",
    "no_scale": "scale",
    "dtype": "dtype",
    "class_weight": "class_weight",
}


def given(args: argparse.Namespace) -> frozenset[str]:
    """The options the user set on the command line (by dest); empty when unknown."""
    found: frozenset[str] = getattr(args, "given", frozenset())
    return found


def _asked(dest: str, args: argparse.Namespace) -> Any:
    """The value option ``dest`` asks for, in the estimator's terms."""
    value = getattr(args, dest)
    if dest == "hidden":
        return tuple(value)
    if dest == "no_scale":
        return not value
    return value


def _kept(param: str, model: Any) -> Any:
    """The value the checkpoint holds for estimator parameter ``param``."""
    if param == "dtype":
        return model.fitted_model().network.dtype
    value = model.get_params().get(param)
    return tuple(value) if param == "hidden_layer_sizes" else value


def _shown(dest: str, value: Any) -> str:
    """A setting as the command line writes it."""
    flag = "--" + dest.replace("_", "-")
    if value is None:
        return f"no {flag}"
    if isinstance(value, bool):
        if dest == "no_scale":
            return "--no-scale" if not value else "no --no-scale"
        return flag if value else f"no {flag}"
    if isinstance(value, tuple):
        return f"{flag} {' '.join(str(v) for v in value)}"
    return f"{flag} {value}"


def check_resume_options(args: argparse.Namespace, model: Any) -> None:
    """Refuse options that differ from the checkpoint's settings, and too few ``--epochs``.

    Raises
    ------
    UsageError
        Listing each option given and what the checkpoint holds instead.
    """
    differ = []
    for dest, param in FIXED_BY_CHECKPOINT.items():
        if dest not in given(args):
            continue
        asked, kept = _asked(dest, args), _kept(param, model)
        if asked != kept:
            differ.append(f"{_shown(dest, asked)} (the checkpoint has {_shown(dest, kept)})")
    if differ:
        msg = (
            f"--resume {args.resume} continues a run with its own settings, but this command "
            f"gives {'; '.join(differ)}; drop those options, or train afresh without --resume"
        )
        raise UsageError(msg)
    done = int(model.fitted_model().training.n_epochs)
    if args.epochs is not None and args.epochs <= done:
        msg = (
            f"--epochs {args.epochs}: --resume {args.resume} has run {done} epochs already; "
            "--epochs is the total to train to, so give more"
        )
        raise UsageError(msg)
    if args.epochs is None and done >= int(model.epochs):
        msg = (
            f"--resume {args.resume} has run all of its {done} epochs; give --epochs N, "
            f"more than {done}, to train on"
        )
        raise UsageError(msg)


def command_line(args: argparse.Namespace, **replace: str | None) -> str:
    """The ``mlp-xp`` command that ``args`` came from, with some options replaced.

    Built from the options the user gave (``args.given``) in the parser's own
    spelling, so that abbreviations and ``--opt=value`` come out plainly; an
    option in ``replace`` takes that value (None drops it), or is added.
    """
    parser = getattr(args, "subparser", None)
    parts = ["mlp-xp", str(args.command)]
    if parser is None:
        return shlex.join(parts)
    for action in parser._actions:
        if not action.option_strings or isinstance(action, argparse._HelpAction):
            continue
        dest = action.dest
        if dest in replace:
            value: Any = replace[dest]
            if value is None:
                continue
        elif dest in given(args):
            value = getattr(args, dest)
        else:
            continue
        flag = max(action.option_strings, key=len)
        if isinstance(action, argparse._StoreTrueAction):
            parts.append(flag)
        elif isinstance(value, list):
            parts += [flag, *(str(v) for v in value)]
        else:
            parts += [flag, str(value)]
    return shlex.join(parts)
