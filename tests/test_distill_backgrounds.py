"""Hard negatives cut from teacher-labelled frames (training.distill.backgrounds)."""
from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from pipan.errors import PipanError
from training.distill.backgrounds import (BackgroundOptions, background_crops,
                                          people_boxes)

PERSON = (10.0, 20.0, 60.0, 120.0)  # x, y, w, h of the labelled person in every frame


def _folder(root, names=("cam_000000.jpg", "cam_000002.jpg", "other_000000.jpg")):
    """A teacher-labelled folder: 240x180 frames, a person labelled on the left, and a
    red square (someone the teacher did not label) in the top right corner."""
    (root / "images").mkdir(parents=True)
    images, anns = [], []
    for i, name in enumerate(names, 1):
        img = np.full((180, 240, 3), 90, np.uint8)
        img[0:40, 200:240] = (0, 0, 255)
        cv2.imwrite(str(root / "images" / name), img)
        images.append({"id": i, "file_name": name, "width": 240, "height": 180})
        kp = np.zeros((17, 3))
        kp[0] = (35, 25, 2)
        kp[15] = (30, 135, 2)  # an ankle below the box: the keypoints count too
        anns.append({"id": i, "image_id": i, "category_id": 1, "bbox": list(PERSON),
                     "keypoints": kp.reshape(-1).tolist(), "num_keypoints": 2})
    (root / "annotations.json").write_text(json.dumps(
        {"images": images, "annotations": anns, "categories": []}))
    return root


def _red(image):
    """Stand-in detector: someone is there if the crop shows the red square."""
    return 0.9 if ((image[..., 2] > 200) & (image[..., 0] < 50)).any() else 0.0


def test_regions_keep_clear_of_people_and_of_what_the_detector_sees(tmp_path):
    src = _folder(tmp_path / "teacher")
    opts = BackgroundOptions(per_image=3, sides=(0.3, 0.5), margin=0.25, seed=0)
    s = background_crops(src, tmp_path / "bg", _red, opts)
    doc = json.loads(s.path.read_text())
    assert doc["annotations"] == [] and s.regions == len(doc["images"]) > 0
    widened = people_boxes([{"bbox": list(PERSON),
                             "keypoints": [35, 25, 2] + [0] * 42 + [30, 135, 2] + [0] * 3}],
                           0.25)[0]
    for im in doc["images"]:
        x0, y0, x1, y1 = im["region"]
        assert x1 - x0 == y1 - y0 == im["width"] == im["height"]
        assert x0 >= widened[2] or y0 >= widened[3] or x1 <= widened[0] or y1 <= widened[1]
        assert not (x1 > 200 and y0 < 40)  # the red square's regions were dropped
        assert im["negative"] is True
        crop = cv2.imread(str(s.path.parent / "images" / im["file_name"]))
        assert crop.shape[:2] == (im["height"], im["width"])
    assert s.rejected_by_detector == doc["info"]["rejected_by_detector"] > 0
    # the same seed cuts the same regions; the training data loader keeps them as negatives
    again = background_crops(src, tmp_path / "bg", _red, opts)  # an earlier output: replaced
    assert [i["region"] for i in json.loads(again.path.read_text())["images"]] == \
        [i["region"] for i in doc["images"]]
    pytest.importorskip("pycocotools")
    from training.pose.coco import CocoPoseData
    data = CocoPoseData(s.path, require_people=True)
    assert len(data) == s.regions and all(it.negative and len(it.people) == 0
                                          for it in data.items)


def test_only_some_footage_and_bad_input(tmp_path):
    src = _folder(tmp_path / "teacher")
    s = background_crops(src, tmp_path / "bg", lambda im: 0.0,
                         BackgroundOptions(per_image=2, only=("cam_",)))
    assert s.frames == 2
    assert all(i["source"].startswith("cam_") for i in json.loads(s.path.read_text())["images"])
    with pytest.raises(PipanError, match="no frame's file name starts with"):
        background_crops(src, tmp_path / "bg2", _red, BackgroundOptions(only=("zzz",)))
    with pytest.raises(PipanError, match="not a teacher-labelled folder"):
        background_crops(tmp_path / "nothing", tmp_path / "bg3", _red)
    keep = tmp_path / "mine"
    keep.mkdir()
    (keep / "notes.txt").write_text("mine")
    with pytest.raises(PipanError, match="not an earlier background folder"):
        background_crops(src, keep, _red)
    assert (keep / "notes.txt").read_text() == "mine"
    assert not list(tmp_path.glob(".bg*"))  # no temporary folder left behind
