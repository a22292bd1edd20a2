"""Training targets and augmentation (numpy only, no TensorFlow needed)."""
from __future__ import annotations

import numpy as np

from pipan.decode import map_to_net
from pipan.image import letterbox
from pipan.skeleton import FLIP, JOINT_INDEX, LIMBS, NUM_JOINTS
from training.pose.targets import (NO_AUGMENT, Augment, heatmap_targets, make_sample,
                                   paf_targets, transform_people)


def one(joints: dict) -> np.ndarray:
    kp = np.zeros((1, NUM_JOINTS, 3), np.float32)
    for name, (x, y) in joints.items():
        kp[0, JOINT_INDEX[name]] = (x, y, 1)
    return kp


def test_heatmap_peak_and_background():
    kp = one({"nose": (map_to_net(10), map_to_net(5))})
    h = heatmap_targets(kp)
    j = JOINT_INDEX["nose"]
    assert np.unravel_index(np.argmax(h[..., j]), h.shape[:2]) == (5, 10)
    assert np.isclose(h[5, 10, j], 1.0)
    np.testing.assert_allclose(h[..., 18], 1 - h[..., :18].max(-1))
    assert h[..., [i for i in range(18) if i != j]].max() == 0


def test_confidence_scales_the_peak():
    kp = one({"nose": (100, 100)})
    kp[0, JOINT_INDEX["nose"], 2] = 0.4
    assert np.isclose(heatmap_targets(kp)[..., JOINT_INDEX["nose"]].max(), 0.4, atol=0.02)


def test_paf_unit_vectors_on_the_limb_only():
    k = LIMBS.index((1, 8))  # neck -> right hip, straight down
    kp = one({"neck": (map_to_net(10), map_to_net(4)),
              "right_hip": (map_to_net(10), map_to_net(20))})
    p = paf_targets(kp)
    assert np.allclose(p[12, 10, 2 * k:2 * k + 2], [0, 1])
    assert np.allclose(p[12, 15, 2 * k:2 * k + 2], 0)  # off the limb's band
    others = np.delete(p, [2 * k, 2 * k + 1], axis=-1)
    assert np.abs(others).max() == 0
    norms = np.linalg.norm(p[..., 2 * k:2 * k + 2], axis=-1)
    assert np.allclose(norms[norms > 0], 1)


def test_paf_averaged_where_people_overlap():
    k = LIMBS.index((1, 8))
    down = one({"neck": (map_to_net(10), map_to_net(4)),
                "right_hip": (map_to_net(10), map_to_net(20))})
    right = one({"neck": (map_to_net(2), map_to_net(12)),
                 "right_hip": (map_to_net(18), map_to_net(12))})
    p = paf_targets(np.concatenate([down, right]))
    np.testing.assert_allclose(p[12, 10, 2 * k:2 * k + 2], [0.5, 0.5], atol=1e-6)


def test_no_augment_is_the_runtime_letterbox():
    rng = np.random.default_rng(0)
    frame = rng.integers(0, 255, (120, 200, 3), dtype=np.uint8)
    kp = np.zeros((1, NUM_JOINTS, 3), np.float32)
    kp[0, 0] = (50, 60, 1)
    x, heat, paf, mask, people = make_sample(frame, kp, None, NO_AUGMENT, rng)
    rgb, lb = letterbox(frame)
    np.testing.assert_allclose(x, rgb / 255.0, atol=1e-6)
    np.testing.assert_allclose(people[0, 0, :2], lb.to_net([50, 60]), atol=1e-4)
    assert mask.min() == 1


def test_flip_swaps_sides_and_limbs_follow():
    frame = np.zeros((224, 224, 3), np.uint8)
    kp = np.zeros((1, NUM_JOINTS, 3), np.float32)
    kp[0, JOINT_INDEX["right_shoulder"]] = (80, 60, 1)
    kp[0, JOINT_INDEX["right_elbow"]] = (60, 100, 1)
    flip_only = Augment(scale=(1, 1), rotate_deg=0, flip=1.0, shift=0, colour=0)
    _, heat, paf, _, people = make_sample(frame, kp, None, flip_only,
                                          np.random.default_rng(0))
    ls, le = JOINT_INDEX["left_shoulder"], JOINT_INDEX["left_elbow"]
    np.testing.assert_allclose(people[0, ls, :2], [223 - 80, 60], atol=1e-3)
    assert people[0, JOINT_INDEX["right_shoulder"], 2] == 0
    assert heat[..., ls].max() > 0.9 and heat[..., JOINT_INDEX["right_shoulder"]].max() == 0
    k_left = LIMBS.index((ls, le))
    k_right = LIMBS.index((JOINT_INDEX["right_shoulder"], JOINT_INDEX["right_elbow"]))
    assert np.linalg.norm(paf[..., 2 * k_left:2 * k_left + 2], axis=-1).max() > 0.99
    assert np.abs(paf[..., 2 * k_right:2 * k_right + 2]).max() == 0
    # the mirrored arm points down and to the right (it pointed down-left)
    v = paf[..., 2 * k_left:2 * k_left + 2].reshape(-1, 2)
    v = v[np.linalg.norm(v, axis=1) > 0].mean(0)
    assert v[0] > 0 and v[1] > 0
    assert all(FLIP[FLIP[j]] == j for j in range(NUM_JOINTS))


def test_augmentation_keeps_joints_on_their_pixels():
    """A bright dot at a joint stays under the joint through scale, rotation, flip, shift."""
    frame = np.zeros((200, 300, 3), np.uint8)
    frame[118:123, 148:153] = 255
    kp = np.zeros((1, NUM_JOINTS, 3), np.float32)
    kp[0, JOINT_INDEX["nose"]] = (150, 120, 1)
    rng = np.random.default_rng(3)
    for _ in range(5):
        x, _, _, _, people = make_sample(frame, kp, None, Augment(colour=0), rng)
        j = np.nonzero(people[0, :, 2] > 0)[0]
        if len(j) == 0:
            continue
        px, py = people[0, j[0], :2]
        if 3 <= px <= 220 and 3 <= py <= 220:
            ys, xs = np.nonzero(x[..., 0] > 0.5)
            assert abs(xs.mean() - px) < 1.5 and abs(ys.mean() - py) < 1.5


def test_ignore_regions_mask_the_loss():
    frame = np.zeros((224, 224, 3), np.uint8)
    ignore = np.zeros((224, 224), np.uint8)
    ignore[:64, :64] = 1
    _, _, _, mask, _ = make_sample(frame, np.zeros((0, NUM_JOINTS, 3)), ignore,
                                   NO_AUGMENT, None)
    assert mask[:7, :7, 0].max() == 0 and mask[9:, 9:, 0].min() == 1


def test_far_outside_joints_become_unlabelled():
    kp = np.zeros((1, NUM_JOINTS, 3), np.float32)
    kp[0, 0] = (-500, 10, 1)
    kp[0, 1] = (10, 10, 1)
    out = transform_people(kp, np.float64([[1, 0, 0], [0, 1, 0]]), False)
    assert out[0, 0, 2] == 0 and out[0, 1, 2] == 1


def test_lying_turns_an_upright_person_on_their_side():
    """With ``lying`` 1 every sample is turned a quarter turn: a standing person's
    head-to-ankle line becomes horizontal (either way), and the turn moves no pixel off
    its joint."""
    frame = np.zeros((224, 224, 3), np.uint8)
    frame[58:63, 110:115] = 255  # a dot on the nose
    kp = np.zeros((1, NUM_JOINTS, 3), np.float32)
    kp[0, JOINT_INDEX["nose"]] = (112, 60, 1)
    kp[0, JOINT_INDEX["right_ankle"]] = (112, 180, 1)
    lying = Augment(scale=(1, 1), rotate_deg=0, flip=0, shift=0, colour=0, lying=1.0)
    rng = np.random.default_rng(0)
    sides = set()
    for _ in range(8):
        x, _, _, _, people = make_sample(frame, kp, None, lying, rng)
        nose, ankle = people[0, JOINT_INDEX["nose"], :2], people[0, JOINT_INDEX["right_ankle"], :2]
        dx, dy = ankle - nose
        assert abs(dy) < 1e-3 and abs(abs(dx) - 120) < 1e-3
        sides.add(np.sign(dx))
        ys, xs = np.nonzero(x[..., 0] > 0.5)
        assert abs(xs.mean() - nose[0]) < 1.5 and abs(ys.mean() - nose[1]) < 1.5
    assert sides == {-1.0, 1.0}
    # off by default: the same draws leave the person upright
    _, _, _, _, people = make_sample(frame, kp, None, Augment(scale=(1, 1), rotate_deg=0,
                                                               flip=0, shift=0, colour=0),
                                     np.random.default_rng(0))
    assert abs(people[0, JOINT_INDEX["right_ankle"], 0] - people[0, 0, 0]) < 1e-3


def test_swapped_channels_are_the_targets_of_the_person_labelled_the_other_way_round():
    from training.pose.targets import SWAPPED_HEATMAP_CHANNELS, SWAPPED_PAF_CHANNELS
    rng = np.random.default_rng(3)
    people = np.concatenate([rng.uniform(40, 180, (2, NUM_JOINTS, 2)),
                             np.ones((2, NUM_JOINTS, 1))], -1).astype(np.float32)
    swapped = people[:, list(FLIP)]
    h, hs = heatmap_targets(people, sigma=1.5), heatmap_targets(swapped, sigma=1.5)
    p, ps = paf_targets(people, limb_width=1.5), paf_targets(swapped, limb_width=1.5)
    assert not np.allclose(h, hs) and not np.allclose(p, ps)
    np.testing.assert_allclose(h[..., list(SWAPPED_HEATMAP_CHANNELS)], hs, atol=1e-6)
    np.testing.assert_allclose(p[..., list(SWAPPED_PAF_CHANNELS)], ps, atol=1e-6)
