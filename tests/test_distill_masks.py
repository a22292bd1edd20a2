"""Person masks cut from a teacher's skeleton (GrabCut): the mask covers the person drawn
under the skeleton and little else, and the masks command writes a set that copy-paste
augmentation can cut people from."""
import json

import cv2
import numpy as np
import pytest

from pipan.skeleton import COCO17, COCO18, JOINT_INDEX, LIMBS
from training.distill.masks import make_masks, skeleton_mask, whole_person

J = JOINT_INDEX


def standing(cx=160.0, top=40.0, h=200.0):
    """A standing skeleton (18, 3), ``h`` pixels from the eyes to the ankles."""
    pts = {
        "nose": (0, 0.02), "neck": (0, 0.15), "right_eye": (-0.02, 0), "left_eye": (0.02, 0),
        "right_ear": (-0.04, 0.01), "left_ear": (0.04, 0.01),
        "right_shoulder": (-0.12, 0.15), "left_shoulder": (0.12, 0.15),
        "right_elbow": (-0.15, 0.32), "left_elbow": (0.15, 0.32),
        "right_wrist": (-0.16, 0.47), "left_wrist": (0.16, 0.47),
        "right_hip": (-0.08, 0.5), "left_hip": (0.08, 0.5),
        "right_knee": (-0.09, 0.75), "left_knee": (0.09, 0.75),
        "right_ankle": (-0.09, 1.0), "left_ankle": (0.09, 1.0),
    }
    kp = np.zeros((18, 3), np.float32)
    for name, (x, y) in pts.items():
        kp[J[name]] = (cx + x * h, top + y * h, 1.0)
    return kp


def scene(kp, seed=0):
    """A textured green background with a red figure drawn along ``kp``'s limbs."""
    rng = np.random.default_rng(seed)
    img = np.zeros((300, 320, 3), np.uint8)
    img[:] = (40, 140, 60)
    img = np.clip(img + rng.normal(0, 12, img.shape), 0, 255).astype(np.uint8)
    figure = np.zeros(img.shape[:2], np.uint8)
    for a, b in LIMBS:
        if a in (J["right_ear"], J["left_ear"]) or b in (J["right_ear"], J["left_ear"]):
            continue
        cv2.line(figure, tuple(int(v) for v in kp[a, :2]), tuple(int(v) for v in kp[b, :2]),
                 1, 14)
    torso = kp[[J["right_shoulder"], J["left_shoulder"], J["left_hip"], J["right_hip"]], :2]
    cv2.fillConvexPoly(figure, np.round(torso).astype(np.int32), 1)
    cv2.circle(figure, tuple(int(v) for v in kp[J["nose"], :2]), 14, 1, -1)
    img[figure > 0] = (30, 30, 200)
    return img, figure > 0


def test_the_mask_covers_the_figure_under_the_skeleton():
    kp = standing()
    img, figure = scene(kp)
    mask = skeleton_mask(img, kp)
    assert mask is not None
    iou = (mask & figure).sum() / (mask | figure).sum()
    assert iou > 0.8


def test_a_person_not_seen_whole_gets_no_mask():
    kp = standing()
    assert whole_person(kp)
    legless = kp.copy()
    legless[[J["right_ankle"], J["left_ankle"], J["right_knee"], J["left_knee"]], 2] = 0
    assert not whole_person(legless)
    small = standing(h=50)
    assert not whole_person(small)


def coco_person(kp):
    idx = [COCO18.index(n) for n in COCO17]
    flat = np.concatenate([kp[idx, :2], np.full((17, 1), 2.0)], 1)
    return [round(float(v), 2) for v in flat.reshape(-1)]


def test_the_masks_command_writes_a_set_paste_can_cut_people_from(tmp_path):
    from training.pose.coco import CocoPoseData
    from training.pose.paste import find_cutouts
    src = tmp_path / "teacher"
    (src / "images").mkdir(parents=True)
    kp = standing()
    img, _ = scene(kp)
    cv2.imwrite(str(src / "images" / "a.jpg"), img)
    cv2.imwrite(str(src / "images" / "b.jpg"), scene(kp, 1)[0])
    images = [{"id": 1, "file_name": "a.jpg", "width": 320, "height": 300},
              {"id": 2, "file_name": "b.jpg", "width": 320, "height": 300}]
    anns = [{"id": 1, "image_id": 1, "category_id": 1, "iscrowd": 0, "num_keypoints": 17,
             "keypoints": coco_person(kp)},
            # two people in b: not cut (whose pixels would be whose?)
            {"id": 2, "image_id": 2, "category_id": 1, "iscrowd": 0, "num_keypoints": 17,
             "keypoints": coco_person(kp)},
            {"id": 3, "image_id": 2, "category_id": 1, "iscrowd": 0, "num_keypoints": 17,
             "keypoints": coco_person(standing(cx=60))}]
    (src / "annotations.json").write_text(json.dumps(
        {"images": images, "annotations": anns, "categories": [{"id": 1}]}))
    out = tmp_path / "masks"
    counts = make_masks(src, out)
    assert counts == {"frames": 2, "one_whole_person": 1, "masked": 1}
    assert not (tmp_path / "masks.tmp").exists()
    data = CocoPoseData([out / "annotations.json"])
    assert len(data.items) == 1 and len(find_cutouts(data)) == 1
    np.testing.assert_allclose(data.items[0].people[0][:, :2], kp[:, :2], atol=0.01)


def test_the_masks_command_says_what_is_wrong_with_its_labels(tmp_path):
    from click.testing import CliRunner

    from training.distill.cli import group
    (tmp_path / "annotations.json").write_text("{not json")
    r = CliRunner().invoke(group, ["masks", "--labels", str(tmp_path), "--out",
                                   str(tmp_path / "o")])
    assert r.exit_code != 0
    assert "annotations.json" in r.output and "Traceback" not in r.output
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("turn", [0, 1])
def test_the_mask_follows_a_lying_figure_too(turn):
    kp = standing()
    img, figure = scene(kp)
    if turn:
        img, figure = np.ascontiguousarray(np.rot90(img)), np.ascontiguousarray(np.rot90(figure))
        x, y = kp[:, 0].copy(), kp[:, 1].copy()
        kp[:, 0], kp[:, 1] = y, 319 - x
    mask = skeleton_mask(img, kp)
    assert mask is not None
    assert (mask & figure).sum() / (mask | figure).sum() > 0.8
