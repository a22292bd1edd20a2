"""``python -m training distill label``: COCO keypoint labels from the teacher, resumable,
parallel. Fabricated videos; the real teacher and real video where ../shared exists."""
from __future__ import annotations

import json
import os
from pathlib import Path

import cv2
import numpy as np
import pytest
from click.testing import CliRunner

from pipan.skeleton import COCO17, JHMDB15, JOINT_INDEX, to_coco18
from pipan.types import Person
from training.cli import cli
from training.distill import label as lab
from training.pose.metrics import pck, pck_hits, reference_size


def write_video(path: Path, frames, fps: float = 10.0) -> Path:
    """Frames (list of BGR uint8 arrays) -> a video file (MJPG AVI: lossy but robust)."""
    H, W = frames[0].shape[:2]
    w = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (W, H))
    assert w.isOpened()
    for f in frames:
        w.write(f)
    w.release()
    return path


def noise_frames(n: int, seed: int, size=(48, 64)):
    rng = np.random.default_rng(seed)
    return [rng.integers(0, 256, (*size, 3), dtype=np.uint8) for _ in range(n)]


class FakeTeacher:
    """One person per frame, at a place that depends on the frame's mean brightness."""

    def estimate(self, frame):
        H, W = frame.shape[:2]
        kp = np.zeros((18, 3), np.float32)
        kp[:, 0] = np.linspace(0.2, 0.8, 18) * W
        kp[:, 1] = np.linspace(0.1, 0.9, 18) * H
        kp[:, 2] = np.linspace(0.1, 1.0, 18)
        return [Person(kp, 0.9)]


# --- COCO encoding ------------------------------------------------------------------------

def test_coco_keypoints_visibility_thresholds_and_box():
    kp = np.zeros((18, 3), np.float32)
    kp[:, :2] = [50, 40]
    kp[JOINT_INDEX["nose"]] = [10, 20, 0.9]
    kp[JOINT_INDEX["left_wrist"]] = [90, 70, 0.3]
    kp[JOINT_INDEX["right_ankle"]] = [60, 80, 0.1]
    kp[JOINT_INDEX["left_ankle"]] = [120, 80, 0.95]  # outside a 100-wide image
    ann = lab.coco_keypoints(kp, 100, 90, lab.LabelOptions(min_keypoints=1))
    k = np.asarray(ann["keypoints"]).reshape(17, 3)
    nose, lw, ra, la = (COCO17.index(n) for n in
                        ("nose", "left_wrist", "right_ankle", "left_ankle"))
    assert list(k[nose]) == [10, 20, 2] and list(k[lw]) == [90, 70, 1]
    assert list(k[ra]) == [0, 0, 0] and list(k[la]) == [0, 0, 0]
    assert ann["keypoint_scores"][nose] == pytest.approx(0.9)
    assert ann["keypoint_scores"][ra] == pytest.approx(0.1)
    assert ann["keypoint_scores"][la] == 0.0  # off the image
    assert ann["num_keypoints"] == 2 and ann["iscrowd"] == 0
    x, y, w, h = ann["bbox"]
    assert x == pytest.approx(10 - 8) and y == pytest.approx(20 - 5)
    assert w == pytest.approx(80 * 1.2) and h == pytest.approx(50 * 1.2)
    assert ann["area"] == pytest.approx(w * h, rel=1e-4)
    assert lab.coco_keypoints(kp, 100, 90, lab.LabelOptions(min_keypoints=3)) is None


def test_merge_parts_numbers_images_and_annotations():
    part = {"images": [{"file_name": "a.jpg"}, {"file_name": "b.jpg"}],
            "annotations": [{"image": 1, "num_keypoints": 3}]}
    coco = lab.merge_parts([part, part], {})
    assert [im["id"] for im in coco["images"]] == [1, 2, 3, 4]
    assert [(a["id"], a["image_id"]) for a in coco["annotations"]] == [(1, 2), (2, 4)]
    assert coco["categories"][0]["keypoints"] == list(COCO17)


def test_pck_definition():
    ref = np.zeros((2, 3, 3), np.float32)
    ref[..., 2] = 1
    ref[:, 1, :2] = [100, 50]  # box 100 x 50 -> size 100
    assert list(reference_size(ref)) == [100, 100]
    pred = ref.copy()
    pred[0, 2, 0] += 19  # inside 0.2 * 100
    pred[1, 2, 0] += 21  # outside
    pred[1, 0, 2] = 0  # missing counts as wrong
    hits, counted = pck_hits(pred, ref)
    assert counted.all()
    assert hits.tolist() == [[True, True, True], [False, True, False]]
    assert pck(pred, ref) == pytest.approx(4 / 6)


# --- labelling a video (fake teacher: no model files needed) ------------------------------

def test_label_video_every_kth_frame_with_images(tmp_path):
    video = write_video(tmp_path / "v.avi", noise_frames(7, 0))
    part = lab.label_video(video, "v_avi", tmp_path / "out", lab.LabelOptions(every=3),
                           FakeTeacher())
    assert [im["frame_index"] for im in part["images"]] == [0, 3, 6]
    assert part["frames"] == 7
    for im in part["images"]:
        img = cv2.imread(str(tmp_path / "out" / "images" / im["file_name"]))
        assert img.shape == (48, 64, 3) == (im["height"], im["width"], 3)
    assert [a["image"] for a in part["annotations"]] == [0, 1, 2]
    assert all(len(a["keypoint_scores"]) == 17 for a in part["annotations"])


def test_label_video_shrinks_big_frames_and_their_keypoints(tmp_path):
    video = write_video(tmp_path / "big.avi", noise_frames(2, 1, size=(120, 200)))
    part = lab.label_video(video, "big", tmp_path / "out",
                           lab.LabelOptions(every=1, max_side=100), FakeTeacher())
    im = part["images"][0]
    assert (im["width"], im["height"]) == (100, 60)
    kp = np.asarray(part["annotations"][0]["keypoints"]).reshape(17, 3)
    teacher = FakeTeacher().estimate(np.zeros((120, 200, 3), np.uint8))[0].keypoints
    le = COCO17.index("left_ear")
    np.testing.assert_allclose(kp[le, :2], teacher[JOINT_INDEX["left_ear"], :2] * 0.5,
                               atol=0.01)
    assert kp[COCO17.index("nose"), 2] == 0  # the fake nose's score 0.1 is below "low"


def test_unreadable_video_is_a_clear_error(tmp_path):
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"not a video")
    with pytest.raises(lab.VideoError, match="bad.mp4"):
        lab.label_video(bad, "bad", tmp_path / "out", lab.LabelOptions(), FakeTeacher())


def test_cli_refuses_a_folder_without_videos(tmp_path):
    (tmp_path / "notes.txt").write_text("no videos here")
    r = CliRunner().invoke(cli, ["distill", "label", "--videos", str(tmp_path),
                                 "--out", str(tmp_path / "out")])
    assert r.exit_code == 1 and "no video files" in r.output
    assert "Traceback" not in r.output


def test_cli_without_models_prints_the_fetch_command(tmp_path, monkeypatch):
    write_video(tmp_path / "v.avi", noise_frames(2, 0))
    r = CliRunner().invoke(cli, ["distill", "label", "--videos", str(tmp_path), "--out",
                                 str(tmp_path / "out"), "--model-dir", str(tmp_path / "no")])
    assert r.exit_code == 3, r.output
    assert "pip download --no-deps mediapipe==0.10.18" in r.output


# --- the real teacher (../shared) ---------------------------------------------------------

@pytest.fixture(scope="module")
def model_dir(shared):
    folder = shared / "models" / "blazepose"
    if not (folder / "pose_landmark_full.tflite").is_file():
        pytest.skip("../shared/models/blazepose is absent")
    return folder


def test_labels_of_a_real_clip_agree_with_its_ground_truth(tmp_path, shared, model_dir):
    clip = shared / "data" / "jhmdb-clip"
    frames = [cv2.imread(str(clip / "frames" / f"{t + 1:05d}.png")) for t in range(40)]
    videos = tmp_path / "videos"
    videos.mkdir()
    write_video(videos / "catch.avi", frames)
    r = CliRunner().invoke(cli, ["distill", "label", "--videos", str(videos), "--out",
                                 str(tmp_path / "out"), "--every", "4", "--quiet",
                                 "--model-dir", str(model_dir)])
    assert r.exit_code == 0, r.output
    coco = json.loads((tmp_path / "out" / lab.ANNOTATIONS).read_text())
    assert [im["frame_index"] for im in coco["images"]] == list(range(0, 40, 4))
    gt = to_coco18(np.load(clip / "pos_img.npy", allow_pickle=False), JHMDB15)
    by_image = {a["image_id"]: a for a in coco["annotations"]}
    assert len(by_image) >= 9
    pred, ref = [], []
    for im in coco["images"]:
        if im["id"] in by_image:
            k = np.asarray(by_image[im["id"]]["keypoints"], np.float32).reshape(17, 3)
            k18 = to_coco18(np.concatenate([k[:, :2], (k[:, 2:] > 0)], 1), COCO17)
            pred.append(k18)
            ref.append(gt[im["frame_index"]])
    assert pck(np.array(pred), np.array(ref)) >= 0.8  # the whole clip: 0.861
    ann = coco["annotations"][0]
    for key in ("id", "image_id", "category_id", "keypoints", "keypoint_scores", "bbox",
                "area", "num_keypoints", "iscrowd"):
        assert key in ann
    assert set(ann["keypoints"][2::3]) <= {0, 1, 2}


def test_resume_and_parallel_labelling(tmp_path, shared, model_dir):
    videos = tmp_path / "videos"
    (videos / "sub").mkdir(parents=True)
    write_video(videos / "a.avi", noise_frames(5, 0))
    write_video(videos / "sub" / "b.avi", noise_frames(3, 1))
    os.symlink(shared / "data" / "videos" / "makeup_320x240.avi", videos / "makeup.avi")
    opts = lab.LabelOptions(every=20, model_dir=str(model_dir))
    one = lab.label_videos(videos, tmp_path / "one", opts, workers=1, show_progress=False)
    assert (one.videos, one.labelled) == (3, 3)
    assert one.images == 1 + 1 + 9
    coco1 = json.loads(one.path.read_text())
    people = [a for a in coco1["annotations"]]
    assert len(people) >= 7  # one person in most makeup frames, nobody in the noise
    names = {coco1["images"][a["image_id"] - 1]["video"] for a in people}
    assert names == {"makeup.avi"}

    again = lab.label_videos(videos, tmp_path / "one", opts, workers=1, show_progress=False)
    assert again.labelled == 0 and again.path.read_bytes() == one.path.read_bytes()
    (tmp_path / "one" / "parts" / "sub_b_avi.json").unlink()
    write_video(videos / "a.avi", noise_frames(6, 2))  # changed source: labelled anew
    redo = lab.label_videos(videos, tmp_path / "one", opts, workers=1, show_progress=False)
    assert redo.labelled == 2 and redo.images == 1 + 1 + 9

    two = lab.label_videos(videos, tmp_path / "two", opts, workers=2, show_progress=False)
    coco2 = json.loads(two.path.read_text())
    coco_redo = json.loads(redo.path.read_text())
    assert coco2["images"] == coco_redo["images"]
    assert coco2["annotations"] == coco_redo["annotations"]  # same labels either way


# --- folders of frames, masks, negatives ----------------------------------------------------

def write_frame_folder(folder: Path, n: int, masks: bool = True) -> Path:
    folder.mkdir(parents=True)
    for i, frame in enumerate(noise_frames(n, 3)):
        cv2.imwrite(str(folder / f"{i:05d}.jpg"), frame)
        if masks:
            m = np.zeros(frame.shape[:2], np.uint8)
            m[10:40, 20:50] = 255
            cv2.imwrite(str(folder / f"{i:05d}.mask.png"), m)
    return folder


def test_a_folder_of_frames_is_a_video_with_its_masks(tmp_path):
    seq = write_frame_folder(tmp_path / "videos" / "seq", 4)
    write_video(tmp_path / "videos" / "v.avi", noise_frames(2, 0))
    assert lab.find_videos(tmp_path / "videos") == [seq, tmp_path / "videos" / "v.avi"]
    assert lab.frame_count(seq) == 4  # the .mask.png files are not frames
    part = lab.label_video(seq, "seq", tmp_path / "out", lab.LabelOptions(every=2),
                           FakeTeacher())
    assert [im["frame_index"] for im in part["images"]] == [0, 2]
    for im in part["images"]:
        mask = cv2.imread(str(tmp_path / "out" / "images" / im["mask"]), cv2.IMREAD_GRAYSCALE)
        assert mask.shape == (48, 64) and mask[20, 30] == 255 and mask[0, 0] == 0


def test_an_unreadable_frame_in_a_folder_names_the_file(tmp_path):
    seq = write_frame_folder(tmp_path / "seq", 2, masks=False)
    (seq / "00002.jpg").write_bytes(b"not an image")
    with pytest.raises(lab.VideoError, match="00002.jpg"):
        lab.label_video(seq, "seq", tmp_path / "out", lab.LabelOptions(every=1),
                        FakeTeacher())


def test_no_people_footage_becomes_negatives_without_a_teacher(tmp_path):
    from training.pose.coco import CocoPoseData
    write_frame_folder(tmp_path / "neg" / "a", 3, masks=False)
    r = CliRunner().invoke(cli, ["distill", "label", "--videos", str(tmp_path / "neg"),
                                 "--out", str(tmp_path / "out"), "--every", "1",
                                 "--no-people", "--model-dir", str(tmp_path / "none"),
                                 "--quiet"])
    assert r.exit_code == 0, r.output
    coco = json.loads((tmp_path / "out" / "annotations.json").read_text())
    assert len(coco["images"]) == 3 and coco["annotations"] == []
    assert all(im["negative"] for im in coco["images"])
    data = CocoPoseData(tmp_path / "out")  # kept although nobody is annotated
    assert len(data) == 3 and all(it.negative and len(it.people) == 0 for it in data.items)


def test_teacher_landmark_auto_prefers_heavy_where_present(tmp_path):
    import pipan.blazepose as bp
    for name in (bp.DETECTOR_FILE, bp.LANDMARK_FILE):
        (tmp_path / name).write_bytes(b"x")
    opts = lab.LabelOptions(model_dir=str(tmp_path))
    assert lab.teacher_landmark(opts) == "full"
    (tmp_path / "pose_landmark_heavy.tflite").write_bytes(b"x")
    assert lab.teacher_landmark(opts) == "heavy"
    assert bp.find_model_files(tmp_path, "heavy")[1].name == "pose_landmark_heavy.tflite"
    assert lab.teacher_landmark(lab.LabelOptions(model_dir=str(tmp_path),
                                                 landmark="full")) == "full"
