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

import contextlib
import importlib
import importlib.util
import io
import json
import os
import stat
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

METADATA_KEY = "__mlp_xp__"


def _new_file_mode(target: Path) -> int:
    """The permission bits a new file gets: the old file's, or 0o666 less the umask.

    ``tempfile.mkstemp`` creates files that only their owner may read (0600);
    a model or a predictions file follows the umask, as any other tool's files do.
    """
    with contextlib.suppress(OSError):
        return stat.S_IMODE(target.stat().st_mode)
    # os.umask can only be read by setting it; it is set straight back.
    mask = os.umask(0o022)
    os.umask(mask)
    return 0o666 & ~mask


def atomic_write(path: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to ``path`` so that readers see the old file or the new one, never half.

    The bytes go to a temporary file in the same directory, are flushed to disk,
    and the temporary file is renamed over ``path`` (atomic on POSIX and Windows).
    The file gets the permissions of the file it replaces, or those the umask
    gives a new file.  Errors name ``path``, never the temporary file.
    """
    target = Path(path)
    directory = target.parent if str(target.parent) else Path(".")
    if not directory.is_dir():
        msg = f"cannot write {str(target)!r}: the directory {str(directory)!r} does not exist"
        raise FileNotFoundError(msg)
    mode = _new_file_mode(target)
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=directory)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException as exc:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise _naming(exc, target) from None
        raise


def _naming(exc: OSError, target: Path) -> OSError:
    """The same error, with a message that names the user's path instead of a temporary file."""
    reason = exc.strerror or str(exc)
    renamed = type(exc)(f"cannot write {str(target)!r}: {reason}")
    renamed.errno = exc.errno
    return renamed


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


def read_metadata(path: Path) -> dict[str, Any]:
    """The JSON document of a model file alone, without reading its arrays."""
    with path.open("rb") as handle:
        head = handle.read(16)
    if head[:2] == b"PK":
        with path.open("rb") as handle, np.load(handle, allow_pickle=False) as archive:
            meta: dict[str, Any] = json.loads(str(archive[METADATA_KEY]))
        return meta
    if len(head) >= 9 and head[8:9] == b"{" and importlib.util.find_spec("safetensors"):
        safetensors = importlib.import_module("safetensors")
        with safetensors.safe_open(str(path), framework="np") as f:
            meta = json.loads((f.metadata() or {})[METADATA_KEY])
        return meta
    msg = "it is neither a .npz archive nor a safetensors file"
    raise ValueError(msg)
