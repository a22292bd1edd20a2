"""The bare int8 action step: full-int8 conversion of a Keras step model with a
representative dataset, without metadata or validation (what the action tests and
benchmarks use to check int8 accuracy; ``pipan convert`` is the conversion for users).

Calibration samples are real streaming states: each clip is run through the float step
model so that ``h_prev`` takes the values it will take at run time.
"""
from __future__ import annotations

from typing import Dict, Iterator, List, Optional, Sequence

import numpy as np

from training.action.export import keras_step_fn

from .calibration import stream_step_inputs
from .convert import int8_tflite, range_percentile_for


def calibration_samples(step, clips: Sequence[np.ndarray], limit: int = 500,
                        seed: int = 0) -> List[Dict[str, np.ndarray]]:
    """Up to ``limit`` ``{"features", "h_prev"}`` dicts (plus ``"stats"``, the running
    statistics, for a step with a statistics head) from streaming COCO-18 clips
    ``(T, 18, 3)`` through the float Keras step model ``step``; a seeded subsample."""
    hidden = int(step.get_layer("h_prev").batch_shape[-1])
    run = keras_step_fn(step)
    samples = [x for kp in clips for x in stream_step_inputs(run, kp, hidden)]
    rng = np.random.default_rng(seed)
    if len(samples) > limit:
        samples = [samples[i] for i in sorted(rng.choice(len(samples), limit, replace=False))]
    return samples


def step_to_int8(step, samples: Sequence[Dict[str, np.ndarray]],
                 range_percentile: Optional[float] = None) -> bytes:
    """Full-integer (int8 in, int8 out) TFLite bytes of the Keras step model.

    Goes through ``convert.int8_tflite``, so the result has the same post-conversion fixes
    and activation ranges as ``pipan convert``'s action models (explicit zero biases, which
    tflite-runtime on armv7 needs; percentile ranges; ``range_percentile`` overrides the
    converter's action default); no metadata, no validation.
    """

    def representative() -> Iterator[Dict[str, np.ndarray]]:
        for s in samples:
            yield {k: np.asarray(v, np.float32) for k, v in s.items()}

    return int8_tflite(step, representative, io="int8",
                       range_percentile=range_percentile_for("action", range_percentile))[0]
