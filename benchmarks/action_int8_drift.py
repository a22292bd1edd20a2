"""Where a trained action model's int8 accuracy drop comes from.

    nice -n 10 python benchmarks/action_int8_drift.py --model runs/jhmdb
        [--data ../shared/data/jhmdb14/jhmdb14_split1.npz] [--calib-clips 60]
        [--range-percentile P]

Converts the model's step to full int8 (calibration: 500 streaming frames of
``--calib-clips`` training clips, as ``benchmarks/action_jhmdb.py``) and streams the test
clips (test == 1) through five loops, printing each one's clip accuracy at the last frame:

- ``float``: the float step model on its own state;
- ``float, int8-rounded input``: features rounded to the int8 input's grid;
- ``float, int8-rounded state``: h rounded to the int8 state's grid after every step;
- ``int8, float state``: each int8 step fed the float loop's h (teacher forced: one
  step's error, never fed back);
- ``int8``: the int8 step on its own state (what the Pi runs).

Then the mean |h_int8 - h_float| of one teacher-forced step, and of the free-running loop
at a few frames; and, layer by layer up to the joint-attended feature s_t, the relative
error of that prefix of the network converted to int8 on its own (mean |int8 - float| /
mean |float| over 400 test frames) and its largest |float| value (what sets the int8 scale).
Every conversion uses ``--range-percentile`` (default: the converter's for action models;
100 gives min/max ranges, as before session 5).
Needs TensorFlow and ../shared (or --data).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

JHMDB = ROOT.parent / "shared" / "data" / "jhmdb14" / "jhmdb14_split1.npz"


def attend(scores, logits) -> int:
    """Top class of the frame attention over a clip's (score, logits) steps."""
    e = np.array(scores)
    w = np.exp(e - e.max())
    return int(((w[:, None] * np.array(logits)).sum(0) / w.sum()).argmax())


def prefixes(model):
    """(name, keras.Model features -> that layer's output) for each per-frame layer."""
    import keras

    from pipan.skeleton import NUM_FEATURES, NUM_JOINTS
    from training.action.export import frame_layers

    f = keras.Input((NUM_JOINTS, NUM_FEATURES), batch_size=1, name="features")
    return [(name, keras.Model({"features": f}, {"y": y})) for name, y in frame_layers(model, f)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", type=Path, required=True)
    ap.add_argument("--data", type=Path, default=JHMDB)
    ap.add_argument("--calib-clips", type=int, default=60)
    ap.add_argument("--range-percentile", type=float, default=None,
                    help="int8 activation ranges (default: the converter's for action models)")
    args = ap.parse_args()
    if not args.data.is_file():
        sys.exit(f"{args.data} not found (needs ../shared/data/jhmdb14 or --data)")

    from converters.convert import int8_tflite, range_percentile_for
    from pipan.dataset import load
    from pipan.runtime import TFLiteModel
    from pipan.skeleton import clip_features
    from training.action.data import label_indices
    from training.action.export import keras_step_fn, load_model_dir, step_from_sequence_model
    from training.action.quantize import calibration_samples, step_to_int8

    pct = range_percentile_for("action", args.range_percentile)
    ds = load(args.data).to_coco18()
    model, config = load_model_dir(args.model)
    # The network's step: a statistics head is stateless (its int8 error does not feed
    # back) and is left out here; pipan convert's report measures the whole model.
    step = step_from_sequence_model(model, stats_head=False)
    train_clips = [ds.clip(i) for i in np.flatnonzero(ds.test == 0)]
    rng = np.random.default_rng(0)
    calib = [train_clips[i] for i in rng.permutation(len(train_clips))[: args.calib_clips]]
    tfl = TFLiteModel(step_to_int8(step, calibration_samples(step, calib, limit=500), pct),
                      threads=1)
    fstep = keras_step_fn(step)
    hidden = int(tfl.input_shape("h_prev")[-1])
    (f_scale, f_zp), (h_scale, h_zp) = (tfl.input_details[k]["quantization"]
                                        for k in ("features", "h_prev"))
    test_idx = np.flatnonzero(ds.test == 1)
    y = label_indices(ds.labels[test_idx], config["labels"])
    loops = ("float", "float, int8-rounded input", "float, int8-rounded state",
             "int8, float state", "int8")
    top = {k: [] for k in loops}
    one_step, free = [], []
    for i in test_idx:
        feats = clip_features(ds.clip(i))
        fq = np.clip(np.round(feats / f_scale) + f_zp, -128, 127).astype(np.float32)
        fq = (fq - f_zp) * f_scale
        h = {k: np.zeros((1, hidden), np.float32) for k in loops}
        seen = {k: ([], []) for k in loops}
        drift = []
        for t, f in enumerate(feats):
            outs = {"float": fstep(features=f[None], h_prev=h["float"]),
                    "float, int8-rounded input": fstep(features=fq[t][None],
                                                       h_prev=h["float, int8-rounded input"]),
                    "float, int8-rounded state": fstep(features=f[None],
                                                       h_prev=h["float, int8-rounded state"]),
                    "int8, float state": tfl(features=f[None], h_prev=h["float"]),
                    "int8": tfl(features=f[None], h_prev=h["int8"])}
            for k, o in outs.items():
                seen[k][0].append(float(np.ravel(o["score"])[0]))
                seen[k][1].append(np.ravel(o["logits"]))
            one_step.append(float(np.abs(outs["int8, float state"]["h"]
                                         - outs["float"]["h"]).mean()))
            drift.append(float(np.abs(outs["int8"]["h"] - outs["float"]["h"]).mean()))
            for k in loops:
                h[k] = np.asarray(outs[k]["h"], np.float32).reshape(1, hidden)
            hr = np.clip(np.round(h["float, int8-rounded state"] / h_scale) + h_zp, -128, 127)
            h["float, int8-rounded state"] = ((hr - h_zp) * h_scale).astype(np.float32)
        for k in loops:
            top[k].append(attend(*seen[k]))
        free.append(drift)
    print(f"{args.model}: {len(test_idx)} test clips, top-1 at the last frame")
    for k in loops:
        print(f"  {k:<28} {np.mean(np.array(top[k]) == y):.3f}")
    print(f"mean |h_int8 - h_float|: one teacher-forced step {np.mean(one_step):.4f}; "
          f"free-running at frame " + ", ".join(
              f"{t + 1}: {np.mean([d[t] for d in free if len(d) > t]):.4f}"
              for t in (0, 4, 9, 19, 29)))
    frames = np.concatenate([clip_features(ds.clip(i)) for i in test_idx[::5]])[:400]
    calib_frames = np.concatenate([clip_features(c) for c in calib])[::3][:500]
    print("int8 error of each prefix of the per-frame network (converted on its own):")
    for name, sub in prefixes(model):
        def rep(sub=sub):
            return ({"features": c[None].astype(np.float32)} for c in calib_frames)
        q = TFLiteModel(int8_tflite(sub, rep, io="int8", range_percentile=pct)[0], threads=1)
        ref = np.concatenate([np.asarray(sub({"features": c[None]})["y"]).ravel()
                              for c in frames])
        got = np.concatenate([q(features=c[None])["y"].ravel() for c in frames])
        print(f"  up to {name:<16} relative error {np.abs(got - ref).mean() / np.abs(ref).mean():.3f}"
              f"  largest |value| {np.abs(ref).max():.1f}")


if __name__ == "__main__":
    main()
