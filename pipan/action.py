"""Online action recognition per tracked person: the streaming form of the pose-attention
network (architecture note, "Online form"), numpy only.

Each step of the model maps (features_t, h_(t-1)) to (h_t, e_t, logits_t). Frame attention
over the frames seen so far is a softmax-weighted running mean of the logits, kept per
person in O(1) state: running maximum m of the scores, numerator n = sum exp(e_i - m)
logits_i and denominator d = sum exp(e_i - m). softmax(n / d) then equals the offline
model's prediction on frames 1..t. A ``decay`` < 1 multiplies n and d by ``decay`` every
frame (older frames fade with half-life log(0.5)/log(decay) frames); a ``window`` of W
frames attends over the last W frames only (O(W) state). Both let a live stream forget
old actions; the recurrent state h itself is never reset (``forget`` does that).

A model with a statistics head (docs/action.md, "Statistics head") also takes ``stats`` (1, 144),
the running mean and standard deviation of each joint's position and velocity over the
frames seen so far (:func:`pipan.skeleton.clip_stats`), kept per person as a weighted
count, sum and sum of squares (under the same decay or window), and returns
``stats_logits`` (1, C), which add to the attended logits before the softmax.

With ``embed=True`` the recognizer also keeps, per person, the attended hidden state
v = sum alpha_i h_i (the same softmax-weighted running mean, over the step's ``h`` output;
the classifier's logits are W_c v + b_c) and the running statistics, whatever the step
takes: :meth:`StreamingAction.descriptor` returns them, the input of a learned head
(``pipan.head``).
"""
from __future__ import annotations

import math
import os
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import (Callable, Deque, Dict, Hashable, Mapping, Optional, Sequence, Tuple,
                    Union)

import numpy as np

from .errors import ModelError, PipanError
from .skeleton import (NUM_FEATURES, NUM_JOINTS, NUM_STATS, elapsed_frames, frame_features,
                       pooled_stats, stat_values)

DEFAULT_MODEL = Path(__file__).resolve().parent / "models" / "action.tflite"

#: A step function: keyword inputs ``features`` (1, 18, 5) and ``h_prev`` (1, H), float32;
#: returns a mapping with ``h`` (1, H), ``score`` (1, 1) and ``logits`` (1, C). A step with a
#: statistics head also takes ``stats`` (1, 144) and returns ``stats_logits`` (1, C).
StepFn = Callable[..., Mapping[str, np.ndarray]]


@dataclass
class _TrackState:
    """Everything remembered about one person between frames."""

    h: np.ndarray  # (1, H) float32, the GRU state
    previous: Optional[np.ndarray] = None  # (18, 3) keypoints one frame ago (velocities)
    previous_time: Optional[float] = None  # seconds, when the caller gives time stamps
    m: float = -np.inf  # running max of the attention scores
    n: Optional[np.ndarray] = None  # (C,) float64 numerator
    d: float = 0.0  # denominator
    recent: Deque[Tuple[float, np.ndarray, Optional[np.ndarray]]] = field(
        default_factory=deque)  # window mode: (e, logits, stat values) per frame
    frames: int = 0
    # statistics head: weighted frame count, sum and sum of squares of the stat values
    s_weight: float = 0.0
    s_sum: Optional[np.ndarray] = None  # (72,) float64
    s_sq: Optional[np.ndarray] = None
    pooled: Optional[np.ndarray] = None  # (144,) float32, the running statistics now
    nh: Optional[np.ndarray] = None  # (H,) float64 numerator of the attended hidden state


def softmax(x: np.ndarray) -> np.ndarray:
    """Numerically stable softmax over the last axis, float32."""
    z = np.asarray(x, np.float64)
    z = np.exp(z - z.max(-1, keepdims=True))
    return (z / z.sum(-1, keepdims=True)).astype(np.float32)


def step_takes_stats(step: StepFn) -> bool:
    """Whether a step function has a statistics head: its input names (a TFLiteModel's
    ``input_details``, a Keras step function's ``input_names``) include ``stats``."""
    names = getattr(step, "input_details", None) or getattr(step, "input_names", ()) or ()
    return "stats" in names


class StreamingAction:
    """The streaming logic over any step function (a TFLite model or a Keras step model).

    ``labels``: class names, in the model's output order; ``hidden``: the GRU state size H;
    ``stats``: whether the step has a statistics head (default: ask the step,
    :func:`step_takes_stats`); ``embed``: keep each person's :meth:`descriptor`.
    """

    def __init__(self, step: StepFn, labels: Sequence[str], hidden: int,
                 decay: float = 1.0, window: Optional[int] = None,
                 stats: Optional[bool] = None, embed: bool = False):
        if not 0.0 < decay <= 1.0:
            raise PipanError(f"decay must be in (0, 1], got {decay}")
        if window is not None and window < 1:
            raise PipanError(f"window must be at least 1 frame, got {window}")
        if embed and window is not None:
            raise PipanError("a learned head needs the running attention (decay), "
                             "not a window")
        self.step = step
        self.labels: Tuple[str, ...] = tuple(str(s) for s in labels)
        self.hidden = int(hidden)
        self.decay = float(decay)
        self.window = window
        self.stats = step_takes_stats(step) if stats is None else bool(stats)
        self.embed = bool(embed)
        self._tracks: Dict[Hashable, _TrackState] = {}

    @property
    def num_classes(self) -> int:
        return len(self.labels)

    def update(self, track_id: Hashable, keypoints: np.ndarray,
               time: Optional[float] = None) -> np.ndarray:
        """Feed one frame of one person (COCO-18 ``(18, 3)``: x, y pixels, score) and return
        the class probabilities ``(C,)`` for that person's actions so far.

        ``time``: the frame's time stamp in seconds. With stamps, velocities are measured
        over the real gap since this person's previous frame (a 15 fps source, skipped
        frames, a missed detection); without them, frames are taken to be 1/30 s apart."""
        kp = np.asarray(keypoints, np.float32)
        if kp.shape != (NUM_JOINTS, 3):
            raise PipanError(f"keypoints must have shape ({NUM_JOINTS}, 3) (COCO-18 x, y, "
                             f"score), got {kp.shape}")
        st = self._tracks.get(track_id)
        if st is None:
            st = self._tracks[track_id] = _TrackState(h=np.zeros((1, self.hidden), np.float32))
        gap = None if time is None or st.previous_time is None else time - st.previous_time
        feats = frame_features(kp, st.previous, elapsed_frames(gap))[None]
        inputs = {"features": feats, "h_prev": st.h}
        values = None
        if self.stats or self.embed:
            values = stat_values(feats[0]).astype(np.float64)
            st.pooled = self._pool(st, values)
            if self.stats:
                inputs["stats"] = st.pooled[None]
        out = self.step(**inputs)
        st.h = np.asarray(out["h"], np.float32).reshape(1, self.hidden)
        e = float(np.asarray(out["score"]).reshape(-1)[0])
        logits = np.asarray(out["logits"], np.float64).reshape(-1)
        if logits.shape[0] != self.num_classes:
            raise ModelError(f"the model gives {logits.shape[0]} classes but has "
                             f"{self.num_classes} labels")
        extra = 0.0
        if self.stats:
            if "stats_logits" not in out:
                raise ModelError("the model takes running statistics but gives no "
                                 "'stats_logits'")
            extra = np.asarray(out["stats_logits"], np.float64).reshape(-1)
        st.previous, st.previous_time = kp, time
        st.frames += 1
        if self.window is not None:
            st.recent.append((e, logits, values))
            if len(st.recent) > self.window:
                st.recent.popleft()
            es = np.array([r[0] for r in st.recent])
            ages = np.arange(len(es))[::-1]
            w = np.exp(es - es.max()) * self.decay ** ages
            mean = (w[:, None] * np.stack([r[1] for r in st.recent])).sum(0) / w.sum()
            return softmax(mean + extra)
        # Running softmax-weighted mean, rescaled whenever a new maximum arrives.
        m_new = max(st.m, e)
        rescale = math.exp(st.m - m_new) * self.decay if st.n is not None else 0.0
        w = math.exp(e - m_new)
        st.n = (st.n * rescale if st.n is not None else 0.0) + w * logits
        st.d = st.d * rescale + w
        st.m = m_new
        if self.embed:
            h = st.h[0].astype(np.float64)
            st.nh = (st.nh * rescale if st.nh is not None else 0.0) + w * h
        return softmax(st.n / st.d + extra)

    def clip_descriptor(self, keypoints: np.ndarray,
                        times: Optional[np.ndarray] = None) -> np.ndarray:
        """What :meth:`descriptor` gives after streaming a whole clip ``(T, 18, 3)`` (frame
        ``times`` in seconds, or None for 30 fps) as one fresh person, with the per-frame
        features, attention and statistics computed for the whole clip at once (only the
        steps run one by one). No forgetting: a recognizer with ``decay`` 1 only."""
        if not self.embed or self.decay != 1.0:
            raise PipanError("clip_descriptor() needs embed=True and decay 1")
        kp = np.asarray(keypoints, np.float32)
        T = len(kp)
        if kp.ndim != 3 or kp.shape[1:] != (NUM_JOINTS, 3) or T == 0:
            raise PipanError(f"a clip must have shape (T>0, {NUM_JOINTS}, 3), got {kp.shape}")
        elapsed = np.ones(T)
        if times is not None and T > 1:
            elapsed[1:] = [elapsed_frames(g) for g in np.diff(np.asarray(times, np.float64))]
        prev = np.concatenate([np.zeros_like(kp[:1]), kp[:-1]])
        feats = frame_features(kp, prev, elapsed).astype(np.float32)
        values = stat_values(feats).astype(np.float64)
        n = np.arange(1, T + 1, dtype=np.float64)
        pooled = pooled_stats(n, np.cumsum(values, 0), np.cumsum(values * values, 0))
        h = np.zeros((1, self.hidden), np.float32)
        hs, es = np.zeros((T, self.hidden), np.float64), np.zeros(T)
        for t in range(T):
            inputs = {"features": feats[t][None], "h_prev": h}
            if self.stats:
                inputs["stats"] = pooled[t][None]
            out = self.step(**inputs)
            h = np.asarray(out["h"], np.float32).reshape(1, self.hidden)
            hs[t] = h[0]
            es[t] = float(np.asarray(out["score"]).reshape(-1)[0])
        w = np.exp(es - es.max())
        return np.concatenate([(w[:, None] * hs).sum(0) / w.sum(),
                               np.asarray(pooled[-1], np.float64)])

    def descriptor(self, track_id: Hashable) -> np.ndarray:
        """``(H + 144,)`` float64: the person's attended hidden state, then their running
        statistics (mean and standard deviation of each joint's position and velocity),
        after the frames fed so far (``embed=True`` only)."""
        if not self.embed:
            raise PipanError("descriptor() needs a recognizer made with embed=True")
        st = self._tracks.get(track_id)
        if st is None or st.nh is None:
            raise PipanError(f"no frame of person {track_id!r} has been seen")
        return np.concatenate([st.nh / st.d, np.asarray(st.pooled, np.float64)])

    def _pool(self, st: _TrackState, values: np.ndarray) -> np.ndarray:
        """Fold this frame's stat ``values`` (72,) into the person's running statistics
        and return them pooled, ``(144,)`` float32. Older frames weigh decay^age, as in the
        frame attention; in window mode only the last ``window`` frames count."""
        if self.window is not None:
            kept = [r[2] for r in list(st.recent)[-(self.window - 1):]] if self.window > 1 else []
            v = np.stack(kept + [values])
            w = self.decay ** np.arange(len(v))[::-1].astype(np.float64)
            return pooled_stats(w.sum(), (w[:, None] * v).sum(0), (w[:, None] * v * v).sum(0))
        if st.s_sum is None:
            st.s_sum, st.s_sq = np.zeros_like(values), np.zeros_like(values)
        st.s_weight = st.s_weight * self.decay + 1.0
        st.s_sum = st.s_sum * self.decay + values
        st.s_sq = st.s_sq * self.decay + values * values
        return pooled_stats(st.s_weight, st.s_sum, st.s_sq)

    def forget(self, track_id: Hashable) -> None:
        """Drop a person's state (a track that ended); unknown ids are ignored."""
        self._tracks.pop(track_id, None)

    def reset(self) -> None:
        """Forget everyone."""
        self._tracks.clear()

    @property
    def tracks(self) -> Tuple[Hashable, ...]:
        return tuple(self._tracks)

    def run_clip(self, keypoints: np.ndarray, track_id: Hashable = "__clip__") -> np.ndarray:
        """Stream a whole clip ``(T, 18, 3)`` as one fresh person; returns ``(T, C)``
        probabilities (row t = the prediction after frames 1..t). The track is forgotten
        before and after."""
        return stream_clip(self, keypoints, track_id)


def stream_clip(recognizer, keypoints: np.ndarray, track_id: Hashable = "__clip__"
                ) -> np.ndarray:
    """A whole clip ``(T, 18, 3)`` through ``recognizer`` (``update``, ``forget``,
    ``num_classes``) as one fresh person: ``(T, C)`` probabilities, row t after frames
    1..t; the track is forgotten before and after."""
    kp = np.asarray(keypoints, np.float32)
    if kp.ndim != 3 or kp.shape[1:] != (NUM_JOINTS, 3):
        raise PipanError(f"a clip must have shape (T, {NUM_JOINTS}, 3), got {kp.shape}")
    recognizer.forget(track_id)
    try:
        return np.stack([recognizer.update(track_id, k) for k in kp]) if len(kp) else \
            np.zeros((0, recognizer.num_classes), np.float32)
    finally:
        recognizer.forget(track_id)


class ActionRecognizer(StreamingAction):
    """Online action recognition with the int8 step model (TFLite, LiteRT).

    ``model_path``: a pipan action model (``.tflite`` with pipan metadata); default the
    bundled ``pipan/models/action.tflite``. ``threads``: interpreter threads (default
    ``pipan.runtime.default_threads()``). ``decay``/``window``/``embed``: see the module
    docstring.
    """

    def __init__(self, model_path: Union[str, os.PathLike, None] = None,
                 threads: Optional[int] = None, decay: float = 1.0,
                 window: Optional[int] = None, embed: bool = False):
        from .runtime import TFLiteModel

        path = Path(model_path) if model_path is not None else DEFAULT_MODEL
        if model_path is None and not path.is_file():
            raise ModelError(f"no bundled action model at {path}; pass a model path "
                             f"(make one with `pipan convert`)")
        self.model = TFLiteModel(path, threads=threads, expected_kind="action")
        meta = self.model.metadata
        labels = meta.get("labels")
        if not labels:
            raise ModelError(f"{path}: its metadata has no class labels")
        for name, shape in (("features", (1, NUM_JOINTS, NUM_FEATURES)), ("h_prev", None)):
            if name not in self.model.input_details:
                raise ModelError(f"{path}: not an action step model (no input {name!r})")
        missing = {"h", "score", "logits"} - set(self.model.output_details)
        if missing:
            raise ModelError(f"{path}: not an action step model (no output(s) "
                             f"{', '.join(sorted(missing))})")
        if self.model.input_shape("features") != (1, NUM_JOINTS, NUM_FEATURES):
            raise ModelError(f"{path}: input 'features' has shape "
                             f"{self.model.input_shape('features')}, expected "
                             f"{(1, NUM_JOINTS, NUM_FEATURES)}")
        stats = step_takes_stats(self.model)
        if stats and (self.model.input_shape("stats") != (1, NUM_STATS)
                      or "stats_logits" not in self.model.output_details):
            raise ModelError(f"{path}: input 'stats' must have shape {(1, NUM_STATS)} and "
                             f"come with an output 'stats_logits'")
        hidden = self.model.input_shape("h_prev")[-1]
        super().__init__(self.model, labels, hidden, decay=decay, window=window, stats=stats,
                         embed=embed)
        self.metadata = meta
        self.path = path
