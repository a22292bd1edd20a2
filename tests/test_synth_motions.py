"""Synthetic skeleton motion: determinism, shapes, labels, physics of the stick body,
camera projection, detector noise and the in-frame/out-of-frame convention."""
import numpy as np
import pytest

from pipan import dataset as ds
from pipan.skeleton import COCO18, JOINT_INDEX as J
from training.synth import motions as m
from training.synth.body import Body, neutral, pose_joints
from training.synth.camera import Camera, project


def test_action_list_covers_the_required_and_jhmdb_labels():
    required = {"walk", "run", "jump", "wave", "wave_both", "clap", "squat", "sit", "stand",
                "punch", "kick", "pick", "throw", "idle"}
    assert required <= set(m.ACTIONS) and len(m.ACTIONS) == len(set(m.ACTIONS)) >= 12
    assert set(m.JHMDB_ACTIONS) <= set(m.ACTIONS)
    assert all(a == a.lower() and " " not in a for a in m.ACTIONS)


def test_same_seed_same_bytes_other_seed_other_data(tmp_path):
    a, b, c = (tmp_path / n for n in ("a.npz", "b.npz", "c.npz"))
    ds.save(m.generate_dataset(40, seed=3), a)
    ds.save(m.generate_dataset(40, seed=3), b)
    ds.save(m.generate_dataset(40, seed=4), c)
    assert a.read_bytes() == b.read_bytes()
    assert a.read_bytes() != c.read_bytes()


def test_dataset_format_labels_lengths_and_split():
    d = m.generate_dataset(len(m.ACTIONS) * 4, seed=0, min_frames=20, max_frames=45)
    assert d.joints == COCO18 and d.keypoints.dtype == np.float32
    assert d.keypoints.shape[1:] == (18, 3)
    assert set(d.classes) == set(m.ACTIONS)  # every action generated
    assert all((np.asarray(d.labels) == a).sum() == 4 for a in m.ACTIONS)  # balanced
    assert d.lengths.min() >= 20 and d.lengths.max() <= 45
    assert d.test.sum() == len(m.ACTIONS)  # a quarter of each class
    for a in m.ACTIONS:
        assert d.test[np.asarray(d.labels) == a].sum() == 1
    s = d.keypoints[..., 2]
    assert s.min() >= 0 and s.max() <= 1
    assert (s > 0).mean() > 0.5  # mostly detected


@pytest.mark.parametrize("label", m.ALL_ACTIONS)
def test_every_action_moves_a_rigid_body(label):
    """Each program gives finite joints whose segment lengths are the body's, every frame
    (forward kinematics cannot stretch a limb), and the body is on or above the floor."""
    rng = np.random.default_rng(7)
    motion = m.action_motion(label, 40, rng)
    j, b = motion.joints, motion.body
    assert j.shape == (40, 18, 3) and np.isfinite(j).all()
    for a, c, length in (("right_elbow", "right_wrist", b.forearm),
                         ("left_shoulder", "left_elbow", b.upper_arm),
                         ("right_hip", "right_knee", b.thigh),
                         ("left_knee", "left_ankle", b.shin)):
        np.testing.assert_allclose(np.linalg.norm(j[:, J[a]] - j[:, J[c]], axis=-1), length,
                                   rtol=1e-6)
    assert j[..., 1].min() > -0.01  # nothing below the floor
    # hanging from a bar and lying on the floor are the only ways to have both feet up
    if label != "pullup" and label not in m.FALLS and label != "lie":
        feet = np.minimum(j[:, J["left_ankle"], 1], j[:, J["right_ankle"], 1])
        assert (feet < b.ankle + 0.02).mean() > 0.3 or label in ("jump", "run")  # flight


def test_actions_differ_where_they_should():
    """Spot checks of meaning: a wave raises a wrist above the head, a squat lowers the
    hips, walking travels, sitting ends lower than it starts, standing the reverse."""
    def run(label, seed=0, T=60):
        return m.action_motion(label, T, np.random.default_rng(seed)).joints
    w = run("wave")
    assert (np.maximum(w[:, J["left_wrist"], 1], w[:, J["right_wrist"], 1])
            > w[:, J["neck"], 1]).any()
    s = run("squat")
    hip = s[:, J["right_hip"], 1]
    assert hip.min() < hip.max() - 0.15
    wk = run("walk")
    assert np.linalg.norm(wk[-1, J["neck"], [0, 2]] - wk[0, J["neck"], [0, 2]]) > 0.5
    for seed in range(3):
        sit, stand = run("sit", seed), run("stand", seed)
        assert sit[-1, J["neck"], 1] < sit[0, J["neck"], 1] - 0.15
        assert stand[-1, J["neck"], 1] > stand[0, J["neck"], 1] + 0.15


def test_projection_centre_and_depth():
    T = 3
    cam = Camera(640, 480, 500.0, yaw=0.7, pitch=0.3, roll=0.0, distance=4.0,
                 offset=(10.0, -5.0), shake=np.zeros((T, 3)))
    aim = np.array([0.2, 0.9, -0.1])
    pts = np.tile(aim, (T, 2, 1))
    pts[:, 1, 1] += 0.5  # half a metre above the aim point
    xy, depth = project(pts, cam, aim)
    np.testing.assert_allclose(xy[:, 0], [[330.0, 235.0]] * T, atol=1e-6)
    np.testing.assert_allclose(depth[:, 0], 4.0, atol=1e-9)
    assert (xy[:, 1, 1] < xy[:, 0, 1]).all()  # up in the world is up in the image


def test_exact_projection_without_noise_and_out_of_frame_convention():
    rng = np.random.default_rng(5)
    found_outside = False
    for i in range(30):
        c = m.generate_clip(m.ACTIONS[i % len(m.ACTIONS)], rng, noise=0.0)
        kp = c.keypoints
        inside = c.inside
        # in the image: exact position, score 1; outside: all zeros
        np.testing.assert_allclose(kp[inside][:, :2], c.xy[inside], atol=1e-3)
        assert (kp[inside][:, 2] == 1).all()
        assert (kp[~inside] == 0).all()
        x, y = c.xy[..., 0], c.xy[..., 1]
        geom = (x >= 0) & (x < 640) & (y >= 0) & (y < 480) & (c.depth > 0)
        assert (inside == geom).all()
        found_outside |= (~inside).any()
    assert found_outside  # some people are partly out of frame


def test_noisy_detections_are_consistent():
    d = m.generate_dataset(60, seed=1)
    kp = d.keypoints
    missing = kp[..., 2] == 0
    assert missing.any() and (kp[missing][:, :2] == 0).all()
    present = ~missing
    x, y = kp[..., 0][present], kp[..., 1][present]
    # jitter (up to 2.5 % of the person's size, 1.6x at the extremities; close-ups are up
    # to ~900 px tall) may push a joint a few dozen pixels past the edge, never far
    assert x.min() > -100 and x.max() < 740 and y.min() > -100 and y.max() < 580


def test_sequences_have_contiguous_known_segments():
    seq = m.generate_sequence(seed=2, seconds=20, fps=30)
    T = len(seq.keypoints)
    assert T == 600 and seq.keypoints.shape == (600, 18, 3)
    segs = seq.segments
    assert segs[0][0] == 0 and segs[-1][1] == T
    assert all(a[1] == b[0] for a, b in zip(segs, segs[1:]))
    assert all(s < e for s, e, _ in segs) and len(segs) >= 4
    labels = [l for _, _, l in segs]
    assert set(labels) <= set(m.ACTIONS)
    for a, b in zip(labels, labels[1:]):
        assert (a == "sit") == (b == "stand")  # a sit is followed by stand, only by it
    assert list(seq.frame_labels[[s for s, _, _ in segs]]) == labels


def test_scene_people_share_the_camera_and_stay_in_view():
    sc = m.generate_scene(seed=4, people=3, seconds=6, fps=15)
    assert sc.frames == 90 and len(sc.people) == 3
    for p in sc.people:
        assert p.xy.shape == (90, 18, 2) and p.keypoints.shape == (90, 18, 3)
        assert p.segments[0][0] == 0 and p.segments[-1][1] == 90
        assert p.inside.mean() > 0.7
    # people stand apart: their mean image x differ
    xs = sorted(float(np.median(p.xy[..., 0])) for p in sc.people)
    assert xs[1] - xs[0] > 20 and xs[2] - xs[1] > 20


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="unknown action"):
        m.generate_dataset(5, 0, actions=("walk", "fly"))
    with pytest.raises(ValueError, match="min_frames"):
        m.generate_dataset(5, 0, min_frames=30, max_frames=10)
    with pytest.raises(ValueError):
        m.generate_dataset(0, 0)


def test_neutral_pose_stands_upright():
    b = Body.random(np.random.default_rng(0))
    j = pose_joints(neutral(2), b)
    assert j[0, J["nose"], 1] > j[0, J["neck"], 1] > j[0, J["right_hip"], 1] \
        > j[0, J["right_knee"], 1] > j[0, J["right_ankle"], 1]
    np.testing.assert_allclose(min(j[0, J["left_ankle"], 1], j[0, J["right_ankle"], 1]),
                               b.ankle, atol=1e-9)
    assert abs(j[0, J["nose"], 1] / b.height - 0.91) < 0.05  # nose at ~91 % of the height
    assert j[0, J["left_shoulder"], 0] > 0 > j[0, J["right_shoulder"], 0]  # left is +x
