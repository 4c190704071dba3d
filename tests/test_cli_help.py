"""``mlp-xp COMMAND --help``: each names its subcommand, and every option states its default."""

from __future__ import annotations

import argparse
import sys

import pytest

from mlp_xp.cli import COMMANDS, build_parser, main


def _subparsers() -> dict[str, argparse.ArgumentParser]:
    """Each subcommand's parser, by name, as build_parser() makes them."""
    parser = build_parser()
    (sub,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(sub.choices)


def _help(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[object, str]:
    """The exit code and the standard output of ``mlp-xp *argv --help``."""
    with pytest.raises(SystemExit) as info:
        main([*argv, "--help"])
    return info.value.code, capsys.readouterr().out


def test_every_subcommand_is_registered():
    assert list(_subparsers()) == list(COMMANDS)


@pytest.mark.parametrize("command", COMMANDS)
def test_help_exits_0_and_its_usage_line_names_the_subcommand(capsys, command):
    argv0 = sys.argv[0]
    code, out = _help(capsys, command)
    assert code in (0, None)
    assert out.startswith(f"usage: mlp-xp {command} "), out.splitlines()[0]
    assert sys.argv[0] == argv0  # bench renames the program only while it runs


@pytest.mark.parametrize("command", COMMANDS)
def test_every_option_has_help_that_states_its_default(command):
    parser = _subparsers()[command]
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction):
            continue
        name = "/".join(action.option_strings) or action.dest
        text = action.help
        assert text, f"mlp-xp {command} {name} has no help text"
        assert text != argparse.SUPPRESS, f"mlp-xp {command} {name} hides its help text"
        if not action.option_strings:
            continue  # a positional argument has no default
        if not action.required:
            # For a value: its default; for a flag: what happens without it.
            assert "default" in text, f"mlp-xp {command} {name}: help states no default: {text!r}"
        else:
            assert "required" in text, f"mlp-xp {command} {name}: help hides that it's required"


@pytest.mark.parametrize("command", [None, *COMMANDS])
def test_help_has_no_restructuredtext_markup_and_no_unfilled_default(capsys, command):
    code, out = _help(capsys, *([] if command is None else [command]))
    assert code in (0, None)
    assert "``" not in out
    assert "default: None" not in out


def test_bench_help_is_the_benchmark_scripts(capsys):
    _, out = _help(capsys, "bench")
    assert "--cases" in out
    assert "--rounds" in out


def test_train_help_states_the_presets_of_the_built_in_data_sets(capsys):
    _, out = _help(capsys, "train")
    text = " ".join(out.split())
    assert (
        "hidden layer sizes, e.g. --hidden 8 8 (default: 8 for bmi, 4 for xor, else 100)" in text
    )
    assert "(default: 0.01 for bmi, 0.05 for xor, else 0.001;" in text
