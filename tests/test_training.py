"""The epoch loop: shuffles drawn ahead on a helper thread, and chunked gathers."""

from __future__ import annotations

import json
import threading

import numpy as np
import pytest

import mlp_xp
from mlp_xp import training
from mlp_xp.backend import to_host
from mlp_xp.training import (
    Data,
    EpochOrders,
    batch_order,
    choose_strategy,
    epoch_order,
    start_position,
)


def _in_line(seed: int, n: int, batch: int, mode: str | None, epochs: int) -> list:
    """The orders of drawing each epoch in line, the reference for EpochOrders."""
    rng = np.random.default_rng(seed)
    return [
        (
            epoch_order(rng, n, mode == "rows"),
            batch_order(rng, n, batch) if mode == "batches" else None,
        )
        for _ in range(epochs)
    ]


def _drawn(position: dict, n: int, batch: int, mode: str | None, epochs: int) -> list:
    with EpochOrders(position, n, batch, mode, epochs) as orders:
        return [orders.next() for _ in range(epochs)]


def _same(got: np.ndarray | None, want: np.ndarray | None) -> bool:
    if got is None or want is None:
        return got is None and want is None
    return bool(np.array_equal(got, want))


# 70 epochs of 50 rows: the first in line, then blocks of 1, 2, 4, 8, 16, 32 and 7.
@pytest.mark.parametrize("mode", ["rows", "batches", None])
def test_orders_are_those_of_drawing_in_line(mode):
    n, batch, epochs = 50, 8, 70
    want = _in_line(3, n, batch, mode, epochs)
    got = _drawn(start_position(np.random.default_rng(3)), n, batch, mode, epochs)
    assert len(got) == epochs
    for (order, batches, _), (want_order, want_batches) in zip(got, want, strict=True):
        assert _same(order, want_order)
        assert _same(batches, want_batches)
        if order is not None:
            assert order.flags.c_contiguous  # a strided order makes the gather slow


@pytest.mark.parametrize("mode", ["rows", "batches"])
def test_resuming_from_any_position_continues_the_sequence(mode):
    n, batch, epochs = 40, 16, 70
    want = _in_line(5, n, batch, mode, epochs)
    drawn = _drawn(start_position(np.random.default_rng(5)), n, batch, mode, epochs)
    positions = [position for _, _, position in drawn]
    assert any(p["drawn"] > 1 for p in positions) == (mode == "rows")
    for done in (1, 2, 17, 32, 33, 34, 69):
        # A checkpoint stores the position as JSON.
        position = json.loads(json.dumps(positions[done - 1]))
        rest = _drawn(position, n, batch, mode, epochs - done)
        for (order, batches, _), (want_order, want_batches) in zip(rest, want[done:], strict=True):
            assert _same(order, want_order)
            assert _same(batches, want_batches)


def test_a_position_replays_with_the_rows_it_was_drawn_for():
    # Trained on 40 rows, resumed on 25 (say, partial_fit on new data): the
    # generator continues where the first run left it.
    rng = np.random.default_rng(9)
    first = [rng.permutation(40) for _ in range(7)]
    then = [rng.permutation(25) for _ in range(3)]
    drawn = _drawn(start_position(np.random.default_rng(9)), 40, 8, "rows", 40)[:7]
    assert all(np.array_equal(o, want) for (o, _, _), want in zip(drawn, first, strict=True))
    position = drawn[-1][2]
    assert position["drawn"] == 3  # the last three came from one block, of epochs 5 to 8
    rest = _drawn(position, 25, 8, "rows", 3)
    assert all(np.array_equal(o, want) for (o, _, _), want in zip(rest, then, strict=True))
    # Resumed without shuffling, then shuffling again: still no order repeats.
    with EpochOrders(position, 25, 8, None, 1) as orders:
        _, _, unshuffled = orders.next()
    (again, _, _), *_ = _drawn(unshuffled, 25, 8, "rows", 1)
    np.testing.assert_array_equal(again, then[0])


def test_the_blocks_drawn_ahead_grow_from_one_epoch():
    # The second epoch comes from a block of one, drawn while the first trains, not
    # from a block of 32 that it would wait for; then 2, 4, ... up to 32 a block.
    drawn = _drawn(start_position(np.random.default_rng(1)), 30, 8, "rows", 80)
    counts = [position["drawn"] for _, _, position in drawn]
    sizes = [1, 2, 4, 8, 16, 32, 16]  # the last: what is left of 80 epochs
    assert counts == [0] + [k for size in sizes for k in range(1, size + 1)]


def test_epoch_loss_is_the_row_weighted_mean_and_overflows_to_inf():
    assert training.epoch_loss([1.0, 4.0], [3, 1]) == pytest.approx(7 / 4)
    assert training.epoch_loss([1e308, 1e308], [1, 1]) == np.inf
    assert np.isnan(training.epoch_loss([np.nan, 1.0], [1, 1]))


def _helpers() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("mlp_xp-shuffle")]


def test_the_helper_thread_ends_with_the_fit():
    X = np.random.default_rng(0).normal(size=(64, 3))
    y = X.sum(axis=1)
    during = []
    model = mlp_xp.MLPRegressor((4,), epochs=40, batch_size=16, tol=0.0)
    model.fit(X, y, callbacks=[lambda _epoch, info: during.append(_helpers())])
    assert during[0] == ["mlp_xp-shuffle_0"]  # drawing the next block while epoch 1 trained
    assert _helpers() == []

    def stop(epoch, info):
        if info["epoch"] == 5:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        mlp_xp.MLPRegressor((4,), epochs=40, batch_size=16).fit(X, y, callbacks=[stop])
    assert _helpers() == []


def _epoch(target, order, batch_size, permuted=None):
    rng = np.random.default_rng(1)
    X, Y = rng.normal(size=(37, 5)), rng.normal(size=(37, 2))
    if permuted is not None:
        X, Y = X[permuted], Y[permuted]
    host = mlp_xp.init_params((5, 4, 2), seed=0, dtype="float64")
    params = target.params([(W, b) for W, b in host])
    opt = mlp_xp.sgd(0.05)
    plan = mlp_xp.nn.plan.make_plan("relu", "squared_error")
    data = Data(target.asarray(X), target.asarray(Y))
    strategy = choose_strategy(
        target.placement, data, plan=plan, batch_size=batch_size, alpha=0.0, compiled=False
    )
    steps = []
    strategy.epoch(params, opt.init(params), opt, order, None, steps.append)
    return [s.rows for s in steps], [
        to_host(a) for a in mlp_xp.nn.layers.flatten(steps[-1].params)
    ]


@pytest.mark.slow_on("jax")
@pytest.mark.parametrize("batch_size", [4, 10, 37])
def test_gathering_a_few_batches_at_a_time_trains_on_the_same_batches(
    target, batch_size, monkeypatch
):
    order = np.random.default_rng(2).permutation(37)
    rows, whole = _epoch(target, order, batch_size)  # the whole epoch in one gather
    # The reference: the rows permuted on the host, then taken in order.
    _, reference = _epoch(target, None, batch_size, permuted=order)
    for a, b in zip(whole, reference, strict=True):
        np.testing.assert_array_equal(a, b)
    # 20 rows of 7 values a gather: five batches of 4, two of 10, or one of 37.
    monkeypatch.setattr(
        training.step, "GATHER_BYTES", 20 * 7 * target.xp.finfo(target.dtype).bits // 8
    )
    gathers = []
    take = target.xp.take
    monkeypatch.setattr(target.xp, "take", lambda *a, **k: gathers.append(1) or take(*a, **k))
    chunked_rows, chunked = _epoch(target, order, batch_size)
    assert len(gathers) == 2 * -(-37 // (batch_size * max(1, 20 // batch_size)))  # X and Y
    assert chunked_rows == rows == [min(batch_size, 37 - i) for i in range(0, 37, batch_size)]
    for a, b in zip(chunked, whole, strict=True):
        np.testing.assert_array_equal(a, b)


def test_a_shuffled_epoch_holds_no_second_copy_of_the_data():
    import tracemalloc

    rng = np.random.default_rng(0)
    X = rng.normal(size=(40_000, 50))  # 16 MB
    y = X[:, 0].copy()
    peaks = []

    def watch(epoch, info):
        if info["epoch"] > 1:
            peaks.append(tracemalloc.get_traced_memory()[1] - start[0])
        start[0] = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()

    start = [0]
    tracemalloc.start()
    try:
        mlp_xp.MLPRegressor((4,), epochs=3, batch_size=256, scale=False).fit(
            X, y, callbacks=[watch]
        )
    finally:
        tracemalloc.stop()
    # A whole-epoch gather adds 16 MB (checked: with GATHER_BYTES = 2**40 this
    # fails); a chunk is about GATHER_BYTES, 1 MiB.
    assert max(peaks) < X.nbytes / 4
