"""Image preprocessing for the pose net, defined once (runtime, training and calibration).

The pose net sees a letterboxed square: the frame scaled to fit ``size`` x ``size`` with
its aspect ratio kept, centred, padded with black. ``Letterbox`` maps points between the
frame's pixels and the net's input pixels both ways.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Tuple

import cv2
import numpy as np

INPUT_SIZE = 224  # pixels, the pose net's square input
PAD_VALUE = 0


@dataclass(frozen=True)
class Letterbox:
    """frame pixel (x, y) -> net pixel (x * scale + dx, y * scale + dy)."""

    scale: float
    dx: float
    dy: float
    size: int

    def to_net(self, xy: np.ndarray) -> np.ndarray:
        xy = np.asarray(xy, np.float32)
        return xy * self.scale + np.float32([self.dx, self.dy])

    def to_frame(self, xy: np.ndarray) -> np.ndarray:
        xy = np.asarray(xy, np.float32)
        return (xy - np.float32([self.dx, self.dy])) / self.scale


def letterbox_params(height: int, width: int, size: int = INPUT_SIZE) -> Letterbox:
    scale = size / max(height, width)
    new_w, new_h = round(width * scale), round(height * scale)
    return Letterbox(scale=scale, dx=(size - new_w) // 2, dy=(size - new_h) // 2, size=size)


def letterbox(frame_bgr: np.ndarray, size: int = INPUT_SIZE) -> Tuple[np.ndarray, Letterbox]:
    """BGR uint8 frame (H, W, 3) -> RGB uint8 (size, size, 3) and the mapping back."""
    H, W = frame_bgr.shape[:2]
    lb = letterbox_params(H, W, size)
    new_w, new_h = round(W * lb.scale), round(H * lb.scale)
    # One step of area averaging, slow as OpenCV makes it for a factor that is not whole
    # (1.2 ms for 640x480). Shrinking by a whole factor first, then by the rest, took half
    # the time but moved pixels by 1-2 levels on average, and that much read UP-Fall worse:
    # through BlazePose (its detector takes this letterbox) 28 -> 26 clips named right,
    # through the bundled pose net 11 -> 6, the person covered 0.645 -> 0.635.
    interp = cv2.INTER_AREA if lb.scale < 1 else cv2.INTER_LINEAR
    resized = cv2.resize(frame_bgr, (new_w, new_h), interpolation=interp)
    out = np.full((size, size, 3), PAD_VALUE, np.uint8)
    out[int(lb.dy):int(lb.dy) + new_h, int(lb.dx):int(lb.dx) + new_w] = resized[..., ::-1]
    return out, lb


def to_net_input(rgb: np.ndarray) -> np.ndarray:
    """RGB uint8 (..., H, W, 3) -> float32 in [0, 1], the pose net's input normalisation."""
    return np.asarray(rgb, np.float32) / 255.0


#: (scale, zero point) of an int8 input that holds :func:`to_net_input`'s values exactly
#: as the pixel value - 128 (pipan's converter quantises the pose input so).
PIXEL_QUANTIZATION = (np.float32(1.0 / 255.0), -128)


def to_net_input_int8(rgb: np.ndarray) -> np.ndarray:
    """RGB uint8 (..., H, W, 3) -> int8: :func:`to_net_input` quantised with
    ``PIXEL_QUANTIZATION`` (the same numbers, without the float round trip)."""
    return (np.asarray(rgb, np.uint8) ^ np.uint8(0x80)).view(np.int8)


def takes_pixels(dtype: np.dtype, scale: float, zero_point: int) -> bool:
    """Whether a net input quantised so (dtype, scale, zero point) takes
    :func:`to_net_input_int8`'s values as they are."""
    return (np.dtype(dtype) == np.int8 and np.float32(scale) == PIXEL_QUANTIZATION[0]
            and int(zero_point) == PIXEL_QUANTIZATION[1])
