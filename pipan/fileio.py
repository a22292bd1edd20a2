"""Safe, deterministic file writing: nothing half-written, same bytes for the same data.

Every writer goes through a temp file beside the target that is renamed onto it only when
complete. Temp files get the mode a plain ``open()`` would give the file (0666 less the
umask), not mkstemp's 0600, since the rename keeps it. :class:`StagedOutputs` commits
several files together: all are written first, then all renamed, so a failure in the last
one leaves every earlier target as it was.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import stat
import tempfile
import threading
import zipfile
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Callable, Iterator, List, Mapping, Tuple, Union

import numpy as np

PathLike = Union[str, os.PathLike]

_umask_lock = threading.Lock()


def current_umask() -> int:
    """The process's umask (read by setting and restoring it; serialised by a lock)."""
    with _umask_lock:
        mask = os.umask(0o022)
        os.umask(mask)
    return mask


def is_special_file(path: PathLike) -> bool:
    """Whether ``path`` exists and is neither a regular file nor a directory (a device such
    as /dev/stdout or /dev/null, a FIFO): written in place, never replaced by a rename."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return False
    return not (stat.S_ISREG(mode) or stat.S_ISDIR(mode))


def _make_temp(path: Path) -> Path:
    """A new empty temp file beside ``path`` (hidden, same suffix), mode 0666 & ~umask."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=f".tmp{path.suffix}",
                               dir=path.parent)
    try:
        os.fchmod(fd, 0o666 & ~current_umask())
    finally:
        os.close(fd)
    return Path(tmp)


def _unlink_quietly(p: PathLike) -> None:
    try:
        os.unlink(p)
    except FileNotFoundError:
        pass


def _name_the_target(e: OSError, tmp: Path, path: Path) -> OSError:
    """``e`` about the temp file, re-aimed at the user's ``path`` (messages name what the
    user asked for, not a hidden temp name)."""
    if e.filename is not None and str(e.filename) == str(tmp):
        e.filename = str(path)
    return e


@contextmanager
def atomic_path(path: PathLike) -> Iterator[Path]:
    """Yield a temp path beside ``path`` (same suffix, so writers that pick a format by
    extension, like OpenCV's VideoWriter, still work); on success rename it onto ``path``.
    For writers that need a file name rather than a file object. A failure or interruption
    removes the temp file and leaves ``path`` as it was. An OSError about the temp file
    names ``path`` instead."""
    path = Path(path)
    if is_special_file(path):  # a device or FIFO: no temp file can stand in for it
        yield path
        return
    tmp = _make_temp(path)
    try:
        yield tmp
        os.replace(tmp, path)
    except OSError as e:
        _unlink_quietly(tmp)
        raise _name_the_target(e, tmp, path)
    except BaseException:
        _unlink_quietly(tmp)
        raise


class StagedOutputs:
    """Several output files committed together: ``path(target)`` gives a temp file for
    each; ``commit()`` renames them all onto their targets; ``discard()`` (or leaving the
    ``with`` block by an exception) removes them all, leaving every target as it was."""

    def __init__(self) -> None:
        self._staged: List[Tuple[Path, Path]] = []

    def path(self, target: PathLike) -> Path:
        target = Path(target)
        if is_special_file(target):  # a device or FIFO is written in place
            return target
        tmp = _make_temp(target)
        self._staged.append((tmp, target))
        return tmp

    def target_of(self, tmp: PathLike) -> Path:
        """The target a temp path stands for (itself if it is none of ours)."""
        for t, target in self._staged:
            if str(t) == str(tmp):
                return target
        return Path(tmp)

    def commit(self) -> None:
        staged, self._staged = self._staged, []
        try:
            for tmp, target in staged:
                os.replace(tmp, target)
        except OSError as e:
            for tmp, _ in staged:
                _unlink_quietly(tmp)
            raise _name_the_target(e, tmp, target)

    def discard(self) -> None:
        staged, self._staged = self._staged, []
        for tmp, _ in staged:
            _unlink_quietly(tmp)

    def __enter__(self) -> "StagedOutputs":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self.discard()  # after commit() there is nothing left to discard


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


@contextmanager
def atomic_dir(out: PathLike) -> Iterator[Path]:
    """Yield an empty temporary folder beside ``out`` (with the umask's permissions, not
    mkdtemp's private ones) to write a whole folder into; on success it takes ``out``'s
    place (an existing ``out`` is moved aside first and removed after), so that ``out`` is
    never half-written. A failure or interruption removes the temporary folder and leaves
    ``out`` as it was."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        os.chmod(tmp, 0o777 & ~current_umask())
        yield tmp
        if out.exists():
            trash = Path(tempfile.mkdtemp(prefix=f".{out.name}.old.", dir=out.parent))
            os.replace(out, trash / "old")
            os.replace(tmp, out)
            shutil.rmtree(trash, ignore_errors=True)
        else:
            os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


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
