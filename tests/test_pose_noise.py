"""The pose-stage noise model: its measurement on hand-made runtime/teacher pairs, and the
augmentation that applies it to clean clips."""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from pipan.skeleton import JOINT_INDEX, body_frame, clip_features
from training.action.data import with_pose_noise
from training.action.pose_noise import (FORMAT, SWAP_PAIRS, PoseNoise, PoseNoiseError,
                                        TrackSeries, apply_pose_noise, fit_noise_model,
                                        load_noise)

ROOT = Path(__file__).resolve().parents[1]
J = JOINT_INDEX

#: A standing person, x right, y down, in units of the torso length (neck to mid-hip = 1).
POSE = {
    "nose": (0.0, -0.45), "neck": (0.0, 0.0),
    "right_shoulder": (-0.4, 0.0), "right_elbow": (-0.5, 0.55), "right_wrist": (-0.55, 1.05),
    "left_shoulder": (0.4, 0.0), "left_elbow": (0.5, 0.55), "left_wrist": (0.55, 1.05),
    "right_hip": (-0.25, 1.0), "right_knee": (-0.28, 1.85), "right_ankle": (-0.3, 2.7),
    "left_hip": (0.25, 1.0), "left_knee": (0.28, 1.85), "left_ankle": (0.3, 2.7),
    "right_eye": (-0.1, -0.55), "left_eye": (0.1, -0.55),
    "right_ear": (-0.2, -0.5), "left_ear": (0.2, -0.5),
}


def person(T=40, torso=100.0, seed=0):
    """(T, 18, 3) pixels: the pose walking right, arms swinging, torso ``torso`` px."""
    rng = np.random.default_rng(seed)
    base = np.zeros((18, 2))
    for name, xy in POSE.items():
        base[J[name]] = xy
    kp = np.zeros((T, 18, 3), np.float32)
    t = np.arange(T)[:, None]
    swing = 0.2 * np.sin(2 * np.pi * t / 30 + rng.uniform(0, 6))
    xy = np.repeat(base[None], T, 0)
    for arm in ("right_wrist", "left_wrist"):
        xy[:, J[arm], 0] += swing[:, 0] * (1 if arm.startswith("r") else -1)
    kp[..., :2] = 300 + torso * xy + np.array([2.0, 0.0]) * t[..., None]
    kp[..., 2] = 1.0
    return kp


def ar1(rng, shape, sigma, phi):
    x = np.empty(shape)
    x[0] = sigma * rng.standard_normal(shape[1:])
    for t in range(1, shape[0]):
        x[t] = phi * x[t - 1] + math.sqrt(1 - phi * phi) * sigma * rng.standard_normal(shape[1:])
    return x


def measured_params():
    """A model like the measured one (every process on)."""
    n = 18
    return PoseNoise(
        jitter_sigma=np.full(n, 0.05), jitter_tau_s=np.full(n, 0.2),
        outlier_rate=np.full(n, 0.03), outlier_sigma=np.full(n, 0.5), outlier_run_s=0.1,
        missing_rate=np.full(n, 0.05), missing_run_s=0.1,
        swap_rate=np.full(len(SWAP_PAIRS), 0.02), swap_run_s=0.2,
        scale_log_mean=0.0, scale_log_std=0.05, scale_tau_s=0.5,
        offset_mean=np.zeros(2), offset_std=np.full(2, 0.05), offset_tau_s=0.5,
        gap_rate=0.05, gap_run_s=0.1,
        score_quantiles=np.tile(np.linspace(0.1, 0.95, 11), (n, 1)), score_tau_s=0.1)


# --- the augmentation -----------------------------------------------------------------

def test_zero_noise_leaves_the_clip_unchanged():
    kp = person()
    kp[:, J["left_ear"]] = 0.0
    out = apply_pose_noise(kp, np.random.default_rng(0), PoseNoise.zero())
    np.testing.assert_array_equal(out.keypoints, kp)
    np.testing.assert_array_equal(out.frames, np.arange(len(kp)))


def test_noise_keeps_shape_dtype_and_conventions_and_is_seeded():
    kp = person(T=60)
    kp[:, J["left_ear"]] = 0.0  # never seen
    kp[10:12] = 0.0  # frames with nobody: no NaN from a degenerate body scale
    p = measured_params()
    a = apply_pose_noise(kp, np.random.default_rng(5), p)
    b = apply_pose_noise(kp, np.random.default_rng(5), p)
    c = apply_pose_noise(kp, np.random.default_rng(6), p)
    np.testing.assert_array_equal(a.keypoints, b.keypoints)
    np.testing.assert_array_equal(a.frames, b.frames)
    assert not np.array_equal(a.keypoints[:5], c.keypoints[:5])
    out = a.keypoints
    assert out.dtype == np.float32 and out.shape == (len(a.frames), 18, 3)
    assert np.all(np.isfinite(out))
    assert a.frames[0] == 0 and np.all(np.diff(a.frames) > 0) and len(a.frames) < 60
    missing = out[..., 2] == 0
    assert np.all(out[missing][:, :2] == 0)  # the runtime's missing joint: x = y = 0
    assert np.all((out[~missing][:, 2] >= 1e-3) & (out[~missing][:, 2] <= 0.95 + 1e-6))
    # a joint the clean clip never has stays missing (it may only appear by a swap)
    assert missing[:, J["left_ear"]].mean() > 0.8


def test_jitter_scales_with_sigma_and_person_size():
    def spread(sigma, torso):
        kp = person(T=400, torso=torso)
        p = PoseNoise(**{**PoseNoise.zero().__dict__, "jitter_sigma": np.full(18, sigma),
                         "jitter_tau_s": np.full(18, 0.1)})
        out = apply_pose_noise(kp, np.random.default_rng(1), p).keypoints
        return float(np.std(out[..., :2] - kp[..., :2])) / torso

    assert spread(0.05, 100.0) == pytest.approx(0.05, rel=0.1)
    assert spread(0.10, 100.0) == pytest.approx(2 * spread(0.05, 100.0), rel=0.02)
    assert spread(0.05, 40.0) == pytest.approx(spread(0.05, 100.0), rel=0.02)


def test_swaps_gaps_and_missing_joints_follow_their_rates():
    kp = person(T=3000)
    zero = PoseNoise.zero().__dict__
    swap = PoseNoise(**{**zero, "swap_rate": np.full(8, 0.2), "swap_run_s": 0.3})
    out = apply_pose_noise(kp, np.random.default_rng(2), swap).keypoints
    lw, rw = J["left_wrist"], J["right_wrist"]
    crossed = np.all(out[:, lw] == kp[:, rw], -1)
    assert crossed.mean() == pytest.approx(0.2, abs=0.05)
    starts = crossed[1:] & ~crossed[:-1]
    assert crossed.sum() / max(starts.sum(), 1) == pytest.approx(0.3 * 30, rel=0.3)

    gaps = PoseNoise(**{**zero, "gap_rate": 0.1, "gap_run_s": 0.1})
    kept = apply_pose_noise(kp, np.random.default_rng(3), gaps).frames
    assert 1 - len(kept) / len(kp) == pytest.approx(0.1, abs=0.03)

    miss = PoseNoise(**{**zero, "missing_rate": np.linspace(0, 0.5, 18),
                        "missing_run_s": 0.1})
    out = apply_pose_noise(kp, np.random.default_rng(4), miss).keypoints
    np.testing.assert_allclose((out[..., 2] == 0).mean(0), np.linspace(0, 0.5, 18),
                               atol=0.05)


def test_rejects_clips_of_the_wrong_shape():
    with pytest.raises(ValueError, match="shape"):
        apply_pose_noise(np.zeros((5, 17, 3)), np.random.default_rng(0), PoseNoise.zero())


def test_noisy_clips_give_the_runtime_features_over_real_gaps():
    kp = person(T=10)
    even = clip_features(kp, 30.0)
    np.testing.assert_allclose(clip_features(kp, 30.0, np.arange(10) / 30.0), even,
                               atol=1e-5)
    # frames 0, 1, 3: the velocity into frame 3 is over two frame periods
    sub = kp[[0, 1, 3]]
    f = clip_features(sub, 30.0, np.array([0, 1, 3]) / 30.0)
    np.testing.assert_allclose(f[2, :, 3:], clip_features(sub, 15.0)[2, :, 3:], atol=1e-5)
    with pytest.raises(ValueError, match="times"):
        clip_features(kp, 30.0, np.arange(9) / 30.0)


def test_training_applies_the_noise_to_the_given_fraction():
    kp = person(T=30)
    rng = np.random.default_rng(0)
    same, t = with_pose_noise(kp, 30.0, rng, measured_params(), 0.0)
    assert same is kp and t is None
    noisy, t = with_pose_noise(kp, 15.0, rng, measured_params(), 1.0)
    assert len(t) == len(noisy) and t[0] == 0 and np.all(np.diff(t) >= 1 / 15.0 - 1e-9)
    assert not np.array_equal(noisy[:, :, :2], kp[:len(noisy), :, :2])


# --- the measurement ----------------------------------------------------------------------

def series_from(pred, ref, reported=None, fps=30.0):
    T = len(pred)
    return TrackSeries(pred, ref, np.ones(T, bool) if reported is None else reported, fps)


def test_a_known_jitter_and_its_time_constant_are_recovered():
    rng = np.random.default_rng(7)
    series = []
    for k in range(6):
        ref = person(T=300, torso=80.0 + 10 * k, seed=k)
        _, scale = body_frame(ref)
        pred = ref.copy()
        pred[..., :2] += scale[:, None, None] * ar1(rng, (300, 18, 2), 0.04, 0.8)
        series.append(series_from(pred, ref))
    params, summary = fit_noise_model(series)
    # a per-frame offset and scale take 3 of the 36 degrees of freedom per frame
    np.testing.assert_allclose(params.jitter_sigma, 0.04 * math.sqrt(33 / 36), rtol=0.12)
    tau = -1 / (30 * math.log(0.8))
    assert np.median(params.jitter_tau_s) == pytest.approx(tau, rel=0.25)
    assert params.swap_rate.max() == 0 and params.missing_rate.max() == 0
    assert params.gap_rate == 0 and summary["tracks"] == 6
    assert np.all(np.abs(params.offset_mean) < 0.01) and abs(params.scale_log_mean) < 0.01


def test_planted_swaps_missing_joints_gaps_and_offsets_are_counted():
    ref = person(T=40)
    pred = ref.copy()
    lw, rw = J["left_wrist"], J["right_wrist"]
    pred[10:20, [lw, rw]] = ref[10:20, [rw, lw]]  # wrists swapped for 10 frames
    pred[25:33, J["right_elbow"]] = 0.0  # an elbow lost for 8 frames
    pred[..., 0] += 0.5 * 100  # everything half a torso to the right
    reported = np.ones(40, bool)
    reported[5:8] = False  # three frames not reported
    pred[5:8] = 0.0
    params, summary = fit_noise_model([series_from(pred, ref, reported)])
    wrist = [a for a, _ in SWAP_PAIRS].index("left_wrist")
    assert params.swap_rate[wrist] == pytest.approx(10 / 37)
    assert np.delete(params.swap_rate, wrist).max() == 0
    assert params.swap_run_s == pytest.approx(10 / 30)
    # the swap was undone before the per-joint errors: no outliers at the wrists
    assert params.outlier_rate[lw] == 0 and params.outlier_rate[rw] == 0
    assert params.missing_rate[J["right_elbow"]] == pytest.approx(8 / 37)
    assert params.missing_run_s == pytest.approx(8 / 30)
    assert params.gap_rate == pytest.approx(3 / 40) and params.gap_run_s == pytest.approx(0.1)
    np.testing.assert_allclose(params.offset_mean, [0.5, 0.0], atol=1e-4)
    assert summary["swap_frames"][wrist] == 10


def test_nothing_to_measure_is_a_clear_error():
    ref = person(T=5)
    with pytest.raises(PoseNoiseError, match="no tracked person"):
        fit_noise_model([])
    with pytest.raises(PoseNoiseError, match="share"):
        fit_noise_model([series_from(np.zeros_like(ref), ref)])


# --- the stored model -------------------------------------------------------------------

def test_parameters_round_trip_and_bad_files_are_refused(tmp_path):
    p = measured_params()
    doc = {"format": FORMAT, "params": p.to_dict()}
    good = tmp_path / "noise.json"
    good.write_text(json.dumps(doc))
    q = load_noise(good)
    np.testing.assert_allclose(q.score_quantiles, p.score_quantiles)
    assert q.gap_run_s == p.gap_run_s
    for bad, message in [
        ("{", "not JSON"),
        (json.dumps({"format": "x"}), "not a pose noise model"),
        (json.dumps({"format": FORMAT, "params": {**doc["params"], "gap_rate": 1.5}}),
         "gap_rate"),
        (json.dumps({"format": FORMAT, "params": {**doc["params"], "jitter_sigma": [1]}}),
         "shape"),
    ]:
        f = tmp_path / "bad.json"
        f.write_text(bad)
        with pytest.raises(PoseNoiseError, match=message):
            load_noise(f)


def test_the_committed_noise_model_loads_and_is_plausible():
    p = load_noise(ROOT / "training" / "action" / "pose_noise.json")
    assert np.all((p.jitter_sigma > 0.005) & (p.jitter_sigma < 1.0))
    assert 0 <= p.gap_rate < 0.5 and np.all(p.missing_rate < 0.9)
    out = apply_pose_noise(person(T=50), np.random.default_rng(0), p)
    assert np.all(np.isfinite(out.keypoints))


def test_the_train_command_refuses_a_bad_noise_model(tmp_path):
    from click.testing import CliRunner

    from training.action.cli import group

    bad = tmp_path / "noise.json"
    bad.write_text("[]")
    data = tmp_path / "d.npz"
    data.write_bytes(b"")
    r = CliRunner().invoke(group, ["train", "--data", str(data), "--out",
                                   str(tmp_path / "m"), "--pose-noise", str(bad)])
    assert r.exit_code != 0
    assert "not a pose noise model" in str(r.exception) + r.output


# --- measuring through the runtime's pipeline, with stand-in models ------------------------

class _Jittery:
    """A pose stage stand-in: one figure at a fixed place, seeded jitter, its left and
    right wrists swapped in frames 10-14 of its calls."""

    def __init__(self):
        from tests.runtime_fakes import figure
        self.truth = figure(80, 60)
        self.rng = np.random.default_rng(0)
        self.calls = 0

    def estimate_timed(self, frame):
        from pipan.types import Person, PoseOutput
        kp = self.truth.copy()
        kp[:, :2] += self.rng.normal(0, 1.0, (18, 2))
        if 10 <= self.calls < 15:
            lw, rw = J["left_wrist"], J["right_wrist"]
            kp[[lw, rw]] = kp[[rw, lw]]
        self.calls += 1
        return PoseOutput([Person(kp.astype(np.float32), 0.9)])


class _Teacher:
    def __init__(self, truth):
        self.truth = truth

    def estimate(self, frame):
        from pipan.types import Person
        return [Person(self.truth.copy(), 0.9)]


def test_measuring_a_video_through_the_pipeline_and_keeping_the_pairs(tmp_path):
    pytest.importorskip("cv2")
    from tests.runtime_fakes import write_video
    from training.action.noise_footage import (load_measures, measure_video,
                                               save_measures)

    video = tmp_path / "v.avi"
    write_video(video, 30, size=(160, 120))
    pose = _Jittery()
    m = measure_video(video, pose, _Teacher(pose.truth), max_frames=30)
    assert m.frames == 30 and len(m.series) == 1 and m.dropped_tracks == 0
    s = m.series[0]
    # the tracker confirms a person in its third frame: the action model sees 28
    assert len(s.reported) == 28 and s.reported.all() and (s.ref[..., 2] > 0).all()
    params, summary = fit_noise_model(m.series)
    wrist = [a for a, _ in SWAP_PAIRS].index("left_wrist")
    assert summary["swap_frames"][wrist] == 5 and params.swap_rate[wrist] == pytest.approx(5 / 28)
    assert params.gap_rate == 0 and params.missing_rate.max() == 0
    # smoothed one-pixel jitter on a figure with a 35-pixel torso
    assert 0.0 < np.median(params.jitter_sigma) < 1.0 / 35
    pairs = tmp_path / "pairs.npz"
    save_measures(pairs, [m], "stamp", 12.5)
    again, seconds = load_measures(pairs, "stamp")
    assert seconds == 12.5
    assert load_measures(pairs, "other") is None
    np.testing.assert_array_equal(again[0].series[0].pred, s.pred)
    np.testing.assert_array_equal(again[0].series[0].reported, s.reported)
    assert again[0].fps == m.fps and again[0].teacher_matched == m.teacher_matched


def test_measuring_only_data_is_refused(tmp_path):
    from pipan.errors import PipanError
    from training.action.noise_footage import find_sources

    (tmp_path / "upfall").mkdir()
    (tmp_path / "upfall" / "a.mp4").write_bytes(b"")
    with pytest.raises(PipanError, match="measuring-only"):
        find_sources([tmp_path / "upfall"])
    with pytest.raises(PipanError, match="no video files"):
        find_sources([tmp_path])  # a folder above is searched without what it holds


def test_training_batches_carry_the_noise():
    pytest.importorskip("keras")
    from training.action.data import Augment
    from training.action.train import _make_sequence

    clips = [person(T=30, seed=k) for k in range(6)]
    y = np.array([0, 1] * 3)
    kwargs = dict(batch_size=6, t_pad=24, augment=Augment(), seed=0, prefix_ramp=2.0)
    clean = _make_sequence(clips, y, ["a", "b"], **kwargs)[0]
    off = _make_sequence(clips, y, ["a", "b"], pose_noise=measured_params(),
                         pose_noise_fraction=0.0, **kwargs)[0]
    noisy = _make_sequence(clips, y, ["a", "b"], pose_noise=measured_params(),
                           pose_noise_fraction=1.0, **kwargs)[0]
    np.testing.assert_allclose(off[0], clean[0], atol=1e-5)  # same draws, no noise
    x = noisy[0]
    assert x.shape == clean[0].shape and np.all(np.isfinite(x))
    scores = x[..., 2][noisy[2]["probs"] > 0]
    assert scores.max() <= 0.95 + 1e-6 and (scores == 0).any()  # runtime-like scores


def test_the_document_json_is_compact_and_exact():
    from training.action.noise_footage import to_json

    doc = {"format": FORMAT, "params": measured_params().to_dict(),
           "footage": [{"file": "a.mp4", "frames": 3}], "halves": {}, "seconds": 1.5}
    text = to_json(doc)
    assert json.loads(text) == doc and len(text.splitlines()) < 40
