"""BlazePose teacher: anchors, decoding, NMS, ROI geometry, model discovery, and the whole
estimator on real frames (those skip without ../shared)."""
from __future__ import annotations

import math

import cv2
import numpy as np
import pytest

from pipan import blazepose as bp
from pipan.errors import PipanError
from pipan.skeleton import JHMDB15, to_coco18
from training.pose.metrics import frame_predictions, pck


# --- anchors ------------------------------------------------------------------------------

def test_pose_detector_anchors_match_the_model_output_count_and_layout():
    a = bp.ssd_anchors()
    assert a.shape == (2254, 4) and a.dtype == np.float32
    # 28x28 cells x 2 anchors (stride 8), 14x14 x 2 (16), 7x7 x 6 (three stride-32 layers).
    assert 28 * 28 * 2 + 14 * 14 * 2 + 7 * 7 * 6 == 2254
    np.testing.assert_allclose(a[0], [0.5 / 28, 0.5 / 28, 1, 1], rtol=1e-6)
    np.testing.assert_allclose(a[1], a[0])  # two anchors per cell share the centre
    np.testing.assert_allclose(a[2, :2], [1.5 / 28, 0.5 / 28], rtol=1e-6)
    np.testing.assert_allclose(a[1568, :2], [0.5 / 14, 0.5 / 14], rtol=1e-6)
    np.testing.assert_allclose(a[-1, :2], [6.5 / 7, 6.5 / 7], rtol=1e-6)
    assert (a[:, 2:] == 1).all()  # fixed anchor size
    assert ((a[:, :2] > 0) & (a[:, :2] < 1)).all()


def test_anchor_sizes_grow_with_the_layer_when_not_fixed():
    opts = bp.AnchorOptions(fixed_anchor_size=False, strides=(8, 16), input_size=32)
    a = bp.ssd_anchors(opts)
    assert a.shape == (4 * 4 * 2 + 2 * 2 * 2, 4)
    assert a[0, 2] == pytest.approx(opts.min_scale)
    assert a[1, 2] == pytest.approx(math.sqrt(opts.min_scale * opts.max_scale))
    assert a[32, 2] == pytest.approx(opts.max_scale)
    assert a[33, 2] == pytest.approx(math.sqrt(opts.max_scale * 1.0))


# --- detections and NMS -------------------------------------------------------------------

def _dets(boxes, scores, kps=None):
    boxes = np.asarray(boxes, np.float32)
    kps = np.zeros((len(boxes), 2, 2), np.float32) if kps is None else np.asarray(kps,
                                                                                 np.float32)
    return bp.Detections(boxes, kps, np.asarray(scores, np.float32))


def test_decode_detections_places_boxes_and_keypoints_relative_to_anchors():
    anchors = np.float32([[0.25, 0.25, 1, 1], [0.75, 0.5, 1, 1], [0.5, 0.5, 1, 1]])
    raw = np.zeros((3, 8), np.float32)
    raw[1] = [22.4, -11.2, 44.8, 22.4, 0, 44.8, 224, 0]  # offsets in 224-pixel units
    scores = np.float32([-5, 3, 0.1])
    d = bp.decode_detections(raw, scores, anchors, min_score=0.5)
    assert len(d) == 2  # sigmoid(-5) < 0.5 <= sigmoid(0.1)
    np.testing.assert_allclose(d.boxes[0], [0.75, 0.40, 0.95, 0.50], atol=1e-6)
    np.testing.assert_allclose(d.keypoints[0], [[0.75, 0.7], [1.75, 0.5]], atol=1e-6)
    assert d.scores[0] == pytest.approx(1 / (1 + math.exp(-3)))


def test_box_iou():
    iou = bp.box_iou(np.float32([0, 0, 2, 2]), np.float32([[0, 0, 2, 2], [1, 0, 3, 2],
                                                            [5, 5, 6, 6]]))
    np.testing.assert_allclose(iou, [1.0, 1 / 3, 0.0], rtol=1e-6)


def test_nms_merges_overlapping_detections_and_keeps_separate_ones():
    boxes = [[0, 0, 1, 1], [0.1, 0, 1.1, 1], [3, 3, 4, 4], [0.05, 0.05, 1.05, 1.05]]
    kps = [[[0, 0], [1, 1]], [[1, 0], [1, 1]], [[3, 3], [4, 4]], [[0, 0], [1, 1]]]
    d = _dets(boxes, [0.9, 0.6, 0.8, 0.3], kps)
    plain = bp.non_max_suppression(d, 0.3, weighted=False)
    assert len(plain) == 2
    np.testing.assert_allclose(plain.boxes, [[0, 0, 1, 1], [3, 3, 4, 4]])
    np.testing.assert_allclose(plain.scores, [0.9, 0.8])
    weighted = bp.non_max_suppression(d, 0.3, weighted=True)
    assert len(weighted) == 2 and weighted.scores[0] == pytest.approx(0.9)
    w = np.float32([0.9, 0.6, 0.3])
    expected = (np.float32([boxes[0], boxes[1], boxes[3]]) * w[:, None]).sum(0) / w.sum()
    np.testing.assert_allclose(weighted.boxes[0], expected, rtol=1e-5)
    assert weighted.keypoints[0, 0, 0] == pytest.approx(0.6 / 1.8, rel=1e-5)
    np.testing.assert_allclose(weighted.boxes[1], boxes[2])
    assert len(bp.non_max_suppression(d, 0.3, max_out=1)) == 1


def test_nms_of_nothing_and_of_disjoint_boxes():
    empty = bp.non_max_suppression(_dets(np.zeros((0, 4)), []))
    assert len(empty) == 0 and empty.keypoints.shape == (0, 2, 2)
    rng = np.random.default_rng(0)
    xy = rng.permutation(50)[:10, None] * 2.0
    boxes = np.concatenate([xy, xy, xy + 1, xy + 1], 1)  # unit boxes on a diagonal, apart
    scores = rng.random(10)
    out = bp.non_max_suppression(_dets(boxes, scores), 0.3)
    assert len(out) == 10
    assert (np.diff(out.scores) <= 0).all()


# --- region of interest and landmarks -----------------------------------------------------

def test_roi_from_alignment_points():
    upright = bp.roi_from_alignment([100, 200], [100, 120])
    assert upright.rotation == pytest.approx(0.0)
    assert upright.size == pytest.approx(2 * 80 * 1.25)
    assert (upright.cx, upright.cy) == (100, 200)
    lying = bp.roi_from_alignment([100, 200], [180, 200])  # body points right: turn left
    assert lying.rotation == pytest.approx(math.pi / 2)
    # The crop's "up" (v = 0) lands on the scale point's side, whatever the rotation.
    for roi, target in ((upright, [100, 120]), (lying, [180, 200])):
        top = roi.crop_to_frame(np.float32([0.5, 0.5 - 1 / (2 * 1.25)]))
        np.testing.assert_allclose(top, target, atol=1e-3)
        np.testing.assert_allclose(roi.crop_to_frame(np.float32([0.5, 0.5])),
                                   [roi.cx, roi.cy], atol=1e-4)


@pytest.mark.parametrize("rotation", [0.0, 0.7, -2.0])
def test_warp_matrix_agrees_with_crop_to_frame(rotation):
    """A bright pixel in the frame shows up in the crop where crop_to_frame says it is."""
    frame = np.zeros((300, 400, 3), np.uint8)
    fx, fy = 230, 140
    frame[fy, fx] = 255
    roi = bp.Roi(210.0, 150.0, 128.0, rotation)
    crop = cv2.warpAffine(frame, roi.warp_matrix(64), (64, 64),
                          flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP)
    v, u = np.unravel_index(np.argmax(crop[..., 0]), crop.shape[:2])
    # crop pixel (u, v) has its centre at ((u + .5) / 64, (v + .5) / 64); frame pixel
    # (fx, fy) has its centre at (fx + .5, fy + .5).
    back = roi.crop_to_frame(np.float32([(u + 0.5) / 64, (v + 0.5) / 64]))
    assert np.linalg.norm(back - [fx + 0.5, fy + 0.5]) <= 2.0 * math.sqrt(2)


def test_refine_from_heatmap_moves_towards_a_confident_peak():
    hm = np.full((64, 64, 2), -20.0, np.float32)
    hm[30, 40, 0] = 20.0  # confident, a few cells from the regressed position
    hm[10, 10, 1] = -1.0  # never confident enough
    xy = np.float32([[38 / 64, 31 / 64], [10 / 64, 10 / 64]])
    out = bp.refine_from_heatmap(xy, hm)
    np.testing.assert_allclose(out[0], [40 / 64, 30 / 64], atol=1e-4)
    np.testing.assert_allclose(out[1], xy[1])
    outside = bp.refine_from_heatmap(np.float32([[1.5, 0.5], [0.5, -0.1]]), hm)
    np.testing.assert_allclose(outside, [[1.5, 0.5], [0.5, -0.1]])


def test_decode_landmarks_scales_and_squashes():
    raw = np.zeros((39, 5), np.float32)
    raw[:, 0], raw[:, 1] = 128.0, 64.0
    raw[:, 3], raw[:, 4] = 0.0, 50.0
    lm = bp.decode_landmarks(raw.reshape(-1))
    np.testing.assert_allclose(lm[0], [0.5, 0.25, 0.5, 1.0], atol=1e-6)


def test_result_to_person_maps_to_coco18_and_drops_off_frame_joints():
    lm = np.zeros((33, 4), np.float32)
    lm[:, :2] = [50, 60]
    lm[:, 2:] = 1.0
    lm[11] = [40, 50, 0.5, 0.8]  # left shoulder
    lm[12] = [60, 50, 1.0, 1.0]  # right shoulder
    lm[0] = [-5, 50, 1.0, 1.0]  # nose off the frame
    r = bp.BlazePoseResult(lm, 0.9, 0.8, bp.Roi(0, 0, 1, 0))
    p = r.to_person((100, 100))
    assert p.keypoints.shape == (18, 3) and p.score == pytest.approx(0.9)
    np.testing.assert_allclose(p.keypoints[5], [40, 50, 0.4])  # left shoulder, vis x pres
    np.testing.assert_allclose(p.keypoints[1], [50, 50, 0.4])  # neck: shoulders' midpoint
    assert p.keypoints[0, 2] == 0  # off-frame nose is missing


# --- model discovery ----------------------------------------------------------------------

def test_missing_models_give_the_fetch_command(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv(bp.ENV_VAR, raising=False)
    monkeypatch.setattr(bp, "_mediapipe_modules", lambda: None)
    with pytest.raises(bp.BlazePoseNotFoundError) as e:
        bp.find_model_files()
    msg = str(e.value)
    assert "pip download --no-deps mediapipe==0.10.18" in msg
    assert "mediapipe/modules/pose_landmark/pose_landmark_full.tflite" in msg
    with pytest.raises(bp.BlazePoseNotFoundError, match=str(tmp_path / "nowhere")):
        bp.find_model_files(tmp_path / "nowhere")


def _fake_models(folder):
    folder.mkdir(parents=True, exist_ok=True)
    for name in (bp.DETECTOR_FILE, bp.LANDMARK_FILE):
        (folder / name).write_bytes(b"x")
    return folder


def test_model_search_order(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv(bp.ENV_VAR, raising=False)
    package = tmp_path / "site" / "mediapipe"
    for rel in bp.WHEEL_PATHS.values():
        (tmp_path / "site" / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "site" / rel).write_bytes(b"x")
    monkeypatch.setattr(bp, "_mediapipe_modules", lambda: package)
    cache = _fake_models(tmp_path / "home" / ".cache" / "pipan" / "blazepose")
    det, _ = bp.find_model_files()
    assert det == tmp_path / "site" / bp.WHEEL_PATHS[bp.DETECTOR_FILE]  # before the cache
    monkeypatch.setattr(bp, "_mediapipe_modules", lambda: None)
    assert bp.find_model_files()[0] == cache / bp.DETECTOR_FILE
    env = _fake_models(tmp_path / "env")
    monkeypatch.setenv(bp.ENV_VAR, str(env))
    assert bp.find_model_files()[1] == env / bp.LANDMARK_FILE  # the variable wins
    given = _fake_models(tmp_path / "given")
    assert bp.find_model_files(given)[0] == given / bp.DETECTOR_FILE  # an explicit folder


# --- the real models on real frames (../shared) -------------------------------------------

@pytest.fixture(scope="module")
def estimator(shared):
    folder = shared / "models" / "blazepose"
    if not (folder / bp.LANDMARK_FILE).is_file():
        pytest.skip("../shared/models/blazepose is absent")
    return bp.BlazePoseEstimator(folder, threads=1)


def test_teacher_pck_on_the_real_jhmdb_clip(estimator, shared):
    clip = shared / "data" / "jhmdb-clip"
    gt = to_coco18(np.load(clip / "pos_img.npy", allow_pickle=False), JHMDB15)
    T = gt.shape[0]
    people = [estimator.estimate(cv2.imread(str(clip / "frames" / f"{t + 1:05d}.png")))
              for t in range(T)]
    assert sum(len(p) >= 1 for p in people) >= 0.9 * T
    score = pck(frame_predictions(people, gt), gt, alpha=0.2)
    assert score >= 0.8, score  # measured 0.861 (benchmarks/teacher_pck.py)
    # And it is the landmarks that are good, not the matching: a shuffled clip fails.
    shuffled = frame_predictions(people, gt)[np.roll(np.arange(T), T // 2)]
    assert pck(shuffled, gt) < score - 0.2


def test_nobody_in_blank_or_noise_frames(estimator):
    assert estimator.estimate(np.zeros((240, 320, 3), np.uint8)) == []
    noise = np.random.default_rng(0).integers(0, 256, (240, 320, 3), dtype=np.uint8)
    assert estimator.estimate(noise) == []


def test_two_people_are_found_in_the_hug_video(estimator, shared):
    cap = cv2.VideoCapture(str(shared / "data" / "videos" / "hug_1920x1080.mp4"))
    counts, index = [], 0
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        if index % 3 == 0:
            people = estimator.estimate(frame)
            counts.append(len(people))
            for p in people:
                assert p.keypoints.shape == (18, 3)
                xy = p.keypoints[p.keypoints[:, 2] > 0, :2]
                assert ((xy >= 0) & (xy <= [1920, 1080])).all()
        index += 1
    cap.release()
    assert len(counts) == 24
    assert sum(c == 2 for c in counts) >= 3, counts  # measured: 10 of 24
    assert sum(c >= 1 for c in counts) >= 20, counts


def test_bad_frames_are_refused_clearly(estimator):
    with pytest.raises(PipanError, match="BGR uint8"):
        estimator.estimate(np.zeros((10, 10), np.uint8))
    with pytest.raises(PipanError, match="BGR uint8"):
        estimator.estimate(np.zeros((10, 10, 3), np.float32))
    assert estimator.estimate(np.zeros((0, 10, 3), np.uint8)) == []
    assert estimator.estimate(np.zeros((1, 1, 3), np.uint8)) == []


def test_duplicate_people_are_recognised():
    rng = np.random.default_rng(0)
    body = rng.uniform(0, 100, (33, 2)).astype(np.float32)
    assert bp._same_person(body, body + 2.0)  # the same landmarks, slightly off
    assert not bp._same_person(body, body + [300.0, 0.0])  # someone beside them
    scrambled = body[rng.permutation(33)] * 0.9 + 5  # one body's box, landmarks mixed up
    assert bp._same_person(body, scrambled)


def _wheel(path, members):
    import zipfile
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def test_extract_models_from_a_wheel(tmp_path):
    members = {bp.WHEEL_PATHS[bp.DETECTOR_FILE]: b"detector",
               bp.WHEEL_PATHS[bp.LANDMARK_FILE]: b"landmarks",
               "mediapipe/other.py": b"x"}
    wheel = _wheel(tmp_path / "mediapipe-0.10.18-x.whl", members)
    with pytest.raises(bp.ModelError, match="SHA-256"):  # not the real files
        bp.extract_models(wheel, tmp_path / "dest")
    assert not (tmp_path / "dest" / bp.DETECTOR_FILE).exists()  # nothing half-done
    det, lmk = bp.extract_models(wheel, tmp_path / "dest", check_sha256=False)
    assert det.read_bytes() == b"detector" and lmk.read_bytes() == b"landmarks"
    assert bp.find_model_files(tmp_path / "dest") == (det, lmk)
    assert sorted(p.name for p in (tmp_path / "dest").iterdir()) == sorted(
        [bp.DETECTOR_FILE, bp.LANDMARK_FILE])
    partial = _wheel(tmp_path / "partial.whl", {bp.WHEEL_PATHS[bp.DETECTOR_FILE]: b"d"})
    with pytest.raises(bp.BlazePoseNotFoundError, match="pose_landmark_full"):
        bp.extract_models(partial, tmp_path / "d2")


def test_the_real_model_files_have_the_recorded_hashes(shared):
    import hashlib
    folder = shared / "models" / "blazepose"
    if not (folder / bp.LANDMARK_FILE).is_file():
        pytest.skip("../shared/models/blazepose is absent")
    for name, digest in bp.MODEL_SHA256.items():
        assert hashlib.sha256((folder / name).read_bytes()).hexdigest() == digest


def test_tracking_follows_a_person_and_forgets_them(shared):
    folder = shared / "models" / "blazepose"
    if not (folder / bp.LANDMARK_FILE).is_file():
        pytest.skip("../shared/models/blazepose is absent")
    est = bp.BlazePoseEstimator(folder, threads=1, track=True)
    frame = cv2.imread(str(shared / "data" / "jhmdb-clip" / "frames" / "00010.png"))
    first = est.estimate(frame)
    assert len(first) == 1 and len(est._tracked) == 1
    again = est.estimate(frame)  # the tracked ROI and the detection: still one person
    assert len(again) == 1
    assert est.estimate(np.zeros_like(frame)) == [] and est._tracked == []
    est.estimate(frame)
    est.reset()
    assert est._tracked == []
