"""Float vs full-int8 accuracy and step latency of a trained action model.

    nice -n 10 python benchmarks/action_quant.py --model runs/jhmdb_val
        [--data ../shared/data/jhmdb14/jhmdb14_split1.npz] [--calib-frames 500]

The evaluation clips are the ones the model was evaluated on in training (config.json:
the test=1 clips, or with ``val_fraction`` the same seeded validation clips inside the
training set); calibration uses 500 streaming frames of 60 of its training clips. The
int8 step model is streamed by the runtime (``pipan.action.StreamingAction``) and
timed per interpreter call (1 thread, median of 5 runs of 200 calls).
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def split_clips(dataset, config):
    """(training clips, evaluation clips, evaluation labels) as in training.train."""
    from pipan.dataset import SkeletonDataset
    from training.action.data import clip_list, split

    ds = dataset.to_coco18()
    seed = int(config["seed"])
    mask = split(ds, seed)
    vf = float(config["training"].get("val_fraction", 0.0))
    if vf > 0:
        sub = ds.subset(~mask)
        ds = SkeletonDataset(sub.keypoints, sub.lengths, sub.labels, sub.joints, None)
        mask = split(ds, seed, vf)
    clips = clip_list(ds)
    return ([c for c, m in zip(clips, mask) if not m], [c for c, m in zip(clips, mask) if m],
            np.asarray(ds.labels)[mask])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", type=Path, required=True)
    ap.add_argument("--data", type=Path,
                    default=ROOT.parent / "shared/data/jhmdb14/jhmdb14_split1.npz")
    ap.add_argument("--calib-frames", type=int, default=500)
    args = ap.parse_args()

    from pipan.action import StreamingAction
    from pipan.dataset import load
    from pipan.runtime import TFLiteModel
    from training.action.data import label_indices
    from training.action.export import (keras_step_fn, load_model_dir,
                                        step_from_sequence_model)
    from training.action.quantize import calibration_samples, step_to_int8
    from training.action.train import score_predictions

    model, config = load_model_dir(args.model)
    labels = config["labels"]
    step = step_from_sequence_model(model)
    H = int(step.get_layer("h_prev").batch_shape[-1])
    train_clips, eval_clips, eval_labels = split_clips(load(args.data), config)
    y = label_indices(eval_labels, labels)
    rng = np.random.default_rng(int(config["seed"]))
    calib = [train_clips[i] for i in rng.permutation(len(train_clips))[:60]]
    samples = calibration_samples(step, calib, limit=args.calib_frames, seed=int(config["seed"]))
    ref = StreamingAction(keras_step_fn(step), labels, H)
    acc = score_predictions([ref.run_clip(c) for c in eval_clips], y, labels)
    row = {"model": str(args.model), "clips": len(eval_clips), "float_step": acc["accuracy"]}
    for mode in ("int8",):
        data = step_to_int8(step, samples)
        (args.model / f"step_{mode}.tflite").write_bytes(data)
        tfl = TFLiteModel(data, threads=1)
        rec = StreamingAction(tfl, labels, H)
        q = score_predictions([rec.run_clip(c) for c in eval_clips], y, labels)
        probe = {"features": np.zeros((1, 18, 5), np.float32), "h_prev": np.zeros((1, H), np.float32)}
        if rec.stats:  # a statistics head's running statistics
            probe["stats"] = np.zeros((1, 144), np.float32)
        times = []
        for _ in range(5):
            t0 = time.perf_counter()
            for _ in range(200):
                tfl(**probe)
            times.append((time.perf_counter() - t0) / 200 * 1e3)
        row[mode] = q["accuracy"]
        row[f"{mode}_ms"] = round(float(np.median(times)), 4)
        row[f"{mode}_bytes"] = len(data)
    print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
