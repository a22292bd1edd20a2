"""What a Raspberry Pi install relies on: the thread-count default and its pinning, and the
fallback to tflite-runtime where LiteRT has no wheel (32-bit Raspberry Pi OS)."""
from __future__ import annotations

import struct
import sys
import types

import numpy as np
import pytest

from pipan import runtime
from pipan.errors import MissingDependencyError, PipanError

# The smallest buffer read_metadata_bytes accepts: root offset, "TFL3", an empty Model table.
EMPTY_TFLITE = struct.pack("<I4siHH", 8, b"TFL3", -4, 4, 4)


# --- threads ------------------------------------------------------------------------------

@pytest.mark.parametrize("cores, expected", [(1, 1), (2, 2), (4, 4), (8, 4), (64, 4)])
def test_default_threads_is_cores_at_most_four(monkeypatch, cores, expected):
    monkeypatch.delenv("PIPAN_THREADS", raising=False)
    monkeypatch.setattr(runtime.os, "sched_getaffinity", lambda pid: set(range(cores)),
                        raising=False)
    assert runtime.default_threads() == expected


def test_default_threads_follows_the_cpu_affinity_not_the_machine(monkeypatch):
    # `taskset -c 2,3 pipan ...` must give 2 threads even on an 8-core machine.
    monkeypatch.delenv("PIPAN_THREADS", raising=False)
    monkeypatch.setattr(runtime.os, "sched_getaffinity", lambda pid: {2, 3}, raising=False)
    monkeypatch.setattr(runtime.os, "cpu_count", lambda: 8)
    assert runtime.default_threads() == 2


@pytest.mark.parametrize("value, expected", [("1", 1), ("3", 3), ("6", 6), (" 2 ", 2)])
def test_pipan_threads_overrides_the_default(monkeypatch, value, expected):
    monkeypatch.setenv("PIPAN_THREADS", value)
    monkeypatch.setattr(runtime.os, "sched_getaffinity", lambda pid: set(range(8)),
                        raising=False)
    assert runtime.default_threads() == expected


@pytest.mark.parametrize("value", ["abc", "2.5", "0", "-1", "four"])
def test_bad_pipan_threads_is_a_clear_pipan_error(monkeypatch, value):
    monkeypatch.setenv("PIPAN_THREADS", value)
    with pytest.raises(PipanError, match="PIPAN_THREADS"):
        runtime.default_threads()


# --- interpreter fallback -------------------------------------------------------------------

class _FakeRunner:
    """A signature runner computing y = 2 x, with an int8 output (scale 0.5, zero point 1)."""

    def get_input_details(self):
        return {"x": {"dtype": np.float32, "shape": np.array([1, 3]),
                      "quantization": (0.0, 0)}}

    def get_output_details(self):
        return {"y": {"dtype": np.int8, "shape": np.array([1, 3]),
                      "quantization_parameters": {"scales": [0.5], "zero_points": [1]}}}

    def __call__(self, x):
        return {"y": (np.round(2 * x / 0.5) + 1).astype(np.int8)}


def _fake_tflite_runtime(monkeypatch):
    """Make ``ai_edge_litert`` unimportable and a fake ``tflite_runtime`` importable."""
    created = []

    class Interpreter:
        def __init__(self, model_content=None, num_threads=None):
            created.append({"bytes": len(model_content), "num_threads": num_threads})

        def get_signature_list(self):
            return {"serving_default": {"inputs": ["x"], "outputs": ["y"]}}

        def get_signature_runner(self, name):
            return _FakeRunner()

    Interpreter.__module__ = "tflite_runtime.interpreter"
    package = types.ModuleType("tflite_runtime")
    module = types.ModuleType("tflite_runtime.interpreter")
    module.Interpreter = Interpreter
    package.interpreter = module
    # None in sys.modules makes `import ai_edge_litert...` raise ImportError, as on armv7l.
    monkeypatch.setitem(sys.modules, "ai_edge_litert", None)
    monkeypatch.setitem(sys.modules, "ai_edge_litert.interpreter", None)
    monkeypatch.setitem(sys.modules, "tflite_runtime", package)
    monkeypatch.setitem(sys.modules, "tflite_runtime.interpreter", module)
    return Interpreter, created


def test_falls_back_to_tflite_runtime_without_litert(monkeypatch):
    Interpreter, _ = _fake_tflite_runtime(monkeypatch)
    assert runtime.interpreter_class() is Interpreter
    assert runtime.runtime_name().startswith("tflite-runtime")


def test_prefers_litert_when_both_are_installed(monkeypatch):
    Fake, _ = _fake_tflite_runtime(monkeypatch)
    litert = types.ModuleType("ai_edge_litert")
    litert_interp = types.ModuleType("ai_edge_litert.interpreter")

    class LiteRT:
        pass

    litert_interp.Interpreter = LiteRT
    litert.interpreter = litert_interp
    monkeypatch.setitem(sys.modules, "ai_edge_litert", litert)
    monkeypatch.setitem(sys.modules, "ai_edge_litert.interpreter", litert_interp)
    assert runtime.interpreter_class() is LiteRT


def test_tflite_model_runs_through_tflite_runtime_with_pinned_threads(monkeypatch):
    _, created = _fake_tflite_runtime(monkeypatch)
    monkeypatch.setenv("PIPAN_THREADS", "3")
    model = runtime.TFLiteModel(EMPTY_TFLITE)
    assert created == [{"bytes": len(EMPTY_TFLITE), "num_threads": 3}]
    out = model(x=np.float32([[0.0, 0.25, -1.0]]))
    np.testing.assert_allclose(out["y"], [[0.0, 0.5, -2.0]])
    # An explicit thread count (--threads) beats the environment.
    runtime.TFLiteModel(EMPTY_TFLITE, threads=1)
    assert created[-1]["num_threads"] == 1


def test_no_interpreter_at_all_names_both_install_paths(monkeypatch):
    for name in ("ai_edge_litert", "ai_edge_litert.interpreter",
                 "tflite_runtime", "tflite_runtime.interpreter"):
        monkeypatch.setitem(sys.modules, name, None)
    with pytest.raises(MissingDependencyError) as err:
        runtime.interpreter_class()
    assert "ai-edge-litert" in str(err.value)
    assert "requirements-pi-armv7.txt" in str(err.value)
