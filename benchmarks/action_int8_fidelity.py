"""How closely int8 action step models follow their float model, on every held-out clip.

    python benchmarks/action_int8_fidelity.py MODEL_DIR DATASET.npz A.tflite [B.tflite ...]

The float reference is MODEL_DIR's step model (built by the current layer code) as float32
TFLite; each int8 model is streamed through the same held-out clips (``test == 1``) with
``pipan.action.StreamingAction``. Per model: the total-variation distance between the
int8 and float class probabilities per frame (mean, median), top-1 agreement per frame
and at each clip's end. Smoother than clip accuracy, which moves 0.57 points per clip on
JHMDB's 176 test clips. Used to choose the int8-friendly layer forms (docs/pi-check.md).
Needs TensorFlow.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model_dir")
    ap.add_argument("dataset")
    ap.add_argument("models", nargs="+")
    args = ap.parse_args()

    from converters import calibration as cal
    from converters.convert import _named_io, _quiet, float_tflite, read_config
    from pipan.action import StreamingAction
    from pipan.runtime import TFLiteModel, runtime_name
    from training.action.export import step_model

    config = read_config(args.model_dir)
    labels = [str(s) for s in config["labels"]]
    data = cal.load_skeletons(args.dataset)
    held = np.flatnonzero(data.test == 1) if data.test is not None else np.arange(len(data))
    clips = [data.clip(int(i)) for i in held]
    with _quiet():
        ref = TFLiteModel(float_tflite(_named_io(step_model(args.model_dir))), threads=1)
    H = ref.input_shape("h_prev")[-1]
    reference = [StreamingAction(ref, labels, H).run_clip(c) for c in clips]
    print(f"{len(clips)} held-out clips, {sum(len(c) for c in clips)} frames, {runtime_name()}")
    for path in args.models:
        rec = StreamingAction(TFLiteModel(path, threads=1), labels, H)
        tv, agree, frames, ends = [], 0, 0, 0
        for clip, p in zip(clips, reference):
            q = rec.run_clip(clip)
            tv.append(np.abs(p - q).sum(1) / 2)
            agree += int((p.argmax(1) == q.argmax(1)).sum())
            frames += len(p)
            ends += int(p[-1].argmax() == q[-1].argmax())
        tv_all = np.concatenate(tv)
        print(f"{Path(path).name:<28} total variation mean {tv_all.mean():.4f} median "
              f"{np.median(tv_all):.4f} | top-1 agreement {100 * agree / frames:.2f}% of "
              f"frames, {ends}/{len(clips)} clip ends")


if __name__ == "__main__":
    main()
