"""Skeleton layouts and the action model's per-frame features, defined once.

pipan works in the OpenPose COCO-18 layout everywhere (pose net outputs, tracks, action
model inputs). Other layouts are converted into it *by joint name*; a joint that the source
layout lacks becomes missing (score 0). The only derived joint is the neck, which the
architecture note defines as the shoulders' midpoint when a layout has none; it is derived
only when both shoulders are present, with the lower of their scores.

Arrays name their axes: ``(T, J, C)`` is frames x joints x channels, where channels are
``x, y`` (pixels unless stated) and optionally ``score`` in [0, 1].
"""
from __future__ import annotations

from typing import Dict, Mapping, Optional, Sequence, Tuple

import numpy as np

#: OpenPose COCO-18 joint names (lower snake case, the person's own left/right).
COCO18: Tuple[str, ...] = (
    "nose", "neck",
    "right_shoulder", "right_elbow", "right_wrist",
    "left_shoulder", "left_elbow", "left_wrist",
    "right_hip", "right_knee", "right_ankle",
    "left_hip", "left_knee", "left_ankle",
    "right_eye", "left_eye", "right_ear", "left_ear",
)
NUM_JOINTS = len(COCO18)
JOINT_INDEX: Dict[str, int] = {name: i for i, name in enumerate(COCO18)}

#: The 19 OpenPose limbs (joint a, joint b): 17 body edges plus ear-to-shoulder, in
#: OpenPose's part-affinity-field order. Limb i owns PAF channels 2i (dx) and 2i+1 (dy).
LIMBS: Tuple[Tuple[int, int], ...] = (
    (1, 2), (1, 5), (2, 3), (3, 4), (5, 6), (6, 7),
    (1, 8), (8, 9), (9, 10), (1, 11), (11, 12), (12, 13),
    (1, 0), (0, 14), (14, 16), (0, 15), (15, 17),
    (2, 16), (5, 17),
)
NUM_LIMBS = len(LIMBS)

#: Left/right permutation for mirroring: index j of a mirrored skeleton takes joint FLIP[j].
FLIP: Tuple[int, ...] = tuple(
    JOINT_INDEX[n.replace("left_", "@").replace("right_", "left_").replace("@", "right_")]
    for n in COCO18
)


def adjacency() -> np.ndarray:
    """The (18, 18) 0/1 limb adjacency of COCO-18 (symmetric, no self loops)."""
    a = np.zeros((NUM_JOINTS, NUM_JOINTS), np.float32)
    for i, j in LIMBS:
        a[i, j] = a[j, i] = 1.0
    return a


# --- other layouts, by joint name ------------------------------------------------------

COCO17: Tuple[str, ...] = (
    "nose", "left_eye", "right_eye", "left_ear", "right_ear",
    "left_shoulder", "right_shoulder", "left_elbow", "right_elbow",
    "left_wrist", "right_wrist", "left_hip", "right_hip",
    "left_knee", "right_knee", "left_ankle", "right_ankle",
)
JHMDB15: Tuple[str, ...] = (
    "neck", "belly", "face", "right_shoulder", "left_shoulder", "right_hip", "left_hip",
    "right_elbow", "left_elbow", "right_knee", "left_knee", "right_wrist", "left_wrist",
    "right_ankle", "left_ankle",
)
BODY25: Tuple[str, ...] = (
    "nose", "neck", "right_shoulder", "right_elbow", "right_wrist",
    "left_shoulder", "left_elbow", "left_wrist", "mid_hip",
    "right_hip", "right_knee", "right_ankle", "left_hip", "left_knee", "left_ankle",
    "right_eye", "left_eye", "right_ear", "left_ear",
    "left_big_toe", "left_small_toe", "left_heel",
    "right_big_toe", "right_small_toe", "right_heel",
)
BLAZEPOSE33: Tuple[str, ...] = (
    "nose", "left_eye_inner", "left_eye", "left_eye_outer",
    "right_eye_inner", "right_eye", "right_eye_outer", "left_ear", "right_ear",
    "mouth_left", "mouth_right", "left_shoulder", "right_shoulder",
    "left_elbow", "right_elbow", "left_wrist", "right_wrist",
    "left_pinky", "right_pinky", "left_index", "right_index", "left_thumb", "right_thumb",
    "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle",
    "left_heel", "right_heel", "left_foot_index", "right_foot_index",
)
LAYOUTS: Dict[str, Tuple[str, ...]] = {
    "coco18": COCO18, "coco17": COCO17, "jhmdb15": JHMDB15,
    "body25": BODY25, "blazepose33": BLAZEPOSE33,
}

#: Every joint name a skeleton file may use (the vocabulary of ../shared/data/README.md).
KNOWN_JOINTS = frozenset(
    name for layout in LAYOUTS.values() for name in layout
) | {"head_top"}

#: Names that denote the same body point as a COCO-18 joint. JHMDB's "face" is the centre of
#: the face, which is where COCO's nose sits to within a few pixels; it is the only alias.
ALIASES: Mapping[str, str] = {"face": "nose"}


def conversion_indices(joints: Sequence[str]) -> np.ndarray:
    """For each COCO-18 joint, the index of the source joint with that name, or -1.

    Raises ValueError for a name outside the known vocabulary (a typo must not silently
    turn a joint into 'missing').
    """
    unknown = [j for j in joints if j not in KNOWN_JOINTS]
    if unknown:
        raise ValueError(f"unknown joint names: {', '.join(map(str, unknown))}")
    src = {ALIASES.get(str(name), str(name)): i for i, name in enumerate(joints)}
    return np.array([src.get(name, -1) for name in COCO18], np.int64)


def to_coco18(keypoints: np.ndarray, joints: Sequence[str]) -> np.ndarray:
    """Convert ``(..., J, 2|3)`` keypoints named by ``joints`` into ``(..., 18, 3)`` COCO-18.

    Two-channel input is taken as fully confident (score 1). Joints the source lacks get
    x = y = 0 and score 0. The neck, if absent, is the midpoint of two present shoulders.
    """
    kp = np.asarray(keypoints, np.float32)
    *lead, J, C = kp.shape
    if J != len(joints):
        raise ValueError(f"keypoints have {J} joints but {len(joints)} joint names")
    if C not in (2, 3):
        raise ValueError(f"keypoints must have 2 or 3 channels, got {C}")
    if C == 2:
        kp = np.concatenate([kp, np.ones((*lead, J, 1), np.float32)], axis=-1)
    idx = conversion_indices(joints)
    out = np.zeros((*lead, NUM_JOINTS, 3), np.float32)
    have = idx >= 0
    out[..., have, :] = kp[..., idx[have], :]
    if not have[JOINT_INDEX["neck"]]:
        r, l = out[..., JOINT_INDEX["right_shoulder"], :], out[..., JOINT_INDEX["left_shoulder"], :]
        both = (r[..., 2] > 0) & (l[..., 2] > 0)
        neck = np.zeros_like(r)
        neck[..., :2] = (r[..., :2] + l[..., :2]) / 2
        neck[..., 2] = np.minimum(r[..., 2], l[..., 2])
        out[..., JOINT_INDEX["neck"], :] = np.where(both[..., None], neck, 0.0)
    return out


def mirror(keypoints: np.ndarray, width: float = 0.0) -> np.ndarray:
    """Mirror COCO-18 ``(..., 18, C)`` keypoints left-right: x -> width - x, sides swapped.

    With ``width = 0`` the mirror axis is x = 0 (for centred, normalised skeletons).
    Missing joints (score 0) stay at x = 0.
    """
    kp = np.array(keypoints, np.float32)[..., FLIP, :]
    present = kp[..., 2] > 0 if kp.shape[-1] == 3 else np.ones(kp.shape[:-1], bool)
    kp[..., 0] = np.where(present, width - kp[..., 0], 0.0)
    return kp


# --- the action model's per-frame features ----------------------------------------------

#: Channels of the per-joint feature vector fed to the action model.
FEATURES: Tuple[str, ...] = ("x", "y", "score", "vx", "vy")
NUM_FEATURES = len(FEATURES)

#: Velocities are measured per frame of a 30 fps video (the rate the action models are
#: trained at), whatever the source's rate: a 15 fps camera, ``--every 2`` or a frame the
#: pose net missed passes the real time gap, so a walk does not read as a run.
REFERENCE_FPS = 30.0
#: Velocities are given in tenths of a body scale per frame (x10), so that positions
#: (a few body scales) and velocities (a few hundredths to tenths of one per frame) share a
#: range: the int8 action model quantises all five channels of its input with one scale.
VELOCITY_GAIN = 10.0
#: Every position and velocity feature is clipped to +-FEATURE_LIMIT. Real detections
#: produce degenerate frames (a torso seen edge-on, a wrong joint) whose body scale is
#: tiny and features huge (thousands); bounded features keep them from dominating batch
#: statistics in training and from stretching the int8 input range. A body spans about
#: +-3 body scales; fast motion stays well under 0.6 body scales per frame.
FEATURE_LIMIT = 6.0

_HIPS = [JOINT_INDEX["right_hip"], JOINT_INDEX["left_hip"]]
_SHOULDERS = [JOINT_INDEX["right_shoulder"], JOINT_INDEX["left_shoulder"]]
_NECK = JOINT_INDEX["neck"]
_TORSO = np.isin(np.arange(NUM_JOINTS), _HIPS + _SHOULDERS)
_BIG = np.float32(1e9)


def body_frame(keypoints: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Per-frame centre ``(..., 2)`` and scale ``(...)`` of COCO-18 skeletons (pixels).

    Centre: the mean of the present shoulders and hips (the torso), else of all present
    joints. Scale: the torso length (neck to mid-hip), which is robust to the body turning
    (yaw) and to arm and leg motion; without a neck or hips, a third of the height of the
    present joints' bounding box; never below 1e-3 so that a degenerate skeleton cannot
    blow up the features. A frame with no joint at all gets centre 0 and scale 1.
    """
    kp = np.asarray(keypoints, np.float32)
    xy, present = kp[..., :2], kp[..., 2] > 0
    in_torso = present & _TORSO
    use = np.where(in_torso.any(-1, keepdims=True), in_torso, present)
    n = use.sum(-1)
    centre = (xy * use[..., None]).sum(-2) / np.maximum(n, 1)[..., None]

    d = xy[..., _NECK, :] - (xy[..., _HIPS[0], :] + xy[..., _HIPS[1], :]) / 2
    torso_len = np.sqrt(d[..., 0] * d[..., 0] + d[..., 1] * d[..., 1])
    torso_ok = present[..., _HIPS[0]] & present[..., _HIPS[1]] & present[..., _NECK]
    y = xy[..., 1]
    height = np.where(present, y, -_BIG).max(-1) - np.where(present, y, _BIG).min(-1)
    scale = np.where(torso_ok, torso_len, height / 3.0)
    scale = np.where(n > 0, np.maximum(scale, 1e-3), 1.0)
    return centre.astype(np.float32), scale.astype(np.float32)


def frame_features(keypoints: np.ndarray, previous: np.ndarray | None = None,
                   elapsed: float = 1.0) -> np.ndarray:
    """Action-model features of COCO-18 keypoints ``(..., 18, 3)`` -> ``(..., 18, 5)``.

    Per joint: position relative to the body centre in units of the body scale (x, y), the
    detection score, and velocity since ``previous`` (the same person's keypoints one frame
    earlier) in tenths of a body scale per reference frame (``VELOCITY_GAIN``,
    ``REFERENCE_FPS``), measured in image coordinates so that the body's own travel
    (walking, jumping) is kept. ``elapsed``: time from ``previous`` to ``keypoints`` in
    reference frames (1.0 for consecutive frames of a 30 fps video; see
    :func:`elapsed_frames`), one number or one per frame ``(...)``. Positions and
    velocities are clipped to +-``FEATURE_LIMIT``. Missing joints (score 0) get zeros everywhere;
    so does the velocity of a joint missing in either frame, and every velocity when there
    is no previous frame. This is the one definition used by training, calibration and the
    runtime.
    """
    kp = np.asarray(keypoints, np.float32)
    centre, scale = body_frame(kp)
    present = (kp[..., 2] > 0)[..., None]
    scale = scale[..., None, None]
    lim = FEATURE_LIMIT
    pos = (kp[..., :2] - centre[..., None, :]) / scale
    out = np.zeros((*kp.shape[:-1], NUM_FEATURES), np.float32)
    out[..., 0:2] = np.minimum(np.maximum(np.where(present, pos, 0.0), -lim), lim)
    out[..., 2] = kp[..., 2]
    if previous is not None:
        prev = np.asarray(previous, np.float32)
        both = present & (prev[..., 2] > 0)[..., None]
        el = np.asarray(elapsed, np.float64)
        if not (el > 0).all():
            raise ValueError(f"elapsed must be positive, got {elapsed}")
        gain = (VELOCITY_GAIN / el).astype(np.float32)[..., None, None]
        vel = gain * (kp[..., :2] - prev[..., :2]) / scale
        out[..., 3:5] = np.minimum(np.maximum(np.where(both, vel, 0.0), -lim), lim)
    return out


def elapsed_frames(seconds: float | None) -> float:
    """A time gap in seconds -> reference frames for :func:`frame_features`; an unknown or
    non-positive gap (no time stamps, a repeated stamp) counts as one frame."""
    if seconds is None or not seconds > 0:
        return 1.0
    return float(seconds) * REFERENCE_FPS


def clip_features(keypoints: np.ndarray, fps: float = REFERENCE_FPS,
                  times: Optional[np.ndarray] = None) -> np.ndarray:
    """Features of a whole clip ``(T, 18, 3)`` filmed at ``fps`` -> ``(T, 18, 5)``:
    frame_features with each frame's predecessor (none for the first frame), exactly as
    the streaming runtime sees it. ``times`` ``(T,)``: the frames' times in seconds
    instead, for a clip whose frames are not evenly spaced (a person the runtime did not
    report in some frames: velocities span the real gaps, as ``pipan.action`` measures
    them)."""
    kp = np.asarray(keypoints, np.float32)
    T = kp.shape[0]
    if T == 0:
        return np.zeros((0, NUM_JOINTS, NUM_FEATURES), np.float32)
    prev = np.concatenate([np.zeros_like(kp[:1]), kp[:-1]], axis=0)
    if times is None:
        return frame_features(kp, prev, elapsed_frames(1.0 / fps))
    t = np.asarray(times, np.float64)
    if t.shape != (T,):
        raise ValueError(f"times must have shape ({T},), got {t.shape}")
    gaps = np.diff(t)
    elapsed = np.ones(T)
    elapsed[1:] = np.where(gaps > 0, gaps * REFERENCE_FPS, 1.0)  # as elapsed_frames
    return frame_features(kp, prev, elapsed)


# --- running statistics of the features (the action model's statistics head) -----------

#: Feature channels whose running mean and standard deviation over the frames seen so far
#: feed an action model's statistics head: positions and velocities (not the score).
STATS_CHANNELS: Tuple[int, ...] = (0, 1, 3, 4)
#: Per-frame values pooled by the statistics head: every joint's STATS_CHANNELS.
NUM_STAT_VALUES = NUM_JOINTS * len(STATS_CHANNELS)
#: Length of the pooled statistics vector: the mean, then the standard deviation, of each
#: of the NUM_STAT_VALUES values.
NUM_STATS = 2 * NUM_STAT_VALUES


def stat_values(features: np.ndarray) -> np.ndarray:
    """The values a statistics head pools, ``(..., 18, 5)`` features -> ``(..., 72)``:
    each joint's x, y, vx, vy (joint-major)."""
    f = np.asarray(features, np.float32)
    return f[..., list(STATS_CHANNELS)].reshape(*f.shape[:-2], NUM_STAT_VALUES)


def pooled_stats(weight: np.ndarray | float, total: np.ndarray,
                 total_sq: np.ndarray) -> np.ndarray:
    """Mean and standard deviation ``(..., 144)`` from a (weighted) frame count ``weight``,
    the sum ``total (..., 72)`` and the sum of squares ``total_sq`` of stat_values over the
    frames seen so far (float64 sums: the difference of squares loses little)."""
    w = np.maximum(np.asarray(weight, np.float64), 1e-12)[..., None] \
        if np.ndim(weight) else max(float(weight), 1e-12)
    mean = np.asarray(total, np.float64) / w
    var = np.maximum(np.asarray(total_sq, np.float64) / w - mean * mean, 0.0)
    return np.concatenate([mean, np.sqrt(var)], axis=-1).astype(np.float32)


def clip_stats(features: np.ndarray) -> np.ndarray:
    """Running statistics of a feature clip ``(T, 18, 5)`` -> ``(T, 144)``: row t pools
    frames 1..t (what the streaming runtime feeds the statistics head after frame t)."""
    v = stat_values(features).astype(np.float64)
    n = np.arange(1, len(v) + 1, dtype=np.float64)
    return pooled_stats(n, np.cumsum(v, 0), np.cumsum(v * v, 0))
