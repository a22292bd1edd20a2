"""A noise model of pipan's pose stage, and the augmentation that applies it to clean
skeletons.

The action model trains on clean skeletons (JHMDB's ground truth, synthetic motion) but at
run time reads what the pose stage gives it: the pose net's joints, decoded, tracked and
smoothed (``pipan.pipeline``). ``training.action.noise_footage`` runs that stage and a
teacher (BlazePose) over real footage and hands the pairs to :func:`fit_noise_model`, which
measures, in units of the teacher's body scale (``pipan.skeleton.body_frame``: the torso
length, the unit of the action model's features):

- per joint, after removing the whole skeleton's offset and scale: a robust standard
  deviation of the error (isotropic, from the median error length) and its time constant
  (the smoothing makes errors slow; an AR(1) process, from the lag-1 autocorrelation at
  each video's fps); the fraction of errors beyond ``TAIL_SIGMAS`` of it and ``MIN_TAIL``
  (heavy tails; a Gaussian has ``GAUSSIAN_TAIL``), their size and how long they last;
  and a constant bias (reported, not applied: the clean sources have their own joint
  conventions, which a bias against the teacher's would not fix);
- per joint, the rate at which the pose stage misses a joint the teacher sees (score 0, the
  runtime's "missing"), and how long such runs last;
- per left/right pair, the rate of swaps (each runtime joint nearer the teacher's other
  one, the two sides clearly apart), and how long swaps last;
- the whole skeleton's offset and log scale against the teacher's, with time constants;
- the scores the runtime gives present joints (per-joint quantiles, and a time constant);
- gaps: the fraction of frames inside a track's life in which the person is not reported
  at all (the action model is not called for them), and how long gaps last.

Durations are stored in seconds, so the model applies at any frame rate.
:func:`apply_pose_noise` turns a clean clip into one with these errors, in the runtime's
conventions: a missing joint has x = y = 0 and score 0, present scores lie in [1e-3, 1],
and a frame in which the person is not reported is left out of the clip (its index list
says which frames remain, so velocities span the real gap, as in ``pipan.action``).
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, NamedTuple, Optional, Sequence, Tuple

import numpy as np

from pipan.errors import PipanError
from pipan.skeleton import JOINT_INDEX, NUM_JOINTS, body_frame

FORMAT = "pipan-pose-noise/1"
#: Left/right joint pairs whose swaps are measured and applied.
SWAP_PAIRS: Tuple[Tuple[str, str], ...] = tuple(
    (f"left_{p}", f"right_{p}")
    for p in ("shoulder", "elbow", "wrist", "hip", "knee", "ankle", "eye", "ear"))
_LEFT = np.array([JOINT_INDEX[a] for a, _ in SWAP_PAIRS])
_RIGHT = np.array([JOINT_INDEX[b] for _, b in SWAP_PAIRS])
#: Joint groups for summaries (the model itself is per joint).
JOINT_GROUPS: Dict[str, Tuple[str, ...]] = {
    "head": ("nose", "right_eye", "left_eye", "right_ear", "left_ear"),
    "torso": ("neck", "right_shoulder", "left_shoulder", "right_hip", "left_hip"),
    "elbows": ("right_elbow", "left_elbow"),
    "wrists": ("right_wrist", "left_wrist"),
    "knees": ("right_knee", "left_knee"),
    "ankles": ("right_ankle", "left_ankle"),
}
#: An error beyond this many robust standard deviations is in the tail.
TAIL_SIGMAS = 3.0
#: ... and beyond this many body scales (an error under it is never gross).
MIN_TAIL = 0.05
#: P(|e| > TAIL_SIGMAS sigma) for a 2-D isotropic Gaussian: tails beyond it are heavy.
GAUSSIAN_TAIL = math.exp(-TAIL_SIGMAS ** 2 / 2)
#: Median length of a 2-D isotropic Gaussian error, in standard deviations.
_MEDIAN_NORM = math.sqrt(2 * math.log(2))
#: Joints both skeletons must have for a frame's offset, scale and per-joint errors.
MIN_COMMON = 6
#: A swap is counted only where the teacher's two joints are this far apart (body scales;
#: closer, as a body seen side-on, which is which is noise) and the crossed assignment is
#: at most SWAP_RATIO times as far as the direct one.
SWAP_MIN_SEPARATION = 0.25
SWAP_RATIO = 0.5
#: Score quantile levels stored per joint.
SCORE_LEVELS = np.linspace(0.0, 1.0, 11)
#: Scores are made from a latent Gaussian through the logistic approximation of its CDF,
#: Phi(z) ~ 1 / (1 + exp(-1.702 z)) (within 0.01), used both ways.
_LOGISTIC = 1.702
#: The lowest score a present joint gets at run time (pipan.decode).
MIN_PRESENT_SCORE = 1e-3


class PoseNoiseError(PipanError):
    """A noise-model file that cannot be read or is not a valid model."""


# --- the parameters -------------------------------------------------------------------

@dataclass(frozen=True)
class PoseNoise:
    """The measured errors of the pose stage (see the module docstring). Distances are in
    body scales, durations in seconds, rates are fractions of frames; per-joint arrays
    follow ``pipan.skeleton.COCO18``, per-pair arrays ``SWAP_PAIRS``."""

    jitter_sigma: np.ndarray  # (18,)
    jitter_tau_s: np.ndarray  # (18,)
    outlier_rate: np.ndarray  # (18,) beyond the Gaussian's own tail
    outlier_sigma: np.ndarray  # (18,) per axis, of an outlier's extra error
    outlier_run_s: float
    missing_rate: np.ndarray  # (18,)
    missing_run_s: float
    swap_rate: np.ndarray  # (8,)
    swap_run_s: float
    scale_log_mean: float
    scale_log_std: float
    scale_tau_s: float
    offset_mean: np.ndarray  # (2,)
    offset_std: np.ndarray  # (2,)
    offset_tau_s: float
    gap_rate: float
    gap_run_s: float
    score_quantiles: Optional[np.ndarray] = None  # (18, 11); None: scores kept
    score_tau_s: float = 0.0

    _JOINT = ("jitter_sigma", "jitter_tau_s", "outlier_rate", "outlier_sigma",
              "missing_rate")
    _SCALAR = ("outlier_run_s", "missing_run_s", "swap_run_s", "scale_log_mean",
               "scale_log_std", "scale_tau_s", "offset_tau_s", "gap_rate", "gap_run_s",
               "score_tau_s")

    @staticmethod
    def zero() -> "PoseNoise":
        """No noise at all: applying it leaves a clip unchanged."""
        z = np.zeros(NUM_JOINTS)
        return PoseNoise(z, z, z, z, 0.0, z, 0.0, np.zeros(len(SWAP_PAIRS)), 0.0, 0.0, 0.0,
                         0.0, np.zeros(2), np.zeros(2), 0.0, 0.0, 0.0)

    def to_dict(self) -> Dict:
        d = {}
        for name in self.__dataclass_fields__:
            v = getattr(self, name)
            d[name] = None if v is None else (
                np.round(np.asarray(v, np.float64), 5).tolist() if np.ndim(v)
                else round(float(v), 5))
        return d

    @staticmethod
    def from_dict(d: Dict) -> "PoseNoise":
        """Parameters from a parsed JSON object; PoseNoiseError says what is wrong."""
        if not isinstance(d, dict):
            raise PoseNoiseError("noise parameters must be a JSON object")
        shapes = {n: (NUM_JOINTS,) for n in PoseNoise._JOINT}
        shapes.update(swap_rate=(len(SWAP_PAIRS),), offset_mean=(2,), offset_std=(2,),
                      score_quantiles=(NUM_JOINTS, len(SCORE_LEVELS)))
        values = {}
        for name in PoseNoise.__dataclass_fields__:
            if name not in d:
                if name in ("score_quantiles", "score_tau_s"):
                    continue
                raise PoseNoiseError(f"noise parameters lack {name!r}")
            v = d[name]
            if v is None and name == "score_quantiles":
                continue
            try:
                a = np.asarray(v, np.float64)
            except (TypeError, ValueError):
                raise PoseNoiseError(f"noise parameter {name!r} is not numeric") from None
            want = shapes.get(name, ())
            if a.shape != want:
                raise PoseNoiseError(f"noise parameter {name!r} has shape {a.shape}, "
                                     f"expected {want}")
            if not np.all(np.isfinite(a)):
                raise PoseNoiseError(f"noise parameter {name!r} is not finite")
            values[name] = a if want else float(a)
        p = PoseNoise(**values)
        p.check()
        return p

    def check(self) -> None:
        """PoseNoiseError unless rates lie in [0, 1), and sizes and durations are >= 0."""
        for name in ("outlier_rate", "missing_rate", "swap_rate", "gap_rate"):
            a = np.asarray(getattr(self, name))
            if np.any(a < 0) or np.any(a >= 1):
                raise PoseNoiseError(f"noise parameter {name!r} must lie in [0, 1)")
        for name in ("jitter_sigma", "jitter_tau_s", "outlier_sigma", "outlier_run_s",
                     "missing_run_s", "swap_run_s", "scale_log_std", "scale_tau_s",
                     "offset_std", "offset_tau_s", "gap_run_s", "score_tau_s"):
            if np.any(np.asarray(getattr(self, name)) < 0):
                raise PoseNoiseError(f"noise parameter {name!r} must not be negative")
        q = self.score_quantiles
        if q is not None and (np.any(np.diff(q, axis=1) < 0) or np.any(q < 0)
                              or np.any(q > 1)):
            raise PoseNoiseError("score_quantiles must rise within [0, 1] per joint")


def load_noise(path) -> PoseNoise:
    """The parameters stored in a noise-model JSON (``params`` of what
    ``python -m training action noise-model`` writes)."""
    try:
        doc = json.loads(Path(path).read_text())
    except OSError as e:
        raise PoseNoiseError(f"{path}: cannot read ({e.strerror or e})") from None
    except ValueError as e:
        raise PoseNoiseError(f"{path}: not JSON ({e})") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT or "params" not in doc:
        raise PoseNoiseError(f"{path}: not a pose noise model ({FORMAT})")
    try:
        return PoseNoise.from_dict(doc["params"])
    except PoseNoiseError as e:
        raise PoseNoiseError(f"{path}: {e}") from None


# --- the augmentation -----------------------------------------------------------------

class NoisyClip(NamedTuple):
    """A clip as the runtime would feed it: ``keypoints`` ``(T', 18, 3)`` and ``frames``
    ``(T',)``, the indices of the input frames kept (the others were gaps)."""

    keypoints: np.ndarray
    frames: np.ndarray


def _ar1(rng: np.random.Generator, T: int, tau_s: np.ndarray, sigma: np.ndarray,
         fps: float) -> np.ndarray:
    """``(T, K)`` stationary AR(1) processes with standard deviations ``sigma`` (K,) and
    time constants ``tau_s`` (K,) seconds at ``fps``."""
    tau = np.asarray(tau_s, np.float64)
    phi = np.where(tau > 0, np.exp(-1.0 / (np.maximum(tau, 1e-9) * fps)), 0.0)
    sigma = np.asarray(sigma, np.float64)
    eps = rng.standard_normal((T, len(sigma)))
    innov = np.sqrt(1.0 - phi * phi) * sigma
    x = np.empty_like(eps)
    x[0] = sigma * eps[0]
    for t in range(1, T):
        x[t] = phi * x[t - 1] + innov * eps[t]
    return x


def _markov(rng: np.random.Generator, T: int, rate: np.ndarray, run_s: np.ndarray,
            fps: float, start: np.ndarray) -> np.ndarray:
    """``(T, K)`` on/off chains on ``rate`` of the frames in runs of ``run_s`` seconds on
    average (at least a frame); ``start``: (K,) whether a chain may start on (at its
    stationary rate) or starts off."""
    rate = np.asarray(rate, np.float64)
    frames = np.maximum(np.asarray(run_s, np.float64) * fps, 1.0)
    stay = 1.0 - 1.0 / frames
    enter = np.clip(rate * (1.0 - stay) / np.maximum(1.0 - rate, 1e-9), 0.0, 1.0)
    u = rng.random((T, len(rate)))
    on = np.empty((T, len(rate)), bool)
    on[0] = start & (u[0] < rate)
    for t in range(1, T):
        on[t] = np.where(on[t - 1], u[t] < stay, u[t] < enter)
    return on


def apply_pose_noise(clip: np.ndarray, rng: np.random.Generator, params: PoseNoise,
                     fps: float = 30.0) -> NoisyClip:
    """A clean COCO-18 clip ``(T, 18, 3)`` (x, y in any consistent unit, score; score 0 =
    missing) filmed at ``fps`` -> the clip with the pose stage's errors (module docstring).

    Errors scale with the person's size (per frame, the clip's body scale held within
    half and twice its median). Left/right swaps, missing joints, outliers and gaps come in
    runs; jitter, offset, scale and scores drift (AR(1)). Joints missing in the clean clip
    stay missing. The first frame is never a gap. Same ``rng`` state, same output."""
    kp = np.array(clip, np.float32)
    if kp.ndim != 3 or kp.shape[1:] != (NUM_JOINTS, 3):
        raise ValueError(f"a clip must have shape (T, {NUM_JOINTS}, 3), got {kp.shape}")
    if not fps > 0:
        raise ValueError(f"fps must be positive, got {fps}")
    T, J, _ = kp.shape
    if T == 0:
        return NoisyClip(kp, np.zeros(0, np.int64))
    p = params
    P = len(SWAP_PAIRS)
    centre, scale = body_frame(kp)
    seen = (kp[..., 2] > 0).any(-1)
    median = float(np.median(scale[seen])) if seen.any() else 1.0
    size = np.clip(scale, 0.5 * median, 2.0 * median).astype(np.float64)  # (T,)

    # one draw of every random process, in a fixed order
    drift = _ar1(rng, T,
                 np.concatenate([np.repeat(p.jitter_tau_s, 2), [p.offset_tau_s] * 2,
                                 [p.scale_tau_s], np.full(J, p.score_tau_s)]),
                 np.concatenate([np.repeat(p.jitter_sigma, 2), p.offset_std,
                                 [p.scale_log_std], np.ones(J)]), fps)
    jitter = drift[:, :2 * J].reshape(T, J, 2)
    offset = drift[:, 2 * J:2 * J + 2] + p.offset_mean
    log_scale = drift[:, 2 * J + 2] + p.scale_log_mean
    latent = drift[:, 2 * J + 3:]
    chains = _markov(
        rng, T,
        np.concatenate([p.swap_rate, p.outlier_rate, p.missing_rate, [p.gap_rate]]),
        np.concatenate([np.full(P, p.swap_run_s), np.full(J, p.outlier_run_s),
                        np.full(J, p.missing_run_s), [p.gap_run_s]]),
        fps, np.concatenate([np.ones(2 * J + P, bool), [False]]))
    swapped, outlier = chains[:, :P], chains[:, P:P + J]
    missing, gap = chains[:, P + J:P + 2 * J], chains[:, -1]
    jumps = rng.standard_normal((T, J, 2)) * p.outlier_sigma[:, None]

    # left/right swaps: joint j of the output takes joint idx[t, j] of the input
    idx = np.tile(np.arange(J), (T, 1))
    idx[:, _LEFT] = np.where(swapped, _RIGHT, _LEFT)
    idx[:, _RIGHT] = np.where(swapped, _LEFT, _RIGHT)
    kp = np.take_along_axis(kp, idx[..., None], axis=1)
    present = kp[..., 2] > 0

    # an outlier keeps the jump drawn when its run started
    starts = outlier & ~np.vstack([np.zeros((1, J), bool), outlier[:-1]])
    first = np.maximum.accumulate(np.where(starts, np.arange(T)[:, None], 0), axis=0)
    held = np.where(outlier[..., None], jumps[first, np.arange(J)[None, :]], 0.0)

    xy = kp[..., :2].astype(np.float64)
    rel = xy - centre[:, None, :]
    xy = (xy + np.expm1(log_scale)[:, None, None] * rel
          + size[:, None, None] * (offset[:, None, :] + jitter + held))
    present &= ~missing
    if p.score_quantiles is not None:
        u = 1.0 / (1.0 + np.exp(-_LOGISTIC * latent))  # (T, J) in (0, 1)
        pos = u * (len(SCORE_LEVELS) - 1)
        i = np.minimum(pos.astype(np.int64), len(SCORE_LEVELS) - 2)
        frac = pos - i
        q = np.asarray(p.score_quantiles, np.float64)
        joints = np.arange(J)[None, :]
        score = q[joints, i] * (1 - frac) + q[joints, i + 1] * frac
        kp[..., 2] = np.clip(score, MIN_PRESENT_SCORE, 1.0)
    kp[..., :2] = np.where(present[..., None], xy, 0.0)
    kp[..., 2] = np.where(present, kp[..., 2], 0.0)
    gap[0] = False
    frames = np.flatnonzero(~gap)
    return NoisyClip(kp[frames].astype(np.float32), frames.astype(np.int64))


# --- measurement --------------------------------------------------------------------------

@dataclass
class TrackSeries:
    """One tracked person over consecutive frames of one video, as the runtime reported it
    and as the teacher saw it.

    ``pred`` ``(T, 18, 3)``: the keypoints the runtime fed its action model (zeros where
    not reported); ``ref`` ``(T, 18, 3)``: the teacher person matched to it (joints the
    teacher does not see, and unmatched frames, are zeros); ``reported`` ``(T,)``: the
    runtime reported the person in the frame; ``fps``: the video's frame rate."""

    pred: np.ndarray
    ref: np.ndarray
    reported: np.ndarray
    fps: float
    video: str = ""


@dataclass
class FrameErrors:
    """Per-frame comparison of runtime and teacher skeletons (:func:`compare`)."""

    valid: np.ndarray  # (T,) matched with >= MIN_COMMON joints in common, non-degenerate
    resid: np.ndarray  # (T, 18, 2) body scales, NaN where not measured
    offset: np.ndarray  # (T, 2) body scales, NaN where not valid
    log_scale: np.ndarray  # (T,) NaN where not valid
    missing: np.ndarray  # (T, 18) the teacher sees the joint, the runtime does not
    missing_counted: np.ndarray  # (T, 18) the teacher sees the joint in a matched frame
    swapped: np.ndarray  # (T, 8)
    swap_counted: np.ndarray  # (T, 8)


def compare(pred: np.ndarray, ref: np.ndarray) -> FrameErrors:
    """Errors of runtime skeletons ``pred`` against teacher skeletons ``ref`` (both
    ``(T, 18, 3)``, pixels; a frame is matched when both have a joint), in the teacher's
    body scales. Swapped pairs are counted, then undone before the per-joint errors."""
    pred = np.asarray(pred, np.float64)
    ref = np.asarray(ref, np.float64)
    T = len(pred)
    ref_on, pred_on = ref[..., 2] > 0, pred[..., 2] > 0
    matched = ref_on.any(-1) & pred_on.any(-1)
    _, size = body_frame(ref.astype(np.float32))
    size = size.astype(np.float64)

    def dist(a, b):
        return np.linalg.norm(a - b, axis=-1)

    # the joints both have share a centroid that no swap moves (a swap needs both joints
    # of a pair): swaps are judged with the skeletons' offset taken out
    common = ref_on & pred_on
    n = common.sum(-1)
    w = common[..., None]
    nn = np.maximum(n, 1)[:, None]
    cp = (pred[..., :2] * w).sum(1) / nn
    cr = (ref[..., :2] * w).sum(1) / nn
    pl, pr = pred[:, _LEFT, :2] - cp[:, None], pred[:, _RIGHT, :2] - cp[:, None]
    tl, tr = ref[:, _LEFT, :2] - cr[:, None], ref[:, _RIGHT, :2] - cr[:, None]
    both = ref_on[:, _LEFT] & ref_on[:, _RIGHT] & pred_on[:, _LEFT] & pred_on[:, _RIGHT]
    swap_counted = both & (dist(tl, tr) >= SWAP_MIN_SEPARATION * size[:, None])
    swapped = swap_counted & (dist(pl, tr) + dist(pr, tl)
                              < SWAP_RATIO * (dist(pl, tl) + dist(pr, tr)))
    idx = np.tile(np.arange(NUM_JOINTS), (T, 1))
    idx[:, _LEFT] = np.where(swapped, _RIGHT, _LEFT)
    idx[:, _RIGHT] = np.where(swapped, _LEFT, _RIGHT)
    fixed = np.take_along_axis(pred, idx[..., None], axis=1)

    common = ref_on & (fixed[..., 2] > 0)  # the same joints as before the swaps
    dp = fixed[..., :2] - cp[:, None]
    dr = ref[..., :2] - cr[:, None]
    spread_p = np.sqrt(((dp ** 2).sum(-1) * common).sum(-1) / nn[:, 0])
    spread_r = np.sqrt(((dr ** 2).sum(-1) * common).sum(-1) / nn[:, 0])
    valid = matched & (n >= MIN_COMMON) & (spread_r > 0.1 * size) & (spread_p > 0)
    k = np.where(valid, spread_p / np.where(valid, spread_r, 1.0), 1.0)
    resid = (dp - k[:, None, None] * dr) / size[:, None, None]
    resid[~(common & valid[:, None])] = np.nan
    offset = np.where(valid[:, None], (cp - cr) / size[:, None], np.nan)
    log_scale = np.where(valid, np.log(k), np.nan)
    counted = ref_on & matched[:, None]
    return FrameErrors(valid, resid, offset, log_scale, counted & ~pred_on, counted,
                       swapped, swap_counted)


def _lag1(x: np.ndarray, ok: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Lag-1 autocorrelation over the first axis of ``x`` ``(T, K)`` or ``(T, K, C)``
    (pooling the C channels), from the pairs of consecutive frames both ``ok`` ``(T, K)``;
    returns it per K with the number of pairs. ``x`` is taken as centred."""
    x = np.asarray(x, np.float64)
    if x.ndim == 2:
        x = x[..., None]
    pair = (ok[1:] & ok[:-1])[..., None]
    a = np.where(pair, x[1:], 0.0)
    b = np.where(pair, x[:-1], 0.0)
    sab, saa, sbb = (a * b).sum((0, 2)), (a * a).sum((0, 2)), (b * b).sum((0, 2))
    rho = sab / np.sqrt(np.maximum(saa * sbb, 1e-300))
    return rho, pair[..., 0].sum(0)


def _tau(parts: Sequence[Tuple[np.ndarray, np.ndarray, float]]) -> np.ndarray:
    """Time constants (seconds) from per-video lag-1 autocorrelations: each (rho, pairs,
    fps) gives a decay rate -fps ln(rho); rates are averaged weighted by pairs."""
    rates = [(-fps * np.log(np.clip(rho, 1e-3, 0.999)), n) for rho, n, fps in parts]
    num = sum(r * n for r, n in rates)
    den = sum(n for _, n in rates)
    return np.where(den > 0, 1.0 / np.maximum(num / np.maximum(den, 1), 1e-9), 0.0)


def _runs(on: np.ndarray, ok: np.ndarray) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(frames on, frames counted, runs started) per column of ``(T, K)`` indicators,
    counting only ``ok`` frames; a run is broken by a frame not ok."""
    on = on & ok
    prev = np.vstack([np.zeros((1,) + on.shape[1:], bool), on[:-1]])
    return on.sum(0), ok.sum(0), (on & ~prev).sum(0)


def _robust_std(x: np.ndarray) -> float:
    x = x[np.isfinite(x)]
    return float(1.4826 * np.median(np.abs(x - np.median(x)))) if len(x) else 0.0


def _join(series: Sequence[TrackSeries]) -> Tuple[TrackSeries, np.ndarray]:
    """Series of one frame rate end to end, a blank (unreported, unmatched) frame between
    two, so that no pair of consecutive frames spans two tracks; and the ``(T,)`` mask of
    the frames that belong to a track's life (all but the blanks)."""
    blank = np.zeros((1, NUM_JOINTS, 3))
    pred = np.concatenate([a for s in series for a in (s.pred, blank)])
    ref = np.concatenate([a for s in series for a in (s.ref, blank)])
    rep = np.concatenate([a for s in series for a in (s.reported, np.zeros(1, bool))])
    life = np.concatenate([a for s in series
                           for a in (np.ones(len(s.reported), bool), np.zeros(1, bool))])
    return TrackSeries(pred, ref, rep, series[0].fps), life


def fit_noise_model(series: Sequence[TrackSeries]) -> Tuple[PoseNoise, Dict]:
    """The noise model measured on tracked people against the teacher, and a summary
    (counts, per-joint figures the model does not apply: bias, raw tail fraction)."""
    if not series:
        raise PoseNoiseError("no tracked person to measure")
    by_fps: Dict[float, List[TrackSeries]] = {}
    for s in series:
        by_fps.setdefault(float(s.fps), []).append(s)
    joined = [(fps, _join(ss)) for fps, ss in sorted(by_fps.items())]
    groups = [(fps, g) for fps, (g, _) in joined]
    lives = [life for _, (_, life) in joined]
    errs = [(fps, g, compare(g.pred, g.ref)) for fps, g in groups]

    resid = np.concatenate([e.resid for _, _, e in errs])  # (N, 18, 2)
    if not np.isfinite(resid).any():
        raise PoseNoiseError("no frame where the runtime and the teacher share "
                             f"{MIN_COMMON} joints: nothing to measure")
    bias = np.nanmedian(resid, axis=0)  # (18, 2)
    bias = np.where(np.isfinite(bias), bias, 0.0)
    norm = np.linalg.norm(resid - bias, axis=-1)  # (N, 18), NaN where not measured
    sigma = np.array([np.nanmedian(c) / _MEDIAN_NORM if np.isfinite(c).any() else 0.0
                      for c in norm.T])
    limit = np.maximum(TAIL_SIGMAS * sigma, MIN_TAIL)
    tail = norm > limit
    measured = np.isfinite(norm)
    tail_frac = tail.sum(0) / np.maximum(measured.sum(0), 1)
    tail_sigma = np.array([math.sqrt(float(np.mean(norm[tail[:, j], j] ** 2)) / 2)
                           if tail[:, j].any() else 0.0 for j in range(NUM_JOINTS)])

    jit_parts, miss, swap, outl, gaps, off_parts = [], [], [], [], [], []
    for (fps, g, e), life in zip(errs, lives):
        r = e.resid - bias
        n = np.linalg.norm(r, axis=-1)
        core = np.isfinite(n) & (n <= limit)
        rho, pairs = _lag1(np.where(core[..., None], r, 0.0), core)
        jit_parts.append((rho, pairs, fps))
        outl.append((_runs(n > limit, np.isfinite(n)), fps))
        miss.append((_runs(e.missing, e.missing_counted), fps))
        swap.append((_runs(e.swapped, e.swap_counted), fps))
        gaps.append((_runs(~g.reported[:, None], life[:, None]), fps))
        ok = e.valid
        cen = np.column_stack([e.offset - np.nanmedian(e.offset, 0),
                               e.log_scale - np.nanmedian(e.log_scale)])
        off_parts.append(_lag1(np.where(ok[:, None], cen, 0.0),
                               np.repeat(ok[:, None], 3, 1)) + (fps,))
    offsets = np.concatenate([e.offset for _, _, e in errs])
    logs = np.concatenate([e.log_scale for _, _, e in errs])
    off_tau = _tau(off_parts)

    scores, score_q, score_tau = _scores(groups)

    def pooled(parts):
        on = sum(p[0][0] for p in parts)
        counted = sum(p[0][1] for p in parts)
        runs = sum(p[0][2] for p in parts)
        seconds = sum(p[0][0].sum() / p[1] for p in parts)
        rate = on / np.maximum(counted, 1)
        run_s = float(seconds / max(int(np.sum(runs)), 1))
        return rate, run_s, on, counted

    miss_rate, miss_run, _, miss_n = pooled(miss)
    swap_rate, swap_run, swap_on, swap_n = pooled(swap)
    _, out_run, _, _ = pooled(outl)
    gap_rate, gap_run, _, life_n = pooled(gaps)
    params = PoseNoise(
        jitter_sigma=sigma, jitter_tau_s=_tau(jit_parts),
        outlier_rate=np.clip(tail_frac - GAUSSIAN_TAIL, 0.0, 0.99),
        outlier_sigma=tail_sigma, outlier_run_s=out_run,
        missing_rate=np.clip(miss_rate, 0.0, 0.99), missing_run_s=miss_run,
        swap_rate=np.clip(swap_rate, 0.0, 0.99), swap_run_s=swap_run,
        scale_log_mean=float(np.nanmedian(logs)), scale_log_std=_robust_std(logs),
        scale_tau_s=float(off_tau[2]),
        offset_mean=np.nanmedian(offsets, 0), offset_std=np.array(
            [_robust_std(offsets[:, 0]), _robust_std(offsets[:, 1])]),
        offset_tau_s=float(off_tau[:2].mean()),
        gap_rate=float(np.clip(gap_rate[0], 0.0, 0.99)), gap_run_s=gap_run,
        score_quantiles=score_q, score_tau_s=score_tau)
    params.check()
    summary = {
        "tracks": len(series),
        "reported_frames": int(sum(s.reported.sum() for s in series)),
        "matched_frames": int(sum(e.missing_counted.any(-1).sum() for _, _, e in errs)),
        "measured_frames": int(sum(e.valid.sum() for _, _, e in errs)),
        "track_life_frames": int(life_n[0]),
        "joint_errors": measured.sum(0).astype(int).tolist(),
        "bias": np.round(bias, 4).tolist(),
        "tail_fraction": np.round(tail_frac, 4).tolist(),
        "missing_counted": miss_n.astype(int).tolist(),
        "swap_counted": swap_n.astype(int).tolist(),
        "swap_frames": swap_on.astype(int).tolist(),
        "present_scores": int(scores),
    }
    return params, summary


def _scores(groups) -> Tuple[int, np.ndarray, float]:
    """(present joints, per-joint score quantiles (18, 11), latent time constant s)."""
    pooled = [np.concatenate([g.pred[g.reported & (g.pred[..., 2] > 0).any(-1), j, 2]
                              for _, g in groups]) for j in range(NUM_JOINTS)]
    pooled = [s[s > 0] for s in pooled]
    q = np.array([np.quantile(s, SCORE_LEVELS) if len(s) else np.ones(len(SCORE_LEVELS))
                  for s in pooled])
    sorted_scores = [np.sort(s) for s in pooled]
    parts = []
    for fps, g in groups:
        on = g.reported[:, None] & (g.pred[..., 2] > 0)
        z = np.zeros(on.shape)
        for j in range(NUM_JOINTS):
            s = sorted_scores[j]
            if not len(s):
                continue
            u = (np.searchsorted(s, g.pred[:, j, 2], side="left")
                 + np.searchsorted(s, g.pred[:, j, 2], side="right")) / 2 + 0.5
            u = u / (len(s) + 1)
            z[:, j] = np.log(u / (1 - u)) / _LOGISTIC
        rho, pairs = _lag1(np.where(on, z, 0.0), on)
        parts.append((np.array([np.sum(rho * pairs) / max(pairs.sum(), 1)]),
                      np.array([pairs.sum()]), fps))
    return sum(len(s) for s in pooled), q, float(_tau(parts)[0])
