"""Recording example clips for ``pipan learn`` (``pipan record``): a countdown, then
``seconds`` of video, ``count`` times, into ``FOLDER/LABEL/``.

Timing follows the frames' own time stamps (a camera's are its capture times, so this is
the wall clock; a file's are its frame times, so a recorded file replays the same way),
and each clip is written atomically (temp file, then rename): an interrupted recording
leaves the clips already finished and nothing half-written.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Callable, List, Union

import cv2

from .errors import PipanError, VideoError
from .fileio import atomic_path
from .learn import check_label
from .video import FrameSource

PathLike = Union[str, os.PathLike]


def next_clip_path(folder: Path) -> Path:
    """``folder/N.mp4`` with N one more than the highest number there (1 in a new one)."""
    numbers = [int(p.stem) for p in folder.glob("*.mp4") if p.stem.isdigit()]
    return folder / f"{max(numbers, default=0) + 1}.mp4"


def record(source: FrameSource, folder: PathLike, label: str, *, count: int = 5,
           seconds: float = 3.0, countdown: float = 3.0,
           say: Callable[[str], None] = lambda s: None) -> List[Path]:
    """Record ``count`` clips of ``seconds`` each from ``source`` into ``folder/label/``,
    each after a ``countdown`` (seconds, announced through ``say`` once a second)."""
    check_label(label, "--label")
    if count < 1 or not seconds > 0 or countdown < 0:
        raise PipanError("count must be at least 1, seconds positive, countdown not negative")
    out_dir = Path(folder) / label
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise PipanError(f"{out_dir}: cannot create ({e.strerror})") from None
    frames = iter(source)
    fps = source.info.fps or 30.0
    written: List[Path] = []
    for n in range(1, count + 1):
        try:
            first = next(frames)
        except StopIteration:
            break
        start, announced = first.time, None
        frame = first
        while frame.time - start < countdown:  # get ready
            left = int(countdown - (frame.time - start)) + 1
            if left != announced:
                say(f"clip {n}/{count}: {left}...")
                announced = left
            frame = next(frames, None)
            if frame is None:
                return written
        say(f"clip {n}/{count}: recording {seconds:g} s")
        path = next_clip_path(out_dir)
        h, w = frame.image.shape[:2]
        try:
            with atomic_path(path) as tmp:
                writer = cv2.VideoWriter(str(tmp), cv2.VideoWriter_fourcc(*"mp4v"), fps,
                                         (w, h))
                if not writer.isOpened():
                    raise VideoError(f"{path}: OpenCV cannot write .mp4 video here")
                try:
                    begin = frame.time
                    while frame.time - begin < seconds:
                        image = frame.image
                        if image.shape[:2] != (h, w):
                            image = cv2.resize(image, (w, h))
                        writer.write(image)
                        frame = next(frames, None)
                        if frame is None:  # the source ended mid-clip: keep nothing
                            raise _CutShort
                finally:
                    writer.release()
        except _CutShort:
            break
        written.append(path)
        say(f"saved {path}")
    return written


class _CutShort(Exception):
    """A clip the source ended before its length: its temp file is dropped."""
