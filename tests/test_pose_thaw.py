"""Thawing a converted int8 pose net back into a trainable model directory."""
from pathlib import Path

import numpy as np
import pytest


@pytest.fixture(scope="module")
def thawed(tmp_path_factory):
    pytest.importorskip("tensorflow")
    from convert_fixtures import convert_tiny_pose
    from training.pose.thaw import thaw
    d = tmp_path_factory.mktemp("thaw")
    images, model_dir, conv = convert_tiny_pose(d, latency_runs=1)
    tflite = d / "pose.tflite"
    tflite.write_bytes(conv.model_bytes)
    config = thaw(tflite, [images], d / "thawed", count=8)
    return d, images, model_dir, tflite, config


def _inputs(images: Path) -> np.ndarray:
    import cv2

    from pipan.image import letterbox, to_net_input
    return np.stack([to_net_input(letterbox(cv2.imread(str(f)))[0])
                     for f in sorted(images.glob("*.png"))]).astype(np.float32)


def test_the_layout_is_read_from_the_tflite(thawed):
    from convert_fixtures import TINY_POSE
    _, _, _, _, config = thawed
    want = {k: TINY_POSE[k] for k in ("stages", "stage_width", "stage_depth", "stem_filters")}
    want["backbone_widths"] = list(TINY_POSE["backbone_widths"])
    assert config["builder"] == want


def test_thawed_maps_are_the_converted_nets(thawed):
    """The thawed Keras net computes what the float net that was converted computes, up to
    the int8 rounding of its weights, in inference and (batch statistics) in training mode:
    a kernel in the wrong layout, a lost bias or batch norms left at their initial
    statistics give maps unrelated to the original's."""
    import keras

    from training.pose.export import inference_model
    d, images, model_dir, _, _ = thawed
    x = _inputs(images)
    original = inference_model(model_dir)
    want = original.predict(x, verbose=0)
    ours = keras.models.load_model(d / "thawed" / "model.keras", compile=False)
    for training in (False, True):
        got = ours(x, training=training)
        for name, i in (("heatmaps", -2), ("pafs", -1)):
            a, b = np.asarray(want[name]).ravel(), np.asarray(got[i]).ravel()
            corr = np.corrcoef(a, b)[0, 1]
            assert corr > 0.95, (name, training, corr)
            assert np.abs(a - b).mean() < 0.25 * a.std(), (name, training)


def test_a_training_run_starts_from_the_thawed_weights(thawed):
    from training.pose.model import build_pose_net
    from training.pose.train import _load_init
    d, _, _, _, config = thawed
    model = build_pose_net(**config["builder"])
    _load_init(model, d / "thawed", config["builder"])
    import keras
    source = keras.models.load_model(d / "thawed" / "model.keras", compile=False)
    k = source.get_layer("conv1").get_weights()[0]
    assert np.array_equal(model.get_layer("conv1").get_weights()[0], k)


def test_not_a_pose_net_is_a_clear_error(thawed, tmp_path):
    from training.pose.thaw import ThawError, thaw
    _, images, _, _, _ = thawed
    junk = tmp_path / "junk.tflite"
    junk.write_bytes(b"not a model at all")
    with pytest.raises(ThawError, match="not a readable TFLite model"):
        thaw(junk, [images], tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_cli_reports_the_difference_and_fails_in_one_line(thawed, tmp_path):
    from click.testing import CliRunner

    from training.cli import cli
    _, images, _, tflite, _ = thawed
    r = CliRunner().invoke(cli, ["pose", "thaw", str(tflite), "--images", str(images),
                                 "--out", str(tmp_path / "t"), "--count", "4"])
    assert r.exit_code == 0, r.output
    assert "heatmaps" in r.output and (tmp_path / "t" / "model.keras").is_file()
    empty = tmp_path / "empty"
    empty.mkdir()
    r = CliRunner().invoke(cli, ["pose", "thaw", str(tflite), "--images", str(empty),
                                 "--out", str(tmp_path / "u")])
    assert r.exit_code != 0
    assert "no readable images" in r.output and "Traceback" not in r.output
