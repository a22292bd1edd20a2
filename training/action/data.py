"""Clips -> padded feature batches for the action model, and the training augmentations.

Augmentations act on COCO-18 keypoints ``(T, 18, 3)`` (x, y in any consistent unit, score),
before :func:`pipan.skeleton.clip_features`, so that training sees exactly the features the
runtime computes.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple

import numpy as np

from pipan.dataset import SkeletonDataset
from pipan.errors import DatasetError
from pipan.skeleton import (FLIP, NUM_FEATURES, NUM_JOINTS, REFERENCE_FPS, body_frame,
                            clip_features, mirror)

from .pose_noise import PoseNoise, apply_pose_noise


@dataclass(frozen=True)
class Augment:
    """Augmentation strengths (0 turns one off)."""

    rotation_deg: float = 15.0  # uniform in +-rotation_deg about the clip's torso centre
    scale: float = 0.15  # per-axis scale in 1 +- scale
    mirror: float = 0.5  # probability of a left/right mirror (sides swapped)
    speed: float = 0.3  # playback speed factor in [1 - speed, 1 + speed]
    joint_dropout: float = 0.03  # per joint per frame: joint goes missing
    clip_joint_dropout: float = 0.03  # per joint per clip: joint missing all clip long
    noise: float = 0.02  # Gaussian position noise, in body scales
    # probability of keeping only every k-th frame (k = 2..rate_max_step, random phase),
    # features then measured at 30/k fps: what the runtime feeds the model when it
    # processes fewer frames (a slow Pi, --every k); velocities stay per 1/30 s, the GRU
    # steps k times further apart
    rate: float = 0.0
    rate_max_step: int = 3
    # probability of a person's left and right labels swapped where they are (a person seen
    # from behind, and the pose stage's commonest error: on UP-Fall it reads a person
    # facing the camera as seen from behind in over half the frames, and the action model
    # trained without this read sitting people so as walking)
    side_swap: float = 0.0


NO_AUGMENT = Augment(0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0)


def change_speed(kp: np.ndarray, factor: float) -> np.ndarray:
    """Resample a clip ``(T, 18, 3)`` in time as if played ``factor`` times faster (linear
    interpolation of positions; a joint missing at either neighbour takes the nearer one)."""
    T = kp.shape[0]
    new_t = max(2, int(round(T / factor))) if T > 1 else 1
    if new_t == T or T == 1:
        return kp.copy()
    t = np.linspace(0.0, T - 1, new_t)
    i0 = np.floor(t).astype(int)
    i1 = np.minimum(i0 + 1, T - 1)
    w = (t - i0)[:, None, None].astype(np.float32)
    a, b = kp[i0], kp[i1]
    out = a * (1 - w) + b * w
    both = (a[..., 2] > 0) & (b[..., 2] > 0)
    nearest = np.where(w >= 0.5, b, a)
    out = np.where(both[..., None], out, nearest)
    out[..., 2] = np.where(both, np.minimum(a[..., 2], b[..., 2]), nearest[..., 2])
    return out.astype(np.float32)


def augment_clip(kp: np.ndarray, rng: np.random.Generator, aug: Augment) -> np.ndarray:
    """One random augmentation of a COCO-18 clip ``(T, 18, 3)``; returns a new array."""
    kp = np.array(kp, np.float32)
    present = kp[..., 2] > 0
    centre, scale = body_frame(kp)
    c = centre.mean(0)
    body = float(np.median(scale))
    xy = kp[..., :2] - c
    if aug.rotation_deg:
        a = np.deg2rad(rng.uniform(-aug.rotation_deg, aug.rotation_deg))
        rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]], np.float32)
        xy = xy @ rot.T
    if aug.scale:
        xy = xy * rng.uniform(1 - aug.scale, 1 + aug.scale, 2).astype(np.float32)
    if aug.noise:
        xy = xy + rng.normal(0, aug.noise * body, xy.shape).astype(np.float32)
    kp[..., :2] = np.where(present[..., None], xy, 0.0)
    if aug.mirror and rng.random() < aug.mirror:
        kp = mirror(kp)  # about x = 0, the (centred) clip's torso centre
    if aug.side_swap and rng.random() < aug.side_swap:
        kp = kp[:, list(FLIP)]  # the labels swapped, every joint where it was
    if aug.speed:
        kp = change_speed(kp, rng.uniform(1 - aug.speed, 1 + aug.speed))
    drop = np.zeros(kp.shape[:2], bool)
    if aug.joint_dropout:
        drop |= rng.random(kp.shape[:2]) < aug.joint_dropout
    if aug.clip_joint_dropout:
        drop |= (rng.random(NUM_JOINTS) < aug.clip_joint_dropout)[None, :]
    kp[drop] = 0.0
    return kp


def subsample(kp: np.ndarray, rng: np.random.Generator, aug: Augment) -> Tuple[np.ndarray, float]:
    """The frame-rate augmentation: ``(clip, fps)``, with probability ``aug.rate`` every k-th
    frame of ``kp`` at 30/k fps, else ``kp`` itself at 30 fps. Clips too short to keep two
    frames are left whole."""
    if not aug.rate or aug.rate_max_step < 2 or rng.random() >= aug.rate:
        return kp, REFERENCE_FPS
    k = int(rng.integers(2, aug.rate_max_step + 1))
    sub = kp[int(rng.integers(0, k))::k]
    if len(sub) < 2:
        return kp, REFERENCE_FPS
    return sub, REFERENCE_FPS / k


def crop_start(T: int, max_frames: int, rng: Optional[np.random.Generator]) -> int:
    """First frame of :func:`crop`'s window of a clip of T frames (the same draw)."""
    if T <= max_frames:
        return 0
    return int(rng.integers(0, T - max_frames + 1)) if rng is not None else 0


def crop(kp: np.ndarray, max_frames: int, rng: Optional[np.random.Generator]) -> np.ndarray:
    """At most ``max_frames`` consecutive frames: a random window (rng) or the first ones."""
    start = crop_start(kp.shape[0], max_frames, rng)
    return kp[start:start + max_frames]


def with_pose_noise(kp: np.ndarray, fps: float, rng: np.random.Generator,
                    noise: PoseNoise, fraction: float
                    ) -> Tuple[np.ndarray, Optional[np.ndarray]]:
    """With probability ``fraction``, the clip ``(T, 18, 3)`` at ``fps`` with the pose
    stage's measured errors (``pose_noise.apply_pose_noise``) and its frames' times in
    seconds (gaps leave frames out); else the clip itself and None (evenly spaced)."""
    if fraction <= 0 or rng.random() >= fraction:
        return kp, None
    noisy = apply_pose_noise(kp, rng, noise, fps)
    return noisy.keypoints, noisy.frames / float(fps)


def frame_weights(T: int, t_pad: int, prefix_ramp: float) -> np.ndarray:
    """Loss weights ``(t_pad,)`` of the prediction at each frame of a clip of T frames.

    Weight of frame t (0-based) is proportional to ``1 + prefix_ramp * (t + 1) / T``
    (later, better-informed prefixes count more, every prefix counts), zero on padding;
    normalised so the clip's weights sum to t_pad (the loss averages over B x t_pad)."""
    w = np.zeros(t_pad, np.float32)
    t = np.arange(min(T, t_pad))
    w[: len(t)] = 1.0 + prefix_ramp * (t + 1) / len(t)
    return w * (t_pad / w.sum())


def pad_features(feats: Sequence[np.ndarray], t_pad: Optional[int] = None) -> np.ndarray:
    """Post-pad ``(T_i, 18, 5)`` feature clips with zeros to ``(N, t_pad, 18, 5)``."""
    t_pad = t_pad or max(f.shape[0] for f in feats)
    out = np.zeros((len(feats), t_pad, NUM_JOINTS, NUM_FEATURES), np.float32)
    for i, f in enumerate(feats):
        n = min(len(f), t_pad)
        out[i, :n] = f[:n]
    return out


def concat(datasets: Sequence[SkeletonDataset]) -> SkeletonDataset:
    """One COCO-18 dataset of several (their ``test`` columns kept if every one has it)."""
    ds = [d.to_coco18() for d in datasets]
    if not ds:
        raise DatasetError("no dataset given")
    if len(ds) == 1:
        return ds[0]
    test = None if any(d.test is None for d in ds) else np.concatenate([d.test for d in ds])
    return SkeletonDataset(np.concatenate([d.keypoints for d in ds]),
                           np.concatenate([d.lengths for d in ds]),
                           np.concatenate([d.labels.astype(str) for d in ds]),
                           ds[0].joints, test)


def split(dataset: SkeletonDataset, seed: int, test_fraction: float = 0.2) -> np.ndarray:
    """Boolean test mask ``(N,)``: the dataset's ``test`` column, else a seeded split that
    holds out ``test_fraction`` of every class."""
    if dataset.test is not None:
        return dataset.test.astype(bool)
    rng = np.random.default_rng(seed)
    mask = np.zeros(len(dataset), bool)
    labels = np.asarray(dataset.labels).astype(str)
    for c in sorted(set(labels)):
        idx = np.flatnonzero(labels == c)
        rng.shuffle(idx)
        k = int(round(len(idx) * test_fraction))
        mask[idx[:k]] = True
    return mask


def clip_list(dataset: SkeletonDataset) -> List[np.ndarray]:
    """The COCO-18 clips ``(T, 18, 3)`` of a dataset, as a list."""
    return list(dataset.to_coco18().clips())


def label_indices(labels: Sequence[str], classes: Sequence[str]) -> np.ndarray:
    """Class index of every label (``classes`` order); -1 for a label not in ``classes``."""
    lookup = {c: i for i, c in enumerate(classes)}
    return np.array([lookup.get(str(s), -1) for s in labels], np.int64)


def features_of(clips: Sequence[np.ndarray],
                fps: Optional[Sequence[float]] = None,
                times: Optional[Sequence[Optional[np.ndarray]]] = None) -> List[np.ndarray]:
    """clip_features of each clip (at its ``fps``; default 30 fps for all), or at its
    frame ``times`` in seconds where ``times`` gives them (None: at its fps)."""
    rates = [REFERENCE_FPS] * len(clips) if fps is None else list(fps)
    stamps = [None] * len(clips) if times is None else list(times)
    return [clip_features(c, f, t) for c, f, t in zip(clips, rates, stamps)]
