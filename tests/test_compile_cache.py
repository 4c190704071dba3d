"""The command line keeps JAX's compilations on disk; the library never does."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from mlp_xp import backend

needs_jax = pytest.mark.skipif(
    not backend.backend_info("jax").available, reason="jax is not installed (mlp_xp[jax])"
)

TRAIN = [sys.executable, "-m", "mlp_xp.cli", "train", "--backend", "jax", "--epochs", "2"]


def _run(command, **env):
    environ = {k: v for k, v in os.environ.items() if not k.startswith("JAX_COMPILATION")}
    environ.update(env)
    return subprocess.run(command, env=environ, capture_output=True, text=True, timeout=300)


@pytest.mark.slow
@needs_jax
def test_mlp_xp_train_keeps_its_compilations_for_the_next_run(tmp_path):
    cache = tmp_path / "cache"
    done = _run([*TRAIN, "--quiet"], MLP_XP_COMPILATION_CACHE=str(cache))
    assert done.returncode == 0, done.stderr
    kept = set(os.listdir(cache))
    assert len(kept) > 1  # the epoch's compilation and the eager operations'
    again = _run([*TRAIN, "--quiet"], MLP_XP_COMPILATION_CACHE=str(cache))
    assert again.returncode == 0, again.stderr
    assert set(os.listdir(cache)) == kept  # the second run compiled nothing new
    info = _run([sys.executable, "-m", "mlp_xp.cli", "info"], MLP_XP_COMPILATION_CACHE=str(cache))
    assert f"compilation cache {cache}" in info.stdout


@pytest.mark.slow
@needs_jax
def test_off_and_a_users_own_cache_are_respected(tmp_path):
    ours, theirs = tmp_path / "ours", tmp_path / "theirs"
    done = _run([*TRAIN, "--quiet"], MLP_XP_COMPILATION_CACHE="off")
    assert done.returncode == 0, done.stderr
    done = _run(
        [*TRAIN, "--quiet"],
        MLP_XP_COMPILATION_CACHE=str(ours),
        JAX_COMPILATION_CACHE_DIR=str(theirs),
        # The user's own thresholds: JAX keeps only compilations over 1 s by default.
        JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS="0",
    )
    assert done.returncode == 0, done.stderr
    assert not ours.exists() or not os.listdir(ours)
    assert os.listdir(theirs)  # JAX's own setting, as the user made it
    # ...and the user's threshold is theirs too: mlp_xp's own (0) is never forced on it.
    strict = tmp_path / "strict"
    done = _run(
        [*TRAIN, "--quiet"],
        MLP_XP_COMPILATION_CACHE=str(ours),
        JAX_COMPILATION_CACHE_DIR=str(strict),
        JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS="1e9",
    )
    assert done.returncode == 0, done.stderr
    assert not strict.exists() or not os.listdir(strict)


@needs_jax
def test_the_library_alone_changes_no_jax_setting(tmp_path):
    code = (
        "import numpy as np, jax, mlp_xp\n"
        "X = np.random.default_rng(0).normal(size=(64, 2))\n"
        "mlp_xp.MLPRegressor((4,), epochs=2, backend='jax', dtype='float32').fit(X, X[:, 0])\n"
        "print(jax.config.jax_compilation_cache_dir)\n"
    )
    done = _run(
        [sys.executable, "-W", "ignore", "-c", code], MLP_XP_COMPILATION_CACHE=str(tmp_path)
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "None"
    assert not os.listdir(tmp_path)
