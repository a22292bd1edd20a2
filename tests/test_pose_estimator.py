"""The runtime PoseEstimator (no TensorFlow): loading rules, letterbox undone, bundled model."""
from __future__ import annotations

import numpy as np
import pytest

import pipan.pose as pose
from pipan.errors import ModelError
from pipan.image import letterbox_params
from pipan.types import Person

BUNDLED = pose.DEFAULT_MODEL


def test_missing_default_model_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setattr(pose, "DEFAULT_MODEL", tmp_path / "pose.tflite")
    with pytest.raises(ModelError, match="bundled pose model"):
        pose.PoseEstimator()


def test_to_frame_undoes_the_letterbox():
    lb = letterbox_params(240, 320)
    frame_xy = np.float32([[10, 20], [300, 230]])
    kp = np.zeros((18, 3), np.float32)
    kp[:2, :2] = lb.to_net(frame_xy)
    kp[:2, 2] = 0.9
    back = pose.to_frame([Person(kp, 0.5)], lb)[0]
    np.testing.assert_allclose(back.keypoints[:2, :2], frame_xy, atol=1e-3)
    assert (back.keypoints[2:] == 0).all()  # missing joints stay at 0, score 0


@pytest.mark.skipif(not BUNDLED.is_file(), reason="no bundled pose model in this checkout")
def test_bundled_model_loads_and_handles_odd_frames():
    est = pose.PoseEstimator(threads=1)
    assert est.model.metadata["kind"] == "pose" and est.input_size == 224
    assert est.estimate(np.zeros((0, 0, 3), np.uint8)) == []
    for shape in ((240, 320, 3), (100, 50, 3)):
        people = est.estimate(np.zeros(shape, np.uint8))
        assert all(p.keypoints.shape == (18, 3) for p in people)
    with pytest.raises(ValueError):
        est.estimate(np.zeros((10, 10), np.uint8))


def test_bundled_model_is_fed_pixels_as_int8_with_the_float_inputs_results():
    from pipan.image import letterbox, to_net_input
    est = pose.PoseEstimator(threads=1)
    assert est._pixels  # the converter quantises the input as pixel value - 128
    rng = np.random.default_rng(0)
    frame = rng.integers(0, 256, (240, 320, 3), dtype=np.uint8)
    rgb, _ = letterbox(frame, est.input_size)
    want = est.model(image=to_net_input(rgb)[None])
    got = est.model(image=(rgb ^ np.uint8(0x80)).view(np.int8)[None])
    for k in want:
        np.testing.assert_array_equal(got[k], want[k])
    assert [p.score for p in est.estimate(frame)] == [p.score for p in est.estimate(frame)]


@pytest.mark.skipif(not BUNDLED.is_file(), reason="no bundled pose model in this checkout")
def test_bundled_model_finds_synthetic_people():
    """Golden-level check of net + decode + letterbox together on frames rendered with a
    seed unseen in training (the model card's held-out PCK is 0.50)."""
    from training.synth import coco as synth
    from training.pose.coco import annotation_people
    from training.pose.metrics import pck_counts
    est = pose.PoseEstimator(threads=1)
    correct = total = 0
    for i in range(12):
        frame, anns = synth.coco_image(i, seed=7, size=(288, 224))
        c, t = pck_counts(annotation_people(anns), est.estimate(frame))
        correct, total = correct + c, total + t
    assert total > 100
    assert correct / total > 0.3, f"PCK@0.2 {correct / total:.2f}"
