"""Files that are never half written: atomic writes, and the two model containers (any layer).

A model file holds host arrays and one JSON document.  Two containers are
supported, chosen by the file's first bytes on read and by the path's suffix
on write:

* ``.safetensors`` (needs the ``safetensors`` package): the JSON sits in the
  header's ``__metadata__``;
* anything else is a NumPy ``.npz`` archive, the JSON in a ``__mlp_xp__`` entry;
  it needs nothing beyond NumPy and is read with ``allow_pickle=False``.
"""

from __future__ import annotations

import importlib
import importlib.util
import io
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

METADATA_KEY = "__mlp_xp__"


def atomic_write(path: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to ``path`` so that readers see the old file or the new one, never half.

    The bytes go to a temporary file in the same directory, are flushed to disk,
    and the temporary file is renamed over ``path`` (atomic on POSIX and Windows).
    """
    target = Path(path)
    directory = target.parent if str(target.parent) else Path(".")
    if not directory.is_dir():
        msg = f"cannot write {str(target)!r}: the directory {str(directory)!r} does not exist"
        raise FileNotFoundError(msg)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_container(
    path: str | os.PathLike[str], metadata: dict[str, Any], tensors: dict[str, np.ndarray]
) -> None:
    """Write host arrays and a JSON document to ``path`` atomically (container by suffix)."""
    text = json.dumps(metadata, allow_nan=True)
    if Path(path).suffix == ".safetensors":
        if importlib.util.find_spec("safetensors") is None:
            msg = (
                f"writing {str(path)!r} needs the safetensors package: pip install safetensors "
                "(or 'mlp_xp[cli]'); or give a .npz path instead"
            )
            raise ModuleNotFoundError(msg)
        st = importlib.import_module("safetensors.numpy")
        contiguous = {k: np.ascontiguousarray(v) for k, v in tensors.items()}
        data = st.save(contiguous, metadata={METADATA_KEY: text})
    else:
        buffer = io.BytesIO()
        entries: dict[str, Any] = {**tensors, METADATA_KEY: np.array(text)}
        np.savez(buffer, **entries)
        data = buffer.getvalue()
    atomic_write(path, data)


def read_container(path: Path) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """The metadata and host arrays of a model file, whichever container it is."""
    with path.open("rb") as handle:
        head = handle.read(16)
    if head[:2] == b"PK":
        # Open the file ourselves: np.load leaks its handle when the zip is damaged.
        with path.open("rb") as handle, np.load(handle, allow_pickle=False) as archive:
            arrays = {k: archive[k] for k in archive.files}
        text = str(arrays.pop(METADATA_KEY))
        return json.loads(text), arrays
    if len(head) >= 9 and head[8:9] == b"{":
        if importlib.util.find_spec("safetensors") is None:
            msg = f"{str(path)!r} is a safetensors file; reading it needs: pip install safetensors"
            raise ModuleNotFoundError(msg)
        safetensors = importlib.import_module("safetensors")
        with safetensors.safe_open(str(path), framework="np") as f:
            meta = f.metadata() or {}
            arrays = {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118 (not a dict)
        return json.loads(meta[METADATA_KEY]), arrays
    msg = "it is neither a .npz archive nor a safetensors file"
    raise ValueError(msg)
