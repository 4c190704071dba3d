"""Bounded caches: what a long-lived process keeps of past work stays a fixed size.

Every module-level cache of mlp_xp is one of these, or a plain dict whose keys
are types, dtypes or names (few, and known when the code is written) that is
filled through :func:`remember`, which bounds it too.  A process that sweeps
shapes or hyperparameters (a grid search, a notebook) thus keeps the work of
the latest few, not of every one it tried.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

__all__ = ["LRU", "remember"]


class LRU(Generic[K, V]):
    """At most ``maxsize`` entries; the one used least recently goes first.

    Safe to share between threads: two that miss the same key at once may both
    make its value, and the first one stored is the one both get.
    """

    def __init__(self, maxsize: int) -> None:
        if maxsize < 1:
            msg = f"maxsize must be at least 1, got {maxsize}"
            raise ValueError(msg)
        self.maxsize = maxsize
        self._entries: OrderedDict[K, V] = OrderedDict()
        self._lock = threading.Lock()

    def get_or_make(self, key: K, make: Callable[[], V]) -> V:
        """The value of ``key``, made by ``make()`` (outside the lock) when absent."""
        with self._lock:
            if key in self._entries:
                self._entries.move_to_end(key)
                return self._entries[key]
        value = make()
        with self._lock:
            if key in self._entries:  # another thread made it meanwhile: keep one
                self._entries.move_to_end(key)
                return self._entries[key]
            self._entries[key] = value
            while len(self._entries) > self.maxsize:
                self._entries.popitem(last=False)
            return value

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, key: object) -> bool:
        return key in self._entries

    def clear(self) -> None:
        """Forget every entry."""
        with self._lock:
            self._entries.clear()


def remember(cache: dict[K, V], key: K, value: V, maxsize: int) -> V:
    """Store ``value`` under ``key`` in a plain dict kept to ``maxsize`` entries.

    For the caches that a hot path reads with ``cache.get(key)`` (an array's
    type, a dtype): reads cost nothing more, and when the cache is full the
    entry stored first goes (these caches hold a handful of keys in practice).
    """
    while len(cache) >= maxsize:
        try:
            del cache[next(iter(cache))]
        except (KeyError, RuntimeError, StopIteration):  # emptied by another thread meanwhile
            break
    cache[key] = value
    return value
