"""Dask's side of mlp_xp: a client for a cluster, and data sources read lazily."""

from .client import CONNECT_TIMEOUT, check_scheduler, dask_client
from .sources import LazyDataset, make_regression, open_dataset, open_npy

__all__ = [
    "CONNECT_TIMEOUT",
    "LazyDataset",
    "check_scheduler",
    "dask_client",
    "make_regression",
    "open_dataset",
    "open_npy",
]
