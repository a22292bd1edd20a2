"""Copy-paste augmentation and real-footage evaluation helpers: pasted people land where
their pixels do, hidden joints are unlabelled, and datasets' joint names map to COCO-18."""
import json

import numpy as np
import pytest

from pipan.skeleton import JOINT_INDEX
import training.pose.paste as paste_module
from training.pose.paste import Cutout, lay_down, paste, paste_random, person_in_mask
from training.pose.realeval import found_people, load_gt_file, upfall


def person(points):
    kp = np.zeros((18, 3), np.float32)
    for j, (x, y) in enumerate(points):
        kp[j] = (x, y, 1.0)
    return kp


def test_paste_puts_the_person_where_its_pixels_go_and_hides_covered_joints():
    image = np.zeros((100, 200, 3), np.uint8)
    patch = np.full((50, 20, 3), 255, np.uint8)
    alpha = np.ones((50, 20), np.float32)
    cut = person([(10, 5), (10, 45)])
    old = np.zeros((1, 18, 3), np.float32)
    old[0, 0] = (100, 50, 1)  # under the pasted patch: hidden now
    old[0, 1] = (10, 10, 1)
    out, people = paste(image, old, patch, alpha, cut, 0.5, (0.5, 0.5))
    assert people.shape == (2, 18, 3)
    ys, xs = np.nonzero(out[..., 0])
    assert (xs.min(), xs.max(), ys.min(), ys.max()) == (90, 109, 25, 74)
    assert people[1, 0].tolist() == [100, 30, 1] and people[1, 1].tolist() == [100, 70, 1]
    assert people[0, 0, 2] == 0 and people[0, 1].tolist() == [10, 10, 1]


def test_a_patch_half_outside_keeps_only_the_joints_inside():
    image = np.zeros((100, 100, 3), np.uint8)
    cut = person([(5, 5), (5, 45), (15, 25)])
    out, people = paste(image, np.zeros((0, 18, 3), np.float32),
                        np.full((50, 20, 3), 200, np.uint8), np.ones((50, 20), np.float32),
                        cut, 0.5, (0.0, 0.5))  # centred on the left border
    assert people[0, 0, 2] == 0 and people[0, 2, 2] == 1
    assert out[:, :5].any() and not out[:, 20:].any()


def test_the_person_in_a_mask_is_the_one_whose_joints_it_holds():
    mask = np.zeros((100, 200), bool)
    mask[20:90, 120:160] = True
    inside = person([(130 + i, 30 + 7 * i) for i in range(8)])
    outside = person([(20 + i, 30 + 7 * i) for i in range(8)])
    assert person_in_mask(np.stack([outside, inside]), mask) == 1
    assert person_in_mask(outside[None], mask) is None


def test_dataset_joint_names_map_to_coco18_without_the_neck(tmp_path):
    names = ["Right Shoulder", "Left-shoulder", "Head top", "Neck", "right_knee"]
    ann = {"id": 1, "image_id": 1, "category_id": 1, "iscrowd": 0,
           "keypoints": [10, 20, 2, 30, 20, 1, 20, 5, 2, 20, 18, 2, 0, 0, 0]}
    (tmp_path / "a.jpg").write_bytes(b"")
    (tmp_path / "gt.json").write_text(json.dumps({
        "categories": [{"id": 1, "name": "person", "keypoints": names}],
        "images": [{"id": 1, "file_name": "sub/dir/a.jpg"}], "annotations": [ann]}))
    [im] = load_gt_file(tmp_path / "gt.json")
    kp = im.people[0]
    assert kp[JOINT_INDEX["right_shoulder"]].tolist() == [10, 20, 1]
    assert kp[JOINT_INDEX["left_shoulder"]].tolist() == [30, 20, 1]
    assert kp[JOINT_INDEX["neck"], 2] == 0 and kp[JOINT_INDEX["right_knee"], 2] == 0
    assert (kp[:, 2] > 0).sum() == 2 and im.path == tmp_path / "a.jpg"


def test_found_people_counts_the_reference_found_and_the_others():
    ref = person([(10 * j, 10 * j) for j in range(10)])
    ref[:10, 2] = 0.9
    good = ref.copy()
    good[:4, :2] += 100  # four of ten joints wrong: still found (6 >= 5)
    far = ref.copy()
    far[:, :2] += 500
    assert found_people(ref[None], [far, good]) == (1, 1, 6, 10, 1)
    weak = ref.copy()
    weak[:10, 2] = 0.3  # no joint confident enough: not a reference person
    assert found_people(weak[None], [good]) == (0, 0, 0, 0, 1)


def test_upfall_counts_the_ids_on_the_reference_person_apart_from_the_ids_opened(tmp_path):
    """Ids 1 then 2 cover the one reference person; id 3, someone else, is only opened."""
    from types import SimpleNamespace
    from runtime_fakes import write_video
    clip = tmp_path / "a06_walk_t1_cam1.avi"
    write_video(clip, 8, fps=2.0)
    ref = person([(40 + 5 * j, 40 + 5 * j) for j in range(10)])
    ref[:10, 2] = 0.9
    elsewhere = ref.copy()
    elsewhere[:, :2] += 150

    class Run:
        def run(self, src):
            for frame in src:
                who = 1 if frame.index < 4 else 2
                tracks = [SimpleNamespace(id=who, person=ref.copy()),
                          SimpleNamespace(id=3, person=elsewhere.copy())]
                yield SimpleNamespace(final=False, index=frame.index, image=frame.image,
                                      tracks=tracks)
            yield SimpleNamespace(final=True)

    res = upfall(lambda fps: Run(), [clip], lambda c, i, image: ref[None])
    assert res.sampled == 4 and res.covered == 4 and res.others == 4  # id 3 each time
    assert res.ids[clip.name] == 3 and res.person_ids[clip.name] == 2


@pytest.mark.parametrize("turns", [1, 3])
def test_a_laid_down_cut_out_keeps_its_joints_on_their_pixels(turns):
    patch = np.zeros((40, 16, 3), np.uint8)
    patch[30, 3] = (255, 0, 0)  # the joint's pixel
    patch[5, 12] = (0, 255, 0)
    kp = np.zeros((18, 3), np.float32)
    kp[0] = (3, 30, 1.0)
    kp[1] = (12, 5, 1.0)
    alpha = np.ones((40, 16), np.float32)
    turned, a, moved = lay_down(patch, alpha, kp, turns, 1.0)
    assert turned.shape == (16, 40, 3) and a.shape == (16, 40)  # lying: wider than high
    for j, colour in ((0, (255, 0, 0)), (1, (0, 255, 0))):
        x, y = int(round(moved[j, 0])), int(round(moved[j, 1]))
        assert tuple(turned[y, x]) == colour
    assert (moved[2:] == 0).all()  # unlabelled joints stay unlabelled
    flat, _, squashed = lay_down(patch, alpha, kp, turns, 0.5)
    assert flat.shape == (8, 40, 3)
    assert squashed[:2, 0] == pytest.approx(moved[:2, 0])
    assert squashed[:2, 1] == pytest.approx(moved[:2, 1] * 0.5)


@pytest.mark.parametrize("seed", range(5))
def test_a_person_laid_across_the_bottom_edge_is_cut_by_it(monkeypatch, seed):
    patch = np.full((60, 20, 3), 200, np.uint8)
    cut = person([(10, 5), (10, 55)])  # head and foot: lying, they are side by side
    monkeypatch.setattr(paste_module, "cut",
                        lambda data, c: (patch, np.ones((60, 20), np.float32), cut))
    rng = np.random.default_rng(seed)
    out, people = paste_random(np.zeros((100, 200, 3), np.uint8),
                               np.zeros((0, 18, 3), np.float32), None, [Cutout(0, 0)], rng,
                               max_people=1, lying=1.0, lying_edge=1.0)
    rows = np.flatnonzero(out[..., 0].any(1))
    cols = np.flatnonzero(out[..., 0].any(0))
    assert rows.max() == 99 and rows.min() > 50  # low, and cut by the bottom edge
    assert cols.max() - cols.min() > 2 * (rows.max() - rows.min())  # lying: long, not tall
    have = people[0, :, 2] > 0
    assert (people[0, have, 1] < 100).all()  # labelled joints are the ones in the image


def test_shoulders_agree_tells_whether_the_right_shoulder_is_on_the_reference_side():
    from pipan.skeleton import FLIP
    from training.pose.realeval import shoulders_agree
    ref = np.zeros((18, 3), np.float32)
    for name, xy in (("neck", (100, 50)), ("right_shoulder", (80, 50)),
                     ("left_shoulder", (120, 50)), ("right_hip", (90, 130)),
                     ("left_hip", (110, 130))):
        ref[JOINT_INDEX[name]] = (*xy, 0.9)
    assert shoulders_agree(ref, ref) is True
    assert shoulders_agree(ref, ref[list(FLIP)]) is False  # sides swapped
    side_on = ref.copy()
    side_on[[JOINT_INDEX["right_shoulder"], JOINT_INDEX["left_shoulder"]], 0] = 98, 102
    assert shoulders_agree(side_on, ref) is None  # the reference shows neither side
    no_shoulder = ref.copy()
    no_shoulder[JOINT_INDEX["left_shoulder"], 2] = 0
    assert shoulders_agree(ref, no_shoulder) is None


def test_legs_apart_compares_each_leg_pair_with_the_reference():
    from pipan.skeleton import FLIP
    from training.pose.realeval import legs_apart
    ref = np.zeros((18, 3), np.float32)
    for name, xy in (("right_hip", (90, 130)), ("left_hip", (110, 130)),
                     ("right_knee", (85, 180)), ("left_knee", (115, 180)),
                     ("right_ankle", (80, 230)), ("left_ankle", (120, 230))):
        ref[JOINT_INDEX[name]] = (*xy, 0.9)
    assert legs_apart(ref, ref) == pytest.approx(1.0)
    assert legs_apart(ref, ref[list(FLIP)]) == pytest.approx(1.0)  # sides swapped: as far
    one_leg = ref.copy()  # both joints of each pair put between them
    for r, l_ in (("right_hip", "left_hip"), ("right_knee", "left_knee"),
                  ("right_ankle", "left_ankle")):
        mid = (ref[JOINT_INDEX[r], :2] + ref[JOINT_INDEX[l_], :2]) / 2
        one_leg[JOINT_INDEX[r], :2] = one_leg[JOINT_INDEX[l_], :2] = mid
    assert legs_apart(ref, one_leg) == pytest.approx(0.0)
    no_legs = ref.copy()
    no_legs[JOINT_INDEX["left_hip"], 2] = no_legs[JOINT_INDEX["left_knee"], 2] = 0
    no_legs[JOINT_INDEX["left_ankle"], 2] = 0
    assert legs_apart(ref, no_legs) is None


def test_arms_apart_reads_the_arms_alone():
    """A skeleton with its legs apart and both arms drawn down the middle: legs 1, arms 0."""
    from training.pose.realeval import arms_apart, legs_apart
    ref = np.zeros((18, 3), np.float32)
    for name, xy in (("right_shoulder", (80, 60)), ("left_shoulder", (120, 60)),
                     ("right_elbow", (75, 95)), ("left_elbow", (125, 95)),
                     ("right_wrist", (72, 125)), ("left_wrist", (128, 125)),
                     ("right_hip", (90, 130)), ("left_hip", (110, 130))):
        ref[JOINT_INDEX[name]] = (*xy, 0.9)
    merged = ref.copy()
    for j in ("shoulder", "elbow", "wrist"):
        r, l_ = JOINT_INDEX[f"right_{j}"], JOINT_INDEX[f"left_{j}"]
        merged[r, :2] = merged[l_, :2] = (ref[r, :2] + ref[l_, :2]) / 2
    assert legs_apart(ref, merged) == pytest.approx(1.0)
    assert arms_apart(ref, merged) == pytest.approx(0.0)
    assert arms_apart(ref, ref) == pytest.approx(1.0)
