import numpy as np
import pytest

from pipan import skeleton as sk


def test_layout_shapes():
    assert sk.NUM_JOINTS == 18 and sk.NUM_LIMBS == 19
    a = sk.adjacency()
    assert a.shape == (18, 18) and (a == a.T).all() and np.trace(a) == 0
    assert a.sum() == 2 * 19  # 19 distinct undirected limbs
    # every joint is connected to the body
    reach = {1}
    for _ in range(18):
        reach |= {j for i in reach for j in np.flatnonzero(a[i])}
    assert reach == set(range(18))


def test_flip_is_an_involution_swapping_sides():
    f = np.array(sk.FLIP)
    assert (f[f] == np.arange(18)).all()
    assert sk.COCO18[f[sk.JOINT_INDEX["left_wrist"]]] == "right_wrist"
    assert f[sk.JOINT_INDEX["nose"]] == sk.JOINT_INDEX["nose"]


@pytest.mark.parametrize("layout", ["coco17", "jhmdb15", "body25", "blazepose33"])
def test_conversion_by_name(layout):
    names = sk.LAYOUTS[layout]
    rng = np.random.default_rng(0)
    kp = rng.uniform(0, 100, (4, len(names), 3)).astype(np.float32)
    kp[..., 2] = rng.uniform(0.1, 1, (4, len(names)))
    out = sk.to_coco18(kp, names)
    assert out.shape == (4, 18, 3)
    for j, name in enumerate(sk.COCO18):
        if name in names:
            np.testing.assert_array_equal(out[:, j], kp[:, names.index(name)])
        elif name == "nose" and "face" in names:
            np.testing.assert_array_equal(out[:, j], kp[:, names.index("face")])
        elif name == "neck":
            r, l = names.index("right_shoulder"), names.index("left_shoulder")
            np.testing.assert_allclose(out[:, j, :2], (kp[:, r, :2] + kp[:, l, :2]) / 2)
        else:
            assert (out[:, j] == 0).all(), f"{name} invented for {layout}"


def test_jhmdb_lacks_eyes_and_ears():
    out = sk.to_coco18(np.ones((1, 15, 2), np.float32), sk.JHMDB15)
    missing = {sk.COCO18[j] for j in np.flatnonzero(out[0, :, 2] == 0)}
    assert missing == {"right_eye", "left_eye", "right_ear", "left_ear"}


def test_neck_not_derived_from_one_shoulder():
    kp = np.ones((17, 3), np.float32)
    kp[sk.COCO17.index("left_shoulder"), 2] = 0
    out = sk.to_coco18(kp, sk.COCO17)
    assert out[sk.JOINT_INDEX["neck"], 2] == 0


def test_unknown_joint_name_refused():
    with pytest.raises(ValueError, match="unknown joint"):
        sk.to_coco18(np.zeros((2, 2), np.float32), ["nose", "left_wirst"])


def _person(rng, n=1):
    kp = np.zeros((n, 18, 3), np.float32)
    kp[..., :2] = rng.uniform(100, 300, (n, 18, 2))
    kp[..., 2] = 1.0
    return kp


def test_features_invariant_to_translation_and_scale():
    rng = np.random.default_rng(1)
    kp = _person(rng, 6)
    f = sk.clip_features(kp)
    moved = kp.copy()
    moved[..., :2] = moved[..., :2] * 2.5 + np.float32([40, -7])
    np.testing.assert_allclose(sk.clip_features(moved), f, atol=1e-4)


def test_features_missing_joints_are_zero_and_first_velocity_zero():
    rng = np.random.default_rng(2)
    kp = _person(rng, 3)
    kp[1, 4, 2] = 0
    f = sk.clip_features(kp)
    assert f.shape == (3, 18, sk.NUM_FEATURES)
    assert (f[0, :, 3:] == 0).all()
    assert (f[1, 4] == 0).all()
    assert (f[2, 4, 3:] == 0).all()  # previous frame missed it
    assert (f[2, 4, :3] != 0).any()


def test_stream_features_equal_clip_features():
    rng = np.random.default_rng(3)
    kp = _person(rng, 5)
    streamed = [sk.frame_features(kp[0])] + [sk.frame_features(kp[t], kp[t - 1])
                                              for t in range(1, 5)]
    np.testing.assert_allclose(np.stack(streamed), sk.clip_features(kp), atol=1e-6)


def test_empty_frame_features_are_finite():
    f = sk.frame_features(np.zeros((18, 3), np.float32))
    assert np.isfinite(f).all() and (f == 0).all()


def test_mirror_swaps_sides_and_is_involution():
    rng = np.random.default_rng(4)
    kp = _person(rng)[0]
    m = sk.mirror(kp, width=400)
    lw, rw = sk.JOINT_INDEX["left_wrist"], sk.JOINT_INDEX["right_wrist"]
    assert m[lw, 0] == pytest.approx(400 - kp[rw, 0])
    np.testing.assert_allclose(sk.mirror(m, width=400), kp, atol=1e-4)


def test_features_are_bounded_and_velocity_in_tenths_of_body_scale():
    kp = np.zeros((2, 18, 3), np.float32)
    kp[..., 2] = 1.0
    kp[:, :, 1] = np.linspace(0, 100, 18)  # neck at y = 5.9, hips at ~47-65
    kp[1, :, 0] = 3.0  # moved 3 px right
    f = sk.clip_features(kp)
    _, scale = sk.body_frame(kp[1])
    np.testing.assert_allclose(f[1, :, 3], sk.VELOCITY_GAIN * 3.0 / scale, rtol=1e-5)
    wild = kp.copy()
    wild[1, 0, :2] = [1e6, -1e6]  # a detection gone wrong
    g = sk.clip_features(wild)
    assert np.abs(g[..., [0, 1, 3, 4]]).max() <= sk.FEATURE_LIMIT


def test_velocities_are_per_thirtieth_of_a_second_whatever_the_frame_rate():
    # The same steady motion filmed at 30 and at 15 fps: twice the displacement per frame
    # at 15 fps, the same features (velocity per 1/30 s) once the rate is given.
    t30 = np.arange(9) / 30.0
    kp30 = np.zeros((9, 18, 3), np.float32)
    kp30[..., 2] = 1.0
    kp30[:, :, 1] = np.linspace(0, 100, 18)
    kp30[:, :, 0] = 60.0 * t30[:, None]  # 60 px/s to the right
    kp15 = kp30[::2]
    f30, f15 = sk.clip_features(kp30), sk.clip_features(kp15, fps=15.0)
    np.testing.assert_allclose(f15[1:], f30[2::2], rtol=1e-5)
    assert not np.allclose(sk.clip_features(kp15)[1:, :, 3], f30[2::2, :, 3])  # rate ignored
    assert sk.elapsed_frames(None) == 1.0 and sk.elapsed_frames(0.0) == 1.0
    assert sk.elapsed_frames(0.1) == pytest.approx(3.0)
    with pytest.raises(ValueError):
        sk.frame_features(kp30[1], kp30[0], elapsed=0.0)


def test_clip_stats_are_the_running_mean_and_std_of_positions_and_velocities():
    rng = np.random.default_rng(11)
    f = rng.normal(size=(9, 18, 5)).astype(np.float32)
    s = sk.clip_stats(f)
    assert s.shape == (9, sk.NUM_STATS) == (9, 144)
    v = f[..., [0, 1, 3, 4]].reshape(9, -1)  # x, y, vx, vy per joint; not the score
    for t in (0, 4, 8):
        np.testing.assert_allclose(s[t, :72], v[:t + 1].mean(0), atol=1e-5)
        np.testing.assert_allclose(s[t, 72:], v[:t + 1].std(0), atol=1e-5)
    assert np.all(s[0, 72:] == 0)  # one frame: no spread
    # a weighted pool: weights 1 and 3 on two frames
    w = np.array([1.0, 3.0])
    vals = sk.stat_values(f[:2]).astype(np.float64)
    pooled = sk.pooled_stats(w.sum(), (w[:, None] * vals).sum(0), (w[:, None] * vals ** 2).sum(0))
    mean = (vals[0] + 3 * vals[1]) / 4
    np.testing.assert_allclose(pooled[:72], mean, atol=1e-5)
    np.testing.assert_allclose(pooled[72:], np.sqrt((vals[0] - mean) ** 2 / 4
                                                    + 3 * (vals[1] - mean) ** 2 / 4), atol=1e-5)
