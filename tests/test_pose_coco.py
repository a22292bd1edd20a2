"""The COCO keypoints loader, on real COCO (coco-mini) and on written COCO-format folders."""
from __future__ import annotations

import json

import numpy as np
import pytest

from pipan.skeleton import JOINT_INDEX

pytest.importorskip("pycocotools")
from pose_data import write_coco  # noqa: E402

from training.pose.coco import CocoPoseData, DataError, annotation_people  # noqa: E402


def test_coco_mini(shared):
    data = CocoPoseData(shared / "data" / "coco-mini")
    raw = json.loads((shared / "data" / "coco-mini" / "test_coco.json").read_text())
    good = [a for a in raw["annotations"] if not a["iscrowd"] and a["num_keypoints"] > 0]
    assert sum(len(it.people) for it in data.items) == len(good)
    for it in data.items:
        img = it.load_image()
        assert img.shape[:2] == (it.height, it.width)
        assert it.people.shape[1:] == (18, 3)
        mask = data.ignore_mask(it)
        if it.ignore_anns:
            assert mask.shape == (it.height, it.width) and mask.sum() > 0
    # the neck is the midpoint of the shoulders
    p = data.items[0].people[0]
    rs, ls, neck = (p[JOINT_INDEX[n]] for n in ("right_shoulder", "left_shoulder", "neck"))
    np.testing.assert_allclose(neck[:2], (rs[:2] + ls[:2]) / 2)


def test_crowd_becomes_mask_and_scores_weight(tmp_path):
    path = write_coco(tmp_path, images=2, crowd=True, scores=True)
    data = CocoPoseData(path)
    assert len(data) == 2
    it = data.items[0]
    assert len(it.ignore_anns) == 1
    mask = data.ignore_mask(it)
    assert mask[:60, :40].all() and mask[70:, 50:].sum() == 0
    assert np.allclose(it.people[..., 2], 0.5)  # keypoint_scores weight the confidence
    assert CocoPoseData(tmp_path).items[1].people.shape == (2, 18, 3)  # folder source


def test_unlabelled_joints_get_zero_confidence():
    kp = np.zeros((17, 3), np.float32)
    kp[5] = (10, 10, 1)  # left shoulder, occluded but labelled
    kp[6] = (30, 10, 2)
    p = annotation_people([{"keypoints": kp.reshape(-1).tolist()}])[0]
    assert p[JOINT_INDEX["left_shoulder"], 2] == 1 and p[JOINT_INDEX["nose"], 2] == 0
    assert p[JOINT_INDEX["neck"], 2] == 1
    with pytest.raises(DataError):
        annotation_people([{"keypoints": kp.reshape(-1).tolist(), "keypoint_scores": [1]}])


def test_bad_sources_are_clear(tmp_path):
    with pytest.raises(DataError, match="no such"):
        CocoPoseData(tmp_path / "nothing")
    (tmp_path / "x.json").write_text("{}")
    with pytest.raises(DataError, match="not COCO"):
        CocoPoseData(tmp_path / "x.json")


def test_mix_merges_sources_with_limits_and_keeps_negatives(tmp_path):
    from training.pose.coco import mix_coco
    write_coco(tmp_path / "a", images=4, seed=1)
    write_coco(tmp_path / "b", images=3, seed=2)
    neg = tmp_path / "neg"
    (neg / "images").mkdir(parents=True)
    import cv2
    cv2.imwrite(str(neg / "images" / "n.png"), np.zeros((20, 30, 3), np.uint8))
    (neg / "annotations.json").write_text(json.dumps({
        "images": [{"id": 7, "file_name": "n.png", "width": 30, "height": 20,
                    "negative": True}], "annotations": [], "categories": []}))
    n_images, n_people = mix_coco([f"{tmp_path / 'a'}:2", str(tmp_path / "b"), str(neg)],
                                  tmp_path / "mix")
    a, b = CocoPoseData(tmp_path / "a"), CocoPoseData(tmp_path / "b")
    mixed = CocoPoseData(tmp_path / "mix")
    assert n_images == 2 + 3 + 1 == len(mixed)
    assert n_people == sum(len(it.people) for it in a.items[:2]) + sum(
        len(it.people) for it in b.items)
    assert [it.negative for it in mixed.items] == [False] * 5 + [True]
    np.testing.assert_array_equal(mixed.items[2].people, b.items[0].people)
    assert mixed.items[2].load_image().shape == b.items[0].load_image().shape
    with pytest.raises(DataError, match="nowhere"):
        mix_coco([str(tmp_path / "nowhere")], tmp_path / "mix2")
