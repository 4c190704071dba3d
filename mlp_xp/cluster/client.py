"""Dask clusters for the ``dask`` backend: connect to a scheduler, or start one here.

The estimators take no scheduler argument.  Dask runs a computation on the
current ``dask.distributed`` client when there is one, and on its local
threaded scheduler otherwise; :func:`dask_client` makes a client current for
the duration of a ``with`` block::

    with dask_client("local", workers=2):
        MLPRegressor(backend="dask").fit(X, y)

Everything binds to loopback unless the user names another address.
"""

from __future__ import annotations

import contextlib
import importlib.util
import logging
import re
from collections.abc import Iterator
from typing import Any

from ..validation import check_positive_float, check_positive_int

CONNECT_TIMEOUT = 5.0
"""Seconds to wait for a scheduler to answer before giving up."""

_ADDRESS = re.compile(r"^(tcp|tls|ucx|inproc|ws|wss)://[^\s/]+$")
_INSTALL_HINT = "pip install 'dask[distributed]' (or 'mlp_xp[dask]')"


def _distributed() -> Any:
    """The ``distributed`` package, or an error saying how to install it."""
    if importlib.util.find_spec("distributed") is None:
        msg = f"a dask scheduler needs the distributed package; {_INSTALL_HINT}"
        raise ModuleNotFoundError(msg)
    import distributed

    return distributed


def check_scheduler(scheduler: str) -> str:
    """``"local"`` or a scheduler address such as ``tcp://10.0.0.5:8786``."""
    if not isinstance(scheduler, str) or not (scheduler == "local" or _ADDRESS.match(scheduler)):
        msg = (
            f"scheduler={scheduler!r} is neither 'local' nor a scheduler address; "
            "give 'local' to start a cluster here, or an address like tcp://HOST:8786"
        )
        raise ValueError(msg)
    return scheduler


@contextlib.contextmanager
def dask_client(
    scheduler: str,
    *,
    workers: int | None = None,
    memory_limit: str | int | None = None,
    timeout: float = CONNECT_TIMEOUT,
) -> Iterator[Any]:
    """Make a ``dask.distributed`` client current for the ``with`` block, then close it.

    Parameters
    ----------
    scheduler : str
        ``"local"`` starts a :class:`distributed.LocalCluster` on this machine,
        bound to 127.0.0.1, with ``workers`` processes of one thread each and no
        dashboard.  Anything else is the address of a running scheduler,
        e.g. ``tcp://10.0.0.5:8786``.
    workers : int, optional
        Worker processes of a local cluster; default: one per CPU core.
    memory_limit : str or int, optional
        Memory limit of each local worker, e.g. ``"2GB"``; default: dask's
        ``"auto"`` (the machine's memory shared among the workers).  A worker
        that reaches it spills to disk, then pauses, then is restarted.
    timeout : float
        Seconds to wait for a remote scheduler to answer.

    Yields
    ------
    distributed.Client

    Raises
    ------
    ConnectionError
        When the scheduler at ``scheduler`` does not answer within ``timeout``.
    ValueError
        For a malformed address, or ``workers``/``memory_limit`` with a remote
        scheduler (its workers are started where it runs).
    """
    check_scheduler(scheduler)
    distributed = _distributed()
    if scheduler == "local":
        n = None if workers is None else check_positive_int("workers", workers)
        # Workers are processes with one thread each: the partial products of
        # a step run in parallel without contending for the GIL, and NumPy's
        # BLAS stays single-threaded inside each.
        with (
            distributed.LocalCluster(
                n_workers=n,
                threads_per_worker=1,
                processes=True,
                host="127.0.0.1",
                # No dashboard; the scheduler's small HTTP server (health,
                # metrics) still starts, on a free loopback port rather than
                # 8787, so that two clusters on one machine do not collide.
                dashboard_address=None,
                scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
                memory_limit="auto" if memory_limit is None else memory_limit,
                silence_logs=logging.ERROR,
            ) as cluster,
            distributed.Client(cluster) as client,
        ):
            yield client
        return
    for arg, value in (("workers", workers), ("memory_limit", memory_limit)):
        if value is not None:
            msg = (
                f"{arg}={value!r} only applies to a local cluster (scheduler='local'); "
                f"the workers of {scheduler} are started where that scheduler runs"
            )
            raise ValueError(msg)
    seconds = check_positive_float("timeout", timeout)
    try:
        client = distributed.Client(scheduler, timeout=seconds)
    except (OSError, TimeoutError) as exc:
        msg = (
            f"no dask scheduler answered at {scheduler} within {seconds:g} s ({exc}); "
            "check that `dask scheduler` is running there, the host and port, and "
            "that no firewall blocks it"
        )
        raise ConnectionError(msg) from None
    with client:
        yield client
