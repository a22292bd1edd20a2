"""The runtime pose estimator: frame -> people (COCO-18 keypoints in the frame's pixels)."""
from __future__ import annotations

import os
import time
from pathlib import Path
from typing import List, Optional, Union

import numpy as np

from .decode import decode
from .errors import ModelError
from .image import Letterbox, letterbox, takes_pixels, to_net_input, to_net_input_int8
from .types import Person, PoseEstimatorBase, PoseOutput

DEFAULT_MODEL = Path(__file__).resolve().parent / "models" / "pose.tflite"


def to_frame(people: List[Person], lb: Letterbox) -> List[Person]:
    """People in net-input pixels -> the frame's pixels (the letterbox undone)."""
    out = []
    for p in people:
        kp = p.keypoints.copy()
        have = kp[:, 2] > 0
        kp[have, :2] = lb.to_frame(kp[have, :2])
        out.append(Person(keypoints=kp, score=p.score))
    return out


class PoseEstimator(PoseEstimatorBase):
    """Multi-person 2D pose from BGR frames with pipan's int8 pose net.

    ``model_path``: a pose ``.tflite`` (default: the bundled ``pipan/models/pose.tflite``);
    ``threads``: interpreter threads (default ``pipan.runtime.default_threads()``);
    ``decode_options``: keyword arguments of ``pipan.decode.decode`` (thresholds).

    At a third of its input's height the bundled net mostly labels a person facing the
    camera as if seen from behind; in a tight crop it reads their sides right
    (``benchmarks/pose_sides.py``): ``tells_sides`` is False.
    """

    tells_sides = False

    def __init__(self, model_path: Optional[Union[str, os.PathLike]] = None,
                 threads: Optional[int] = None, **decode_options):
        from .runtime import TFLiteModel
        path = Path(model_path) if model_path is not None else DEFAULT_MODEL
        if model_path is None and not path.is_file():
            raise ModelError(f"the bundled pose model {path} is missing (reinstall pipan, or "
                             f"pass a model path)")
        self.model = TFLiteModel(path, threads=threads, expected_kind="pose")
        names = set(self.model.input_names)
        if names != {"image"} or not {"heatmaps", "pafs"} <= set(self.model.output_names):
            raise ModelError(f"{path}: a pose model needs input 'image' and outputs "
                             f"'heatmaps', 'pafs' (has {sorted(names)} -> "
                             f"{sorted(self.model.output_names)})")
        self.input_size = self.model.input_shape("image")[1]
        #: the net's int8 input holds pixel values - 128: fed without the float round trip
        self._pixels = takes_pixels(*self.model.input_quantization("image"))
        self.decode_options = decode_options

    def estimate_timed(self, frame_bgr: np.ndarray) -> PoseOutput:
        """People in one BGR uint8 frame (H, W, 3), keypoints in the frame's pixels,
        most confident first, with the seconds spent in letterbox + net (``net_s``) and in
        decoding heatmaps/PAFs into people (``maps_s``). An empty frame (no pixels) gives
        no people."""
        frame = np.asarray(frame_bgr)
        if frame.ndim != 3 or frame.shape[2] != 3:
            raise ValueError(f"expected a BGR frame (H, W, 3), got shape {frame.shape}")
        if frame.shape[0] == 0 or frame.shape[1] == 0:
            return PoseOutput([])
        t0 = time.perf_counter()
        rgb, lb = letterbox(frame, self.input_size)
        out = self.model(image=(to_net_input_int8(rgb) if self._pixels
                                else to_net_input(rgb))[None])
        t1 = time.perf_counter()
        people = to_frame(decode(out["heatmaps"], out["pafs"], **self.decode_options), lb)
        return PoseOutput(people, net_s=t1 - t0, maps_s=time.perf_counter() - t1)
