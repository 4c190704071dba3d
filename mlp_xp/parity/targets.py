"""Which runs a check makes: backend specs, the default targets, the skipped (parity layer)."""

from __future__ import annotations

from collections.abc import Sequence

from ..backend import (
    BACKENDS,
    Adapter,
    BackendUnavailableError,
    Placement,
    adapters,
    backend_info,
    device_name,
    resolve,
)
from .report import Skipped


def default_devices(adapter: Adapter) -> tuple[str | None, ...]:
    """The devices a check runs a library on by default (None: its default device).

    Each eager library that can train, on each kind of device it has: its
    default device, and every other kind by name.  A library with a GPU kind
    names its CPU too (``torch:cpu``, ``torch:cuda``), so that the report says
    which ran.  Lazy libraries run only when asked for (:func:`slow_steps`);
    inference-only ones have no training to compare.
    """
    if adapter.lazy or adapter.inference_only:
        return ()
    first, *others = adapter.device_kinds
    named = any(kind.startswith(("cuda", "gpu")) for kind in others)
    return (first if named else None, *others)


def default_targets() -> list[str]:
    """What ``mlp-xp parity`` checks when no backend is named, as ``BACKEND[:DEVICE]``."""
    return [
        a.name if device is None else f"{a.name}:{device}"
        for a in adapters()
        for device in default_devices(a)
    ]


def slow_steps(adapter: Adapter) -> str:
    """Why a long step-by-step check is slow on ``adapter``'s library; empty when it is not."""
    if not adapter.lazy:
        return ""
    return (
        f"{adapter.name} schedules every step as a task graph and reads the new parameters "
        "back, about 50 ms a step here, so the 200-step check takes about 25 s"
    )


DEFAULT_BACKENDS: tuple[str, ...] = tuple(default_targets())
"""The runs :func:`check` tries when no backends are named, as ``BACKEND[:DEVICE]``."""


def parse_backend(spec: str) -> tuple[str, str | None]:
    """Split ``"BACKEND[:DEVICE]"`` (``"torch:cuda"``, ``"cupy:cuda:1"``) into its parts."""
    if not isinstance(spec, str) or not spec.strip():
        msg = f"write a backend as BACKEND or BACKEND:DEVICE (e.g. torch:cuda), got {spec!r}"
        raise ValueError(msg)
    name, _, device = spec.strip().partition(":")
    if name not in BACKENDS:
        msg = (
            f"unknown backend {name!r} in {spec!r}; valid backends are {', '.join(BACKENDS)}, "
            "written BACKEND or BACKEND:DEVICE (e.g. torch:cuda, array_api_strict:device1)"
        )
        raise ValueError(msg)
    return name, device or None


def choose_targets(backends: Sequence[str] | str | None) -> tuple[list[Placement], list[Skipped]]:
    """The placements to run and the runs skipped, with why.

    Named backends that are installed but cannot run here are an error; named
    backends that are not installed, and default ones that cannot run, are skipped.
    """
    requested = backends is not None
    if isinstance(backends, str):
        specs = [s for s in backends.split(",") if s.strip()]
    else:
        specs = list(DEFAULT_BACKENDS if backends is None else backends)
    if not specs:
        msg = "backends is empty; name at least one, e.g. 'numpy,torch'"
        raise ValueError(msg)
    placements: list[Placement] = []
    skipped: list[Skipped] = []
    seen: set[tuple[str, str]] = set()
    for spec in specs:
        name, device = parse_backend(spec)
        info = backend_info(name)
        try:
            placement = resolve(name, device)
        except BackendUnavailableError as exc:
            if requested and info.installed:
                msg = f"cannot run the requested backend {spec!r}: {exc}"
                raise BackendUnavailableError(msg) from None
            skipped.append(Skipped(name, device or "default", str(exc)))
            continue
        key = (placement.name, device_name(placement))
        if key not in seen:
            seen.add(key)
            placements.append(placement)
    if not requested:
        for lazy in adapters():
            why = slow_steps(lazy)
            if why and backend_info(lazy.name).available:
                reason = f"not run by default: {why}; ask for it with --backends {lazy.name}"
                skipped.append(Skipped(lazy.name, "cpu", reason))
    return placements, skipped
