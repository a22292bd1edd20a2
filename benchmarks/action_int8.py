"""Float vs int8 of a trained action model on held-out clips, and where they differ.

    nice -n 10 python -m benchmarks.action_int8 --model runs/X
        [--data ../shared/data/jhmdb14/jhmdb14_split1.npz] [--tflite A.tflite ...]
        [--range-percentile P] [--calib-clips 60] [--seed 0] [--causes]

The float reference is the model directory's float step streamed by the runtime
(``pipan.action.StreamingAction``; it equals the sequence model at every frame, tests).
The int8 models are the ``--tflite`` files (e.g. ``pipan convert`` outputs of the same
weights) or, without ``--tflite``, the step converted here: full int8, calibration 500
streaming frames of ``--calib-clips`` training clips, ``--range-percentile`` (default: the
converter's for action models; 100 = min/max ranges). For each int8 model, on the clips
with test == 1: clip top-1 at the last frame, float and int8, and the drop; the total
variation between int8 and float class probabilities per frame (mean, median: smoother
than the accuracy, which moves one clip at a time); top-1 agreement per frame and at the
clip ends; the file size and the interpreter call time (1 thread, median of 5 x 200).

``--causes`` (the network's step alone, without a statistics head, converted here)
separates where an int8 drop comes from: clip top-1 of five loops (float; float with the
features rounded to the int8 input grid; float with h rounded to the int8 state grid
every step; each int8 step fed the float loop's h, i.e. teacher forced; the int8 step on
its own state, what runs), the mean |h_int8 - h_float| of one teacher-forced step and of
the free-running loop at a few frames, and, for each prefix of the per-frame network up to
the joint-attended feature s_t converted to int8 on its own, its relative error (mean
|int8 - float| / mean |float| over 400 test frames) and largest |value| (which sets its
int8 scale). Needs TensorFlow and ../shared (or --data).
"""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import numpy as np

from .common import JHMDB, median_ms, require_file, run_benchmark


def calibration_clips(ds, count: int, seed: int) -> List[np.ndarray]:
    """``count`` seeded training clips (test == 0) of a COCO-18 dataset."""
    train = [ds.clip(int(i)) for i in np.flatnonzero(ds.test == 0)]
    rng = np.random.default_rng(seed)
    return [train[i] for i in rng.permutation(len(train))[:count]]


def int8_step(step, calib: Sequence[np.ndarray], seed: int = 0,
              range_percentile: Optional[float] = None) -> bytes:
    """The benchmarks' int8 conversion of a Keras step: 500 streaming frames of ``calib``."""
    from converters.action_int8 import calibration_samples, step_to_int8

    return step_to_int8(step, calibration_samples(step, calib, limit=500, seed=seed),
                        range_percentile)


def compare(reference: Sequence[np.ndarray], probs: Sequence[np.ndarray], y: np.ndarray,
            labels: Sequence[str]) -> Dict:
    """Float ``reference`` vs int8 ``probs`` (per clip, ``(T, C)``) against labels ``y``."""
    from training.action.train import score_predictions

    tv = np.concatenate([np.abs(p - q).sum(1) / 2 for p, q in zip(reference, probs)])
    frames = sum(len(p) for p in reference)
    agree = sum(int((p.argmax(1) == q.argmax(1)).sum()) for p, q in zip(reference, probs))
    ends = sum(int(p[-1].argmax() == q[-1].argmax()) for p, q in zip(reference, probs))
    fl = score_predictions(reference, y, labels)["accuracy"]
    q = score_predictions(probs, y, labels)
    return {"float": fl, "int8": q["accuracy"], "int8_by_fraction": q["by_fraction"],
            "drop_points": round(100 * (fl - q["accuracy"]), 2),
            "tv_mean": round(float(tv.mean()), 4), "tv_median": round(float(np.median(tv)), 4),
            "agree_frames": round(agree / frames, 4), "agree_ends": f"{ends}/{len(reference)}"}


def attend(scores, logits) -> int:
    """Top class of the frame attention over a clip's (score, logits) steps."""
    e = np.array(scores)
    w = np.exp(e - e.max())
    return int(((w[:, None] * np.array(logits)).sum(0) / w.sum()).argmax())


def causes(model, ds, test_idx, y, calib, seed: int, pct: Optional[float]) -> None:
    """Print the loops, the state drift and the per-prefix errors (see the docstring)."""
    import keras

    from converters.convert import int8_tflite, range_percentile_for
    from pipan.runtime import TFLiteModel
    from pipan.skeleton import NUM_FEATURES, NUM_JOINTS, clip_features
    from training.action.export import frame_layers, keras_step_fn, step_from_sequence_model

    pct = range_percentile_for("action", pct)
    # A statistics head is stateless (its int8 error does not feed back): left out here.
    step = step_from_sequence_model(model, stats_head=False)
    tfl = TFLiteModel(int8_step(step, calib, seed, pct), threads=1)
    fstep = keras_step_fn(step)
    hidden = int(tfl.input_shape("h_prev")[-1])
    (f_scale, f_zp), (h_scale, h_zp) = (tfl.input_details[k]["quantization"]
                                        for k in ("features", "h_prev"))
    loops = ("float", "float, int8-rounded input", "float, int8-rounded state",
             "int8, float state", "int8")
    top: Dict[str, List[int]] = {k: [] for k in loops}
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
    print(f"the network's step alone, {len(test_idx)} test clips, top-1 at the last frame")
    for k in loops:
        print(f"  {k:<28} {np.mean(np.array(top[k]) == y):.3f}")
    print("mean |h_int8 - h_float|: one teacher-forced step "
          f"{np.mean(one_step):.4f}; free-running at frame " + ", ".join(
              f"{t + 1}: {np.mean([d[t] for d in free if len(d) > t]):.4f}"
              for t in (0, 4, 9, 19, 29)))
    frames = np.concatenate([clip_features(ds.clip(i)) for i in test_idx[::5]])[:400]
    calib_frames = np.concatenate([clip_features(c) for c in calib])[::3][:500]
    f_in = keras.Input((NUM_JOINTS, NUM_FEATURES), batch_size=1, name="features")
    print("int8 error of each prefix of the per-frame network (converted on its own):")
    for name, out in frame_layers(model, f_in):
        sub = keras.Model({"features": f_in}, {"y": out})

        def rep():
            return ({"features": c[None].astype(np.float32)} for c in calib_frames)
        q = TFLiteModel(int8_tflite(sub, rep, io="int8", range_percentile=pct)[0], threads=1)
        ref = np.concatenate([np.asarray(sub({"features": c[None]})["y"]).ravel()
                              for c in frames])
        got = np.concatenate([q(features=c[None])["y"].ravel() for c in frames])
        print(f"  up to {name:<16} relative error "
              f"{np.abs(got - ref).mean() / np.abs(ref).mean():.3f}"
              f"  largest |value| {np.abs(ref).max():.1f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", type=Path, required=True, help="a trained model directory")
    ap.add_argument("--data", type=Path, default=JHMDB)
    ap.add_argument("--tflite", type=Path, nargs="*", default=[],
                    help="int8 step models of the same weights (default: convert here)")
    ap.add_argument("--calib-clips", type=int, default=60)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--range-percentile", type=float, default=None,
                    help="int8 activation ranges (default: the converter's for action models)")
    ap.add_argument("--causes", action="store_true",
                    help="also separate the causes of the drop (slow)")
    args = ap.parse_args()
    require_file(args.data, "needs ../shared/data/jhmdb14 or --data")
    for t in args.tflite:
        require_file(t, "an int8 step model")

    from pipan.action import StreamingAction
    from pipan.dataset import load
    from pipan.runtime import TFLiteModel, runtime_name
    from pipan.skeleton import NUM_STATS
    from training.action.data import label_indices
    from training.action.export import keras_step_fn, load_model_dir, step_from_sequence_model

    ds = load(args.data).to_coco18()
    model, config = load_model_dir(args.model)
    labels = [str(s) for s in config["labels"]]
    step = step_from_sequence_model(model)
    hidden = int(step.get_layer("h_prev").batch_shape[-1])
    test_idx = np.flatnonzero(ds.test == 1) if ds.test is not None else np.arange(len(ds))
    clips = [ds.clip(int(i)) for i in test_idx]
    y = label_indices(ds.labels[test_idx], labels)
    calib = calibration_clips(ds, args.calib_clips, args.seed)
    reference = [StreamingAction(keras_step_fn(step), labels, hidden).run_clip(c)
                 for c in clips]
    models = {str(t): t.read_bytes() for t in args.tflite} or {
        "converted here": int8_step(step, calib, args.seed, args.range_percentile)}
    print(f"{args.model}: {len(clips)} test clips, {sum(len(c) for c in clips)} frames, "
          f"{runtime_name()}")
    for name, data in models.items():
        tfl = TFLiteModel(data, threads=1)
        rec = StreamingAction(tfl, labels, hidden)
        row = compare(reference, [rec.run_clip(c) for c in clips], y, labels)
        probe = {"features": np.zeros((1, 18, 5), np.float32),
                 "h_prev": np.zeros((1, hidden), np.float32)}
        if rec.stats:
            probe["stats"] = np.zeros((1, NUM_STATS), np.float32)
        row["bytes"] = len(data)
        row["call_ms"] = round(median_ms(lambda: tfl(**probe), 5, calls=200), 4)
        print(f"{name}: " + ", ".join(f"{k} {v}" for k, v in row.items()
                                       if k != "int8_by_fraction"))
    if args.causes:
        causes(model, ds, test_idx, y, calib, args.seed, args.range_percentile)


if __name__ == "__main__":
    run_benchmark(main)
