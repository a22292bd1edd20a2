"""Per-track keypoint smoothing: a One-Euro filter (Casiez et al., CHI 2012) per joint.

The pose net's joints jitter by a few pixels from frame to frame. The action model reads
per-frame velocities, so that jitter looks like fast motion (a still person "runs"). A
One-Euro filter is a first-order low-pass filter whose cutoff rises with the joint's speed:
still joints are smoothed hard (little jitter), fast ones barely (little lag).

Per joint j of a track, at time t (seconds) with dt since the track's last update::

    dx   = (x_t - xhat_prev) / dt                     # raw velocity, pixels/s
    dhat = lerp(dhat_prev, dx, alpha(d_cutoff, dt))   # smoothed velocity
    fc   = min_cutoff + beta * |dhat| / scale         # Hz; speed in body scales per second
    xhat = lerp(xhat_prev, x_t, alpha(fc, dt))        # alpha(fc, dt) = 1 / (1 + 1/(2 pi fc dt))

The speed is measured in body scales per second (``pipan.skeleton.body_frame``: the torso
length), so the filter behaves the same for near and far people. A joint missing in this
frame (score 0) stays missing and loses its state: when it is found again its filter starts
afresh from the new position (no smoothing across the gap). Scores are passed through.
State is O(joints) per track and is dropped by ``forget`` (the pipeline calls it when the
tracker ends a track).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Dict, Hashable

import numpy as np

from .skeleton import body_frame

#: Defaults, chosen on the synthetic demo (see pipan/models/MODEL_CARD.md, "smoothing").
MIN_CUTOFF_HZ = 1.5
BETA = 0.5
D_CUTOFF_HZ = 1.0


def alpha(cutoff_hz: np.ndarray, dt: float) -> np.ndarray:
    """The exponential smoothing factor of a first-order low-pass filter at ``cutoff_hz``
    sampled every ``dt`` seconds (in (0, 1]; 1 = no smoothing)."""
    tau = 1.0 / (2.0 * math.pi * np.asarray(cutoff_hz, np.float64))
    return 1.0 / (1.0 + tau / dt)


@dataclass
class _JointState:
    t: float  # time of the last update, seconds
    xy: np.ndarray  # (J, 2) float64 filtered positions, pixels
    dxy: np.ndarray  # (J, 2) float64 filtered velocities, pixels/s
    alive: np.ndarray  # (J,) bool: the joint has filter state


class KeypointSmoother:
    """One-Euro filters for every joint of every track.

    ``min_cutoff_hz``: cutoff of a still joint (lower = smoother, more lag); ``beta``: how
    fast the cutoff rises with speed (Hz per body scale per second; higher = less lag on
    fast motion); ``d_cutoff_hz``: cutoff of the velocity estimate.
    """

    def __init__(self, min_cutoff_hz: float = MIN_CUTOFF_HZ, beta: float = BETA,
                 d_cutoff_hz: float = D_CUTOFF_HZ):
        if min_cutoff_hz <= 0 or d_cutoff_hz <= 0 or beta < 0:
            raise ValueError("cutoffs must be positive and beta non-negative")
        self.min_cutoff_hz = float(min_cutoff_hz)
        self.beta = float(beta)
        self.d_cutoff_hz = float(d_cutoff_hz)
        self._tracks: Dict[Hashable, _JointState] = {}

    def __len__(self) -> int:
        return len(self._tracks)

    def smooth(self, track_id: Hashable, keypoints: np.ndarray, t: float) -> np.ndarray:
        """Filter one frame of one track: ``keypoints`` ``(J, 3)`` (x, y pixels, score; score
        0 = missing) at time ``t`` seconds -> the smoothed ``(J, 3)`` float32 (a new array;
        missing joints and all scores unchanged). Times must increase per track; a repeated
        or earlier time restarts the track's filters."""
        kp = np.asarray(keypoints, np.float32)
        J = kp.shape[0]
        present = kp[:, 2] > 0
        xy = kp[:, :2].astype(np.float64)
        st = self._tracks.get(track_id)
        if st is None or t <= st.t or st.xy.shape[0] != J:
            self._tracks[track_id] = _JointState(float(t), xy.copy(), np.zeros((J, 2)),
                                                 present.copy())
            return kp.copy()
        dt = float(t - st.t)
        cont = present & st.alive  # joints with state to continue from
        dxy = st.dxy + alpha(self.d_cutoff_hz, dt) * ((xy - st.xy) / dt - st.dxy)
        _, scale = body_frame(kp)
        speed = np.sqrt((dxy * dxy).sum(1)) / float(scale)  # body scales per second
        a = alpha(self.min_cutoff_hz + self.beta * speed, dt)
        # continuing joints are filtered; fresh ones start at their input; missing ones
        # keep nothing (their state is dropped with ``alive``)
        a = np.where(cont, a, 1.0)[:, None]
        st.xy = st.xy + a * (xy - st.xy)
        st.dxy = np.where(cont[:, None], dxy, 0.0)
        st.alive = present
        st.t = float(t)
        out = kp.copy()
        out[present, :2] = st.xy[present]
        return out

    def forget(self, track_id: Hashable) -> None:
        """Drop a track's filter state (unknown ids are ignored)."""
        self._tracks.pop(track_id, None)

    def reset(self) -> None:
        """Forget every track."""
        self._tracks.clear()

