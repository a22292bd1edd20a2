"""Rendered synthetic people: keypoints land on the drawn person, visibility flags agree
with the picture, COCO folders load with pycocotools, same seed same pixels."""
import json

import cv2
import numpy as np
import pytest

from pipan.skeleton import COCO17
from training.synth import render as r
from training.synth.coco import OutputExistsError, coco_image, write_coco


def _frame(seed, w=224, h=224, people=None, **kw):
    rng = np.random.default_rng(seed)
    figs = r.sample_figures(rng, w, h, people=people)
    bg = r.background(rng, w, h)
    img, kp, masks = r.render_frame(figs, rng, width=w, height=h, bg=bg, labels=True, **kw)
    return figs, bg, img, kp, masks


def test_same_seed_same_pixels():
    a = coco_image(3, 11)
    b = coco_image(3, 11)
    c = coco_image(4, 11)
    assert np.array_equal(a[0], b[0]) and a[1] == b[1]
    assert not np.array_equal(a[0], c[0])


def test_frames_of_chosen_actions():
    """``actions`` picks what the people are caught doing: people lying on the floor are
    wider than tall, people walking taller than wide (most of them, any camera)."""
    def wide(actions):
        boxes = [a["bbox"] for i in range(20)
                 for a in coco_image(i, 7, people=1, actions=actions)[1]]
        return np.mean([w > h for _, _, w, h in boxes])
    assert wide(("lie",)) > 0.8
    assert wide(("walk",)) < 0.2
    assert not np.array_equal(coco_image(0, 7, actions=("lie",))[0], coco_image(0, 7)[0])


@pytest.mark.parametrize("size", [(224, 224), (320, 240)])
def test_visible_joints_are_on_the_drawn_person(size):
    """Without occluders and camera effects, the pixel under a visible joint belongs to
    that person's mask and differs from the background; hidden joints are inside the
    image; joints outside the image have v = 0 and x = y = 0."""
    w, h = size
    n_vis = n_diff = 0
    for seed in range(25):
        figs, bg, img, kp, masks = _frame(seed, w, h, occluders=0.0, effects=False)
        assert img.shape == (h, w, 3) and img.dtype == np.uint8
        assert kp.shape == (len(figs), 18, 3) and masks.shape == (len(figs), h, w)
        for f, k, mask in zip(figs, kp, masks):
            v = k[:, 2]
            assert set(np.unique(v)) <= {0, 1, 2}
            x, y = f.xy[:, 0], f.xy[:, 1]
            outside = (x < -0.5) | (y < -0.5) | (x > w - 0.5) | (y > h - 0.5)
            assert (v[outside] == 0).all()
            assert (k[v == 0][:, :2] == 0).all()
            np.testing.assert_allclose(k[v > 0][:, :2], f.xy[v > 0], atol=1e-4)
            for j in np.flatnonzero(v == 2):
                px, py = int(round(x[j])), int(round(y[j]))
                assert mask[py, px]
                n_vis += 1
                n_diff += bool((img[py, px] != bg[py, px]).any())
    assert n_vis > 200
    assert n_diff / n_vis > 0.97  # a person's colour can match the background by chance


def test_occluders_hide_joints_and_masks_exclude_them():
    """With an occluder in every frame, some joints are hidden behind something that is
    not the person (their pixel is off the person's mask); a visible joint never is."""
    covered = 0
    for seed in range(30):
        figs, bg, img, kp, masks = _frame(seed, occluders=1.0, effects=False)
        for k, mask in zip(kp, masks):
            for j in np.flatnonzero(k[:, 2] > 0):
                on_me = bool(mask[int(round(k[j, 1])), int(round(k[j, 0]))])
                if k[j, 2] == 2:
                    assert on_me
                else:
                    covered += not on_me
    assert covered > 10


def test_camera_effects_keep_shape_and_change_pixels():
    rng = np.random.default_rng(0)
    img = r.background(rng, 224, 224)
    out = r.camera_effects(img, rng)
    assert out.shape == img.shape and out.dtype == np.uint8
    assert not np.array_equal(out, img)


def test_coco_folder_loads_with_pycocotools(tmp_path):
    COCO = pytest.importorskip("pycocotools.coco").COCO
    out = tmp_path / "coco"
    path = write_coco(out, 12, seed=5, size=224)
    coco = COCO(str(path))
    assert len(coco.getImgIds()) == 12
    cats = coco.loadCats(coco.getCatIds())
    assert cats[0]["name"] == "person" and cats[0]["keypoints"] == list(COCO17)
    anns = coco.loadAnns(coco.getAnnIds())
    assert len(anns) >= 12
    for a in anns:
        kp = np.array(a["keypoints"]).reshape(17, 3)
        assert a["num_keypoints"] == int((kp[:, 2] > 0).sum())
        assert a["iscrowd"] == 0 and a["area"] > 0
        x0, y0, bw, bh = a["bbox"]
        vis = kp[kp[:, 2] == 2]
        # visible joints lie in the box of the visible pixels (up to rounding)
        assert ((vis[:, 0] >= x0 - 1) & (vis[:, 0] <= x0 + bw + 1)).all()
        assert ((vis[:, 1] >= y0 - 1) & (vis[:, 1] <= y0 + bh + 1)).all()
        k18 = np.array(a["keypoints_coco18"]).reshape(18, 3)
        np.testing.assert_array_equal(r.to_coco17(k18), kp)
        info = coco.loadImgs(a["image_id"])[0]
        img = cv2.imread(str(out / info["file_name"]))
        assert img.shape == (info["height"], info["width"], 3)
        m = coco.annToMask(a)  # the segmentation is usable by COCO tools
        assert m.shape == img.shape[:2] and m.any()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp left


def test_coco_folder_is_replaced_only_if_ours(tmp_path):
    out = tmp_path / "coco"
    write_coco(out, 2, seed=0, ext="png")
    first = json.loads((out / "annotations.json").read_text())
    write_coco(out, 3, seed=1, ext="png")  # an earlier output is replaced
    assert len(json.loads((out / "annotations.json").read_text())["images"]) == 3
    assert first["images"][0]["file_name"].endswith(".png")
    other = tmp_path / "mine"
    other.mkdir()
    (other / "notes.txt").write_text("keep me")
    with pytest.raises(OutputExistsError):
        write_coco(other, 2, seed=0)
    assert (other / "notes.txt").read_text() == "keep me"
