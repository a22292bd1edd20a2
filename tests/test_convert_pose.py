"""Converting a tiny pose net (real builder) to int8; calibration data loading; PCK."""
import json

import numpy as np
import pytest

from converters import calibration as cal
from pipan.errors import DatasetError

#: int8 maps against the float model's, pooled over the 8 images: correlation at least
#: MIN_CORRELATION and mean absolute difference at most MAP_TOLERANCE x the float maps'
#: standard deviation. Loose because the fixture is a random 8-16-channel net 13 quantised
#: layers deep (measured: correlation 0.68-0.99 per image, error 0.09-0.68 std); a broken
#: conversion (wrong scales, dead or swapped outputs) gives correlation near 0.
MIN_CORRELATION, MAP_TOLERANCE = 0.8, 0.5


@pytest.fixture(scope="module")
def pose(tmp_path_factory):
    pytest.importorskip("tensorflow")
    from convert_fixtures import convert_tiny_pose
    d = tmp_path_factory.mktemp("pose")
    _, model_dir, conv = convert_tiny_pose(d)
    return d, model_dir, conv


def test_int8_maps_match_the_float_model(pose):
    from pipan.image import letterbox, to_net_input
    from pipan.runtime import TFLiteModel
    from training.pose.export import inference_model
    import cv2
    d, model_dir, conv = pose
    keras_model = inference_model(model_dir)
    q = TFLiteModel(conv.model_bytes, expected_kind="pose")
    assert np.dtype(q.input_details["image"]["dtype"]) == np.float32  # default float I/O
    ref, got = {"heatmaps": [], "pafs": []}, {"heatmaps": [], "pafs": []}
    for f in sorted((d / "images").glob("*.png")):
        x = to_net_input(letterbox(cv2.imread(str(f)))[0])[None]
        r, g = keras_model(x), q(image=x)
        for k in ref:
            assert g[k].shape == tuple(r[k].shape)
            ref[k].append(np.asarray(r[k]).ravel())
            got[k].append(g[k].ravel())
    for k in ref:
        a, b = np.concatenate(ref[k]), np.concatenate(got[k])
        assert a.std() > 0.05, k  # real maps, not an untrained net's ~1e-9
        assert np.corrcoef(a, b)[0, 1] >= MIN_CORRELATION, k
        assert np.abs(b - a).mean() <= MAP_TOLERANCE * a.std(), k


def test_metadata_and_report(pose):
    from converters.convert import file_sha256
    from pipan.errors import ModelError
    from pipan.runtime import TFLiteModel, read_metadata_bytes
    d, model_dir, conv = pose
    meta = read_metadata_bytes(conv.model_bytes)
    assert meta["kind"] == "pose" and meta["input_size"] == 224 and meta["stages"] == 1
    assert meta["input_normalisation"] == "rgb/255" and meta["layout"] == "coco18"
    assert meta["sha256"] == file_sha256(model_dir / "model.keras")
    with pytest.raises(ModelError, match="is a pose model"):
        TFLiteModel(conv.model_bytes, expected_kind="action")
    r = conv.report
    assert r["float_ops"] == {}  # the boundary (de)quantisation of float I/O is not a float op
    assert set(r["ops"]) == {"CONV_2D", "DEPTHWISE_CONV_2D", "QUANTIZE", "DEQUANTIZE"}
    v = r["validation"]
    assert v["images"] == 2 and r["calibration"]["samples"] == 6
    assert v["heatmap_mean_abs_diff"] > 0 and v["strong_peaks"] > 0
    assert v["decoded"] and v["pck_reference"] == "float model" and v["pck_float"] == 100.0
    assert r["accuracy"]["metric"] == "PCK"
    json.dumps(r)  # the report is plain JSON


# --- calibration data ----------------------------------------------------------------------

def test_coco_calibration_has_ground_truth(shared):
    samples = cal.load_images(shared / "data" / "coco-mini")
    assert len(samples) == 4
    people = np.concatenate([s.people for s in samples])
    assert people.shape[1:] == (18, 3) and len(people) >= 10
    assert set(np.unique(people[..., 2])) <= {0.0, 1.0}
    assert cal.describe(shared / "data" / "coco-mini" / "test_coco.json") == "coco"
    img = samples[0].read()
    assert img.ndim == 3 and img.shape[2] == 3


def test_calibration_kind_errors(tmp_path):
    with pytest.raises(DatasetError, match="no such file or folder"):
        cal.load_images(tmp_path / "missing")
    with pytest.raises(DatasetError, match="no images"):
        cal.load_images(tmp_path)
    (tmp_path / "data.npz").write_bytes(b"")
    with pytest.raises(DatasetError, match="is a skeleton dataset; a pose model calibrates"):
        cal.load_images(tmp_path / "data.npz")
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(DatasetError, match="not calibration data"):
        cal.describe(tmp_path / "notes.txt")
    (tmp_path / "bad.png").write_bytes(b"not a png")
    with pytest.raises(DatasetError, match="not a readable image"):
        cal.load_images(tmp_path)[0].read()


@pytest.mark.parametrize("n", [1, 3, 4, 10, 1000])
def test_split_is_seeded_and_disjoint(n):
    a = cal.split(n, samples=100, held_out=50, seed=7)
    b = cal.split(n, samples=100, held_out=50, seed=7)
    assert all(np.array_equal(x, y) for x, y in zip(a[:2], b[:2]))
    calib, held, disjoint = a
    assert len(held) >= 1 and len(calib) >= 1
    assert disjoint == (n >= 4)
    if disjoint:
        assert not set(calib) & set(held) and len(held) <= 50 and len(calib) <= 100


def test_pck_matching():
    from training.pose.metrics import pck_counts
    rng = np.random.default_rng(0)
    truth = np.concatenate([rng.uniform(0, 200, (2, 18, 2)), np.ones((2, 18, 1))], -1)
    truth[0, 5, 2] = 0  # an unlabelled joint is not counted
    assert pck_counts(truth, list(truth[::-1]), 0.2) == (35, 35)
    far = truth.copy()
    far[..., :2] += 500
    assert pck_counts(truth, list(far), 0.2) == (0, 35)
    assert pck_counts(truth, [], 0.2) == (0, 35)
