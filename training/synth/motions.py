"""Synthetic skeleton motion: actions -> 3D joints -> a random camera -> noisy 2D detections.

Public API (used by the pose, action and runtime parts):

- ``ACTIONS``: the default labels (everyday actions); ``ALL_ACTIONS``: every label this
  module can generate, ``ACTIONS`` plus falls, lying and sitting still (``FLOOR_ACTIONS``).
- ``generate_clip(label, rng, frames=..., fps=30, width=640, height=480, noise=1.0,
  high_camera=0.4) -> Clip``
- ``generate_dataset(clips, seed, *, actions=ACTIONS, fps=30, min_frames=20,
  max_frames=45, width=640, height=480, noise=1.0, test_fraction=0.25, high_camera=0.4,
  counts=None)
  -> pipan.dataset.SkeletonDataset``; ``vocabulary_dataset(clips, seed, actions=None, ...)``
  the same with labels renamed onto ``pipan.vocabulary`` and balanced across its labels
- ``action_motion(label, frames, rng, fps=30) -> Motion`` (3D, one action)
- ``sequence_motion(rng, frames, fps=30, ...) -> Motion`` (3D, chained actions, known
  boundaries) and ``generate_sequence(seed, seconds, ...) -> Sequence`` (its 2D detections)
- ``generate_scene(seed, people=2, seconds=10, fps=15, width=640, height=480) -> Scene``
  (several people doing chained actions in front of one camera; what the video writer draws)

Keypoints are COCO-18 ``(T, 18, 3)``: x, y in pixels of the virtual camera's image and a
detector-like score; joints outside the image (or dropped by the simulated detector) have
score 0 and x = y = 0, like a missing joint everywhere else in pipan.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import List, Optional, Sequence as Seq, Tuple

import numpy as np

from pipan.dataset import SkeletonDataset
from pipan.skeleton import COCO18, JOINT_INDEX
from pipan.vocabulary import SYNTHETIC, UNKNOWN, map_labels

from .actions import PROGRAMS, stir
from .body import PARAMS, Body, Pose, pose_joints
from .camera import Camera, project, random_camera, room_camera

#: Every label, JHMDB's names first (catch clap golf jump pick pour pullup push run sit
#: stand throw walk wave), then pipan's own (idle wave_both squat punch kick).
JHMDB_ACTIONS: Tuple[str, ...] = ("catch", "clap", "golf", "jump", "pick", "pour", "pullup",
                                  "push", "run", "sit", "stand", "throw", "walk", "wave")
ACTIONS: Tuple[str, ...] = JHMDB_ACTIONS + ("idle", "wave_both", "squat", "punch", "kick")
#: Falls, lying and sitting still: the vocabulary's states and events beyond ``ACTIONS``.
#: Not in the default label set (the bundled demo and older datasets keep theirs).
FLOOR_ACTIONS: Tuple[str, ...] = ("fall_forward", "fall_backward", "fall_sideways",
                                  "fall_chair", "lie", "sit_still")
ALL_ACTIONS: Tuple[str, ...] = ACTIONS + FLOOR_ACTIONS
assert set(ALL_ACTIONS) == set(PROGRAMS)
#: Programs that end (or are) lying on the floor.
FALLS = frozenset({"fall_forward", "fall_backward", "fall_sideways", "fall_chair"})

Segment = Tuple[int, int, str]  # [start frame, end frame), label

_ANGLES = tuple(k for k in PARAMS if k[:2] in ("l_", "r_") or k.startswith(("torso", "head")))
_TORSO = np.array([JOINT_INDEX[n] for n in ("neck", "right_shoulder", "left_shoulder",
                                            "right_hip", "left_hip")])
_EXTREMITIES = np.array([JOINT_INDEX[n] for n in ("left_wrist", "right_wrist", "left_ankle",
                                                   "right_ankle")])


@dataclass
class Motion:
    """3D motion of one person: ``joints`` ``(T, 18, 3)`` metres (world, y up)."""

    joints: np.ndarray
    body: Body
    fps: float
    segments: List[Segment] = field(default_factory=list)


@dataclass
class Clip:
    """One person seen by one camera. ``keypoints`` ``(T, 18, 3)`` are the noisy detections;
    ``xy`` ``(T, 18, 2)`` and ``depth`` ``(T, 18)`` the exact projection; ``inside``
    ``(T, 18)`` whether each joint is in the image."""

    label: str
    keypoints: np.ndarray
    xy: np.ndarray
    depth: np.ndarray
    inside: np.ndarray
    motion: Motion
    camera: Camera


@dataclass
class Sequence:
    """A chained-action clip: detections ``keypoints`` ``(T, 18, 3)``, ``segments`` with
    known frame boundaries, and ``frame_labels`` ``(T,)``."""

    keypoints: np.ndarray
    segments: List[Segment]
    fps: float
    clip: Clip

    @property
    def frame_labels(self) -> np.ndarray:
        out = np.empty(len(self.keypoints), dtype=object)
        for s, e, label in self.segments:
            out[s:e] = label
        return out.astype(str)


def _check_label(label: str) -> None:
    if label not in PROGRAMS:
        raise ValueError(f"unknown action {label!r}; known: {', '.join(ALL_ACTIONS)}")


def check_actions(actions: Seq[str]) -> None:
    """A clear error for an empty list or an action no program makes."""
    if not actions:
        raise ValueError("no actions given")
    for a in actions:
        _check_label(a)


def _style(pose: Pose, rng: np.random.Generator, t: np.ndarray, amount: float = 1.0) -> Pose:
    """Per-clip personal style: a constant offset and a slow wobble on every joint angle."""
    n = len(_ANGLES)
    offset = rng.normal(0.0, 0.12 * amount, n)
    wob = rng.normal(0.0, 0.06 * amount, n)
    freq = rng.uniform(0.2, 0.8, n)
    phase = rng.uniform(0, 2 * np.pi, n)
    wobble = wob[:, None] * np.sin(2 * np.pi * freq[:, None] * t[None] + phase[:, None])
    for i, k in enumerate(_ANGLES):
        pose[k] = pose[k] + offset[i] + wobble[i]
    return pose


#: Actions whose meaning involves both arms: never given a busy hand.
_TWO_HANDED = frozenset({"clap", "wave_both", "golf", "pullup", "push", "catch", "punch"})
#: ... nor do falls and lying: a held arm would prop a lying body up off the floor.
_NO_BUSY_HAND = _TWO_HANDED | FALLS | {"lie"}


def _busy_hand(pose: Pose, rng: np.random.Generator, side: float) -> Pose:
    """The non-leading arm holds something (a bag, a phone, a cup, a pocket): it stays in
    one random pose for the clip, whatever the action does with it."""
    p = "r_" if side > 0 else "l_"
    T = len(pose["yaw"])
    pose[p + "ua_f"] = np.full(T, rng.uniform(-0.2, 1.2))
    pose[p + "ua_a"] = np.full(T, rng.uniform(0.0, 0.6))
    pose[p + "fa_f"] = pose[p + "ua_f"] + rng.uniform(0.0, 2.0)
    pose[p + "fa_a"] = np.full(T, rng.uniform(-0.8, 0.4))
    return pose


def _action_pose(label: str, t: np.ndarray, body: Body, rng: np.random.Generator,
                 side: float) -> Pose:
    pose = PROGRAMS[label](t, body, rng, side)
    if label not in _NO_BUSY_HAND and rng.random() < 0.25:
        pose = _busy_hand(pose, rng, side)
    # lying flat leaves little room for personal style: a bent torso props the body up
    return _style(pose, rng, t, 0.5 if label in FALLS or label == "lie" else 1.0)


def _side(rng: np.random.Generator) -> float:
    """Handedness: about 85 % right-handed."""
    return -1.0 if rng.random() < 0.85 else 1.0


def action_motion(label: str, frames: int, rng: np.random.Generator, fps: float = 30.0,
                  body: Optional[Body] = None) -> Motion:
    """3D motion of one person doing ``label`` for ``frames`` frames at ``fps``."""
    _check_label(label)
    body = body or Body.random(rng)
    t = np.arange(frames) / fps
    pose = _action_pose(label, t, body, rng, _side(rng))
    return Motion(pose_joints(pose, body), body, fps, [(0, frames, label)])


def _wrap(a: float) -> float:
    return float((a + np.pi) % (2 * np.pi) - np.pi)


#: Actions that only follow another in a chain: standing up, sitting on or falling off the
#: chair follow sitting down; lying follows a fall.
_FOLLOWERS = frozenset({"stand", "sit_still", "fall_chair", "lie"})


def _next_label(prev: Optional[str], actions: Seq[str], plain: Seq[str],
                rng: np.random.Generator) -> str:
    """The action after ``prev`` in a chain: after sitting down, standing up (or, where
    they are among ``actions``, sitting on or falling off the chair); after a fall, lying
    there; otherwise any of ``plain``."""
    if prev in ("sit", "sit_still"):
        options = [(a, w) for a, w in (("stand", 0.5), ("sit_still", 0.35 * (prev == "sit")),
                                       ("fall_chair", 0.15)) if a in actions and w > 0]
        if len(options) == 1:
            return options[0][0]
        if options:
            p = np.array([w for _, w in options])
            return options[int(rng.choice(len(options), p=p / p.sum()))][0]
    if (prev in FALLS or prev == "lie") and "lie" in actions:
        return "lie"
    return str(rng.choice(plain))


def sequence_motion(rng: np.random.Generator, frames: int, fps: float = 30.0, *,
                    actions: Seq[str] = ACTIONS, min_seconds: float = 1.5,
                    max_seconds: float = 4.0, blend_seconds: float = 0.3,
                    home: Tuple[float, float] = (0.0, 0.0), roam: float = 1.2,
                    max_travel: float = 2.5, leash: float = 3.0,
                    body: Optional[Body] = None) -> Motion:
    """3D motion of one person chaining random ``actions`` over ``frames`` frames.

    Each segment lasts ``min_seconds``-``max_seconds``; the pose blends from the previous
    segment over ``blend_seconds`` (counted as the new segment). A ``sit`` is followed by
    ``stand`` and ``stand`` only follows ``sit`` (with ``sit_still`` and ``fall_chair``
    among ``actions``, either may come between or instead); a fall is followed by ``lie``
    to the end, holding where the fall left the person (without ``lie``, the fall's own
    segment runs to the end), and ``lie`` only follows a fall. The person turns between segments and heads
    back towards ``home`` (x, z metres) when further than ``roam`` from it; one segment
    travels at most ``max_travel`` metres and nobody goes further than ``leash`` metres
    from home (travel is shortened), so that people stay in view.
    """
    for a in actions:
        _check_label(a)
    body = body or Body.random(rng)
    side = _side(rng)
    plain = [a for a in actions if a not in _FOLLOWERS] or list(actions)
    segments: List[Segment] = []
    start = 0
    prev = None
    while start < frames:
        label = _next_label(prev, actions, plain, rng)
        n = int(round(rng.uniform(min_seconds, max_seconds) * fps))
        end = frames if frames - (start + n) < min_seconds * fps / 2 else min(frames, start + n)
        if label == "lie" or (label in FALLS and "lie" not in actions):
            end = frames  # nobody gets up again
        segments.append((start, end, label))
        start, prev = end, label

    t_all = np.arange(frames) / fps
    full = {k: np.zeros(frames) for k in PARAMS}
    pos = np.array(home, np.float64)
    heading = float(rng.uniform(0, 2 * np.pi))
    B = max(1, int(round(blend_seconds * fps)))
    for k, (s, e, label) in enumerate(segments):
        t = t_all[s:e] - t_all[s]
        if k > 0 and label == "lie" and segments[k - 1][2] in FALLS:
            # lying where the fall ended, stirring a little (continuous at the boundary)
            pose = stir(t, {key: np.full(e - s, full[key][s - 1]) for key in PARAMS}, rng,
                        np.ones(e - s))
            for key in PARAMS:
                full[key][s:e] = pose[key] - (pose[key][0] - full[key][s - 1])
            continue
        pose = _action_pose(label, t, body, rng, side)
        away = pos - np.asarray(home)
        if np.hypot(*away) > roam:
            target = float(np.arctan2(-away[0], -away[1]))  # face home
            heading = heading + _wrap(target - heading) + rng.normal(0, 0.3)
        elif k > 0:
            heading += rng.uniform(-np.pi / 2, np.pi / 2)
        local = np.stack([pose["root_x"], pose["root_z"]], -1)
        local -= local[0]
        travel = np.hypot(*local[-1])
        if travel > max_travel:
            local *= max_travel / travel
        c, sn = np.cos(heading), np.sin(heading)
        step = np.stack([c * local[:, 0] + sn * local[:, 1],
                         -sn * local[:, 0] + c * local[:, 1]], -1)
        # never further than `leash` from home: shorten this segment's travel if needed
        for scale in (1.0, 0.75, 0.5, 0.25, 0.0):
            world = pos + scale * step
            if np.hypot(*(world - np.asarray(home)).T).max() <= max(leash, np.hypot(*(pos - home))):
                break
        pose["root_x"], pose["root_z"] = world[:, 0], world[:, 1]
        pose["yaw"] = pose["yaw"] + heading
        if k > 0:
            b = min(B, e - s)
            w = (np.arange(b) + 1.0) / (b + 1.0)
            w = w * w * (3 - 2 * w)
            for key in PARAMS:
                prev_end = full[key][s - 1]
                pose[key][:b] = prev_end + (pose[key][:b] - prev_end) * w
        for key in PARAMS:
            full[key][s:e] = pose[key]
        pos = np.array([full["root_x"][e - 1], full["root_z"][e - 1]])
    return Motion(pose_joints(full, body), body, fps, segments)


def _detections(xy: np.ndarray, depth: np.ndarray, inside: np.ndarray, body: Body,
                camera: Camera, rng: np.random.Generator, noise: float) -> np.ndarray:
    """Detector-like keypoints ``(T, 18, 3)`` from the exact projection.

    Jitter proportional to the person's size in pixels (more at wrists and ankles), a small
    per-joint bias, scores that drop for joints on the far side of the body, random and
    bursty dropped joints, and score 0 (x = y = 0) outside the image."""
    T, J, _ = xy.shape
    kp = np.zeros((T, J, 3), np.float32)
    if noise <= 0:
        kp[..., :2] = xy
        kp[..., 2] = 1.0
    else:
        size = camera.focal * body.height / max(float(np.median(depth)), 1e-3)  # px
        # pixel jitter: from ground-truth-like (0.1 % of the height) to a poor detector (2.5 %)
        sigma = noise * float(np.exp(rng.uniform(np.log(0.001), np.log(0.025)))) * size
        scale = np.ones(J)
        scale[_EXTREMITIES] = 1.6
        bias = rng.normal(0.0, 0.5 * sigma, (1, J, 2)) * scale[None, :, None]
        jitter = rng.normal(0.0, 1.0, (T, J, 2)) * (sigma * scale)[None, :, None]
        kp[..., :2] = xy + bias + jitter
        centre = depth[:, [JOINT_INDEX["neck"], JOINT_INDEX["right_hip"],
                           JOINT_INDEX["left_hip"]]].mean(1, keepdims=True)
        far = depth > centre + 0.06
        base = rng.uniform(0.45, 0.9)
        score = base + rng.normal(0.0, 0.12 * noise, (T, J))
        score = np.where(far, score * rng.uniform(0.35, 0.8), score)
        p_drop = noise * rng.uniform(0.0, 0.08)
        u = rng.random((T, J))
        drop = u < p_drop
        drop[1:] |= (u[1:] < p_drop * 2.5) & drop[:-1]  # bursts: a miss tends to persist
        drop |= far & (rng.random((T, J)) < 0.25 * noise)
        drop[:, _TORSO] &= rng.random((T, len(_TORSO))) < 0.3  # torso joints rarely missed
        kp[..., 2] = np.clip(score, 0.05, 1.0) * ~drop
    kp[~inside] = 0.0
    kp[kp[..., 2] <= 0] = 0.0
    return kp


def _observe(motion: Motion, camera: Camera, aim: np.ndarray,
             rng: np.random.Generator, noise: float) -> Tuple[np.ndarray, ...]:
    xy, depth = project(motion.joints, camera, aim)
    inside = ((depth > 0.05) & (xy[..., 0] >= 0) & (xy[..., 0] < camera.width)
              & (xy[..., 1] >= 0) & (xy[..., 1] < camera.height))
    kp = _detections(xy, depth, inside, motion.body, camera, rng, noise)
    return kp, xy, depth, inside


def _lag(x: np.ndarray, alpha: float) -> np.ndarray:
    """First-order lag ``y[i] = y[i-1] + alpha (x[i] - y[i-1])``, ``y[0] = alpha x[0]``,
    of ``(T, C)`` as one matrix product (clips are short)."""
    T = len(x)
    if T > 1024:  # long inputs: the plain recurrence, linear memory
        y = np.empty_like(x, dtype=np.float64)
        y[0] = alpha * x[0]
        for i in range(1, T):
            y[i] = y[i - 1] + alpha * (x[i] - y[i - 1])
        return y
    i = np.arange(T)
    d = i[:, None] - i[None, :]
    W = np.where(d >= 0, alpha * (1 - alpha) ** np.maximum(d, 0), 0.0)
    return W @ x


def _follow_aim(motion: Motion, rng: np.random.Generator) -> np.ndarray:
    """Aim points ``(T, 3)`` for a clip: a camera operator keeps the person in view, as in
    real action clips. The aim follows the person's travel with a first-order lag (a
    hand-held pan) and a random share of the travel left uncompensated, so the person
    still drifts across the frame; a person who barely moves is filmed by a fixed camera."""
    J = JOINT_INDEX
    root = (motion.joints[:, J["left_hip"]] + motion.joints[:, J["right_hip"]]) / 2
    start = np.array([root[0, 0], 0.5 * motion.body.height, root[0, 2]])
    T = len(root)
    aim = np.tile(start, (T, 1))
    travel = root[:, [0, 2]] - root[0, [0, 2]]
    if np.abs(travel).max() > 0.05:
        alpha = rng.uniform(0.2, 0.7)
        keep = rng.uniform(0.8, 1.0)
        aim[:, [0, 2]] += keep * _lag(travel, alpha)
    return aim


#: Share of ``generate_clip``'s clips seen by a fixed camera high up in a room
#: (``camera.room_camera``) rather than a hand-held or tripod camera about eye level.
HIGH_CAMERA = 0.4


def generate_clip(label: str, rng: np.random.Generator, frames: Optional[int] = None, *,
                  fps: float = 30.0, width: int = 640, height: int = 480,
                  noise: float = 1.0, min_frames: int = 20, max_frames: int = 45,
                  high_camera: float = HIGH_CAMERA) -> Clip:
    """One person doing ``label`` seen by a random camera: see ``Clip``.

    ``frames`` defaults to a random length in ``[min_frames, max_frames]`` (JHMDB-like at
    30 fps). ``noise`` scales the simulated detector's errors (0 = exact joints, score 1).
    A ``high_camera`` share of clips is seen by a fixed camera high up in a room, the
    others by a camera about eye level that follows the person (0: no draw for it, the
    random stream of the eye-level clips alone).
    """
    _check_label(label)
    if not 0.0 <= high_camera <= 1.0:
        raise ValueError(f"high_camera must be a share in [0, 1], got {high_camera}")
    T = int(frames if frames is not None else rng.integers(min_frames, max_frames + 1))
    if T < 1:
        raise ValueError("a clip needs at least one frame")
    motion = action_motion(label, T, rng, fps)
    if high_camera > 0 and rng.random() < high_camera:
        camera, aim_y = room_camera(rng, T, width=width, height=height,
                                    person_height=motion.body.height)
        J = JOINT_INDEX  # the camera looks at where the person is during the clip
        root = (motion.joints[:, J["left_hip"]] + motion.joints[:, J["right_hip"]]).mean(0) / 2
        aim = np.array([root[0], aim_y, root[2]])
        kp, xy, depth, inside = _observe(motion, camera, aim, rng, noise)
        return Clip(label, kp, xy, depth, inside, motion, camera)
    camera = random_camera(rng, T, width=width, height=height, person_height=motion.body.height)
    aim = _follow_aim(motion, rng)
    fill = camera.focal * motion.body.height / (camera.distance * camera.height)
    if fill > 1.0:  # a close-up frames the upper body
        aim[:, 1] = rng.uniform(0.6, 0.8) * motion.body.height
    if label == "lie":  # nobody stands up: look at the body where it lies
        aim[:, 1] = float(np.median(motion.joints[..., 1]))
    kp, xy, depth, inside = _observe(motion, camera, aim, rng, noise)
    return Clip(label, kp, xy, depth, inside, motion, camera)


def _split(clips: int, weights: Seq[float]) -> np.ndarray:
    """``clips`` shared out in proportion to ``weights`` (largest remainders, ties to the
    first): integer counts that sum to ``clips``."""
    w = np.asarray(weights, np.float64)
    if len(w) == 0 or not np.isfinite(w).all() or (w < 0).any() or w.sum() <= 0:
        raise ValueError("weights must be finite, non-negative and not all zero")
    exact = clips * w / w.sum()
    counts = np.floor(exact).astype(np.int64)
    order = np.argsort(-(exact - counts), kind="stable")
    counts[order[:clips - int(counts.sum())]] += 1
    return counts


def generate_dataset(clips: int, seed: int, *, actions: Seq[str] = ACTIONS,
                     counts: Optional[Seq[int]] = None,
                     fps: float = 30.0, min_frames: int = 20, max_frames: int = 45,
                     width: int = 640, height: int = 480, noise: float = 1.0,
                     test_fraction: float = 0.25,
                     high_camera: float = HIGH_CAMERA) -> SkeletonDataset:
    """``clips`` labelled clips in pipan's dataset format (COCO-18, x/y pixels + score).

    Classes are balanced (clip i does ``actions[i % len(actions)]``, then the order is
    shuffled) unless ``counts`` gives each action's number of clips (summing to ``clips``);
    clip i's randomness comes from ``(seed, i)`` alone. The ``test`` column marks
    ``test_fraction`` of each class's clips, chosen by the seed. ``high_camera``: see
    ``generate_clip``. Same arguments, same arrays.
    """
    if clips < 1:
        raise ValueError("clips must be at least 1")
    if not 1 <= min_frames <= max_frames:
        raise ValueError(f"need 1 <= min_frames <= max_frames, got {min_frames}, {max_frames}")
    check_actions(actions)
    if counts is not None and (len(counts) != len(actions) or min(counts) < 0
                               or sum(counts) != clips):
        raise ValueError(f"counts must be one non-negative number per action summing to "
                         f"{clips}, got {list(counts)}")
    order_rng = np.random.default_rng([seed, 0x5EED])
    if counts is None:
        labels = np.array([actions[i % len(actions)] for i in range(clips)])
    else:
        labels = np.repeat(np.array(actions), np.asarray(counts, np.int64))
    labels = labels[order_rng.permutation(clips)]
    test = np.zeros(clips, np.int8)
    for a in actions:
        idx = np.flatnonzero(labels == a)
        k = int(round(test_fraction * len(idx)))
        test[order_rng.permutation(idx)[:k]] = 1
    kps, lengths = [], np.zeros(clips, np.int64)
    for i, label in enumerate(labels):
        rng = np.random.default_rng([seed, i])
        c = generate_clip(str(label), rng, fps=fps, width=width, height=height, noise=noise,
                          min_frames=min_frames, max_frames=max_frames,
                          high_camera=high_camera)
        kps.append(c.keypoints)
        lengths[i] = len(c.keypoints)
    return SkeletonDataset(np.concatenate(kps).astype(np.float32), lengths,
                           labels.astype(str), COCO18, test)


#: Share of the clips that the vocabulary's ``unknown`` gets, relative to one action's.
UNKNOWN_SHARE = 1.25


def vocabulary_counts(clips: int, actions: Seq[str],
                      unknown_share: float = UNKNOWN_SHARE) -> np.ndarray:
    """Clips per program such that every vocabulary label that ``actions`` reach gets the
    same number (``unknown`` ``unknown_share`` times that, all rounded to whole clips),
    split evenly among its programs: the four falls together get one label's share."""
    names = map_labels(actions, SYNTHETIC)
    labels = list(dict.fromkeys(names))
    per_label = _split(clips, [unknown_share if v == UNKNOWN else 1.0 for v in labels])
    out = np.zeros(len(actions), np.int64)
    for v, n in zip(labels, per_label):
        idx = [i for i, x in enumerate(names) if x == v]
        out[idx] = _split(int(n), np.ones(len(idx)))
    return out


def vocabulary_dataset(clips: int, seed: int, *, actions: Optional[Seq[str]] = None,
                       unknown_share: float = UNKNOWN_SHARE, **kwargs) -> SkeletonDataset:
    """``generate_dataset`` of ``actions`` (default: every program the vocabulary maps)
    with clips shared out by ``vocabulary_counts`` and labels renamed onto the bundled
    model's vocabulary (``pipan.vocabulary.SYNTHETIC``); the test column still holds out
    a share of each program's clips."""
    acts = tuple(actions) if actions else tuple(a for a in ALL_ACTIONS if a in SYNTHETIC)
    for a in acts:
        _check_label(a)
    if len(set(acts)) != len(acts):
        raise ValueError("each action may be named once")
    data = generate_dataset(clips, seed, actions=acts,
                            counts=vocabulary_counts(clips, acts, unknown_share), **kwargs)
    return SkeletonDataset(data.keypoints, data.lengths,
                           np.array(map_labels(data.labels, SYNTHETIC)), data.joints, data.test)


def generate_sequence(seed: int, seconds: float = 10.0, *, fps: float = 30.0,
                      actions: Seq[str] = ACTIONS, width: int = 640, height: int = 480,
                      noise: float = 1.0) -> Sequence:
    """One person chaining actions for ``seconds``, seen by a random (near-fixed) camera."""
    rng = np.random.default_rng([seed, 0x5E0])
    T = max(1, int(round(seconds * fps)))
    motion = sequence_motion(rng, T, fps, actions=actions)
    camera = random_camera(rng, T, width=width, height=height, person_height=motion.body.height,
                           fill=float(rng.uniform(0.3, 0.5)), off_centre=0.3)
    aim = np.array([0.0, 0.5 * motion.body.height, 0.0])
    kp, xy, depth, inside = _observe(motion, camera, aim, rng, noise)
    clip = Clip("sequence", kp, xy, depth, inside, motion, camera)
    return Sequence(kp, motion.segments, fps, clip)


@dataclass
class ScenePerson:
    """One person of a scene: exact projection ``xy`` ``(T, 18, 2)``, ``depth`` ``(T, 18)``,
    ``inside`` ``(T, 18)``, noisy ``keypoints`` ``(T, 18, 3)``, and labelled segments."""

    id: int
    motion: Motion
    xy: np.ndarray
    depth: np.ndarray
    inside: np.ndarray
    keypoints: np.ndarray
    seed: int

    @property
    def segments(self) -> List[Segment]:
        return self.motion.segments


@dataclass
class Scene:
    """Several people doing chained actions in front of one (almost) fixed camera."""

    people: List[ScenePerson]
    camera: Camera
    fps: float
    frames: int
    aim: np.ndarray  # (3,) world point the camera looks at (metres)


def generate_scene(seed: int, people: int = 2, seconds: float = 10.0, *, fps: float = 15.0,
                   width: int = 640, height: int = 480, actions: Seq[str] = ACTIONS,
                   min_seconds: float = 1.5, max_seconds: float = 3.5,
                   noise: float = 1.0, high_camera: float = 0.0) -> Scene:
    """``people`` people side by side, each chaining random ``actions`` for ``seconds``.

    The camera looks at the group from the front half (yaw within +-35 degrees), far
    enough to see everybody; each person roams around their own spot. A ``high_camera``
    share of scenes is seen from high up in the room (1.8-2.6 m, looking down 15-45
    degrees, wide-angle) instead of about eye level (0: no draw for it, the scenes of
    older versions exactly).
    """
    if people < 1:
        raise ValueError("a scene needs at least one person")
    rng = np.random.default_rng([seed, 0x5CE])
    T = max(1, int(round(seconds * fps)))
    spacing = rng.uniform(1.3, 1.8)
    xs = (np.arange(people) - (people - 1) / 2) * spacing
    span = spacing * (people - 1) + 2.5  # metres of floor the camera must see across
    aim = np.array([0.0, 0.85, 0.0])
    if high_camera > 0 and rng.random() < high_camera:
        focal = float(width * rng.uniform(0.55, 0.9))
        distance = max(focal * span / width, focal * 2.3 / height, 2.0) * 1.05
        up = rng.uniform(1.8, 2.6)  # camera height: the pitch puts it there
        pitch = float(np.clip(np.arcsin(min((up - aim[1]) / distance, 1.0)),
                              np.radians(15), np.radians(45)))
        camera = Camera(width=width, height=height, focal=focal,
                        yaw=float(rng.uniform(-0.6, 0.6)), pitch=pitch,
                        roll=float(rng.normal(0, 0.01)), distance=distance,
                        offset=(0.0, 0.0), shake=rng.normal(0, 0.0003, (T, 3)))
    else:
        focal = float(width * rng.uniform(0.8, 1.2))
        distance = max(focal * span / width, focal * 2.3 / height) * 1.05
        camera = Camera(width=width, height=height, focal=focal,
                        yaw=float(rng.uniform(-0.6, 0.6)), pitch=float(rng.uniform(0.0, 0.25)),
                        roll=float(rng.normal(0, 0.01)), distance=distance,
                        offset=(0.0, 0.0), shake=rng.normal(0, 0.0007, (T, 3)))
    out: List[ScenePerson] = []
    for p in range(people):
        prng = np.random.default_rng([seed, 0x5CE, p])
        home = (float(xs[p]), float(rng.uniform(-0.6, 0.6)))
        motion = sequence_motion(prng, T, fps, actions=actions, min_seconds=min_seconds,
                                 max_seconds=max_seconds, home=home, roam=0.6,
                                 max_travel=1.5, leash=1.0,
                                 body=Body.random(prng, "coco"))  # drawn: COCO's joints
        kp, xy, depth, inside = _observe(motion, camera, aim, prng, noise)
        out.append(ScenePerson(p, motion, xy, depth, inside, kp, seed))
    return Scene(out, camera, fps, T, aim)
