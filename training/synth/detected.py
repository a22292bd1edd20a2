"""Action-model training clips as the runtime sees them: synthetic videos through pipan's
own pose net, decoder, tracker and keypoint smoothing.

The synthetic motion clips (``motions.generate_dataset``) are exact skeletons with a
simulated detector's noise; the pose net's skeletons jitter, lose joints and swap limbs in
ways that noise model does not know. Here each video of ``detected_dataset`` is rendered
with ``video.write_video`` (people chaining actions, a random camera, 30 fps), decoded
with ``pipan.video.VideoFileSource`` and run through ``pipan.pipeline.Pipeline`` with the
bundled (or given) ``pipan.pose.PoseEstimator`` -- the composition ``pipan recognize`` uses,
smoothing at the runtime's default -- and the clips are cut from its tracks' keypoints, so
they hold exactly the keypoints the action model is fed at run time.

Each track's frames are given to the ground-truth person whose sidecar keypoints they match
best (OKS, ``MATCH_KAPPA``, at least ``MIN_OKS``), labelled with that person's segment at
that frame, and cut into clips where the person or label changes or a frame is unmatched;
``TRIM`` frames go from each end of a clip (transitions between actions are neither), long
pieces are split into clips of at most ``max_frames``, and pieces under ``min_frames`` are
dropped. The ``test`` column holds out whole videos (``test_fraction`` of them, seeded).

Video seeds come from the ``seed`` and are never 0: ``pipan/models/demo.mp4`` is seed 0 of
``write_video``, and the action model must never train on the demo.
"""
from __future__ import annotations

import tempfile
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from pipan.dataset import SkeletonDataset
from pipan.skeleton import COCO18
from pipan.vocabulary import SYNTHETIC, map_labels

from .motions import ACTIONS, check_actions

#: OKS falloff of the track-to-truth matching (relative to the true box size; the
#: tracker's own: with COCO's ~0.1 the median detected frame scores 0.29 on the demo).
MATCH_KAPPA = 0.25
#: A track frame below this similarity to every true person belongs to nobody.
MIN_OKS = 0.3
#: Frames dropped from each end of a clip (action transitions are blends of two actions).
TRIM = 3


@dataclass
class VideoClips:
    """The clips cut from one video: keypoints ``(T, 18, 3)`` each, with their labels."""

    seed: int
    clips: List[np.ndarray]
    labels: List[str]
    frames: int  # frames in the video
    person_frames: int  # true person-frames (person visible)
    matched: int  # true person-frames matched by a track


def video_seeds(seed: int, videos: int) -> List[int]:
    """``videos`` distinct, non-zero ``write_video`` seeds derived from ``seed``."""
    rng = np.random.default_rng([seed, 0xDE7EC7])
    out: List[int] = []
    while len(out) < videos:
        s = int(rng.integers(1, 2 ** 31 - 1))
        if s not in out:
            out.append(s)
    return out


def truth_oks(det: np.ndarray, truth: np.ndarray) -> float:
    """OKS of a detected skeleton against a true one (COCO visibility flags; joints with
    flag 0 are ignored) over the joints present in both, with the true box's area."""
    from pipan.tracker import oks
    t = truth.copy()
    present = t[:, 2] > 0
    if present.sum() < 2:
        return 0.0
    xy = t[present, :2]
    area = float(max(np.prod(xy.max(0) - xy.min(0)), 1.0))
    return oks(det, t, area, MATCH_KAPPA)


def cut(frames: List[Tuple[int, np.ndarray]], owner: List[Optional[Tuple[int, str]]],
        min_frames: int, max_frames: int) -> List[Tuple[np.ndarray, str]]:
    """One track's fed frames and, per frame, its (true person, label) or None -> labelled
    clips (runs of one owner, trimmed, split to at most ``max_frames``, none shorter than
    ``min_frames``)."""
    out = []
    i = 0
    while i < len(frames):
        if owner[i] is None:
            i += 1
            continue
        j = i
        while j + 1 < len(frames) and owner[j + 1] == owner[i]:
            j += 1
        run = np.stack([kp for _, kp in frames[i:j + 1]])[TRIM:len(frames[i:j + 1]) - TRIM]
        n_pieces = int(np.ceil(len(run) / max_frames)) if len(run) else 0
        for piece in np.array_split(run, n_pieces) if n_pieces else []:
            if len(piece) >= min_frames:
                out.append((piece, owner[i][1]))
        i = j + 1
    return out


def process_video(seed: int, *, seconds: float, people: int, fps: float, width: int,
                  height: int, min_frames: int, max_frames: int,
                  pose_model: Optional[str] = None, actions: Sequence[str] = ACTIONS,
                  high_camera: float = 0.0) -> VideoClips:
    """Render one video (``write_video`` seed ``seed``), run the runtime over it and cut
    the clips."""
    from pipan.pipeline import NoAction, Pipeline
    from pipan.pose import PoseEstimator
    from pipan.video import VideoFileSource
    from .video import write_video

    if seed == 0:
        raise ValueError("video seed 0 is the bundled demo's: never train on it")
    with tempfile.TemporaryDirectory(prefix="pipan-detected-") as tmp:
        path = Path(tmp) / f"v{seed}.mp4"
        doc = write_video(path, seed, seconds=seconds, people=people, width=width,
                          height=height, fps=fps, actions=actions, high_camera=high_camera)
        pipe = Pipeline(PoseEstimator(pose_model, threads=1), NoAction(ACTIONS))
        # per track: (frame index, keypoints) of every frame it was matched in, as the
        # pipeline gives them to its action model (smoothed)
        fed: Dict[int, List[Tuple[int, np.ndarray]]] = {}
        with VideoFileSource(path) as src:
            for r in pipe.run(src):
                for tr in r.tracks if r.processed else ():
                    fed.setdefault(tr.id, []).append(
                        (r.index, np.array(tr.person.keypoints, np.float32)))
    truths = [np.asarray(p["keypoints"], np.float32) for p in doc["people"]]
    segs = [p["frame_segments"] for p in doc["people"]]
    n_frames = int(doc["frames"])
    clips, labels = [], []
    matched = set()
    for tid in sorted(fed):
        frames = fed[tid]
        owner: List[Optional[Tuple[int, str]]] = []
        for f, kp in frames:
            sims = [truth_oks(kp, tr[f]) for tr in truths]
            p = int(np.argmax(sims))
            if sims[p] < MIN_OKS:
                owner.append(None)
                continue
            label = next((lab for a, b, lab in segs[p] if a <= f < b), None)
            owner.append((p, label) if label is not None else None)
            matched.add((p, f))
        for kp, label in cut(frames, owner, min_frames, max_frames):
            clips.append(kp)
            labels.append(label)
    visible = sum(int((tr[:, :, 2] > 0).any(-1).sum()) for tr in truths)
    return VideoClips(seed, clips, labels, n_frames, visible, len(matched))


def _work(args):
    """One pool job (workers inherit the caller's niceness: run the command under nice)."""
    seed, kwargs = args
    return process_video(seed, **kwargs)


def detected_dataset(videos: int, seed: int, *, seconds: float = 8.0,
                     people: Tuple[int, int] = (1, 2), fps: float = 30.0,
                     width: int = 640, height: int = 480, min_frames: int = 15,
                     max_frames: int = 60, test_fraction: float = 0.25,
                     pose_model: Optional[str] = None, workers: int = 1,
                     progress=None, actions: Sequence[str] = ACTIONS,
                     high_camera: float = 0.0,
                     vocabulary: bool = False) -> Tuple[SkeletonDataset, Dict]:
    """``videos`` synthetic videos through the runtime -> (dataset, stats). Video k has
    ``video_seeds(seed, videos)[k]`` and a person count drawn from ``people`` (inclusive)
    by the seed; the test column marks ``test_fraction`` of the videos' clips (whole
    videos, seeded). People chain ``actions``; ``high_camera`` of the videos are seen
    from high up in the room; ``vocabulary`` renames the labels onto the bundled model's
    vocabulary. Same arguments, same arrays (the pose net runs with one thread)."""
    if videos < 1:
        raise ValueError("videos must be at least 1")
    if not 1 <= min_frames <= max_frames:
        raise ValueError(f"need 1 <= min_frames <= max_frames, got {min_frames}, {max_frames}")
    lo, hi = people
    if not 1 <= lo <= hi:
        raise ValueError(f"bad people range {people}")
    check_actions(actions)
    if vocabulary:
        map_labels(actions, SYNTHETIC)  # every program has a vocabulary name
    if not 0.0 <= high_camera <= 1.0:
        raise ValueError(f"high_camera must be a share in [0, 1], got {high_camera}")
    rng = np.random.default_rng([seed, 0xDE7EC8])
    counts = rng.integers(lo, hi + 1, size=videos)
    n_test = int(round(test_fraction * videos))
    test_videos = set(rng.permutation(videos)[:n_test].tolist())
    seeds = video_seeds(seed, videos)
    jobs = [(s, dict(seconds=seconds, people=int(c), fps=fps, width=width, height=height,
                     min_frames=min_frames, max_frames=max_frames, pose_model=pose_model,
                     actions=tuple(actions), high_camera=high_camera))
            for s, c in zip(seeds, counts)]
    results: List[VideoClips] = []
    if workers > 1:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            for r in pool.map(_work, jobs):
                results.append(r)
                if progress:
                    progress(1)
    else:
        for job in jobs:
            results.append(_work(job))
            if progress:
                progress(1)
    kps, lengths, labels, test = [], [], [], []
    for k, r in enumerate(results):
        for kp, label in zip(r.clips, r.labels):
            kps.append(kp)
            lengths.append(len(kp))
            labels.append(label)
            test.append(1 if k in test_videos else 0)
    if not kps:
        raise ValueError("no clip long enough was detected in any video")
    if vocabulary:
        labels = list(map_labels(labels, SYNTHETIC))
    data = SkeletonDataset(np.concatenate(kps).astype(np.float32),
                           np.asarray(lengths, np.int64), np.asarray(labels, str), COCO18,
                           np.asarray(test, np.int8))
    stats = {"videos": videos, "clips": len(data), "frames": int(sum(lengths)),
             "person_frames": sum(r.person_frames for r in results),
             "matched_person_frames": sum(r.matched for r in results),
             "video_frames": sum(r.frames for r in results)}
    return data, stats
