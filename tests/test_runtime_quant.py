"""TFLiteModel's cached (de)quantisation equals the reference quantize/dequantize for the
tensor kinds a model can have."""
import numpy as np
import pytest

from pipan.runtime import _dequantize, _qtuple, _quantize, dequantize, quantize

DETAILS = [
    {"dtype": np.int8, "quantization": (0.05, -3),
     "quantization_parameters": {"scales": np.float32([0.05]), "zero_points": np.int32([-3])}},
    {"dtype": np.uint8, "quantization": (0.1, 128),
     "quantization_parameters": {"scales": np.float32([]), "zero_points": np.int32([])}},
    {"dtype": np.int8, "quantization": (0.0, 0), "quantization_parameters": {}},
    {"dtype": np.float32, "quantization": (0.0, 0),
     "quantization_parameters": {"scales": np.float32([]), "zero_points": np.int32([])}},
]


@pytest.mark.parametrize("detail", DETAILS)
def test_cached_quantisation_matches_reference(detail):
    rng = np.random.default_rng(0)
    x = (rng.normal(size=(1, 18, 5)) * 10).astype(np.float32)
    params = _qtuple(detail)
    q_ref, q = quantize(x, detail), _quantize(x, *params)
    assert q.dtype == q_ref.dtype and np.array_equal(q, q_ref)
    assert np.array_equal(_dequantize(q, *params), dequantize(q_ref, detail))
