"""The pose net builder and its deployable export."""
from __future__ import annotations

import json

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
import keras  # noqa: E402

from training.pose.export import ModelDirError, inference_model  # noqa: E402
from training.pose.model import build_pose_net  # noqa: E402

TINY = dict(stages=3, stage_width=16, stage_depth=1,
            backbone_widths=(8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 24))


def test_full_size_architecture():
    m = build_pose_net(stages=2)
    conv1 = m.get_layer("conv1")
    assert conv1.filters == 24 and conv1.strides == (2, 2) and conv1.kernel_size == (3, 3)
    dws = [l for l in m.layers if isinstance(l, keras.layers.DepthwiseConv2D)]
    backbone = [l for l in dws if not l.name.startswith("stage")]
    assert len(backbone) == 11 and all(l.kernel_size == (3, 3) for l in dws)
    assert tuple(m.get_layer("conv12_pw_relu").output.shape) == (None, 28, 28, 384)
    # every stage convolution is separable: 1x1 pointwise after a 3x3 depthwise
    for l in m.layers:
        if isinstance(l, keras.layers.Conv2D) and not isinstance(
                l, keras.layers.DepthwiseConv2D) and l.name != "conv1":
            assert l.kernel_size == (1, 1)
    assert [tuple(o.shape) for o in m.outputs] == [(None, 28, 28, 19), (None, 28, 28, 38)] * 2
    assert m.get_layer("stage2_input").output.shape[-1] == 384 + 19 + 38


def test_seeded_builder_is_deterministic():
    a, b = build_pose_net(seed=3, **TINY), build_pose_net(seed=3, **TINY)
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_array_equal(wa, wb)


def test_export_fewer_stages_matches_training_outputs(tmp_path):
    m = build_pose_net(seed=0, **TINY)
    m.save(tmp_path / "model.keras")
    (tmp_path / "config.json").write_text(json.dumps({"kind": "pose", "builder": TINY}))
    x = np.random.default_rng(0).random((1, 224, 224, 3), dtype=np.float32)
    outs = m(x, training=False)
    for stages in (None, 2):
        inf = inference_model(tmp_path, stages=stages)
        k = 3 if stages is None else stages
        assert inf.input.name == "image" and tuple(inf.input.shape) == (1, 224, 224, 3)
        y = inf(x, training=False)
        assert set(y) == {"heatmaps", "pafs"}
        np.testing.assert_allclose(y["heatmaps"], outs[2 * k - 2], atol=1e-5)
        np.testing.assert_allclose(y["pafs"], outs[2 * k - 1], atol=1e-5)
    with pytest.raises(ModelDirError):
        inference_model(tmp_path, stages=4)


def test_bad_builder_arguments():
    with pytest.raises(ValueError):
        build_pose_net(stages=0)
    with pytest.raises(ValueError):
        build_pose_net(backbone_widths=(8,) * 10)
