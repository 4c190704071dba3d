"""The command line's own copies of the data: the parse, the dtype, the held-out split (memory).

``mlp-xp train`` reads a file's features in the dtype they train in, a CSV a block
of rows at a time, and moves the training rows to the front of the array it read
instead of copying them.  Measured, never timed.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from mlp_xp.data import csv_table, load_data, tables
from mlp_xp.data.tables import Dataset, partition, split

ROOT = Path(__file__).resolve().parents[1]


# The peak of a grandchild: a child forked from this (large) process counts this
# process's pages in its ru_maxrss until it execs, a child of a small one does not.
_MEASURE = (
    "import resource, subprocess, sys; "
    "code = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL).returncode; "
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); sys.exit(code)"
)


def _peak_rss(data: Path, tmp_path: Path) -> int:
    """The peak resident bytes of ``mlp-xp train`` on ``data``, run as a child process."""
    env = dict(os.environ)
    # The checkout last, so that a PYTHONPATH given to the tests comes first.
    env["PYTHONPATH"] = os.pathsep.join(p for p in (env.get("PYTHONPATH"), str(ROOT)) if p)
    argv = [sys.executable, "-m", "mlp_xp.cli", "train", "--data", str(data)]
    argv += ["--dtype", "float32", "--epochs", "1", "--backend", "numpy", "--quiet"]
    argv += ["--hidden", "64", "--batch-size", "1024", "--early-stopping"]
    done = subprocess.run(
        [sys.executable, "-c", _MEASURE, *argv],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return int(done.stdout.split()[-1]) * 1024  # KiB on Linux


def _npz(path: Path, rows: int) -> int:
    X = np.random.default_rng(rows).normal(size=(rows, 64)).astype(np.float32)
    np.savez(path, X=X, y=X[:, :3].sum(axis=1))
    return X.nbytes


@pytest.mark.skipif(sys.platform != "linux", reason="ru_maxrss in KiB: Linux")
def test_train_on_an_npz_holds_little_more_than_the_data(tmp_path):
    # 200,000 x 64 float32 = 49 MiB.  Before, the float64 upcast, the copied training
    # rows and fit's cast back to float32 made the peak 4 times the data beyond it.
    data = _npz(tmp_path / "big.npz", 200_000)
    _npz(tmp_path / "small.npz", 1_000)
    baseline = _peak_rss(tmp_path / "small.npz", tmp_path)
    extra = (_peak_rss(tmp_path / "big.npz", tmp_path) - baseline - data) / data
    # Measured 0.79; copying the training rows again instead of moving them in place
    # would add about 0.8 (one more copy of the data), so the bound is 1.0.
    assert extra <= 1.0, f"mlp-xp train's peak is {extra:.2f} times the data beyond it"


def _owned(X, y):
    return Dataset(X, y, [], "y", None, "test", owned=True)


def test_partition_in_place_gives_the_rows_fancy_indexing_gives():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(10_001, 3)).astype(np.float32)
    y = np.array([f"c{i % 7}" for i in range(len(X))])
    train_rows, test_rows = split(len(X), 0.2, 5)
    expected = X[train_rows], y[train_rows], X[test_rows], y[test_rows]
    got = partition(_owned(X.copy(), y.copy()), train_rows, test_rows)
    for e, g in zip(expected, got):
        np.testing.assert_array_equal(g, e)
    # In place: views of the arrays read, not copies.
    held = _owned(X.copy(), y.copy())
    X_train, _, X_test, _ = partition(held, train_rows, test_rows)
    assert np.shares_memory(X_train, held.X)
    assert np.shares_memory(X_test, held.X)
    assert X_train.flags.c_contiguous


def test_partition_copies_data_it_does_not_own():
    X, y = np.arange(20.0).reshape(10, 2), np.arange(10.0)
    train_rows, test_rows = split(10, 0.3, 0)
    got = partition(Dataset(X, y, [], "y", None, "bmi"), train_rows, test_rows)
    np.testing.assert_array_equal(got[0], np.arange(20.0).reshape(10, 2)[train_rows])
    np.testing.assert_array_equal(X, np.arange(20.0).reshape(10, 2))  # untouched


def test_csv_in_float32_is_the_float64_parse_cast(tmp_path, monkeypatch):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(3000, 4)) * 10.0 ** rng.integers(-8, 8, size=(3000, 4))
    path = tmp_path / "d.csv"
    rows = [",".join(repr(float(v)) for v in row) + f",{i}" for i, row in enumerate(X)]
    path.write_text("a,b,c,d,t\n" + "\n".join(rows) + "\n")
    monkeypatch.setattr(csv_table, "BLOCK_ROWS", 700)  # several blocks, one part-filled
    wide = load_data(str(path))
    narrow = load_data(str(path), dtype="float32")
    np.testing.assert_array_equal(wide.X, X)
    assert narrow.X.dtype == np.float32
    np.testing.assert_array_equal(narrow.X, X.astype(np.float32))
    np.testing.assert_array_equal(narrow.y, np.arange(3000.0))


def test_csv_rows_beyond_the_hint_grow_the_array(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("a,t\n" + "".join(f"{i},{i % 2}\n" for i in range(5000)))
    with path.open(newline="") as handle:
        how = csv_table.Reading(None, True, ",", None, None, (), "float32")
        table = csv_table.read_csv(handle, "d.csv", how, rows_hint=10)
    np.testing.assert_array_equal(table.X[:, 0], np.arange(5000, dtype=np.float32))
    assert table.X.shape == (5000, 1)
    assert len(table.y) == 5000


def test_a_target_that_turns_to_text_after_the_first_block_is_labels(tmp_path, monkeypatch):
    monkeypatch.setattr(csv_table, "BLOCK_ROWS", 10)
    path = tmp_path / "d.csv"
    path.write_text("a,t\n" + "".join(f"{i},{i % 3}\n" for i in range(25)) + "1,inf\n2,cat\n")
    data = load_data(str(path), dtype="float32")
    assert data.y.dtype.kind == "U"
    assert list(data.y[:3]) == ["0", "1", "2"]
    assert list(data.y[-2:]) == ["inf", "cat"]


def test_a_value_float32_cannot_hold_is_named(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("a,t\n1,2\n1e39,3\n")
    assert load_data(str(path)).X[1, 0] == 1e39
    with pytest.raises(ValueError, match=r"row 2, column 'a' holds '1e39', beyond the range"):
        load_data(str(path), dtype="float32")
    np.savez(tmp_path / "d.npz", X=np.array([[1.0], [1e300]]), y=np.ones(2))
    with pytest.raises(ValueError, match=r"row 2, column 'X\[:, 0\]' holds 1e\+300, beyond"):
        load_data(str(tmp_path / "d.npz"), dtype="float32")


def test_npz_in_its_training_dtype_is_not_cast(tmp_path):
    X = np.ones((5, 2), dtype=np.float32)
    np.savez(tmp_path / "d.npz", X=X, y=np.ones(5))
    assert load_data(str(tmp_path / "d.npz"), dtype="float32").X.dtype == np.float32
    assert tables._in_dtype(X, "float32", "d.npz") is X  # no cast, no copy
    assert load_data(str(tmp_path / "d.npz")).X.dtype == np.float64  # as before
