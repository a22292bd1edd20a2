"""Synthetic falls, lying and sitting still, the whole-body roll, the high room camera and
clips labelled with the bundled vocabulary: bodies end where they should (on the floor,
horizontal; on a chair), nothing else moves, and labels are shared out fairly."""
import json
from collections import Counter

import numpy as np
import pytest
from click.testing import CliRunner

from pipan import dataset as ds
from pipan.skeleton import JOINT_INDEX as J
from pipan.vocabulary import NAMES, SYNTHETIC
from training.cli import cli
from training.synth import motions as m
from training.synth.actions import PROGRAMS
from training.synth.body import Body, neutral, pose_joints
from training.synth.camera import project, room_camera

FALLS = ("fall_forward", "fall_backward", "fall_sideways", "fall_chair")


def _hips(j):
    return (j[:, J["left_hip"]] + j[:, J["right_hip"]]) / 2


def _motion(label, seed, frames=60):
    return m.action_motion(label, frames, np.random.default_rng(seed))


def _lying(j, body):
    """Per frame: mid-hip low, neck about as low as the hips (the spine horizontal)."""
    hip, neck = _hips(j), j[:, J["neck"]]
    spine = np.linalg.norm(neck - hip, axis=-1)
    return (hip[:, 1] < 0.45) & (np.abs(neck[:, 1] - hip[:, 1]) < 0.45 * spine)


def test_body_roll_zero_changes_nothing_and_a_quarter_roll_lays_the_body_on_its_side():
    rng = np.random.default_rng(0)
    body = Body.random(rng)
    t = np.arange(30) / 30
    for label in m.ACTIONS:  # every older program, through the roll-free path
        pose = PROGRAMS[label](t, body, np.random.default_rng(1), -1.0)
        assert not pose["body_roll"].any()
        without = {k: v for k, v in pose.items() if k != "body_roll"}
        np.testing.assert_array_equal(pose_joints(pose, body),
                                      pose_joints({**without, "body_roll": pose["body_roll"]},
                                                  body))
        tiny = dict(pose, body_roll=np.full(30, 1e-9))
        np.testing.assert_allclose(pose_joints(tiny, body), pose_joints(pose, body), atol=1e-6)
    pose = neutral(1)
    pose["body_roll"][:] = np.pi / 2  # towards the person's right
    j = pose_joints(pose, body)[0]
    assert j[J["right_shoulder"], 1] < j[J["left_shoulder"], 1] - 0.2
    hip = (j[J["left_hip"]] + j[J["right_hip"]]) / 2
    assert abs(j[J["neck"], 1] - hip[1]) < 0.05 * body.torso  # the spine level
    assert j[:, 1].min() == pytest.approx(body.ankle)  # lowest joint on the floor
    assert j[J["nose"], 0] < -0.5  # the head went right (-x)


@pytest.mark.parametrize("label", FALLS)
def test_a_fall_starts_up_and_ends_horizontal_on_the_floor(label):
    for seed in range(8):
        mo = _motion(label, seed, frames=75)
        j, b = mo.joints, mo.body
        assert np.isfinite(j).all()
        hip = _hips(j)[:, 1]
        if label == "fall_chair":  # seated: hips at about knee height
            assert 0.3 < hip[0] < 0.75
        else:
            assert hip[0] > 0.6 and not _lying(j[:1], b).any()
        assert _lying(j[-5:], b).all()  # on the floor for the last frames
        assert j[..., 1].min() > b.ankle - 0.05  # nothing below the floor
        assert np.median(j[-1, :, 1]) < 0.35  # the body, not just the hips, is down
        # a fall, not a slow lying down: the hips cover most of the drop within 1.3 s
        drop = hip[0] - hip[-1]
        above = np.flatnonzero(hip > hip[-1] + 0.85 * drop)
        below = np.flatnonzero(hip < hip[-1] + 0.15 * drop)
        assert (below[0] - above[-1]) / mo.fps < 1.3


def test_short_clips_still_hold_the_whole_fall():
    for seed in range(10):
        j = _motion("fall_forward", seed, frames=20).joints  # 0.67 s
        assert _hips(j)[0, 1] > 0.6 and _lying(j[-1:], None).all()


def test_lie_stays_low_all_clip_and_moves_a_little():
    moved = []
    for seed in range(12):
        mo = _motion("lie", seed, frames=90)
        j = mo.joints
        floor = j[..., 1].min()
        assert floor < 0.6 + mo.body.ankle + 0.01  # the floor or a bed up to 0.6 m
        hip, neck = _hips(j), j[:, J["neck"]]
        assert (np.abs(neck[:, 1] - hip[:, 1]) < 0.45 * np.linalg.norm(neck - hip, axis=-1)).all()
        assert (j[..., 1] - floor < 0.9).all()  # a drawn-up knee at most
        moved.append(np.abs(np.diff(j, axis=0)).max())
    assert 0 < np.median(moved) < 0.2


def test_sit_still_stays_seated():
    for seed in range(12):
        mo = _motion("sit_still", seed, frames=90)
        j, b = mo.joints, mo.body
        hip = _hips(j)[:, 1]
        stand_hip = _hips(pose_joints(neutral(1), b))[0, 1]
        assert (hip < 0.8 * stand_hip).all() and hip.max() - hip.min() < 0.1
        knees = (j[:, J["left_knee"], 1] + j[:, J["right_knee"], 1]) / 2
        assert (np.abs(knees - hip) < 0.25).all()  # thighs about level
        assert np.abs(np.diff(j, axis=0)).max() > 0  # not a statue


@pytest.mark.parametrize("actions", [m.ALL_ACTIONS, ("walk", "sit", "sit_still", "stand",
                                                     "fall_chair", "fall_forward", "lie")])
def test_chains_lie_after_a_fall_and_sit_before_sitting_still(actions):
    seen = Counter()
    for seed in range(40):
        mo = m.sequence_motion(np.random.default_rng(seed), 300, 30.0, actions=actions)
        labels = [s[2] for s in mo.segments]
        seen.update(labels)
        for a, b in zip(labels, labels[1:]):
            if a in m.FALLS or b == "lie":
                assert a in m.FALLS and b == "lie"
            if b in ("stand", "sit_still", "fall_chair"):
                assert a in ("sit", "sit_still")
        if "lie" in labels:
            assert labels[-1] == "lie" and labels.count("lie") == 1
            s = [seg for seg in mo.segments if seg[2] == "lie"][0][0]
            j = mo.joints
            # lying on where the fall ended, without a jump
            assert np.abs(j[s] - j[s - 1]).max() < 0.05
            assert _lying(j[s:], None).all()
    assert seen["lie"] >= 3 and (seen["sit_still"] >= 3 or actions == m.ALL_ACTIONS)
    # the older label set chains exactly as before: sit -> stand, nothing new
    mo = m.sequence_motion(np.random.default_rng(0), 300, 30.0)
    assert {s[2] for s in mo.segments} <= set(m.ACTIONS)


def test_room_camera_is_high_looks_down_and_sees_the_person():
    rng = np.random.default_rng(3)
    seen = []
    for _ in range(200):
        cam, aim_y = room_camera(rng, 2, person_height=1.75)
        assert np.radians(15) - 1e-9 <= cam.pitch <= np.radians(45) + 1e-9
        up = aim_y + cam.distance * np.sin(cam.pitch)
        away = cam.distance * np.cos(cam.pitch)
        assert 1.8 - 1e-9 <= up <= 2.6 + 1e-9 and 2.0 - 1e-9 <= away <= 6.0 + 1e-9
        body = np.array([[[0.0, 0.05, 0.0], [0.0, 0.9, 0.0], [0.0, 1.7, 0.0]]] * 2)
        xy, depth = project(body, cam, np.array([0.0, aim_y, 0.0]))
        seen.append(((xy[0, :, 1] >= 0) & (xy[0, :, 1] < 480) & (depth[0] > 0)).all())
    assert np.mean(seen) > 0.9


def test_high_camera_share_and_zero_share_keeps_the_eye_level_stream():
    rng = lambda i: np.random.default_rng([5, i])  # noqa: E731
    pitches = [m.generate_clip("walk", rng(i), high_camera=1.0).camera.pitch for i in range(20)]
    assert min(pitches) >= np.radians(15) - 1e-9
    a = m.generate_dataset(12, seed=2, high_camera=0.0)
    b = m.generate_dataset(12, seed=2, high_camera=0.0)
    c = m.generate_dataset(12, seed=2)
    np.testing.assert_array_equal(a.keypoints, b.keypoints)
    assert a.keypoints.shape != c.keypoints.shape or (a.keypoints != c.keypoints).any()


def test_vocabulary_counts_balance_labels_not_programs():
    acts = tuple(SYNTHETIC)
    for clips in (100, 401, 1900):
        n = dict(zip(acts, m.vocabulary_counts(clips, acts)))
        assert sum(n.values()) == clips
        per_label = Counter()
        for a, k in n.items():
            per_label[SYNTHETIC[a]] += k
        plain = [k for label, k in per_label.items() if label != "unknown"]
        assert max(plain) - min(plain) <= 1
        assert abs(per_label["unknown"] - m.UNKNOWN_SHARE * np.mean(plain)) <= 1
        falls = [n[a] for a in FALLS]
        assert max(falls) - min(falls) <= 1 and n["wave"] + n["wave_both"] in plain
    with pytest.raises(ValueError, match="unknown action"):
        m.vocabulary_dataset(5, 0, actions=("walk", "fly"))
    with pytest.raises(ValueError, match="counts must be"):
        m.generate_dataset(5, 0, actions=("walk", "run"), counts=(2, 2))


def test_cli_vocabulary_labels_and_counts(tmp_path):
    out = tmp_path / "v.npz"
    r = CliRunner().invoke(cli, ["synth", "motions", "--out", str(out), "--clips", "170",
                                 "--seed", "1", "--vocabulary", "--min-frames", "10",
                                 "--max-frames", "12"])
    assert r.exit_code == 0, r.output
    d = ds.load(out)
    counts = Counter(map(str, d.labels))
    assert set(counts) == set(NAMES)  # every vocabulary label, nothing else
    plain = [n for label, n in counts.items() if label != "unknown"]
    assert max(plain) - min(plain) <= 1 and counts["unknown"] in (12, 13)
    r = CliRunner().invoke(cli, ["synth", "motions", "--out", str(out), "--clips", "6",
                                 "--vocabulary", "--actions", "fall_chair,sit_still,wave_both"])
    assert r.exit_code == 0, r.output
    assert ds.load(out).classes == ["fall", "sit", "wave"]


def test_scenes_from_high_up_and_videos_of_falls(tmp_path):
    eye = m.generate_scene(3, people=2, seconds=2)
    assert eye.camera.pitch <= 0.25
    for seed in range(6):
        cam = m.generate_scene(seed, people=2, seconds=1, high_camera=1.0).camera
        up = 0.85 + cam.distance * np.sin(cam.pitch)
        assert np.radians(15) - 1e-9 <= cam.pitch <= np.radians(45) + 1e-9 and up > 1.4
    out = tmp_path / "v.mp4"
    r = CliRunner().invoke(cli, ["synth", "video", "--out", str(out), "--seconds", "6",
                                 "--size", "128x96", "--fps", "5", "--people", "3",
                                 "--seed", "2", "--actions", "all", "--high-camera", "1"])
    assert r.exit_code == 0, r.output
    doc = json.loads(out.with_suffix(".json").read_text())
    assert set(doc["labels"]) <= set(m.ALL_ACTIONS)
    for p in doc["people"]:
        labels = [s[2] for s in p["segments"]]
        assert "lie" not in labels or labels[-1] == "lie"


def test_detected_refuses_unknown_programs_before_rendering():
    from training.synth.detected import detected_dataset
    with pytest.raises(ValueError, match="unknown action 'fly'"):
        detected_dataset(1, 1, actions=("walk", "fly"))
    with pytest.raises(ValueError, match="high_camera"):
        detected_dataset(1, 1, high_camera=1.5)
