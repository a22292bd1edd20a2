"""BlazePose (MediaPipe Pose, "full" landmark model) run by pipan's own code through LiteRT.

Two float32 TFLite models, neither bundled with pipan (Apache-2.0, inside the
``mediapipe==0.10.18`` wheel; see :data:`FETCH_COMMAND`):

1. ``pose_detection.tflite``: an SSD-style detector on the whole frame, letterboxed to
   224x224 with values in [-1, 1]. 2254 anchors; per anchor 12 numbers (a face box
   x, y, w, h and 4 keypoints x, y, all offsets from the anchor in input pixels) and one
   score logit. Keypoint 0 is the mid-hip, keypoint 1 a point on the circle around the
   whole body straight "up" the spine (MediaPipe's "Vitruvian man" alignment points).
2. ``pose_landmark_full.tflite``: 33 landmarks (+ 6 auxiliary) on a 256x256 crop with
   values in [0, 1], the crop a square region of interest (ROI) rotated so the body is
   upright. Outputs: (195,) = 39 x (x, y, z, visibility logit, presence logit) in crop
   pixels, a pose-presence score already in [0, 1], a 64x64x39 heatmap of logits (used to
   refine the landmark positions), a segmentation mask and world landmarks (unused).
   Auxiliary landmarks 33 and 34 are the alignment points again (hip centre, body-circle
   point), from which MediaPipe takes the next frame's ROI.

The pre/post-processing follows MediaPipe's ``pose_detection`` / ``pose_landmark`` graphs
(anchor options, decoding, weighted NMS, ROI from the alignment points with a 1.25 margin,
heatmap refinement with a 7x7 kernel), written here from their documented options. One
change: MediaPipe follows one person; pipan runs the landmark model once per detection
(up to ``max_people``) and drops a person whose landmarks duplicate a better one's.

Everything here is numpy and OpenCV; mediapipe is never imported.
"""
from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional, Sequence, Tuple, Union

import cv2
import numpy as np

from .errors import ModelError, PipanError
from .image import letterbox
from .logs import quiet_native_stderr
from .runtime import default_threads, interpreter_class
from .skeleton import BLAZEPOSE33, to_coco18
from .types import Person, PoseEstimatorBase, PoseOutput

DETECTOR_FILE = "pose_detection.tflite"
LANDMARK_FILE = "pose_landmark_full.tflite"
#: Landmark model variants (same inputs and outputs): "full" ships in the mediapipe wheel;
#: "heavy" (the most accurate, a teacher) and "lite" ship in the npm package @mediapipe/pose.
LANDMARK_VARIANTS = ("lite", "full", "heavy")
MEDIAPIPE_VERSION = "0.10.18"
#: Paths of the two files inside the mediapipe wheel (and an installed mediapipe package).
WHEEL_PATHS = {
    DETECTOR_FILE: "mediapipe/modules/pose_detection/pose_detection.tflite",
    LANDMARK_FILE: "mediapipe/modules/pose_landmark/pose_landmark_full.tflite",
}
CACHE_DIR = Path("~/.cache/pipan/blazepose")
ENV_VAR = "PIPAN_BLAZEPOSE_DIR"
#: One shell line that fetches the two model files without installing mediapipe.
FETCH_COMMAND = (
    f"pip download --no-deps mediapipe=={MEDIAPIPE_VERSION} -d /tmp/mp && "
    f"unzip -j /tmp/mp/mediapipe-{MEDIAPIPE_VERSION}-*.whl "
    f"'{WHEEL_PATHS[DETECTOR_FILE]}' '{WHEEL_PATHS[LANDMARK_FILE]}' -d {CACHE_DIR}"
)

DETECTOR_SIZE = 224  # pixels, the detector's square input
LANDMARK_SIZE = 256  # pixels, the landmark model's square input
NUM_LANDMARKS = 33  # BlazePose landmarks; the model also emits 6 auxiliary ones
ROI_SCALE = 1.25  # margin around the alignment circle, as MediaPipe trained with


class BlazePoseNotFoundError(PipanError):
    """The BlazePose model files are not where pipan looks for them."""

    exit_code = 3


# --- model discovery ----------------------------------------------------------------------

def _has_models(folder: Path) -> bool:
    return (folder / DETECTOR_FILE).is_file() and (folder / LANDMARK_FILE).is_file()


def _mediapipe_modules() -> Optional[Path]:
    """The ``mediapipe`` package folder if one is installed, found without importing it
    (importing mediapipe is slow and pulls in its native libraries)."""
    import importlib.util
    try:
        spec = importlib.util.find_spec("mediapipe")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def landmark_file(variant: str = "full") -> str:
    """The file name of a landmark model variant (``LANDMARK_VARIANTS``)."""
    if variant not in LANDMARK_VARIANTS:
        raise PipanError(f"unknown BlazePose landmark model {variant!r} "
                         f"(choose {', '.join(LANDMARK_VARIANTS)})")
    return f"pose_landmark_{variant}.tflite"


def find_model_files(model_dir: Union[str, os.PathLike, None] = None,
                     landmark: str = "full") -> Tuple[Path, Path]:
    """Paths of (detector, landmark model).

    Looks in order: ``model_dir`` if given (and nowhere else), ``$PIPAN_BLAZEPOSE_DIR``,
    an installed mediapipe package's ``modules/`` folder, ``~/.cache/pipan/blazepose``.
    ``landmark``: the landmark model's variant; only "full" is in the mediapipe wheel, so
    the others are looked for in folders only. Raises BlazePoseNotFoundError with the
    command that fetches them.
    """
    if landmark != "full":
        name = landmark_file(landmark)
        det, full = find_model_files(model_dir)
        if (full.parent / name).is_file():
            return det, full.parent / name
        raise BlazePoseNotFoundError(
            f"{full.parent}: has no {name}; it ships in the npm package @mediapipe/pose "
            f"(`npm pack @mediapipe/pose`, then copy {name} beside {DETECTOR_FILE})")
    if model_dir is not None:
        folder = Path(model_dir).expanduser()
        if not _has_models(folder):
            raise BlazePoseNotFoundError(
                f"{folder}: needs {DETECTOR_FILE} and {LANDMARK_FILE}; fetch them with "
                f"`pipan fetch-blazepose --dest {folder}` or without pipan: "
                f"{FETCH_COMMAND.replace(str(CACHE_DIR), str(folder))}")
        return folder / DETECTOR_FILE, folder / LANDMARK_FILE
    looked: List[str] = []
    env = os.environ.get(ENV_VAR)
    if env:
        folder = Path(env).expanduser()
        if _has_models(folder):
            return folder / DETECTOR_FILE, folder / LANDMARK_FILE
        looked.append(f"${ENV_VAR}={env}")
    package = _mediapipe_modules()
    if package is not None:
        det = package.parent / WHEEL_PATHS[DETECTOR_FILE]
        lmk = package.parent / WHEEL_PATHS[LANDMARK_FILE]
        if det.is_file() and lmk.is_file():
            return det, lmk
        looked.append(f"the installed mediapipe ({package})")
    cache = CACHE_DIR.expanduser()
    if _has_models(cache):
        return cache / DETECTOR_FILE, cache / LANDMARK_FILE
    looked.append(str(cache))
    raise BlazePoseNotFoundError(
        f"BlazePose models not found (looked in {', '.join(looked)}); "
        f"fetch them with `pipan fetch-blazepose` or without pipan: {FETCH_COMMAND}")


#: SHA-256 of the two files in the mediapipe 0.10.18 wheel: what ``extract_models`` accepts.
MODEL_SHA256 = {
    DETECTOR_FILE: "9ba9dd3d42efaaba86b4ff0122b06f29c4122e756b329d89dca1e297fd8f866c",
    LANDMARK_FILE: "e9a5c5cb17f736fafd4c2ec1da3b3d331d6edbe8a0d32395855aeb2cdfd64b9f",
}


def extract_models(wheel: Union[str, os.PathLike], dest: Union[str, os.PathLike],
                   check_sha256: bool = True) -> Tuple[Path, Path]:
    """Copy the two model files out of a mediapipe wheel (a zip) into ``dest``, each written
    atomically, after checking their SHA-256 against :data:`MODEL_SHA256`."""
    import hashlib
    import zipfile
    from .fileio import atomic_write_bytes
    dest = Path(dest).expanduser()
    try:
        with zipfile.ZipFile(wheel) as zf:
            data = {}
            for name, member in WHEEL_PATHS.items():
                try:
                    data[name] = zf.read(member)
                except KeyError:
                    raise BlazePoseNotFoundError(f"{wheel}: has no {member}") from None
    except (OSError, zipfile.BadZipFile) as e:
        raise BlazePoseNotFoundError(f"{wheel}: not a readable wheel ({e})") from None
    for name, blob in data.items():
        digest = hashlib.sha256(blob).hexdigest()
        if check_sha256 and digest != MODEL_SHA256[name]:
            raise ModelError(f"{wheel}: {name} has SHA-256 {digest[:12]}..., expected "
                             f"{MODEL_SHA256[name][:12]}... (mediapipe {MEDIAPIPE_VERSION})")
    for name, blob in data.items():
        atomic_write_bytes(dest / name, blob)
    return dest / DETECTOR_FILE, dest / LANDMARK_FILE


def fetch_models(dest: Union[str, os.PathLike, None] = None) -> Tuple[Path, Path]:
    """Download the mediapipe wheel with pip (into a temporary folder, never installed) and
    extract the two model files into ``dest`` (default ``~/.cache/pipan/blazepose``).

    The wheel is the CPython 3.11 x86-64 one whatever this machine is: the model files
    are the same in every wheel, and pinning the platform makes the download work from any
    Python and the result the same bytes.
    """
    import subprocess
    import sys
    import tempfile
    dest = Path(dest).expanduser() if dest is not None else CACHE_DIR.expanduser()
    with tempfile.TemporaryDirectory(prefix="pipan-mediapipe-") as tmp:
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
               "--python-version", "3.11", "--platform", "manylinux_2_17_x86_64",
               f"mediapipe=={MEDIAPIPE_VERSION}", "-d", tmp]
        r = subprocess.run(cmd, capture_output=True, text=True)
        wheels = sorted(Path(tmp).glob("mediapipe-*.whl"))
        if r.returncode != 0 or not wheels:
            last = (r.stderr.strip().splitlines() or ["no output"])[-1]
            raise BlazePoseNotFoundError(f"pip could not download mediapipe=="
                                         f"{MEDIAPIPE_VERSION} ({last})")
        return extract_models(wheels[0], dest)


# --- detector: anchors, decoding, non-maximum suppression -------------------------------

@dataclass(frozen=True)
class AnchorOptions:
    """SSD anchor layout (the options of MediaPipe's SsdAnchorsCalculator)."""

    num_layers: int = 5
    min_scale: float = 0.1484375
    max_scale: float = 0.75
    input_size: int = DETECTOR_SIZE
    anchor_offset: float = 0.5
    strides: Tuple[int, ...] = (8, 16, 32, 32, 32)
    aspect_ratios: Tuple[float, ...] = (1.0,)
    interpolated_scale_aspect_ratio: float = 1.0
    fixed_anchor_size: bool = True


#: BlazePose's detector, as MediaPipe's pose_detection graph configures it.
POSE_DETECTOR_ANCHORS = AnchorOptions()


def _anchor_scale(options: AnchorOptions, layer: int) -> float:
    if len(options.strides) == 1:
        return (options.min_scale + options.max_scale) / 2
    return options.min_scale + (options.max_scale - options.min_scale) * layer / (
        len(options.strides) - 1)


def ssd_anchors(options: AnchorOptions = POSE_DETECTOR_ANCHORS) -> np.ndarray:
    """Anchors ``(N, 4)`` float32: x_centre, y_centre, width, height (normalised to [0, 1]).

    Consecutive layers with the same stride share one feature map; each layer adds one
    anchor per aspect ratio plus, with ``interpolated_scale_aspect_ratio``, one at the
    geometric mean of its scale and the next layer's. Order: feature map, row, column,
    anchor, which is the order of the detector's outputs. With ``fixed_anchor_size`` every
    width and height is 1 (boxes are then decoded relative to the input size alone).
    """
    out: List[Tuple[float, float, float, float]] = []
    strides = options.strides
    layer = 0
    while layer < len(strides):
        widths: List[float] = []
        heights: List[float] = []
        last = layer
        while last < len(strides) and strides[last] == strides[layer]:
            scale = _anchor_scale(options, last)
            for ratio in options.aspect_ratios:
                widths.append(scale * math.sqrt(ratio))
                heights.append(scale / math.sqrt(ratio))
            if options.interpolated_scale_aspect_ratio > 0:
                nxt = 1.0 if last == len(strides) - 1 else _anchor_scale(options, last + 1)
                mean = math.sqrt(scale * nxt)
                ratio = options.interpolated_scale_aspect_ratio
                widths.append(mean * math.sqrt(ratio))
                heights.append(mean / math.sqrt(ratio))
            last += 1
        size = math.ceil(options.input_size / strides[layer])
        for row in range(size):
            for col in range(size):
                xc = (col + options.anchor_offset) / size
                yc = (row + options.anchor_offset) / size
                for w, h in zip(widths, heights):
                    if options.fixed_anchor_size:
                        w = h = 1.0
                    out.append((xc, yc, w, h))
        layer = last
    return np.asarray(out, np.float32)


@dataclass(frozen=True)
class Detections:
    """Detector output, all normalised to the detector's (letterboxed) input.

    ``boxes`` (M, 4) x0, y0, x1, y1; ``keypoints`` (M, K, 2) x, y; ``scores`` (M,) in [0, 1].
    """

    boxes: np.ndarray
    keypoints: np.ndarray
    scores: np.ndarray

    def __len__(self) -> int:
        return int(self.scores.shape[0])


def sigmoid(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, np.float32)
    return (1.0 / (1.0 + np.exp(-np.clip(x, -80.0, 80.0)))).astype(np.float32)


def decode_detections(raw_boxes: np.ndarray, raw_scores: np.ndarray, anchors: np.ndarray,
                      min_score: float = 0.5, input_size: int = DETECTOR_SIZE,
                      score_clip: float = 100.0) -> Detections:
    """Raw detector outputs -> the detections scoring at least ``min_score``.

    ``raw_boxes`` (N, 4 + 2K): box centre x, y, width, height, then K keypoints x, y, each an
    offset in input pixels scaled by the anchor's size from the anchor's centre;
    ``raw_scores`` (N,) or (N, 1) logits (clipped to +-``score_clip`` before the sigmoid).
    """
    raw_boxes = np.asarray(raw_boxes, np.float32).reshape(anchors.shape[0], -1)
    N, D = raw_boxes.shape
    K = (D - 4) // 2
    scores = sigmoid(np.clip(np.asarray(raw_scores, np.float32).reshape(N),
                             -score_clip, score_clip))
    keep = np.flatnonzero(scores >= min_score)
    raw, anc = raw_boxes[keep], anchors[keep]
    axc, ayc, aw, ah = anc[:, 0:1], anc[:, 1:2], anc[:, 2:3], anc[:, 3:4]
    xc = raw[:, 0:1] / input_size * aw + axc
    yc = raw[:, 1:2] / input_size * ah + ayc
    w = raw[:, 2:3] / input_size * aw
    h = raw[:, 3:4] / input_size * ah
    boxes = np.concatenate([xc - w / 2, yc - h / 2, xc + w / 2, yc + h / 2], axis=1)
    kp = raw[:, 4:4 + 2 * K].reshape(-1, K, 2)
    kx = kp[..., 0] / input_size * aw + axc
    ky = kp[..., 1] / input_size * ah + ayc
    return Detections(boxes.astype(np.float32), np.stack([kx, ky], -1).astype(np.float32),
                      scores[keep])


def box_iou(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """Intersection over union of one (4,) box x0, y0, x1, y1 with each of (M, 4) boxes."""
    boxes = np.asarray(boxes, np.float32).reshape(-1, 4)
    ix0 = np.maximum(box[0], boxes[:, 0])
    iy0 = np.maximum(box[1], boxes[:, 1])
    ix1 = np.minimum(box[2], boxes[:, 2])
    iy1 = np.minimum(box[3], boxes[:, 3])
    inter = np.clip(ix1 - ix0, 0, None) * np.clip(iy1 - iy0, 0, None)
    area = max(box[2] - box[0], 0) * max(box[3] - box[1], 0)
    areas = np.clip(boxes[:, 2] - boxes[:, 0], 0, None) * np.clip(boxes[:, 3] - boxes[:, 1],
                                                                   0, None)
    union = area + areas - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-12), 0.0).astype(np.float32)


def non_max_suppression(detections: Detections, iou_threshold: float = 0.3,
                        weighted: bool = True, max_out: Optional[int] = None) -> Detections:
    """Detections without overlapping duplicates, best score first.

    Repeatedly takes the best remaining detection and every remaining one whose box
    overlaps it by IoU > ``iou_threshold`` (a cluster). Plain NMS keeps the best one as it
    is; weighted NMS (MediaPipe's choice for BlazePose) replaces its box and keypoints by
    the score-weighted mean over the cluster, keeping the best score. Either way the whole
    cluster leaves the pool.
    """
    order = np.argsort(-detections.scores, kind="stable")
    remaining = list(order)
    boxes, kps, scores = [], [], []
    while remaining and (max_out is None or len(scores) < max_out):
        best = remaining[0]
        overlap = box_iou(detections.boxes[best], detections.boxes[remaining])
        cluster = [r for r, o in zip(remaining, overlap) if o > iou_threshold or r == best]
        remaining = [r for r in remaining if r not in cluster]
        if weighted:
            w = detections.scores[cluster][:, None]
            boxes.append((detections.boxes[cluster] * w).sum(0) / w.sum())
            kps.append((detections.keypoints[cluster] * w[:, :, None]).sum(0) / w.sum())
        else:
            boxes.append(detections.boxes[best])
            kps.append(detections.keypoints[best])
        scores.append(detections.scores[best])
    K = detections.keypoints.shape[1] if detections.keypoints.ndim == 3 else 0
    if not scores:
        return Detections(np.zeros((0, 4), np.float32), np.zeros((0, K, 2), np.float32),
                          np.zeros((0,), np.float32))
    return Detections(np.asarray(boxes, np.float32), np.asarray(kps, np.float32),
                      np.asarray(scores, np.float32))


# --- region of interest -------------------------------------------------------------------

@dataclass(frozen=True)
class Roi:
    """A square crop of the frame: centre (pixels), side (pixels), rotation (radians).

    Crop point (u, v) in [0, 1]^2 maps to frame point
    centre + size * R(rotation) @ (u - 0.5, v - 0.5), with R the rotation
    [[cos, -sin], [sin, cos]] in image coordinates (y down, so positive turns clockwise).
    """

    cx: float
    cy: float
    size: float
    rotation: float

    def crop_to_frame(self, uv: np.ndarray) -> np.ndarray:
        """(..., 2) normalised crop coordinates -> frame pixels."""
        uv = np.asarray(uv, np.float32) - 0.5
        c, s = math.cos(self.rotation), math.sin(self.rotation)
        x = (c * uv[..., 0] - s * uv[..., 1]) * self.size + self.cx
        y = (s * uv[..., 0] + c * uv[..., 1]) * self.size + self.cy
        return np.stack([x, y], -1).astype(np.float32)

    def warp_matrix(self, out_size: int) -> np.ndarray:
        """(2, 3) affine map from the pixel indices of an ``out_size`` crop to the frame's
        pixel indices, for ``cv2.warpAffine(..., flags=WARP_INVERSE_MAP)``.

        Continuous coordinates put a pixel's edges at i and i + 1 (MediaPipe's and
        ``pipan.image``'s convention); OpenCV addresses pixel centres, hence the halves.
        """
        c, s = math.cos(self.rotation), math.sin(self.rotation)
        k = self.size / out_size
        rot = np.array([[c, -s], [s, c]], np.float64) * k
        offset = np.array([self.cx, self.cy]) + rot @ np.full(2, 0.5 - out_size / 2) - 0.5
        return np.concatenate([rot, offset[:, None]], 1)


def roi_from_alignment(centre: np.ndarray, scale_point: np.ndarray,
                       scale: float = ROI_SCALE, target_angle: float = math.pi / 2) -> Roi:
    """The landmark model's ROI from two alignment points in frame pixels.

    MediaPipe's rule: the centre is the first point (the mid-hip); the side is twice the
    distance between the points (the circle around the body), times ``scale`` for a
    margin; the rotation turns the centre-to-scale-point vector to ``target_angle``
    (90 degrees: straight up), so the crop shows the body upright.
    """
    (x0, y0), (x1, y1) = np.asarray(centre, np.float64), np.asarray(scale_point, np.float64)
    side = 2.0 * math.hypot(x1 - x0, y1 - y0) * scale
    angle = target_angle - math.atan2(-(y1 - y0), x1 - x0)
    angle = (angle + math.pi) % (2 * math.pi) - math.pi
    return Roi(float(x0), float(y0), float(side), float(angle))


# --- landmarks ----------------------------------------------------------------------------

def refine_from_heatmap(xy: np.ndarray, heatmap: np.ndarray, kernel: int = 7,
                        min_confidence: float = 0.5) -> np.ndarray:
    """Refine normalised landmark positions ``(L, 2)`` with the model's heatmap
    ``(H, W, L)`` of logits: each becomes the confidence-weighted mean position of the
    ``kernel`` x ``kernel`` heatmap cells around it, when the most confident of them is at
    least ``min_confidence``. Landmarks outside the heatmap stay as they are."""
    H, W, L = heatmap.shape
    out = np.array(xy, np.float32)
    half = (kernel - 1) // 2
    for i in range(L):
        col, row = int(math.floor(out[i, 0] * W)), int(math.floor(out[i, 1] * H))
        if not (0 <= col < W and 0 <= row < H):
            continue
        r0, r1 = max(0, row - half), min(H, row + half + 1)
        c0, c1 = max(0, col - half), min(W, col + half + 1)
        conf = sigmoid(heatmap[r0:r1, c0:c1, i])
        total = float(conf.sum())
        if conf.max() < min_confidence or total <= 0:
            continue
        rows, cols = np.mgrid[r0:r1, c0:c1]
        # Cell index / size, as MediaPipe decodes it: measured on real video, this agrees
        # with the regressed positions (mean difference -0.2 to -0.1 cell) where
        # (index + 0.5) / size does not (+0.3 to +0.4 cell).
        out[i, 0] = float((cols * conf).sum()) / total / W
        out[i, 1] = float((rows * conf).sum()) / total / H
    return out


def decode_landmarks(raw: np.ndarray, heatmap: Optional[np.ndarray] = None,
                     input_size: int = LANDMARK_SIZE) -> np.ndarray:
    """Landmark model outputs -> ``(39, 4)``: x, y normalised to the crop, visibility and
    presence probabilities (sigmoid of the model's logits). With ``heatmap`` (64, 64, 39),
    positions are refined from it as MediaPipe does."""
    raw = np.asarray(raw, np.float32).reshape(-1, 5)
    L = raw.shape[0]
    out = np.zeros((L, 4), np.float32)
    out[:, :2] = raw[:, :2] / input_size
    out[:, 2] = sigmoid(raw[:, 3])
    out[:, 3] = sigmoid(raw[:, 4])
    if heatmap is not None:
        out[:, :2] = refine_from_heatmap(out[:, :2], np.asarray(heatmap, np.float32))
    return out


@dataclass(frozen=True)
class BlazePoseResult:
    """One person as BlazePose sees them: ``landmarks`` (33, 4) x, y (frame pixels),
    visibility, presence; ``score`` the landmark model's pose presence; ``roi`` the crop."""

    landmarks: np.ndarray
    score: float
    detection_score: float
    roi: Roi

    def keypoint_scores(self) -> np.ndarray:
        """(33,) per-landmark confidence: visibility times presence (a landmark the model
        thinks is off the crop or hidden gets a low score)."""
        return (self.landmarks[:, 2] * self.landmarks[:, 3]).astype(np.float32)

    def to_person(self, frame_size: Optional[Tuple[int, int]] = None) -> Person:
        """COCO-18 ``Person``. With ``frame_size`` (height, width), joints outside the frame
        get score 0 (missing), as pipan's own pose net could never report them."""
        kp = np.concatenate([self.landmarks[:, :2], self.keypoint_scores()[:, None]], 1)
        if frame_size is not None:
            H, W = frame_size
            out = (kp[:, 0] < 0) | (kp[:, 0] > W) | (kp[:, 1] < 0) | (kp[:, 1] > H)
            kp[out] = 0.0
        return Person(keypoints=to_coco18(kp, BLAZEPOSE33), score=float(self.score))


def _same_person(a: np.ndarray, b: np.ndarray, tolerance: float = 0.1,
                 max_iou: float = 0.4) -> bool:
    """Whether two (33, >=2) landmark sets in pixels describe one body: the median landmark
    distance is under ``tolerance`` times the body's size (its landmarks' box diagonal), or
    their landmark boxes overlap by IoU > ``max_iou``. The second rule catches a second
    detection of one person whose landmarks came out scrambled (seen on weightlifting
    video: IoU 0.48-0.56 while two people hugging stay under 0.05)."""
    lo_a, hi_a = a[:, :2].min(0), a[:, :2].max(0)
    lo_b, hi_b = b[:, :2].min(0), b[:, :2].max(0)
    size = float(np.linalg.norm(hi_a - lo_a))
    dist = np.linalg.norm(a[:, :2] - b[:, :2], axis=1)
    if float(np.median(dist)) < tolerance * max(size, 1.0):
        return True
    iou = box_iou(np.concatenate([lo_a, hi_a]), np.concatenate([lo_b, hi_b])[None])[0]
    return bool(iou > max_iou)


# --- running the models -------------------------------------------------------------------

class _Net:
    """A signature-less float TFLite model: one input, outputs told apart by shape."""

    def __init__(self, path: Path, threads: int):
        Interpreter = interpreter_class()
        # Loading and the first run print native chatter (the XNNPACK delegate's INFO
        # line) on fd 2: hidden unless verbose (pipan.logs), as for pipan's own models.
        with quiet_native_stderr():
            try:
                self.interpreter = Interpreter(model_path=str(path), num_threads=threads)
                self.interpreter.allocate_tensors()
                self.interpreter.invoke()  # on the zeros allocate_tensors leaves
            except Exception as e:  # the interpreter raises ValueError/RuntimeError variously
                raise ModelError(f"{path}: the interpreter cannot load it "
                                 f"({str(e).splitlines()[0] if str(e) else type(e).__name__})") \
                    from None
        self.path = path
        inputs = self.interpreter.get_input_details()
        if len(inputs) != 1:
            raise ModelError(f"{path}: expected one input, found {len(inputs)}")
        self.input_index = inputs[0]["index"]
        self.input_shape = tuple(int(d) for d in inputs[0]["shape"])
        self.outputs = {tuple(int(d) for d in o["shape"]): o["index"]
                        for o in self.interpreter.get_output_details()}

    def output_index(self, shape: Tuple[int, ...]) -> int:
        if shape not in self.outputs:
            raise ModelError(f"{self.path}: no output of shape {shape} "
                             f"(has {sorted(self.outputs)}); is it the right model?")
        return self.outputs[shape]

    def run(self, x: np.ndarray, shapes: Sequence[Tuple[int, ...]]) -> List[np.ndarray]:
        self.interpreter.set_tensor(self.input_index, x.astype(np.float32)[None])
        self.interpreter.invoke()
        return [self.interpreter.get_tensor(self.output_index(s))[0].copy() for s in shapes]


class BlazePoseEstimator(PoseEstimatorBase):
    """BlazePose as a pipan pose estimator: ``estimate(frame_bgr) -> list[Person]``.

    ``max_people``: people per frame at most (one landmark run per detection, best first).
    ``min_score``: detector score threshold. ``min_presence``: the landmark model's pose
    presence threshold. ``refine``: heatmap refinement of landmark positions.
    ``passes``: landmark runs per person; each after the first uses the ROI that the
    previous run's auxiliary landmarks (hip centre, body-circle point) give, the ROI
    MediaPipe itself tracks with from frame to frame. 2 costs one more landmark run per
    person and measured PCK@0.2 0.873 instead of 0.861 on the JHMDB clip (teacher labels
    use 2; the runtime default is 1, for speed).
    ``landmark``: the landmark model variant, "full" (default) or "heavy"/"lite" where
    their files sit beside the detector (``find_model_files``).
    ``track``: for consecutive frames of one video (call ``reset()`` between videos): the
    people found in the previous frame are looked for again in their last ROI, beside the
    detector's candidates, so a person the detector misses in a frame is still found (as
    MediaPipe does in video mode). Costs a landmark run per tracked person.
    """

    def __init__(self, model_dir: Union[str, os.PathLike, None] = None,
                 threads: Optional[int] = None, max_people: int = 4,
                 min_score: float = 0.5, min_presence: float = 0.5,
                 nms_threshold: float = 0.3, refine: bool = True, passes: int = 1,
                 track: bool = False, landmark: str = "full"):
        if passes < 1:
            raise PipanError(f"passes must be at least 1, got {passes}")
        det_path, lmk_path = find_model_files(model_dir, landmark)
        self.landmark_path = lmk_path
        self.threads = threads or default_threads()
        self.detector = _Net(det_path, self.threads)
        self.landmarker = _Net(lmk_path, self.threads)
        if self.detector.input_shape != (1, DETECTOR_SIZE, DETECTOR_SIZE, 3):
            raise ModelError(f"{det_path}: input {self.detector.input_shape}, expected "
                             f"(1, {DETECTOR_SIZE}, {DETECTOR_SIZE}, 3)")
        if self.landmarker.input_shape != (1, LANDMARK_SIZE, LANDMARK_SIZE, 3):
            raise ModelError(f"{lmk_path}: input {self.landmarker.input_shape}, expected "
                             f"(1, {LANDMARK_SIZE}, {LANDMARK_SIZE}, 3)")
        self.anchors = ssd_anchors(POSE_DETECTOR_ANCHORS)
        N = self.anchors.shape[0]
        self._det_shapes = [(1, N, 12), (1, N, 1)]
        self._lmk_shapes = [(1, 195), (1, 1), (1, 64, 64, 39)]
        for s in self._det_shapes:
            self.detector.output_index(s)
        for s in self._lmk_shapes:
            self.landmarker.output_index(s)
        self.max_people = max_people
        self.min_score = min_score
        self.min_presence = min_presence
        self.nms_threshold = nms_threshold
        self.refine = refine
        self.passes = passes
        self.track = track
        self._tracked: List[Tuple[Roi, float]] = []

    def reset(self) -> None:
        """Forget the people tracked so far (a new video starts)."""
        self._tracked = []

    def detect(self, frame_bgr: np.ndarray) -> List[Tuple[Roi, float]]:
        """The detector's people in ``frame_bgr``: (ROI in frame pixels, score), best first."""
        rgb, lb = letterbox(frame_bgr, DETECTOR_SIZE)
        x = rgb.astype(np.float32) / 127.5 - 1.0  # the detector wants [-1, 1]
        raw_boxes, raw_scores = self.detector.run(x, self._det_shapes)
        dets = decode_detections(raw_boxes, raw_scores, self.anchors, self.min_score)
        dets = non_max_suppression(dets, self.nms_threshold, weighted=True,
                                   max_out=self.max_people)
        out = []
        for kp, score in zip(dets.keypoints, dets.scores):
            pts = lb.to_frame(kp[:2] * DETECTOR_SIZE)  # mid-hip, body-circle point
            out.append((roi_from_alignment(pts[0], pts[1]), float(score)))
        return out

    def landmarks(self, frame_bgr: np.ndarray, roi: Roi) -> Tuple[np.ndarray, float]:
        """Landmarks ``(39, 4)`` (x, y in frame pixels, visibility, presence) inside ``roi``,
        and the pose presence score."""
        crop = cv2.warpAffine(frame_bgr, roi.warp_matrix(LANDMARK_SIZE),
                              (LANDMARK_SIZE, LANDMARK_SIZE),
                              flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                              borderMode=cv2.BORDER_CONSTANT, borderValue=(0, 0, 0))
        x = crop[..., ::-1].astype(np.float32) / 255.0
        raw, flag, heatmap = self.landmarker.run(x, self._lmk_shapes)
        lm = decode_landmarks(raw, heatmap if self.refine else None)
        lm[:, :2] = roi.crop_to_frame(lm[:, :2])
        return lm, float(flag.reshape(-1)[0])

    def estimate_blazepose(self, frame_bgr: np.ndarray) -> List[BlazePoseResult]:
        """Everyone found in a BGR frame, with all 33 BlazePose landmarks."""
        frame_bgr = _check_frame(frame_bgr)
        if frame_bgr.shape[0] == 0 or frame_bgr.shape[1] == 0:
            return []  # no pixels, nobody (as pipan.pose.PoseEstimator answers)
        people: List[BlazePoseResult] = []
        following: List[Tuple[Roi, float]] = []
        # Tracked people first: their ROI comes from landmarks, better than a detection's.
        for roi, det_score in self._tracked + self.detect(frame_bgr):
            if len(people) >= self.max_people:
                break
            lm, presence = self.landmarks(frame_bgr, roi)
            for _ in range(self.passes - 1):
                roi = roi_from_alignment(lm[NUM_LANDMARKS, :2], lm[NUM_LANDMARKS + 1, :2])
                lm, presence = self.landmarks(frame_bgr, roi)
            if presence < self.min_presence:
                continue
            body = lm[:NUM_LANDMARKS]
            if any(_same_person(p.landmarks, body) for p in people):
                continue  # two detections of one person (e.g. face boxes that barely overlap)
            people.append(BlazePoseResult(body, presence, det_score, roi))
            following.append((roi_from_alignment(lm[NUM_LANDMARKS, :2],
                                                 lm[NUM_LANDMARKS + 1, :2]), det_score))
        self._tracked = following if self.track else []
        return people

    def estimate_timed(self, frame_bgr: np.ndarray) -> PoseOutput:
        """Everyone found in a BGR frame, as COCO-18 ``Person``s in frame pixels. BlazePose
        has no maps to decode into people: its whole time is ``net_s``."""
        t0 = time.perf_counter()
        H, W = np.asarray(frame_bgr).shape[:2]
        people = [r.to_person((H, W)) for r in self.estimate_blazepose(frame_bgr)]
        return PoseOutput(people, net_s=time.perf_counter() - t0)


def _check_frame(frame: np.ndarray) -> np.ndarray:
    frame = np.asarray(frame)
    if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
        raise PipanError(f"expected a BGR uint8 image (H, W, 3), got {frame.dtype} "
                         f"{frame.shape}")
    return frame
