"""Safe, deterministic file writing: nothing half-written, same bytes for the same data."""
from __future__ import annotations

import hashlib
import os
import tempfile
import zipfile
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Callable, Iterator, Mapping, Union

import numpy as np

PathLike = Union[str, os.PathLike]


@contextmanager
def atomic_path(path: PathLike) -> Iterator[Path]:
    """Yield a temp path beside ``path`` (same suffix, so writers that pick a format by
    extension, like OpenCV's VideoWriter, still work); on success rename it onto ``path``.
    For writers that need a file name rather than a file object. A failure or interruption
    removes the temp file and leaves ``path`` as it was."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=f".tmp{path.suffix}",
                               dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def atomic_write(path: PathLike, write: Callable[[IO], None], mode: str = "wb") -> None:
    """Call ``write(file)`` on a temp file beside ``path``, then rename it onto ``path``.

    A failure or interruption (including Ctrl-C) leaves ``path`` as it was: absent, or
    with its old content, and removes the temp file.
    """
    with atomic_path(path) as tmp:
        with open(tmp, mode) as f:
            write(f)


def atomic_write_bytes(path: PathLike, data: bytes) -> None:
    atomic_write(path, lambda f: f.write(data))


def atomic_write_text(path: PathLike, text: str) -> None:
    atomic_write(path, lambda f: f.write(text), mode="w")


def write_npz(f: IO[bytes], arrays: Mapping[str, np.ndarray]) -> None:
    """Like ``np.savez_compressed`` but byte-for-byte deterministic (fixed zip timestamps),
    so the same seed gives the same file."""
    with zipfile.ZipFile(f, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, arr in arrays.items():
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o600 << 16
            with zf.open(info, "w", force_zip64=True) as member:
                np.lib.format.write_array(member, np.asanyarray(arr), allow_pickle=False)


def file_sha256(path: PathLike) -> str:
    """Hex SHA-256 of a file's bytes, read in 1 MiB chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()
