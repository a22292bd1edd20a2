"""converters.metadata writes pipan's JSON into a TFLite model; pipan.runtime reads it back
without TensorFlow, and the model still loads and gives identical outputs."""
import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")

from converters.metadata import (  # noqa: E402
    BUFFER_ALIGN, embed_metadata, float_ops, list_ops, metadata_json, summarise_ops)
from pipan.errors import ModelError  # noqa: E402
from pipan.runtime import TFLiteModel, read_metadata, read_metadata_bytes  # noqa: E402


def _tiny_model(sin: bool = False):
    import keras
    x = keras.Input((18, 5), batch_size=1, name="features")
    y = keras.layers.Flatten()(x)
    if sin:
        y = keras.layers.Lambda(lambda t: keras.ops.sin(t))(y)
    y = keras.layers.Dense(6, activation="tanh")(y)
    return keras.Model({"features": x}, {"logits": keras.layers.Dense(3, name="logits")(y)})


def _rep():
    rng = np.random.default_rng(0)
    for _ in range(16):
        yield {"features": rng.normal(size=(1, 18, 5)).astype(np.float32)}


@pytest.fixture(scope="module")
def models():
    """(float32 TFLite bytes, int8 TFLite bytes) of a tiny model."""
    from converters.convert import float_tflite, int8_tflite
    m = _tiny_model()
    return float_tflite(m), int8_tflite(m, _rep)[0]


META = {"kind": "action", "format": 1, "labels": ["wave", "clap", "sit\u00e9"],
        "state_size": 8, "created": "2026-01-01T00:00:00Z", "stages": None}


def _buffer_data_positions(model: bytes):
    """File offset of every non-empty buffer's data (schema: Model.buffers field 4)."""
    from tensorflow.lite.python import schema_py_generated as schema
    m = schema.Model.GetRootAsModel(bytearray(model), 0)
    pos = []
    for i in range(m.BuffersLength()):
        b = m.Buffers(i)
        o = b._tab.Offset(4)  # Buffer.data
        if o and b.DataLength():
            pos.append(b._tab.Vector(o))
    return pos


@pytest.mark.parametrize("which", [0, 1], ids=["float32", "int8"])
def test_round_trip_and_identical_outputs(models, which):
    model = models[which]
    assert read_metadata_bytes(model) is None  # the converter's own entries are not ours
    out = embed_metadata(model, META)
    assert read_metadata_bytes(out) == META
    x = np.random.default_rng(1).normal(size=(1, 18, 5)).astype(np.float32)
    a, b = TFLiteModel(model)(features=x), TFLiteModel(out)(features=x)
    assert a.keys() == b.keys() == {"logits"}
    np.testing.assert_array_equal(a["logits"], b["logits"])
    # the converter's other metadata entries (e.g. min_runtime_version) survive
    from tensorflow.lite.python import schema_py_generated as schema

    def names(m):
        mm = schema.Model.GetRootAsModel(bytearray(m), 0)
        return [mm.Metadata(i).Name().decode() for i in range(mm.MetadataLength())]
    assert names(out) == names(model) + ["pipan"]
    # every weight buffer on a 16-byte boundary (the schema's force_align), which neither
    # the converter's output nor a plain object-API rewrite guarantees
    assert all(p % BUFFER_ALIGN == 0 for p in _buffer_data_positions(out))


def test_replacing_metadata_is_deterministic(models):
    once = embed_metadata(models[1], {"kind": "pose"})
    twice = embed_metadata(embed_metadata(models[1], META), {"kind": "pose"})
    assert once == twice  # the old entry's buffer is reused, not duplicated
    assert read_metadata_bytes(twice) == {"kind": "pose"}
    assert embed_metadata(models[1], META) == embed_metadata(models[1], dict(META))


def test_read_metadata_from_file_and_bad_input(models, tmp_path):
    path = tmp_path / "m.tflite"
    path.write_bytes(embed_metadata(models[1], META))
    assert read_metadata(path) == META
    with pytest.raises(ModelError, match="not a TFLite model"):
        read_metadata_bytes(b"\0" * 64)
    with pytest.raises(ModelError, match="no such model file"):
        read_metadata(tmp_path / "missing.tflite")
    with pytest.raises(ModelError, match="not plain JSON"):
        metadata_json({"x": object()})


def test_runtime_refuses_the_wrong_kind(models):
    pose = embed_metadata(models[1], {"kind": "pose", "format": 1})
    assert TFLiteModel(pose, expected_kind="pose").metadata["kind"] == "pose"
    with pytest.raises(ModelError, match="is a pose model, expected an? action model"):
        TFLiteModel(pose, expected_kind="action")
    with pytest.raises(ModelError, match="not a pipan model"):
        TFLiteModel(models[1], expected_kind="action")


def test_float_op_listing(models):
    assert float_ops(models[1]) == []
    assert summarise_ops(float_ops(models[0]))  # the float32 model computes in float
    assert {op.op for op in list_ops(models[1])} >= {"FULLY_CONNECTED", "TANH"}
