"""Decoding: peaks, limb scoring, and the round trip targets -> decode -> same people."""
from __future__ import annotations

import time

import numpy as np
import pytest

from pipan.decode import decode, find_peaks, map_to_net, net_to_map
from pipan.skeleton import JOINT_INDEX, NUM_JOINTS
from training.pose.targets import heatmap_targets, paf_targets


def person(cx: float, cy: float, h: float = 120.0, present=None) -> np.ndarray:
    """A standing COCO-18 person of height ``h`` pixels centred at (cx, cy), net pixels."""
    u = h / 8.0
    rel = {
        "nose": (0, -3.5), "neck": (0, -2.5), "right_shoulder": (-1.2, -2.4),
        "right_elbow": (-1.5, -1.0), "right_wrist": (-1.6, 0.3),
        "left_shoulder": (1.2, -2.4), "left_elbow": (1.5, -1.0), "left_wrist": (1.6, 0.3),
        "right_hip": (-0.7, 0.4), "right_knee": (-0.8, 2.2), "right_ankle": (-0.8, 3.9),
        "left_hip": (0.7, 0.4), "left_knee": (0.8, 2.2), "left_ankle": (0.8, 3.9),
        "right_eye": (-0.3, -3.7), "left_eye": (0.3, -3.7),
        "right_ear": (-0.6, -3.6), "left_ear": (0.6, -3.6),
    }
    kp = np.zeros((NUM_JOINTS, 3), np.float32)
    for name, (dx, dy) in rel.items():
        kp[JOINT_INDEX[name]] = (cx + dx * u, cy + dy * u, 1.0)
    if present is not None:
        kp[~present] = 0
    return kp


def roundtrip(people: np.ndarray):
    heat, paf = heatmap_targets(people), paf_targets(people)
    return decode(heat, paf)


def match(found, truth: np.ndarray, tol: float):
    """Every true person has a decoded one whose labelled joints are all within tol px."""
    assert len(found) == len(truth)
    for t in truth:
        have = t[:, 2] > 0
        errs = [np.abs(p.keypoints[have, :2] - t[have, :2]).max()
                if (p.keypoints[have, 2] > 0).all() else np.inf for p in found]
        assert min(errs) <= tol, f"closest decoded person is {min(errs):.1f} px off"


def test_map_coordinates_round_trip():
    xy = np.float32([[0, 0], [3.5, 3.5], [223, 100.25]])
    np.testing.assert_allclose(map_to_net(net_to_map(xy)), xy, atol=1e-4)
    assert np.allclose(map_to_net(np.float32([0, 0])), [3.5, 3.5])


def test_single_person_round_trip_sub_pixel():
    truth = person(110.3, 112.7)[None]
    found = roundtrip(truth)
    match(found, truth, tol=1.0)
    assert all(0.5 < s <= 1 for s in found[0].keypoints[:, 2])


def test_several_and_overlapping_people():
    # the middle pair overlaps: arms interleave, PAFs are averaged where they meet
    truth = np.stack([person(50, 110, 110), person(95, 115, 120), person(175, 100, 130)])
    match(roundtrip(truth), truth, tol=2.0)


def test_people_at_the_border():
    # one cut by the left border (joints outside the input are unlabelled), one at the bottom
    left = person(8, 100, 140)
    left[left[:, 0] < 0] = 0
    bottom = person(160, 200, 140)
    bottom[bottom[:, 1] > 223] = 0
    truth = np.stack([left, bottom])
    match(roundtrip(truth), truth, tol=2.0)


def test_missing_joints_stay_missing():
    present = np.ones(NUM_JOINTS, bool)
    present[[JOINT_INDEX["left_wrist"], JOINT_INDEX["right_ankle"]]] = False
    truth = person(112, 112, present=present)[None]
    found = roundtrip(truth)
    match(found, truth, tol=1.0)
    assert (found[0].keypoints[~present, 2] == 0).all()


def test_nobody_is_empty_and_fast():
    heat = np.zeros((28, 28, 19), np.float32)
    heat[..., 18] = 1
    paf = np.zeros((28, 28, 38), np.float32)
    assert decode(heat, paf) == []
    t = time.perf_counter()
    for _ in range(100):
        decode(heat, paf)
    assert (time.perf_counter() - t) / 100 < 0.005


def test_plateau_gives_one_peak():
    h = np.zeros((10, 10), np.float32)
    h[4:6, 4:6] = 0.9
    assert len(find_peaks(h, 0.1)) == 1


def test_bad_shapes_raise():
    with pytest.raises(ValueError):
        decode(np.zeros((28, 28, 19)), np.zeros((28, 28, 30)))


def test_all_channel_peaks_equal_per_channel_peaks():
    from pipan.decode import find_all_peaks
    rng = np.random.default_rng(0)
    maps = rng.random((28, 28, 5)).astype(np.float32)
    for c, rows in enumerate(find_all_peaks(maps, 0.5)):
        np.testing.assert_array_equal(rows, find_peaks(maps[..., c], 0.5))
        assert len(rows) > 0


def test_all_limbs_scored_at_once_equal_each_limb_alone():
    """Decoding scores every limb's candidates in one pass; each limb's scores must be
    those of its own two field channels."""
    from pipan.decode import _all_limb_candidates, find_all_peaks, score_limbs
    from pipan.skeleton import LIMBS
    rng = np.random.default_rng(3)
    hm = rng.random((28, 28, NUM_JOINTS)).astype(np.float32) ** 8
    pafs = rng.normal(0, 0.6, (28, 28, 2 * len(LIMBS))).astype(np.float32)
    peaks = find_all_peaks(hm, 0.1)
    together = _all_limb_candidates(pafs, peaks, 10)
    scored = 0
    for k, (a, b) in enumerate(LIMBS):
        if len(peaks[a]) == 0 or len(peaks[b]) == 0:
            assert together[k] is None
            continue
        score, valid = score_limbs(pafs[..., 2 * k:2 * k + 2], peaks[a][:, :2],
                                   peaks[b][:, :2], 10)
        np.testing.assert_array_equal(together[k][0], score)
        np.testing.assert_array_equal(together[k][1], valid)
        scored += 1
    assert scored == len(LIMBS)
