"""The output files of a whole-video run (annotated video, per-frame JSON Lines, timeline
chart), written so that nothing is lost: every file goes to a temp file beside its target,
the annotated video is checked (every frame written, the file readable back) before it
counts, and the files are committed together (all written, then all renamed), so a failure
anywhere leaves every existing target as it was and no temp file behind."""
from __future__ import annotations

import errno
import json
import os
from pathlib import Path
from typing import Iterable, Optional

import cv2
import numpy as np

from .errors import PipanError, VideoError
from .fileio import StagedOutputs

VIDEO_CODECS = {".mp4": "mp4v", ".m4v": "mp4v", ".mov": "mp4v", ".avi": "MJPG",
                ".mkv": "MJPG"}
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
#: Frames between checks that the annotated video's disk still has room (OpenCV's writer
#: reports nothing when a write fails, so a full disk is otherwise found only at the end).
SPACE_CHECK_EVERY = 32


def _same_file(a: str, b: str) -> bool:
    """Whether paths ``a`` and ``b`` name one existing file (links and spellings included)."""
    try:
        return os.path.samefile(a, b)
    except OSError:  # either does not exist (yet): an output to be created is no input
        return False


def check_output_paths(output: Optional[str] = None, plot: Optional[str] = None,
                       frames_json: Optional[str] = None,
                       inputs: Iterable[str] = ()) -> None:
    """Reject output names pipan cannot write, before any work is done: unsupported types,
    an output that is one of ``inputs`` (the same file, however named), or two outputs
    that are the same file."""
    if output is not None and Path(output).suffix.lower() not in VIDEO_CODECS:
        raise VideoError(f"{output}: unsupported video type; use one of "
                         f"{', '.join(sorted(VIDEO_CODECS))}")
    if plot is not None and Path(plot).suffix.lower() not in IMAGE_SUFFIXES:
        raise VideoError(f"{plot}: the timeline is an image; use .png or .jpg")
    outs = [(opt, p) for opt, p in (("--output", output), ("--plot", plot),
                                    ("--frames-json", frames_json)) if p is not None]
    for opt, p in outs:
        if Path(p).is_dir():
            raise PipanError(f"{opt} {p}: is a directory; give a file name")
        for src in inputs:
            if os.path.abspath(p) == os.path.abspath(src) or _same_file(p, src):
                raise PipanError(f"{opt} {p}: is the input file; writing it would "
                                 f"destroy the input. Choose another name")
    for i, (opt, p) in enumerate(outs):
        for opt2, q in outs[i + 1:]:
            if os.path.abspath(p) == os.path.abspath(q) or _same_file(p, q):
                raise PipanError(f"{opt} and {opt2} name the same file ({p})")


def _video_frames(path: Path) -> int:
    """Frames OpenCV reads back from a video file it just wrote (0: unreadable)."""
    cap = cv2.VideoCapture(str(path))
    try:
        if not cap.isOpened():
            return 0
        count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
        ok, _ = cap.read()
        return count if ok and count > 0 else (1 if ok else 0)
    finally:
        cap.release()


class VideoOutput:
    """An annotated video written through OpenCV's VideoWriter to ``tmp`` (its target
    ``target``, for messages), with the checks OpenCV does not do: room on the disk while
    writing, and after ``close()`` every frame there and the file readable back."""

    def __init__(self, tmp: Path, target: str, fps: float, size: tuple):
        self.tmp, self.target, self.size = tmp, target, size
        fourcc = cv2.VideoWriter_fourcc(*VIDEO_CODECS[Path(target).suffix.lower()])
        self._writer = cv2.VideoWriter(str(tmp), fourcc, fps, size)
        if not self._writer.isOpened():
            raise VideoError(f"{target}: OpenCV cannot write this video type here")
        self.frames = 0

    def write(self, image: np.ndarray) -> None:
        W, H = self.size
        if image.shape[:2] != (H, W):  # a resolution change mid-stream
            image = cv2.resize(image, (W, H))
        self._writer.write(image)
        self.frames += 1
        if self.frames % SPACE_CHECK_EVERY == 0:
            self._check_room()

    def _check_room(self) -> None:
        try:
            st = os.statvfs(self.tmp.parent)
        except OSError:
            return
        if st.f_bavail == 0:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), self.target)

    def close(self) -> None:
        """Release the writer and check the result; OSError or VideoError if incomplete."""
        self._writer.release()
        if self.frames == 0:
            return
        self._check_room()
        got = _video_frames(self.tmp)
        if got < self.frames:
            raise VideoError(f"{self.target}: cannot write the video (read back "
                             f"{got} of {self.frames} frames; is the disk full?)")

    def abandon(self) -> None:
        self._writer.release()


class RecognizeOutputs:
    """The optional outputs of ``pipan recognize``, committed together by ``commit()``;
    leaving the ``with`` block without it (an error, Ctrl-C, SIGTERM) removes every temp
    file and leaves the targets untouched."""

    def __init__(self, *, output: Optional[str], frames_json: Optional[str],
                 plot: Optional[str], fps: float, size: tuple):
        self.output, self.frames_json, self.plot = output, frames_json, plot
        self._staged = StagedOutputs()
        self.video: Optional[VideoOutput] = None
        self._jf = None
        try:
            if output is not None:
                self.video = VideoOutput(self._staged.path(output), output, fps, size)
            if frames_json is not None:
                self._jf = open(self._staged.path(frames_json), "w", encoding="utf-8")
        except BaseException:
            self._close_quietly()
            raise

    @property
    def wants_video(self) -> bool:
        return self.video is not None

    def frame_record(self, record: dict) -> None:
        if self._jf is not None:
            try:
                self._jf.write(json.dumps(record) + "\n")
            except OSError as e:
                raise OSError(e.errno, e.strerror, self.frames_json) from None

    def video_frame(self, image: np.ndarray) -> None:
        if self.video is not None:
            self.video.write(image)

    def commit(self, plot_image=None) -> None:
        """Finish every file (the plot from ``plot_image``, a BGR image), check them, then
        rename them all onto their targets."""
        if self._jf is not None:
            jf, self._jf = self._jf, None
            try:
                jf.close()
            except OSError as e:
                raise OSError(e.errno, e.strerror, self.frames_json) from None
        if self.video is not None:
            video, self.video = self.video, None
            video.close()
        if self.plot is not None and plot_image is not None:
            ok, buf = cv2.imencode(Path(self.plot).suffix.lower(), plot_image)
            if not ok:  # pragma: no cover - OpenCV encodes every suffix allowed above
                raise VideoError(f"{self.plot}: cannot encode the image")
            tmp = self._staged.path(self.plot)
            try:
                with open(tmp, "wb") as f:
                    f.write(buf.tobytes())
            except OSError as e:
                raise OSError(e.errno, e.strerror, self.plot) from None
        self._staged.commit()

    def _close_quietly(self) -> None:
        if self._jf is not None:
            try:
                self._jf.close()
            except OSError:
                pass
            self._jf = None
        if self.video is not None:
            self.video.abandon()
            self.video = None
        self._staged.discard()

    def __enter__(self) -> "RecognizeOutputs":
        return self

    def __exit__(self, *exc) -> None:
        self._close_quietly()

