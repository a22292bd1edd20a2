"""Converting a tiny action model (real builder, fitted on synthetic skeletons) to int8."""
import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")

from convert_fixtures import ACTION_LABELS, make_action_dataset, make_action_dir  # noqa: E402
from converters import convert as C  # noqa: E402
from converters.metadata import float_ops, list_ops  # noqa: E402
from pipan.errors import DatasetError, ModelError  # noqa: E402
from pipan.runtime import (HASH_PLACEHOLDER, MODEL_HASH_KEY, TFLiteModel,  # noqa: E402
                           model_digest, read_metadata_bytes)
from pipan.skeleton import clip_features  # noqa: E402

#: int8 step outputs may differ from the float step model's by MEAN_TOLERANCE of each
#: output's range on average (measured 1-2%: a few int8 steps after ~20 quantised ops);
#: single values can differ much more (a GRU gate near its sigmoid knee flips a unit of h:
#: measured up to 0.87 of h's range 2), so per value only the decision is checked: the
#: top-1 class of the step's logits agrees in at least MIN_TOP1_AGREEMENT of the frames.
MEAN_TOLERANCE, MIN_TOP1_AGREEMENT = 0.025, 0.95
#: Options that keep the extra conversions quick (they test behaviour, not figures).
FAST = dict(samples=100, eval_samples=6, latency_runs=2)


def _buffers(model: bytes) -> list:
    from tensorflow.lite.python import schema_py_generated as schema
    m = schema.Model.GetRootAsModel(bytearray(model), 0)
    return [m.Buffers(i).DataAsNumpy().tobytes() if m.Buffers(i).DataLength() else b""
            for i in range(m.BuffersLength())]


def _blank_checksum(model: bytes) -> bytes:
    """``model`` with the checksum its metadata records replaced by the placeholder."""
    recorded = read_metadata_bytes(model)[MODEL_HASH_KEY]
    return model.replace(recorded.encode(), HASH_PLACEHOLDER.encode())


def _quantisation(model: bytes) -> list:
    """(scale, zero point) of every tensor, in the model's order."""
    return [tuple(d["quantization"])
            for d in TFLiteModel(model).interpreter.get_tensor_details()]


@pytest.fixture(scope="module")
def action(tmp_path_factory):
    d = tmp_path_factory.mktemp("action")
    data = make_action_dataset(d / "skeletons.npz")
    model_dir = make_action_dir(d / "model", data)
    return d, data, model_dir, C.convert(model_dir, d / "skeletons.npz", io="int8", seed=0)


def test_int8_model_and_metadata(action):
    d, data, model_dir, conv = action
    q = TFLiteModel(conv.model_bytes, expected_kind="action")
    for det in list(q.input_details.values()) + list(q.output_details.values()):
        assert np.dtype(det["dtype"]) == np.int8  # full integer, int8 I/O as asked
    assert float_ops(conv.model_bytes) == []
    assert "FULLY_CONNECTED" in {op.op for op in list_ops(conv.model_bytes)}
    meta = read_metadata_bytes(conv.model_bytes)
    assert meta["kind"] == "action" and meta["labels"] == list(ACTION_LABELS)
    assert meta["state_size"] == q.input_shape("h_prev")[-1] == 8
    assert meta["features"] == ["x", "y", "score", "vx", "vy"]
    assert meta["sha256"] == C.file_sha256(model_dir / "model.keras")
    # the file's own checksum, checked at every load: one flipped byte is refused
    assert meta["model_sha256"] == model_digest(conv.model_bytes, meta["model_sha256"])
    flipped = bytearray(conv.model_bytes)
    flipped[len(flipped) // 2] ^= 1
    with pytest.raises(ModelError, match="damaged or altered|corrupt"):
        TFLiteModel(bytes(flipped))
    assert {"layout", "command", "commit", "created", "format"} <= set(meta)
    with pytest.raises(ModelError, match="action model"):
        TFLiteModel(conv.model_bytes, expected_kind="pose")


def test_int8_steps_match_the_float_step_model(action):
    """Stream held-out clips through the Keras step model, feeding both models the same
    (features, h_prev): int8 outputs within MEAN_TOLERANCE of each output's range over the
    clips, and the same top-1 class in MIN_TOP1_AGREEMENT of the steps."""
    from training.action.export import step_model
    d, data, model_dir, conv = action
    keras_step = step_model(model_dir)
    q = TFLiteModel(conv.model_bytes)
    ref, got = {"h": [], "score": [], "logits": []}, {"h": [], "score": [], "logits": []}
    for i in np.flatnonzero(data.test == 1)[:3]:
        h = np.zeros((1, 8), np.float32)
        for f in clip_features(data.clip(int(i))):
            x = f[None].astype(np.float32)
            r = {k: np.asarray(v) for k, v in keras_step({"features": x, "h_prev": h}).items()}
            g = q(features=x, h_prev=h)
            for k in ref:
                ref[k].append(r[k])
                got[k].append(g[k])
            h = r["h"]
    for k in ref:
        a, b = np.concatenate(ref[k]), np.concatenate(got[k])
        span = float(np.ptp(a))
        assert span > 0.1, k  # the outputs move: the comparison means something
        err = np.abs(b - a)
        assert err.mean() <= MEAN_TOLERANCE * span, (k, err.mean(), span)
    a, b = np.concatenate(ref["logits"]), np.concatenate(got["logits"])
    assert (a.argmax(1) == b.argmax(1)).mean() >= MIN_TOP1_AGREEMENT


def test_report(action):
    r = action[3].report
    v = r["validation"]
    assert r["kind"] == "action" and r["io"] == "int8"  # as asked
    assert r["calibration"]["disjoint"] and r["calibration"]["held_out"] == 12
    assert r["calibration"]["range_percentile"] == C.DEFAULT_RANGE_PERCENTILE["action"] < 100
    assert v["clips"] == 12 and v["labelled_clips"] == 12
    assert v["accuracy_float_pct"] >= 90  # the tiny model learned the synthetic classes
    assert v["top1_agreement_clips_pct"] >= 90 and v["top1_agreement_frames_pct"] >= 90
    assert r["accuracy"]["passed"] and r["accuracy"]["drop"] <= 2.0
    assert r["size_bytes"]["int8"] == len(action[3].model_bytes)
    assert r["latency_ms"]["int8_median"] > 0 and r["float_ops"] == {}
    assert r["float_tflite_vs_keras_max_abs"] < 1e-4


def test_runtime_streams_the_converted_model(action, tmp_path):
    from pipan.action import ActionRecognizer
    d, data, _, conv = action
    path = tmp_path / "action.tflite"
    path.write_bytes(conv.model_bytes)
    rec = ActionRecognizer(path, threads=1)
    assert rec.labels == ACTION_LABELS
    probs = rec.run_clip(data.clip(0))
    assert probs.shape == (int(data.lengths[0]), 3)
    np.testing.assert_allclose(probs.sum(1), 1.0, atol=1e-5)


def test_a_model_with_a_statistics_head_converts_and_streams(action, tmp_path):
    """The step model's optional 'stats' input: calibrated with the running statistics,
    validated through the runtime's streaming (which feeds them), refused nowhere."""
    import json

    from pipan.action import ActionRecognizer
    from training.action.export import load_model_dir
    from training.action.stats_head import fit_stats_head, with_stats_head

    d, data, model_dir, _ = action
    model, config = load_model_dir(model_dir)
    train = np.flatnonzero(data.test == 0)
    y = np.array([ACTION_LABELS.index(str(data.labels[i])) for i in train])
    kernel, bias = fit_stats_head([data.clip(int(i)) for i in train], y, len(ACTION_LABELS))
    builder = {k: v for k, v in config["builder"].items() if k != "num_classes"}
    head = with_stats_head(model, kernel, bias, builder)
    out = tmp_path / "head"
    out.mkdir()
    head.save(out / "model.keras")
    (out / "config.json").write_text(json.dumps(dict(config, builder=dict(
        config["builder"], stats_head=True))))
    conv = C.convert(out, d / "skeletons.npz", io="int8", seed=0, **FAST)
    v = conv.report["validation"]
    assert v["accuracy_float_pct"] >= 90 and v["top1_agreement_clips_pct"] >= 80
    path = tmp_path / "head.tflite"
    path.write_bytes(conv.model_bytes)
    rec = ActionRecognizer(path, threads=1)
    assert rec.stats and rec.model.input_shape("stats") == (1, 144)
    probs = rec.run_clip(data.clip(0))
    np.testing.assert_allclose(probs.sum(1), 1.0, atol=1e-5)


def test_default_float_io_and_same_seed_same_model(action, monkeypatch):
    d, data, model_dir, conv = action
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "0")
    a = C.convert(model_dir, d / "skeletons.npz", seed=3, **FAST)  # float I/O
    b = C.convert(model_dir, d / "skeletons.npz", seed=3, **FAST)
    # Same weights, quantisation and metadata; only tensor names may differ within one
    # process (they carry Keras's per-process layer-name counters, e.g. reshape_2/_4), and
    # with them the file's own checksum recorded in the metadata.
    assert _buffers(_blank_checksum(a.model_bytes)) == _buffers(_blank_checksum(b.model_bytes))
    assert _quantisation(a.model_bytes) == _quantisation(b.model_bytes)
    q = TFLiteModel(a.model_bytes)
    assert np.dtype(q.input_details["features"]["dtype"]) == np.float32
    assert float_ops(a.model_bytes) == []  # only the boundary (de)quantisation is float
    assert read_metadata_bytes(a.model_bytes)["io"] == "float"


def test_accuracy_drop_refused_unless_forced(action, monkeypatch):
    d, data, model_dir, _ = action
    real = C._validate_action

    def worse(*args, **kwargs):  # the int8 model "loses" 10 points
        out = real(*args, **kwargs)
        metric, f, q = out["_accuracy"]
        out["_accuracy"] = (metric, f, f - 10.0)
        return out
    monkeypatch.setattr(C, "_validate_action", worse)
    with pytest.raises(C.ConversionError, match="drops 10.00 points.*--max-drop 2"):
        C.convert(model_dir, d / "skeletons.npz", **FAST)
    forced = C.convert(model_dir, d / "skeletons.npz", force=True, **FAST)
    assert forced.report["accuracy"]["forced"] and not forced.report["accuracy"]["passed"]
    assert forced.report["accuracy"]["drop"] == 10.0


def test_float_ops_are_refused_unless_allowed(action):
    """An op with no int8 kernel (SIN) in the step model: refused, or listed if allowed."""
    import keras
    d, data, model_dir, _ = action
    f = keras.Input((18, 5), batch_size=1, name="features")
    hp = keras.Input((4,), batch_size=1, name="h_prev")
    s = keras.layers.Lambda(lambda t: keras.ops.sin(t))(keras.layers.Flatten()(f))
    h = keras.layers.Dense(4, activation="tanh", name="h")(
        keras.layers.Concatenate()([s, hp]))
    model = keras.Model({"features": f, "h_prev": hp},
                        {"h": h, "score": keras.layers.Dense(1, name="score")(h),
                         "logits": keras.layers.Dense(3, name="logits")(h)})
    config = {"kind": "action", "labels": list(ACTION_LABELS)}
    with pytest.raises(C.ConversionError, match=r"ops left in float.*SIN.*--allow-float-ops"):
        C.convert_keras(model, config, d / "skeletons.npz", max_drop=100, **FAST)
    ok = C.convert_keras(model, config, d / "skeletons.npz", allow_float_ops=True,
                         max_drop=100, **FAST)
    assert "SIN" in ok.report["float_ops"]


def test_bad_inputs(action, tmp_path):
    d, data, model_dir, _ = action
    with pytest.raises(DatasetError, match="calibrates on a skeleton dataset"):
        C.convert(model_dir, tmp_path)  # a folder (of images) for an action model
    with pytest.raises(ModelError, match="no such model directory"):
        C.convert(tmp_path / "nothing", d / "skeletons.npz")
    (tmp_path / "config.json").write_text('{"kind": "dance"}')
    with pytest.raises(ModelError, match="'kind' must be one of pose, action"):
        C.convert(tmp_path, d / "skeletons.npz")
    with pytest.raises(C.ConversionError, match="--stages applies to pose models only"):
        C.convert(model_dir, d / "skeletons.npz", stages=2)
