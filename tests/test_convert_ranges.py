"""Percentile activation ranges (converters/ranges.py): a few extreme calibration samples
no longer set the int8 grid of every tensor."""
from __future__ import annotations

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
import keras  # noqa: E402

from converters.convert import CONVERTER_WARNINGS, ConversionError, int8_tflite  # noqa: E402
from converters.ranges import clip_ranges  # noqa: E402
from pipan.runtime import TFLiteModel  # noqa: E402

# The tests' own TensorFlow conversions give the converter's warnings, as pipan's do
pytestmark = [pytest.mark.filterwarnings(f"ignore:{message}:UserWarning")
              for message in CONVERTER_WARNINGS]


def _model():
    keras.utils.set_random_seed(3)
    x = keras.Input((16,), batch_size=1, name="x")
    h = keras.layers.Dense(32, activation="relu", name="d1")(x)
    y = keras.layers.Dense(4, name="out")(h)
    return keras.Model({"x": x}, {"y": y})


def _samples(rng, n=300, outliers=3):
    """Typical inputs (unit normal) plus a few 40x larger ones, like a degenerate frame."""
    xs = [rng.normal(size=(1, 16)).astype(np.float32) for _ in range(n)]
    for i in range(outliers):
        xs[i * 97] = xs[i * 97] * 40.0
    return [{"x": x} for x in xs]


def _error(model, data: bytes, tests) -> float:
    q = TFLiteModel(data, threads=1)
    return float(np.mean([np.abs(q(**t)["y"] - np.asarray(model(t)["y"])).mean() for t in tests]))


def test_percentile_ranges_ignore_outliers_and_track_float_better():
    rng = np.random.default_rng(0)
    model = _model()
    calib = _samples(rng)
    tests = [{"x": rng.normal(size=(1, 16)).astype(np.float32)} for _ in range(100)]
    minmax, _ = int8_tflite(model, lambda: iter(calib), io="float")
    clipped, _ = int8_tflite(model, lambda: iter(calib), io="float", range_percentile=99.0)
    scale = lambda data: TFLiteModel(data, threads=1).interpreter.get_input_details()[0]  # noqa: E731
    # io="float": the input is quantised inside the model; its scale is the first
    # QUANTIZE's output. Compare errors, which is what matters, and the scales of the
    # int8 input when io="int8".
    in_minmax = int8_tflite(model, lambda: iter(calib), io="int8")[0]
    in_clipped = int8_tflite(model, lambda: iter(calib), io="int8", range_percentile=99.0)[0]
    s_minmax = scale(in_minmax)["quantization"][0]
    s_clipped = scale(in_clipped)["quantization"][0]
    assert s_clipped < s_minmax / 5, (s_clipped, s_minmax)
    assert _error(model, clipped, tests) < 0.5 * _error(model, minmax, tests)


def test_percentile_100_changes_nothing_and_bad_values_are_refused():
    rng = np.random.default_rng(1)
    model = _model()
    calib = _samples(rng, n=50, outliers=1)
    conv = tf.lite.TFLiteConverter.from_keras_model(model)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = lambda: iter(calib)
    conv._experimental_calibrate_only = True
    calibrated = bytes(conv.convert())
    assert clip_ranges(calibrated, calib, 100.0) == (calibrated, 0)
    narrowed_bytes, narrowed = clip_ranges(calibrated, calib, 95.0)
    assert narrowed > 0 and narrowed_bytes != calibrated
    with pytest.raises(ValueError):
        clip_ranges(calibrated, calib, 40.0)
    with pytest.raises(ConversionError, match="range_percentile"):
        int8_tflite(model, lambda: iter(calib), range_percentile=101.0)
