"""Where a model comes from, in words that hold on another machine: the checkout's commit
(``+dirty`` when tracked files have uncommitted changes) and command lines whose paths
inside the checkout are relative to its root.

Training records both in the model directory's ``config.json``; the converter copies them
into the model's metadata (what ``pipan info`` shows).
"""
from __future__ import annotations

import os
import shlex
import subprocess
from pathlib import Path
from typing import Optional, Union

#: The checkout this package runs from (the workstation install is editable).
REPO_ROOT = Path(__file__).resolve().parents[1]


def git_commit(root: Union[str, os.PathLike] = REPO_ROOT) -> Optional[str]:
    """The checkout's HEAD commit, with ``+dirty`` when tracked files have uncommitted
    changes; None outside a git checkout (or without git)."""
    try:
        sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True,
                             text=True, timeout=10)
        if sha.returncode != 0 or not sha.stdout.strip():
            return None
        status = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                                cwd=root, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return sha.stdout.strip() + ("+dirty" if status.stdout.strip() else "")


def repo_relative(path: str, root: Union[str, os.PathLike] = REPO_ROOT) -> str:
    """``path`` relative to ``root`` when it is an absolute path inside it; otherwise as
    given (a relative path, or a place outside the checkout)."""
    if not os.path.isabs(path):
        return path
    root = os.path.realpath(root)
    real = os.path.realpath(path)
    if real == root:
        return "."
    if real.startswith(root + os.sep):
        return os.path.relpath(real, root)
    return path


def portable_command(command: Optional[str],
                     root: Union[str, os.PathLike] = REPO_ROOT) -> Optional[str]:
    """A recorded command line with every absolute path inside ``root`` (as an argument or
    an ``--option=path``) made relative to it."""
    if not command:
        return command
    try:
        words = shlex.split(command)
    except ValueError:  # unbalanced quotes: not a command line this module wrote
        return command
    out = []
    for w in words:
        if w.startswith("-") and "=" in w:
            opt, _, value = w.partition("=")
            out.append(f"{opt}={repo_relative(value, root)}")
        else:
            out.append(repo_relative(w, root))
    return shlex.join(out)
