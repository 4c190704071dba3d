"""Bad input: each case names the argument and what was expected."""

from __future__ import annotations

import numpy as np
import pytest

import mlp_xp


def _arrays(target, n=5, n_in=2, n_hidden=3, n_out=1):
    rng = np.random.default_rng(0)
    return [
        target.asarray(a)
        for a in (
            rng.normal(size=(n, n_in)),
            rng.normal(size=(n, n_out)),
            rng.normal(size=(n_hidden, n_in)),
            np.zeros(n_hidden),
            rng.normal(size=(n_out, n_hidden)),
            np.zeros(n_out),
        )
    ]


def test_rows_of_X_and_Y_must_match(target):
    X, Y, *params = _arrays(target)
    with pytest.raises(ValueError, match="X has 5 rows but Y has 4"):
        mlp_xp.gradient_descent_step(X, Y[:4, ...], *params, 0.1)


def test_wrong_ndim(target):
    X, Y, *params = _arrays(target)
    with pytest.raises(ValueError, match=r"Y must be 2-D.*reshape"):
        mlp_xp.gradient_descent_step(X, Y[:, 0], *params, 0.1)
    with pytest.raises(ValueError, match="X must be 2-D"):
        mlp_xp.gradient_descent_step(X[:, 0], Y, *params, 0.1)
    W0, _b0, W1, b1 = params
    with pytest.raises(ValueError, match=r"params\[0\]\.b must be 1-D"):
        mlp_xp.gradient_descent_step(X, Y, W0, W0, W1, b1, 0.1)


def test_feature_count_must_match_W(target):
    _X, Y, *params = _arrays(target, n_in=2)
    X3 = target.asarray(np.ones((5, 3)))
    with pytest.raises(ValueError, match="X has 3 features but the network expects 2"):
        mlp_xp.gradient_descent_step(X3, Y, *params, 0.1)


def test_output_count_must_match_Y(target):
    X, _Y, *params = _arrays(target)
    Y2 = target.asarray(np.ones((5, 2)))
    with pytest.raises(ValueError, match="Y has 2 columns but the network has 1 outputs"):
        mlp_xp.gradient_descent_step(X, Y2, *params, 0.1)


def test_layer_shapes_must_chain(target):
    X, Y, W0, b0, W1, b1 = _arrays(target)
    with pytest.raises(ValueError, match=r"params\[1\]\.W expects 2 inputs but layer 0 has 3"):
        mlp_xp.gradient_descent_step(X, Y, W0, b0, target.asarray(np.ones((1, 2))), b1, 0.1)
    with pytest.raises(ValueError, match=r"params\[0\]\.b has 2 entries"):
        mlp_xp.gradient_descent_step(X, Y, W0, target.asarray(np.ones(2)), W1, b1, 0.1)


@pytest.mark.parametrize("kind", ["int64", "bool", "complex128"])
def test_non_float_dtypes_are_refused(kind):
    X = np.ones((4, 2), dtype=kind)
    Y, W0, b0, W1, b1 = np.ones((4, 1)), np.ones((3, 2)), np.zeros(3), np.ones((1, 3)), np.zeros(1)
    with pytest.raises(TypeError, match=rf"X has dtype {kind}.*real floating"):
        mlp_xp.gradient_descent_step(X, Y, W0, b0, W1, b1, 0.1)
    with pytest.raises(TypeError, match=rf"params\[0\]\.W has dtype {kind}"):
        mlp_xp.gradient_descent_step(Y.repeat(2, 1), Y, X[:3], b0, W1, b1, 0.1)


def test_mixed_float_dtypes_are_refused():
    X = np.ones((4, 2), dtype=np.float32)
    Y, W0, b0, W1, b1 = np.ones((4, 1)), np.ones((3, 2)), np.zeros(3), np.ones((1, 3)), np.zeros(1)
    with pytest.raises(TypeError, match=r"X has dtype float32 but params\[0\]\.W has float64"):
        mlp_xp.gradient_descent_step(X, Y, W0, b0, W1, b1, 0.1)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("where", ["X", "Y"])
def test_nan_and_inf_are_refused(target, bad, where):
    X, Y, *params = _arrays(target)
    host_bad = np.ones((5, 2 if where == "X" else 1))
    host_bad[2, 0] = bad
    arrays = {"X": X, "Y": Y, where: target.asarray(host_bad)}
    with pytest.raises(ValueError, match=rf"{where} contains 1 NaN or infinite"):
        mlp_xp.gradient_descent_step(arrays["X"], arrays["Y"], *params, 0.1)


def test_mixed_namespaces_are_refused():
    torch = pytest.importorskip("torch", reason="torch is not installed")
    X, Y = np.ones((4, 2)), np.ones((4, 1))
    W0, b0, W1, b1 = (
        torch.ones(3, 2, dtype=torch.float64),
        torch.zeros(3, dtype=torch.float64),
        torch.ones(1, 3, dtype=torch.float64),
        torch.zeros(1, dtype=torch.float64),
    )
    with pytest.raises(TypeError, match=r"X is numpy, Y is numpy, params\[0\]\.W is torch"):
        mlp_xp.gradient_descent_step(X, Y, W0, b0, W1, b1, 0.1)


def test_mixed_devices_are_refused():
    pytest.importorskip("array_api_strict")
    X = mlp_xp.to_backend(np.ones((4, 2)), "array_api_strict", "device1")
    Y = mlp_xp.to_backend(np.ones((4, 1)), "array_api_strict", "device1")
    params = mlp_xp.init_params((2, 3, 1), dtype="float64", backend="array_api_strict")
    with pytest.raises(ValueError, match=r"X is on device .*device1.* but params\[0\]\.W is on"):
        mlp_xp.step(params, X, Y, 0.1)


def test_params_must_be_layers():
    with pytest.raises(TypeError, match="params must be a non-empty tuple of Layer"):
        mlp_xp.forward((), np.ones((2, 2)))
    with pytest.raises(TypeError, match=r"params\[0\] must be a Layer\(W, b\) pair"):
        mlp_xp.forward((np.ones((2, 2)),), np.ones((2, 2)))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"activation": "gelu"}, "unknown activation 'gelu'; valid values are: identity, relu"),
        ({"loss": "hinge"}, "unknown loss 'hinge'; valid values are: squared_error"),
        ({"loss": "cross_entropy", "output": "sigmoid"}, "defined with a softmax output"),
        ({"alpha": -1.0}, "alpha must be a finite number >= 0"),
    ],
)
def test_unknown_names_and_bad_options(kwargs, match):
    params = mlp_xp.init_params((2, 3, 2))
    with pytest.raises(ValueError, match=match):
        mlp_xp.gradients(params, np.ones((3, 2)), np.ones((3, 2)) / 2, **kwargs)


def test_messages_name_arguments_as_the_caller_spells_them():
    """The Python names by default; inside argument_names, the caller's (mlp-xp's flags)."""
    from mlp_xp.validation import arg_setting, argument_names, check_positive_int

    with pytest.raises(ValueError, match=r"^hidden_layer_sizes\[1\] must be a positive"):
        check_positive_int("hidden_layer_sizes[1]", 0)
    assert arg_setting("task", "regression") == "task='regression'"
    with argument_names({"hidden_layer_sizes": "--hidden", "task": "--task"}):
        with pytest.raises(ValueError, match=r"^--hidden must be a positive integer"):
            check_positive_int("hidden_layer_sizes[1]", 0)
        assert arg_setting("task", "regression") == "--task regression"
        assert arg_setting("hidden_layer_sizes", (8, 8)) == "--hidden 8 8"
        assert arg_setting("alpha", 0.5) == "alpha=0.5"  # a name the table lacks
    assert arg_setting("task", "regression") == "task='regression'"  # the context ended
