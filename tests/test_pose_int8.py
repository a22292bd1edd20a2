"""A tiny pose net converted to int8 (converters.convert) runs in the runtime
PoseEstimator: named signature, pose metadata, well-formed people."""
from __future__ import annotations

import json

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
pytest.importorskip("pycocotools")
from converters import convert  # noqa: E402
from pose_data import write_coco  # noqa: E402

from pipan.pose import PoseEstimator  # noqa: E402
from training.pose.model import build_pose_net  # noqa: E402

TINY = dict(stages=1, stage_width=8, stage_depth=1,
            backbone_widths=[8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 16])


def test_int8_model_runs_in_the_pose_estimator(tmp_path):
    data = write_coco(tmp_path / "data", images=4)
    model_dir = tmp_path / "run"
    model_dir.mkdir()
    build_pose_net(seed=0, **TINY).save(model_dir / "model.keras")
    (model_dir / "config.json").write_text(json.dumps(
        {"kind": "pose", "builder": TINY, "layout": "coco18", "input_size": 224,
         "seed": 0, "command": "test", "commit": ""}))
    conv = convert.convert(model_dir, data, samples=4, eval_samples=2, force=True,
                           latency_runs=1)
    path = tmp_path / "pose.tflite"
    path.write_bytes(conv.model_bytes)
    est = PoseEstimator(path, threads=1)
    assert est.model.metadata["kind"] == "pose"
    frame = np.random.default_rng(0).integers(0, 255, (240, 320, 3), dtype=np.uint8)
    people = est.estimate(frame)
    assert isinstance(people, list)
    for p in people:
        assert p.keypoints.shape == (18, 3)
        assert ((p.keypoints[:, 2] >= 0) & (p.keypoints[:, 2] <= 1)).all()
    assert est.estimate(np.zeros((0, 0, 3), np.uint8)) == []
