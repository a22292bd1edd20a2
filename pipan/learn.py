"""Teaching pipan new actions from a few examples (``pipan learn``), numpy only.

Each example is one person's skeletons: the main person of a video clip (the track that
moves most, through pipan's own pipeline: pose net, tracker, keypoint smoothing), or a
training clip of a skeleton dataset. The base action model streams each example as one
person and gives its descriptor at the last frame (``StreamingAction.descriptor``: the
attended hidden state and the running statistics); each example is taught in six views
(whole, first and last two thirds; each as filmed and mirrored left-right, :func:`views`).
A multinomial logistic regression (``pipan.linear``) on the standardised descriptors is
the head (``pipan.head``); cross-validation over the examples gives each action's
accuracy and the open-set threshold.
"""
from __future__ import annotations

import dataclasses
import datetime as _dt
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

from .errors import PipanError
from .head import UNKNOWN, Head
from .linear import fit_logistic, standardiser
from .skeleton import NUM_JOINTS, mirror

PathLike = Union[str, os.PathLike]

#: L2 penalty of the head's regression on standardised descriptors (0.01 to 0.1 within a
#: point of each other on JHMDB-14's training clips taught 1, 2 or 5 at a time).
DEFAULT_L2 = 0.03
#: Gradient steps of the head's regression (full batch; the descriptors are standardised).
STEPS = 1000
#: Most folds of the cross-validation (leave-one-clip-out below this many clips).
MAX_FOLDS = 5
#: Share of held-out examples of taught actions the default open-set threshold accepts.
ACCEPT = 0.9
#: Fewest frames with the main person for a clip to teach anything.
MIN_FRAMES = 3
#: Video file names taken from an examples folder.
VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".m4v", ".webm", ".mpg", ".mpeg")
#: A label: a letter or digit, then letters, digits, '_', '-' (it names a folder, prints in
#: a timeline and a JSON line).
LABEL_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$")
_RANGE_RE = re.compile(r"^(?P<path>.+)@(?P<start>\d+(?:\.\d*)?)-(?P<end>\d+(?:\.\d*)?)"
                       r":(?P<label>.*)$")


@dataclass(frozen=True)
class Example:
    """One person doing one action: COCO-18 ``keypoints (T, 18, 3)`` (pixels, score),
    frame ``times (T,)`` in seconds (None: 30 fps), and where it came from."""

    label: str
    keypoints: np.ndarray
    times: Optional[np.ndarray]
    source: str


@dataclass(frozen=True)
class ClipSpec:
    """A video clip to teach from: ``path``, optional time range (seconds), label."""

    path: Path
    label: str
    start: Optional[float] = None
    end: Optional[float] = None

    @property
    def name(self) -> str:
        if self.start is None:
            return str(self.path)
        return f"{self.path}@{self.start:g}-{self.end:g}"


def check_label(label: str, where: str) -> str:
    if label == UNKNOWN or not LABEL_RE.match(label):
        raise PipanError(f"{where}: {label!r} is not a usable action label (use letters, "
                         f"digits, '_' and '-', at most 40, not {UNKNOWN!r})")
    return label


def parse_examples(args: Sequence[str]) -> List[ClipSpec]:
    """EXAMPLES arguments -> clips: a folder with one subfolder of video clips per
    action, or ``clip.mp4@START-END:label`` (seconds)."""
    specs: List[ClipSpec] = []
    for arg in args:
        m = _RANGE_RE.match(arg)
        if m:
            path, start, end = Path(m["path"]), float(m["start"]), float(m["end"])
            if not end > start:
                raise PipanError(f"{arg}: the time range must end after it starts")
            if not path.is_file():
                raise PipanError(f"{path}: no such video file")
            specs.append(ClipSpec(path, check_label(m["label"], arg), start, end))
            continue
        p = Path(arg)
        if not p.exists():
            raise PipanError(f"{arg}: no such folder (or give clip.mp4@START-END:label)")
        if not p.is_dir():
            raise PipanError(f"{arg}: a video needs a time range and a label "
                             f"({arg}@START-END:label), or put it in LABEL/ in a folder")
        found = []
        for sub in sorted(q for q in p.iterdir() if q.is_dir() and not q.name.startswith(".")):
            clips = sorted(f for f in sub.iterdir() if f.is_file()
                           and f.suffix.lower() in VIDEO_SUFFIXES and not f.name.startswith("."))
            if clips:
                check_label(sub.name, str(sub))
            found += [ClipSpec(f, sub.name) for f in clips]
        if not found:
            raise PipanError(f"{arg}: no video clips in it (expected one subfolder per "
                             f"action, e.g. {arg}/wave/1.mp4)")
        specs += found
    return specs


def main_person(tracks: Dict[int, List[Tuple[float, np.ndarray]]]
                ) -> Optional[List[Tuple[float, np.ndarray]]]:
    """The track that moves most: the largest sum, over consecutive frames of the track,
    of its joints' displacement (pixels, joints present in both frames)."""
    best, best_motion = None, -1.0
    for tid in sorted(tracks):
        frames = tracks[tid]
        kp = np.stack([k for _, k in frames])
        both = (kp[1:, :, 2] > 0) & (kp[:-1, :, 2] > 0)
        step = np.linalg.norm(kp[1:, :, :2] - kp[:-1, :, :2], axis=-1)
        motion = float((step * both).sum())
        if motion > best_motion:
            best, best_motion = frames, motion
    return best


def probe_video(path: Path) -> None:
    """Raise PipanError (naming the file) unless ``path`` opens as a video."""
    from .errors import VideoError
    from .video import VideoFileSource
    try:
        with VideoFileSource(path):
            pass
    except VideoError as e:
        msg = str(e)
        raise PipanError(msg if str(path) in msg else f"{path}: {msg}") from None


def clip_example(spec: ClipSpec, pose, smoother=True) -> Example:
    """The main person of a video clip (within its time range), through pipan's pipeline:
    ``pose`` -> tracker -> keypoint smoothing."""
    from .errors import VideoError
    from .pipeline import NoAction, Pipeline
    from .video import VideoFileSource

    tracks: Dict[int, List[Tuple[float, np.ndarray]]] = {}
    if hasattr(pose, "reset"):  # an estimator that follows people across frames
        pose.reset()
    try:
        with VideoFileSource(spec.path) as source:
            pipe = Pipeline(pose, NoAction(), smoother=smoother)
            for frame in source:
                if spec.start is not None and frame.time < spec.start:
                    continue
                if spec.end is not None and frame.time > spec.end:
                    break
                for tr in pipe.process(frame).tracks:
                    tracks.setdefault(tr.id, []).append(
                        (frame.time, np.asarray(tr.person.keypoints, np.float32)))
            pipe.finish()
    except VideoError as e:
        msg = str(e)
        raise PipanError(msg if str(spec.path) in msg else f"{spec.path}: {msg}") from None
    frames = main_person(tracks)
    if frames is None or len(frames) < MIN_FRAMES:
        raise PipanError(f"{spec.name}: nobody was detected in it"
                         + ("" if frames is None else
                            f" for more than {len(frames)} frame(s)"))
    return Example(spec.label, np.stack([k for _, k in frames]),
                   np.array([t for t, _ in frames], np.float64), spec.name)


def dataset_examples(path: PathLike) -> List[Example]:
    """The training clips (``test`` 0; every clip without a test column) of a skeleton
    dataset file, in COCO-18; its test clips are left alone."""
    from .dataset import load

    ds = load(path).to_coco18()
    train = ds.test == 0 if ds.test is not None else np.ones(len(ds), bool)
    if not train.any():
        raise PipanError(f"{path}: no training clips in it (every clip has test=1)")
    out = []
    for i in np.flatnonzero(train):
        label = check_label(str(ds.labels[i]), f"{path}, clip {i}")
        out.append(Example(label, ds.clip(i), None, f"{path}#{i}"))
    return out


# --- descriptors and fitting --------------------------------------------------------------

def views(keypoints: np.ndarray) -> List[np.ndarray]:
    """The views of one example a head is taught from: the whole clip, its first and its
    last two thirds, each as filmed and mirrored left-right. An action done with the other
    hand, or seen from its middle (a live stream's recent past, not a trimmed clip), is
    the same action; on JHMDB-14's training clips taught 1, 2 and 5 at a time the crops
    added 1-2.5 points to mirroring alone."""
    T = len(keypoints)
    n = min(T, max(MIN_FRAMES, int(round(T * 2 / 3))))
    out = []
    for clip in (keypoints, keypoints[:n], keypoints[T - n:]):
        out += [clip, mirror(clip)]
    return out


def describe_example(recognizer, ex: Example, view: int = 0) -> np.ndarray:
    """The base model's descriptor ``(D,)`` of one example after its last frame (streamed
    as one fresh person); ``view``: which of :func:`views` (0: as filmed)."""
    if view == 0:
        return recognizer.clip_descriptor(ex.keypoints, ex.times)
    T = len(ex.keypoints)
    n = min(T, max(MIN_FRAMES, int(round(T * 2 / 3))))
    times = None if ex.times is None else \
        (ex.times, ex.times, ex.times[:n], ex.times[:n], ex.times[T - n:], ex.times[T - n:])[view]
    return recognizer.clip_descriptor(views(ex.keypoints)[view], times)


NUM_VIEWS = 6
#: The views as filmed (whole clip, first and last two thirds), without the mirrored ones.
AS_FILMED = (0, 2, 4)


def descriptors(recognizer, examples: Sequence[Example]) -> Tuple[np.ndarray, np.ndarray]:
    """Each example's descriptor in every view (:func:`views`), ``X (N, 6, D)`` ([:, 0]:
    as filmed), and its label ``(N,)``."""
    X = np.stack([np.stack([describe_example(recognizer, ex, v) for v in range(NUM_VIEWS)])
                  for ex in examples])
    return X, np.array([ex.label for ex in examples])


@dataclass(frozen=True)
class LinearHead:
    """Standardisation, weights and class centroids of a fitted head (all float64)."""

    mean: np.ndarray
    std: np.ndarray
    weights: np.ndarray
    bias: np.ndarray
    centroids: np.ndarray

    def logits(self, x: np.ndarray) -> np.ndarray:
        return ((x - self.mean) / self.std) @ self.weights + self.bias

    def distances(self, x: np.ndarray) -> np.ndarray:
        """``(N, K)`` distance of ``x (N, D)`` to each class centroid in logit space, as
        ``pipan.head.Head.distance`` measures it."""
        z = ((x - self.mean) / self.std) @ self.weights
        c = self.centroids @ self.weights
        return np.sqrt(((z[:, None, :] - c) ** 2).mean(-1))


def fit(X: np.ndarray, y: np.ndarray, num_classes: int, l2: float = DEFAULT_L2,
        steps: int = STEPS) -> LinearHead:
    """Fit the head on descriptors ``X (N, V, D)`` (V views of each example,
    :func:`views`), class indices ``y (N,)``. Every number of a descriptor is standardised
    alike, so the attended hidden state weighs as much as the running statistics: on
    JHMDB-14 taught 1, 2 or 5 at a time (three seeds) that scores 54.0 / 62.7 / 76.3%
    against 54.0 / 61.6 / 75.9% with the hidden state at half weight, and on UP-Fall
    through pipan's pose stage 83.3 / 90.9% against 75.8 / 84.8% (k = 1 / 2)."""
    N, V, D = X.shape
    flat, yy = X.reshape(N * V, D), np.repeat(y, V)
    mean, std = standardiser(flat)
    z = (flat - mean) / std
    w, b = fit_logistic(z, yy, num_classes, l2=l2, steps=steps)
    centroids = np.stack([z[yy == k].mean(0) for k in range(num_classes)])
    return LinearHead(mean, std, w, b, centroids)


def folds(y: np.ndarray, max_folds: int = MAX_FOLDS) -> np.ndarray:
    """Fold of each example ``(N,)`` for cross-validation, -1 = always taught: the
    examples of each class with 2+ examples dealt round-robin over the folds, one fold
    per example up to ``max_folds`` (so every class has examples left to teach)."""
    y = np.asarray(y)
    out = np.full(len(y), -1, np.int64)
    counts = np.bincount(y, minlength=int(y.max()) + 1 if len(y) else 0)
    n_test = int(counts[counts >= 2].sum())
    if n_test == 0:
        return out
    k = min(max_folds, n_test)
    nxt = 0
    for c in np.flatnonzero(counts >= 2):
        for i in np.flatnonzero(y == c):
            out[i] = nxt % k
            nxt += 1
    return out


@dataclass(frozen=True)
class CrossValidation:
    """Out-of-fold results: ``predicted`` class per example (-1: not held out) and the
    held-out example's distance to its own class's centroid (``own``, NaN when not held
    out)."""

    predicted: np.ndarray
    own: np.ndarray


def cross_validate(X: np.ndarray, y: np.ndarray, num_classes: int,
                   l2: float = DEFAULT_L2, steps: int = STEPS) -> CrossValidation:
    """Fit on all folds but one (every view), predict the held-out examples (as filmed),
    for each fold."""
    f = folds(y)
    pred = np.full(len(y), -1, np.int64)
    own = np.full(len(y), np.nan)
    for k in range(int(f.max()) + 1 if len(f) else 0):
        test = f == k
        head = fit(X[~test], y[~test], num_classes, l2, steps)
        xt = X[test, 0]
        pred[test] = head.logits(xt).argmax(1)
        own[test] = head.distances(xt)[np.arange(len(xt)), y[test]]
    return CrossValidation(pred, own)


def choose_threshold(own: np.ndarray, accept: float = ACCEPT) -> Optional[float]:
    """The distance within which ``accept`` of the held-out examples of taught actions
    lie (``own``, out of fold): a person doing a taught action is answered 'unknown'
    about 1 - ``accept`` of the time. None without held-out examples (one per action).

    Why not the threshold that best separates taught from untaught actions: on JHMDB-14
    (7 classes taught, the other 7 as the untaught), no distance separates them well
    (balanced accuracy 0.55-0.66), and the best-separating one called a third to half of
    the taught actions 'unknown'; favouring the taught actions keeps a head useful, and
    ``--threshold`` makes it stricter."""
    own = own[np.isfinite(own)]
    if not len(own):
        return None
    return float(max(np.quantile(own, accept), 1e-6))


@dataclass(frozen=True)
class Learned:
    """What ``learn`` made: the head, and per label its example count and cross-validated
    accuracy (None with fewer than 2 examples); ``seconds``: time spent on descriptors and
    fitting (not on reading videos or writing)."""

    head: Head
    counts: Dict[str, int]
    accuracy: Dict[str, Optional[float]]
    seconds: float
    mirrored: bool = True
    #: how ``mirrored`` was decided: "given", "default" (no example to hold out) or
    #: "cross-validation" (then ``mirror_cv``: accuracy with and without mirrored views)
    mirror_choice: str = "default"
    mirror_cv: Optional[Tuple[float, float]] = None


def learn(examples: Sequence[Example], base, *, base_path: Optional[str], base_sha256: str,
          keep: bool = False, threshold: Optional[float] = None, l2: float = DEFAULT_L2,
          mirror: Optional[bool] = None, sources: Sequence[str] = (),
          date: Optional[str] = None) -> Learned:
    """Fit a head on ``examples`` over ``base`` (a StreamingAction with ``embed=True``).
    ``threshold``: the open-set distance (default: chosen by cross-validation);
    ``mirror``: teach the mirrored views too (default: chosen, :func:`fit_head`).
    Raises PipanError for fewer than two actions."""
    t0 = time.perf_counter()
    labels = sorted({ex.label for ex in examples})
    if len(labels) < 2:
        where = ", ".join(sorted(set(sources))) or "the examples"
        raise PipanError(f"{where}: only one action ({', '.join(labels) or 'none'}); "
                         f"teach two or more")
    X, names = descriptors(base, examples)
    learned = fit_head(X, names, base_labels=base.labels,
                       base_path=base_path, base_sha256=base_sha256, keep=keep,
                       threshold=threshold, l2=l2, mirror=mirror, sources=sources,
                       date=date)
    return dataclasses.replace(learned, seconds=time.perf_counter() - t0)


def fit_head(X: np.ndarray, names: Sequence[str], *, base_labels: Sequence[str],
             base_path: Optional[str], base_sha256: str, keep: bool = False,
             threshold: Optional[float] = None, l2: float = DEFAULT_L2,
             mirror: Optional[bool] = None, sources: Sequence[str] = (),
             date: Optional[str] = None) -> Learned:
    """The head from descriptors ``X (N, V, D)`` (:func:`descriptors`) and their labels:
    cross-validation (per-label accuracy, threshold), then the fit on everything.

    ``mirror``: whether the mirrored views teach too. Mirroring teaches an action done
    with the other hand or in the other direction (on JHMDB-14, web videos, 54% of test
    clips right from one example per action with it, 48% without), but where the
    direction is the difference (a fixed camera in a room: falling to one side or the
    other, walking to the door) it teaches the wrong thing (UP-Fall camera 1 through
    BlazePose, two examples: 82% with it, 88% without). None: cross-validate both ways
    and keep the better (mirrored on a tie, and when no example can be held out)."""
    t0 = time.perf_counter()
    labels = tuple(sorted(set(map(str, names))))
    if len(labels) < 2:
        raise PipanError(f"only one action ({', '.join(labels) or 'none'}); teach two or more")
    y = np.array([labels.index(str(s)) for s in names])
    plain = X[:, list(AS_FILMED)]
    choice, scores = ("given" if mirror is not None else "default"), None
    cv = cross_validate(X if mirror is not False else plain, y, len(labels), l2)
    if mirror is None:
        mirror = True
        held = cv.predicted >= 0
        if held.any():
            cv_plain = cross_validate(plain, y, len(labels), l2)
            scores = (float((cv.predicted[held] == y[held]).mean()),
                      float((cv_plain.predicted[held] == y[held]).mean()))
            choice, mirror = "cross-validation", scores[0] >= scores[1]
            if not mirror:
                cv = cv_plain
    if not mirror:
        X = plain
    counts = {s: int((y == k).sum()) for k, s in enumerate(labels)}
    accuracy: Dict[str, Optional[float]] = {}
    for k, s in enumerate(labels):
        held = (y == k) & (cv.predicted >= 0)
        accuracy[s] = float((cv.predicted[held] == k).mean()) if held.any() else None
    if threshold is None:
        threshold = choose_threshold(cv.own)
    fitted = fit(X, y, len(labels), l2)
    info = {"base": {"path": base_path, "sha256": base_sha256, "labels": list(base_labels)},
            "taught": {"counts": counts, "cv_accuracy": accuracy,
                       "date": date or _dt.datetime.now(_dt.timezone.utc)
                       .strftime("%Y-%m-%dT%H:%M:%SZ"),
                       "sources": list(dict.fromkeys(sources)), "l2": l2,
                       "mirrored": bool(mirror), "mirror_choice": choice}}
    head = Head(labels=labels, mean=fitted.mean, std=fitted.std, weights=fitted.weights,
                bias=fitted.bias, centroids=fitted.centroids, threshold=threshold, keep=keep,
                info=info)
    return Learned(head, counts, accuracy, time.perf_counter() - t0, bool(mirror), choice,
                   scores)


def format_learned(learned: Learned) -> str:
    """What ``pipan learn`` prints: per action, examples and cross-validated accuracy."""
    width = max(len(s) for s in learned.counts)
    lines = []
    for s, n in learned.counts.items():
        acc = learned.accuracy[s]
        lines.append(f"  {s:<{width}}  {n:3d} example{'s' if n != 1 else ' '}  "
                     + (f"cross-validated accuracy {acc:.2f}" if acc is not None
                        else "(one example: no cross-validation)"))
    how = {"given": "as asked", "default": "the default with one example per action"}.get(
        learned.mirror_choice)
    if learned.mirror_cv is not None:
        how = (f"cross-validated: {learned.mirror_cv[0]:.2f} with, "
               f"{learned.mirror_cv[1]:.2f} without")
    lines.append(f"mirrored examples: {'taught' if learned.mirrored else 'not taught'} "
                 f"({how})")
    t = learned.head.threshold
    lines.append("unknown: " + ("off (no threshold: give --threshold to set one)"
                                if t is None else f"beyond distance {t:.3g}"))
    return "\n".join(lines)


def check_examples(examples: Sequence[Example]) -> None:
    for ex in examples:
        if ex.keypoints.ndim != 3 or ex.keypoints.shape[1:] != (NUM_JOINTS, 3):
            raise PipanError(f"{ex.source}: not a COCO-18 clip")


def run_learn(examples: Sequence[str], data: Sequence[PathLike], out: PathLike, *,
              keep: bool = False, threshold: Optional[float] = None,
              mirror: Optional[bool] = None, base_model: Optional[PathLike] = None,
              pose_backend: str = "pipan",
              pose_model: Optional[str] = None, threads: Optional[int] = None,
              progress: Callable[[str], None] = lambda s: None) -> Learned:
    """``pipan learn``: read every example (video clips through the pose stage, dataset
    training clips), fit the head over the base model and write it to ``out``. Any bad
    input raises PipanError naming the file before anything is written."""
    from .action import DEFAULT_MODEL, ActionRecognizer
    from .fileio import file_sha256
    from .head import save_head

    specs = parse_examples(examples)  # every argument checked before any video is read
    found: List[Example] = []
    for path in data:
        found += dataset_examples(path)
    labels = {s.label for s in specs} | {ex.label for ex in found}
    if len(labels) < 2:  # before any video is read
        where = ", ".join([*examples, *map(str, data)])
        raise PipanError(f"{where}: only one action ({', '.join(sorted(labels))}); "
                         f"teach two or more")
    for spec in specs:  # an unreadable clip fails before minutes of pose estimation
        probe_video(spec.path)
    base_file = Path(base_model) if base_model is not None else DEFAULT_MODEL
    base = ActionRecognizer(base_file, threads=threads, embed=True)
    if specs:
        from .pipeline import load_pose
        pose = load_pose(pose_backend, pose_model, threads)
        for i, spec in enumerate(specs):
            progress(f"[{i + 1}/{len(specs)}] {spec.name} ({spec.label})")
            found.append(clip_example(spec, pose))
    check_examples(found)
    sources = [s.name for s in specs] + [str(p) for p in data]
    learned = learn(found, base,
                    base_path=None if base_model is None else str(base_file.resolve()),
                    base_sha256=file_sha256(base_file), keep=keep, threshold=threshold,
                    mirror=mirror, sources=sources)
    save_head(learned.head, out)
    return learned
