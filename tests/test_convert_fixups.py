"""converters.fixups.add_zero_biases: every int8 FULLY_CONNECTED gets a bias tensor (what
tflite-runtime 2.14 on armv7 needs), the numbers stay exactly the same, metadata still
embeds, and ``int8_tflite`` (so ``pipan convert`` and ``converters.action_int8.step_to_int8``)
applies it."""
import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")

from converters.convert import CONVERTER_WARNINGS  # noqa: E402
from converters.fixups import add_zero_biases  # noqa: E402
from converters.metadata import embed_metadata  # noqa: E402
from pipan.runtime import TFLiteModel, read_metadata_bytes  # noqa: E402

# The tests' own TensorFlow conversions give the converter's warnings, as pipan's do
pytestmark = [pytest.mark.filterwarnings(f"ignore:{message}:UserWarning")
              for message in CONVERTER_WARNINGS]


def _model():
    """Bias-less Dense layers on a (18, 5) input (rows > 1: the case that crashed) and a
    plain matmul, plus one Dense with a bias, so both kinds of FC are present."""
    import keras
    keras.utils.set_random_seed(0)
    x = keras.Input((18, 5), batch_size=1, name="features")
    h = keras.layers.Dense(16, use_bias=False, activation="relu")(x)
    w = keras.ops.convert_to_tensor(np.random.default_rng(1).normal(size=(16, 8))
                                    .astype(np.float32))
    h = keras.ops.matmul(h, w)
    y = keras.layers.Dense(3, name="logits")(keras.layers.Flatten()(h))
    return keras.Model({"features": x}, {"logits": y})


def _rep():
    rng = np.random.default_rng(0)
    for _ in range(16):
        yield {"features": rng.normal(size=(1, 18, 5)).astype(np.float32)}


def _raw_int8(model) -> bytes:
    """The TensorFlow converter's own output, before any fix-up."""
    conv = tf.lite.TFLiteConverter.from_keras_model(model)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = _rep
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    conv.inference_input_type = tf.int8
    conv.inference_output_type = tf.int8
    return bytes(conv.convert())


def _fc_biases(model: bytes):
    """Per int8 FULLY_CONNECTED: its bias tensor's (type name, values) or None."""
    from tensorflow.lite.python import schema_py_generated as s
    m = s.ModelT.InitFromObj(s.Model.GetRootAsModel(bytearray(model), 0))
    out = []
    for g in m.subgraphs:
        for op in g.operators:
            code = m.operatorCodes[op.opcodeIndex]
            if max(code.builtinCode, code.deprecatedBuiltinCode) != \
                    s.BuiltinOperator.FULLY_CONNECTED:
                continue
            ins = list(op.inputs)
            if len(ins) < 3 or ins[2] < 0:
                out.append(None)
                continue
            t = g.tensors[ins[2]]
            data = m.buffers[t.buffer].data
            out.append((t.type, np.asarray(data, np.uint8).view(np.int32)))
    return out


@pytest.fixture(scope="module")
def raw():
    return _raw_int8(_model())


def _outputs(model: bytes):
    m = TFLiteModel(model, threads=1)
    rng = np.random.default_rng(5)
    return [m(features=rng.normal(size=(1, 18, 5)).astype(np.float32))["logits"]
            for _ in range(5)]


def test_zero_biases_added_and_outputs_identical(raw):
    before = _fc_biases(raw)
    assert None in before  # the converter does drop biases: the case being fixed
    fixed, n = add_zero_biases(raw)
    assert n == before.count(None)
    after = _fc_biases(fixed)
    assert None not in after
    from tensorflow.lite.python import schema_py_generated as s
    for b, a in zip(before, after):
        assert a[0] == s.TensorType.INT32
        if b is None:
            assert a[1].size > 0 and not a[1].any()  # all-zero int32
        else:
            np.testing.assert_array_equal(a[1], b[1])  # an existing bias is untouched
    for x, y in zip(_outputs(raw), _outputs(fixed)):
        np.testing.assert_array_equal(x, y)
    # Nothing left to add: same bytes back.
    again, n2 = add_zero_biases(fixed)
    assert n2 == 0 and again == fixed


def test_metadata_embeds_after_the_fix(raw):
    fixed, _ = add_zero_biases(raw)
    meta = {"kind": "action", "format": 1, "labels": ["a", "b", "c"]}
    out = embed_metadata(fixed, meta)
    assert read_metadata_bytes(out) == meta
    assert None not in _fc_biases(out)
    for x, y in zip(_outputs(fixed), _outputs(out)):
        np.testing.assert_array_equal(x, y)


def test_int8_conversion_paths_apply_it():
    from converters.convert import int8_tflite
    from converters.action_int8 import step_to_int8
    model = _model()
    data, left = int8_tflite(model, _rep, io="int8")
    assert not left and None not in _fc_biases(data)
    samples = list(_rep())
    data2 = step_to_int8(model, samples)
    assert None not in _fc_biases(data2)
