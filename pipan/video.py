"""Frame sources: video files, cameras (OpenCV index or V4L2 device), the Pi Camera Module
(picamera2) and network streams (OpenCV URLs), behind one small iterator interface.

Every source yields :class:`Frame` (index, time in seconds from the start, BGR uint8 image)
and has :class:`SourceInfo`. Problems the user can fix (missing file, not a video, camera
that will not open) raise :class:`pipan.errors.VideoError` with a one-line message.
Problems that still leave something to process (a truncated or corrupt file, a dropped
frame) are logged once as warnings on the ``pipan`` logger and processing goes on.
"""
from __future__ import annotations

import logging
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, Optional, Union

import numpy as np

from .errors import MissingDependencyError, VideoError

log = logging.getLogger("pipan")

#: Consecutive failed reads tolerated inside a file before it is taken as ended (a corrupt
#: stretch of frames is skipped; OpenCV's reader moves past it one packet per read).
MAX_BAD_READS = 64
#: Seconds a live source (camera, stream) may fail before it is reported as lost.
DEFAULT_RETRY_S = 10.0


@dataclass(frozen=True)
class Frame:
    """One decoded frame. ``time``: seconds from the start of the source (file: from the
    frame's position and fps; live sources: from the wall clock at capture)."""

    index: int
    time: float
    image: np.ndarray  # (H, W, 3) uint8 BGR


@dataclass(frozen=True)
class SourceInfo:
    """What is known about a source before reading it. ``frame_count`` is None for live
    sources and is the container's claim for files (a truncated file yields fewer)."""

    name: str
    fps: float
    width: int
    height: int
    frame_count: Optional[int] = None
    live: bool = False

    @property
    def duration(self) -> Optional[float]:
        """Seconds, from the container's frame count (None for live sources)."""
        return None if self.frame_count is None else self.frame_count / self.fps


class FrameSource:
    """Base class: iterate for frames, ``close()`` (or use as a context manager).
    Live sources set ``started_at`` (Unix time of frame time 0) when iteration starts."""

    info: SourceInfo
    started_at: Optional[float] = None

    def __iter__(self) -> Iterator[Frame]:  # pragma: no cover - abstract
        raise NotImplementedError

    def close(self) -> None:
        pass

    def __enter__(self) -> "FrameSource":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _quiet_ffmpeg() -> None:
    """Silence FFmpeg's own stderr chatter ('moov atom not found', 'invalid len'): pipan
    reports those problems itself, once, in words. A user's own setting wins."""
    os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")


def _cv2():
    import cv2  # local: keeps `import pipan.video` cheap for the CLI's --help
    return cv2


def _fps(cap, default: float = 30.0) -> float:
    fps = float(cap.get(_cv2().CAP_PROP_FPS) or 0.0)
    # Some containers report 0, NaN or absurd rates (1000 for timestamps in ms).
    return fps if 0.5 <= fps <= 240.0 else default


class VideoFileSource(FrameSource):
    """Frames of a video file. Raises VideoError for a missing file, a file OpenCV cannot
    open as a video, or one with no decodable frame. A truncated or partly corrupt file
    yields what decodes, with one warning."""

    def __init__(self, path: Union[str, os.PathLike]):
        cv2 = _cv2()
        self.path = Path(path)
        if not self.path.exists():
            raise VideoError(f"{self.path}: no such file")
        if not self.path.is_file():
            raise VideoError(f"{self.path}: not a file")
        _quiet_ffmpeg()
        self._cap = cv2.VideoCapture(str(self.path))
        if not self._cap.isOpened():
            raise VideoError(f"{self.path}: not a video OpenCV can read "
                             f"(unknown format, or damaged beyond decoding)")
        ok, first = self._cap.read()
        if not ok or first is None:
            self._cap.release()
            raise VideoError(f"{self.path}: the video has no decodable frames")
        self._first: Optional[np.ndarray] = first
        count = int(self._cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
        H, W = first.shape[:2]
        self.info = SourceInfo(name=str(self.path), fps=_fps(self._cap), width=W, height=H,
                               frame_count=count if count > 0 else None)
        self.decoded = 0
        self.warned = False

    def _warn(self, message: str) -> None:
        if not self.warned:
            self.warned = True
            log.warning("%s: %s", self.path, message)

    def __iter__(self) -> Iterator[Frame]:
        cv2 = _cv2()
        cap, fps, count = self._cap, self.info.fps, self.info.frame_count
        index = 0
        if self._first is not None:
            image, self._first = self._first, None
            self.decoded += 1
            yield Frame(0, 0.0, image)
        bad = 0
        while cap.isOpened():
            ok, image = cap.read()
            if not ok or image is None:
                pos = int(cap.get(cv2.CAP_PROP_POS_FRAMES) or 0)
                # A failed read before the container's stated end is a damaged stretch:
                # keep reading, the decoder skips it, until too many fail in a row.
                if count is not None and pos < count and bad < MAX_BAD_READS:
                    bad += 1
                    continue
                break
            if bad:
                self._warn("some frames are damaged and were skipped")
            bad = 0
            pos = int(cap.get(cv2.CAP_PROP_POS_FRAMES) or 0)
            # The frame's own position keeps timestamps right across skipped frames.
            index = pos - 1 if pos - 1 > index else index + 1
            self.decoded += 1
            yield Frame(index, index / fps, image)
        if count is not None and self.decoded < count * 0.98 - 1:
            self._warn(f"truncated or corrupt: decoded {self.decoded} of {count} frames; "
                       f"processed what decoded")

    def close(self) -> None:
        self._cap.release()


def _retrying_reads(read: Callable[[], Optional[np.ndarray]], reopen: Callable[[], bool],
                    name: str, retry_s: float, clock=time.monotonic,
                    sleep=time.sleep) -> Iterator[np.ndarray]:
    """Images from ``read()`` (None = failed). On failure, reopen and retry for up to
    ``retry_s`` seconds (warning once per outage), then raise VideoError."""
    while True:
        image = read()
        if image is not None:
            yield image
            continue
        log.warning("%s: stopped delivering frames; retrying for up to %g s", name, retry_s)
        deadline = clock() + retry_s
        while image is None:
            if clock() >= deadline:
                raise VideoError(f"{name}: lost (no frames for {retry_s:g} s)")
            sleep(0.5)
            try:
                if reopen():
                    image = read()
            except Exception:  # a driver error while the device comes back: keep trying
                image = None
        log.warning("%s: frames are back", name)
        yield image


class CaptureSource(FrameSource):
    """A live OpenCV source: a camera (index or /dev/videoN, through V4L2 on Linux) or a
    network stream URL. Times are wall-clock seconds since the first frame."""

    def __init__(self, spec: Union[int, str], retry_s: float = DEFAULT_RETRY_S,
                 width: Optional[int] = None, height: Optional[int] = None):
        self.spec = spec
        self.retry_s = retry_s
        self._size = (width, height)
        kind = "camera" if isinstance(spec, int) or str(spec).startswith("/dev/") else "stream"
        self.name = f"{kind} {spec}"
        _quiet_ffmpeg()
        self._cap = None
        if not self._open():
            hint = (" (is it connected, and is this user in the 'video' group? "
                    "A Pi Camera Module needs --picamera)" if kind == "camera" else "")
            raise VideoError(f"{self.name}: cannot be opened{hint}")
        ok, first = self._cap.read()
        if not ok or first is None:
            raise VideoError(f"{self.name}: opened but delivers no frames")
        self._first: Optional[np.ndarray] = first
        H, W = first.shape[:2]
        self.info = SourceInfo(name=self.name, fps=_fps(self._cap), width=W, height=H,
                               live=True)

    def _open(self) -> bool:
        cv2 = _cv2()
        if self._cap is not None:
            self._cap.release()
        spec = self.spec
        if isinstance(spec, int) and sys.platform.startswith("linux"):
            self._cap = cv2.VideoCapture(spec, cv2.CAP_V4L2)
        elif isinstance(spec, str) and spec.startswith("/dev/"):
            self._cap = cv2.VideoCapture(spec, cv2.CAP_V4L2)
        else:
            self._cap = cv2.VideoCapture(spec)
        w, h = self._size
        if w and h:
            self._cap.set(cv2.CAP_PROP_FRAME_WIDTH, w)
            self._cap.set(cv2.CAP_PROP_FRAME_HEIGHT, h)
        return bool(self._cap.isOpened())

    def _read(self) -> Optional[np.ndarray]:
        if self._first is not None:
            image, self._first = self._first, None
            return image
        ok, image = self._cap.read()
        return image if ok else None

    def __iter__(self) -> Iterator[Frame]:
        t0, self.started_at = time.monotonic(), time.time()
        for index, image in enumerate(_retrying_reads(self._read, self._open, self.name,
                                                      self.retry_s)):
            yield Frame(index, time.monotonic() - t0, image)

    def close(self) -> None:
        if self._cap is not None:
            self._cap.release()


class PiCameraSource(FrameSource):
    """The Raspberry Pi Camera Module through picamera2 (libcamera), imported only here.

    picamera2's "RGB888" format is BGR in memory (libcamera names formats by word order),
    which is OpenCV's order, so frames need no conversion.
    """

    def __init__(self, width: int = 640, height: int = 480, retry_s: float = DEFAULT_RETRY_S):
        try:
            from picamera2 import Picamera2  # type: ignore
        except ImportError:
            raise MissingDependencyError(
                "--picamera needs picamera2: sudo apt install python3-picamera2 (and create "
                "the venv with --system-site-packages)") from None
        self.name = "picamera"
        self.retry_s = retry_s
        try:
            self._cam = Picamera2()
            config = self._cam.create_video_configuration(
                main={"size": (int(width), int(height)), "format": "RGB888"})
            self._cam.configure(config)
            self._cam.start()
        except Exception as e:  # picamera2 raises RuntimeError/IndexError when no camera
            raise VideoError(f"picamera: the camera cannot be started ({e})") from None
        fps = 30.0
        self.info = SourceInfo(name=self.name, fps=fps, width=int(width), height=int(height),
                               live=True)

    def _read(self) -> Optional[np.ndarray]:
        try:
            image = self._cam.capture_array("main")
        except Exception:
            return None
        if image is None:
            return None
        image = np.asarray(image)
        if image.ndim == 3 and image.shape[2] == 4:  # XBGR8888 -> drop the padding byte
            image = image[:, :, :3]
        return np.ascontiguousarray(image)

    def __iter__(self) -> Iterator[Frame]:
        t0, self.started_at = time.monotonic(), time.time()
        for index, image in enumerate(_retrying_reads(self._read, lambda: True, self.name,
                                                      self.retry_s)):
            yield Frame(index, time.monotonic() - t0, image)

    def close(self) -> None:
        try:
            self._cam.stop()
            self._cam.close()
        except Exception:  # closing a camera that failed mid-stream must not mask the cause
            pass


class ArraySource(FrameSource):
    """Frames from memory (an iterable of BGR images) at a stated fps: tests, soak runs,
    and library users who already hold frames."""

    def __init__(self, images, fps: float = 30.0, name: str = "<memory>",
                 frame_count: Optional[int] = None):
        self._images = images
        first = None
        try:
            first = images[0]
        except (TypeError, IndexError, KeyError):
            pass
        H, W = (first.shape[:2] if first is not None else (0, 0))
        if frame_count is None and hasattr(images, "__len__"):
            frame_count = len(images)
        self.info = SourceInfo(name=name, fps=fps, width=W, height=H, frame_count=frame_count)

    def __iter__(self) -> Iterator[Frame]:
        for index, image in enumerate(self._images):
            yield Frame(index, index / self.info.fps, image)


def is_url(spec: str) -> bool:
    return "://" in spec


def open_source(source: Union[str, int, os.PathLike, None] = None, *,
                camera: Union[str, int, None] = None, picamera: bool = False,
                retry_s: float = DEFAULT_RETRY_S, width: Optional[int] = None,
                height: Optional[int] = None) -> FrameSource:
    """Open exactly one of: a file or URL (``source``), a camera (``camera``: index like 0
    or a device path), or the Pi camera (``picamera``)."""
    given = sum(x is not None and x is not False for x in (source, camera, picamera))
    if given != 1:
        raise VideoError("give exactly one source: a file/URL, --camera, or --picamera")
    if picamera:
        return PiCameraSource(width or 640, height or 480, retry_s=retry_s)
    if camera is not None:
        spec: Union[int, str] = camera
        if isinstance(camera, str) and camera.isdigit():
            spec = int(camera)
        return CaptureSource(spec, retry_s=retry_s, width=width, height=height)
    src = str(source)
    if is_url(src):
        return CaptureSource(src, retry_s=retry_s)
    return VideoFileSource(src)
