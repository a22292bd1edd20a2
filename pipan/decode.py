"""Pose net maps -> people (numpy only; the runtime's part-affinity grouping).

The pose net gives, at stride 8, heatmaps ``(H, W, 19)`` (18 COCO-18 joints + background)
and part-affinity fields ``(H, W, 38)`` (limb i of ``pipan.skeleton.LIMBS`` in channels 2i,
2i+1 as a unit vector dx, dy). Decoding follows OpenPose:

1. joint peaks: 3x3 non-maximum suppression above a threshold, refined to sub-cell
   precision by fitting a parabola to the log heatmap (exact for a Gaussian peak);
2. limb candidates: every pair of peaks of a limb's two joints, scored by the line
   integral of the limb's field along the segment between them (mean of the field's
   projection on the segment's direction over ``samples`` points) with a penalty for limbs
   longer than half the map;
3. greedy assignment: per limb, best-scoring candidates first, each peak used once;
4. people: limbs joined into skeletons through shared peaks (merging two partial
   skeletons when a limb connects them and they share no joint).

Map cell (i, j) covers net-input pixels 8j..8j+7 by 8i..8i+7, so its centre is at input
pixel (8j + 3.5, 8i + 3.5); ``map_to_net`` and ``net_to_map`` are that mapping, used by
the training targets too.
"""
from __future__ import annotations

from typing import List, Optional, Tuple

import numpy as np

from .skeleton import LIMBS, NUM_JOINTS
from .types import Person

STRIDE = 8  # net-input pixels per map cell
_OFFSET = (STRIDE - 1) / 2.0  # the centre of cell 0 in input pixels
#: A limb candidate is valid when this share of its samples align with it by more than
#: ``MIN_ALIGNMENT`` (``score_limbs``).
MIN_FRACTION = 0.8
MIN_ALIGNMENT = 0.05


def map_to_net(xy_map: np.ndarray) -> np.ndarray:
    """Map coordinates (cells, cell centres at integers) -> net-input pixels."""
    return np.asarray(xy_map, np.float32) * STRIDE + _OFFSET


def net_to_map(xy_net: np.ndarray) -> np.ndarray:
    """Net-input pixels -> map coordinates (cells)."""
    return (np.asarray(xy_net, np.float32) - _OFFSET) / STRIDE


def find_peaks(heatmap: np.ndarray, threshold: float) -> np.ndarray:
    """Peaks of one (H, W) map: (P, 3) rows of x, y (cells, sub-cell refined) and value.

    A peak is a cell above ``threshold`` and not below any of its 8 neighbours (ties on a
    plateau keep the first cell in raster order, so a flat top gives one peak).
    """
    return find_all_peaks(np.asarray(heatmap, np.float32)[..., None], threshold)[0]


def find_all_peaks(maps: np.ndarray, threshold: float) -> List[np.ndarray]:
    """``find_peaks`` of every channel of (H, W, C) maps at once (one vectorised pass):
    a list of C arrays (P_c, 3)."""
    h = np.asarray(maps, np.float32)
    H, W, C = h.shape
    pad = np.pad(h, ((1, 1), (1, 1), (0, 0)), mode="constant", constant_values=-np.inf)
    is_peak = h > threshold
    # Strictly greater than the neighbours before it in raster order, >= those after, so a
    # plateau yields exactly one peak.
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            if dy == 0 and dx == 0:
                continue
            nb = pad[1 + dy:1 + dy + H, 1 + dx:1 + dx + W]
            before = dy < 0 or (dy == 0 and dx < 0)
            is_peak &= (h > nb) if before else (h >= nb)
    ys, xs, cs = np.nonzero(is_peak)
    vals = h[ys, xs, cs]
    fx = xs.astype(np.float32) + _refine(pad, ys + 1, xs + 1, cs, axis=1)
    fy = ys.astype(np.float32) + _refine(pad, ys + 1, xs + 1, cs, axis=0)
    rows = np.stack([fx, fy, vals], axis=1).astype(np.float32)
    # np.nonzero is in (y, x, c) order: split by channel, keeping raster order within one
    order = np.argsort(cs, kind="stable")
    rows, cs = rows[order], cs[order]
    bounds = np.searchsorted(cs, np.arange(C + 1))
    return [rows[bounds[c]:bounds[c + 1]] for c in range(C)]


def _refine(pad: np.ndarray, ys: np.ndarray, xs: np.ndarray, cs: np.ndarray,
            axis: int) -> np.ndarray:
    """Sub-cell offset along one axis from a parabola through the log of 3 values."""
    if axis == 1:
        lo, c, hi = pad[ys, xs - 1, cs], pad[ys, xs, cs], pad[ys, xs + 1, cs]
    else:
        lo, c, hi = pad[ys - 1, xs, cs], pad[ys, xs, cs], pad[ys + 1, xs, cs]
    ok = np.isfinite(lo) & np.isfinite(hi) & (lo > 1e-4) & (hi > 1e-4) & (c > 1e-4)
    llo, lc, lhi = (np.log(np.maximum(np.where(ok, v, 1.0), 1e-4)) for v in (lo, c, hi))
    denom = llo - 2 * lc + lhi
    good = ok & (denom < -1e-6)
    off = np.zeros(len(ys), np.float32)
    off[good] = 0.5 * (llo[good] - lhi[good]) / denom[good]
    return np.clip(off, -0.5, 0.5).astype(np.float32)


def _bilinear(field: np.ndarray, x: np.ndarray, y: np.ndarray,
              channels: np.ndarray) -> np.ndarray:
    """Sample (H, W, C) at float (x, y) cells (clamped to the map) in ``channels``, an
    integer array broadcastable against ``x`` and ``y`` -> the samples' shape."""
    H, W = field.shape[:2]
    x = np.clip(x, 0, W - 1)
    y = np.clip(y, 0, H - 1)
    x0 = np.floor(x).astype(np.int64)
    y0 = np.floor(y).astype(np.int64)
    x1, y1 = np.minimum(x0 + 1, W - 1), np.minimum(y0 + 1, H - 1)
    wx, wy = x - x0, y - y0
    return ((1 - wy) * ((1 - wx) * field[y0, x0, channels] + wx * field[y0, x1, channels])
            + wy * ((1 - wx) * field[y1, x0, channels] + wx * field[y1, x1, channels]))


def _score_pairs(pafs: np.ndarray, pa: np.ndarray, pb: np.ndarray, limb: np.ndarray,
                 samples: int, min_fraction: float, min_alignment: float
                 ) -> Tuple[np.ndarray, np.ndarray]:
    """Line-integral scores of candidate limbs from points ``pa`` (N, 2) to ``pb`` (N, 2),
    pair n being limb ``limb[n]`` of ``pafs`` (H, W, 2L): ``score`` (N,) and ``valid`` (N,)
    (see ``score_limbs``). One vectorised pass over every pair of every limb."""
    H = pafs.shape[0]
    d = pb - pa  # (N, 2)
    norm = np.linalg.norm(d, axis=-1)
    unit = d / np.maximum(norm, 1e-6)[..., None]
    t = np.linspace(0.0, 1.0, samples, dtype=np.float32)
    pts = pa[:, None, :] + t[None, :, None] * d[:, None, :]  # (N, S, 2)
    ch = 2 * limb[:, None]
    vx = _bilinear(pafs, pts[..., 0], pts[..., 1], ch)  # (N, S)
    vy = _bilinear(pafs, pts[..., 0], pts[..., 1], ch + 1)
    align = vx * unit[:, None, 0] + vy * unit[:, None, 1]  # (N, S)
    # OpenPose's prior: limbs longer than half the image are unlikely.
    penalty = np.minimum(0.5 * H / np.maximum(norm, 1e-6) - 1.0, 0.0)
    score = align.mean(-1) + penalty
    valid = ((align > min_alignment).mean(-1) >= min_fraction) & (score > 0) & (norm > 1e-6)
    return score.astype(np.float32), valid


def score_limbs(paf: np.ndarray, pa: np.ndarray, pb: np.ndarray, samples: int = 10,
                min_fraction: float = MIN_FRACTION, min_alignment: float = MIN_ALIGNMENT
                ) -> Tuple[np.ndarray, np.ndarray]:
    """Line-integral scores of every candidate limb from peaks ``pa`` (A, 2) to ``pb`` (B, 2).

    ``paf`` is the limb's (H, W, 2) field. Returns ``score`` (A, B) and ``valid`` (A, B):
    valid when at least ``min_fraction`` of the samples align with the segment by more
    than ``min_alignment`` and the score (mean alignment with a length penalty) is > 0.
    """
    A, B = len(pa), len(pb)
    ia, ib = np.divmod(np.arange(A * B), B)
    score, valid = _score_pairs(np.asarray(paf, np.float32), pa[ia], pb[ib],
                                np.zeros(A * B, np.int64), samples, min_fraction,
                                min_alignment)
    return score.reshape(A, B), valid.reshape(A, B)


def _all_limb_candidates(pafs: np.ndarray, peaks: List[np.ndarray], samples: int
                         ) -> List[Optional[Tuple[np.ndarray, np.ndarray]]]:
    """Per limb of ``LIMBS``: its ``score_limbs`` (score, valid), or None when one of its
    joints has no peak; every limb's pairs scored in one pass."""
    pa, pb, limb, spans = [], [], [], []
    n = 0
    for k, (a, b) in enumerate(LIMBS):
        A, B = len(peaks[a]), len(peaks[b])
        if A == 0 or B == 0:
            spans.append(None)
            continue
        ia, ib = np.divmod(np.arange(A * B), B)
        pa.append(peaks[a][ia, :2])
        pb.append(peaks[b][ib, :2])
        limb.append(np.full(A * B, k, np.int64))
        spans.append((n, A, B))
        n += A * B
    if n == 0:
        return [None] * len(LIMBS)
    score, valid = _score_pairs(pafs, np.concatenate(pa), np.concatenate(pb),
                                np.concatenate(limb), samples, MIN_FRACTION, MIN_ALIGNMENT)
    out: List[Optional[Tuple[np.ndarray, np.ndarray]]] = []
    for sp in spans:
        if sp is None:
            out.append(None)
        else:
            start, A, B = sp
            rows = slice(start, start + A * B)
            out.append((score[rows].reshape(A, B), valid[rows].reshape(A, B)))
    return out


def decode(heatmaps: np.ndarray, pafs: np.ndarray, *, peak_threshold: float = 0.1,
           samples: int = 10, min_joints: int = 5, min_score: float = 0.2
           ) -> List[Person]:
    """People from one frame's maps, keypoints in net-input pixels.

    ``heatmaps`` (H, W, 19) and ``pafs`` (H, W, 38) at stride 8 (a leading batch axis of 1
    is dropped). Each ``Person.keypoints`` is (18, 3): x, y in net-input pixels and the
    joint's heatmap peak value clipped to [0, 1] (0 = not found). People with fewer than
    ``min_joints`` joints or a mean joint score under ``min_score`` are dropped.
    ``Person.score`` is the mean joint score times the fraction of the 18 joints found.
    ``min_joints`` 5 rather than 3: with the bundled net, 3-4-joint candidates are nearly
    all fragments of a person found whole nearby (on the 2-person demo they made the tracker
    open 86 ids instead of 16) while real-frame PCK is unchanged (MODEL_CARD.md, pose).
    """
    hm, pf = np.asarray(heatmaps, np.float32), np.asarray(pafs, np.float32)
    if hm.ndim == 4:
        hm = hm[0]
    if pf.ndim == 4:
        pf = pf[0]
    H, W, C = hm.shape
    if C < NUM_JOINTS or pf.shape != (H, W, 2 * len(LIMBS)):
        raise ValueError(f"maps must be (H, W, {NUM_JOINTS + 1}) and (H, W, {2 * len(LIMBS)}),"
                         f" got {hm.shape} and {pf.shape}")
    if not (hm[..., :NUM_JOINTS] > peak_threshold).any():
        return []  # nobody: the common fast path
    peaks = find_all_peaks(hm[..., :NUM_JOINTS], peak_threshold)

    # people: (P, 18) peak index per joint (-1 = none) and accumulated limb score
    people: List[np.ndarray] = []
    limb_score: List[float] = []
    candidates = _all_limb_candidates(pf, peaks, samples)
    for (a, b), cand in zip(LIMBS, candidates):
        if cand is None:
            continue
        score, valid = cand
        ia, ib = np.nonzero(valid)
        if len(ia) == 0:
            continue
        order = np.argsort(-score[ia, ib], kind="stable")
        used_a, used_b = set(), set()
        for n in order:
            i, j = int(ia[n]), int(ib[n])
            if i in used_a or j in used_b:
                continue
            used_a.add(i)
            used_b.add(j)
            _connect(people, limb_score, a, b, i, j, float(score[i, j]))

    out: List[Person] = []
    for person in people:
        have = person >= 0
        if have.sum() < min_joints:
            continue
        joints = np.nonzero(have)[0]
        rows = np.stack([peaks[j][person[j]] for j in joints])  # x, y, value
        kp = np.zeros((NUM_JOINTS, 3), np.float32)
        kp[joints, :2] = map_to_net(rows[:, :2])
        kp[joints, 2] = np.clip(rows[:, 2], 1e-3, 1.0)
        mean = float(kp[have, 2].mean())
        if mean < min_score:
            continue
        out.append(Person(keypoints=kp, score=mean * float(have.sum()) / NUM_JOINTS))
    out.sort(key=lambda p: -p.score)
    return out


def _connect(people: List[np.ndarray], limb_score: List[float], a: int, b: int,
             i: int, j: int, score: float) -> None:
    """Add limb (joint a = peak i, joint b = peak j) to the people being assembled."""
    owners = [n for n, p in enumerate(people) if p[a] == i or p[b] == j]
    if not owners:
        p = np.full(NUM_JOINTS, -1, np.int64)
        p[a], p[b] = i, j
        people.append(p)
        limb_score.append(score)
        return
    if len(owners) == 1:
        p = people[owners[0]]
        # Fill only a free slot: a joint never changes peak once assigned.
        if p[a] == i and p[b] < 0:
            p[b] = j
        elif p[b] == j and p[a] < 0:
            p[a] = i
        limb_score[owners[0]] += score
        return
    n1, n2 = owners[0], owners[1]
    p1, p2 = people[n1], people[n2]
    if not ((p1 >= 0) & (p2 >= 0)).any():  # disjoint halves of one person: merge
        people[n1] = np.where(p1 >= 0, p1, p2)
        limb_score[n1] += limb_score[n2] + score
        del people[n2], limb_score[n2]
