"""JHMDB (14 classes, ground-truth joints, split 1): accuracy of the action model, float
and full int8, and the ablation table.

    nice -n 10 python benchmarks/action_jhmdb.py --out runs/jhmdb_bench [--epochs 160]
        [--seed 0] [--only full,no_graph,...]

Each variant is trained with ``training.action.train.train`` on the test=0 clips and
evaluated on the 176 test=1 clips (top-1 of the prediction after the whole clip, and
against the fraction of the clip observed). Each variant has the training default's
statistics head; "net alone" is the same trained model with the head's logits left out,
and the head alone (the regression on the running statistics) is printed once. The full
model is also converted to int8
(``training.action.quantize``; calibration: 500 streaming frames of training clips) and
streamed through the runtime (``pipan.action.StreamingAction`` over the TFLite model).
Needs ../shared/data/jhmdb14 and TensorFlow. Takes a while: run it niced.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

VARIANTS = {
    "full": {},
    # the paper's per-frame network exactly: shared graph weights, joint attention summing
    "paper_per_frame": {"joint_embed": 0, "concat_nodes": False},
    "no_graph": {"use_graph": False},
    "no_joint_attention": {"use_joint_attention": False},
    "last_hidden": {"frame_attention": False},
}


def int8_accuracy(model_dir: Path, dataset, seed: int) -> dict:
    """Accuracy of the full-int8 step model streamed by the runtime on the test clips."""
    import numpy as np

    from pipan.action import StreamingAction
    from pipan.runtime import TFLiteModel
    from training.action.data import label_indices
    from training.action.export import load_model_dir, step_from_sequence_model
    from training.action.quantize import calibration_samples, step_to_int8
    from training.action.train import score_predictions

    model, config = load_model_dir(model_dir)
    step = step_from_sequence_model(model)
    ds = dataset.to_coco18()
    train_clips = [ds.clip(i) for i in np.flatnonzero(ds.test == 0)]
    rng = np.random.default_rng(seed)
    calib = [train_clips[i] for i in rng.permutation(len(train_clips))[:60]]
    data = step_to_int8(step, calibration_samples(step, calib, limit=500, seed=seed))
    (model_dir / "step_int8.tflite").write_bytes(data)
    tfl = TFLiteModel(data, threads=1)
    rec = StreamingAction(tfl, config["labels"], int(tfl.input_shape("h_prev")[-1]))
    test_idx = np.flatnonzero(ds.test == 1)
    probs = [rec.run_clip(ds.clip(i)) for i in test_idx]
    y = label_indices(ds.labels[test_idx], config["labels"])
    return score_predictions(probs, y, config["labels"])


def split_scores(model_dir: Path, dataset) -> dict:
    """Test-clip scores of the model in ``model_dir`` without its statistics head (the
    network alone) and of the head alone; {} for a model without a head."""
    import numpy as np

    from training.action.data import clip_list, label_indices
    from training.action.export import load_model_dir
    from training.action.stats_head import clip_head_inputs
    from training.action.train import predict_sequences, score_predictions

    model, config = load_model_dir(model_dir)
    if "stats_head" not in {layer.name for layer in model.layers}:
        return {}
    ds = dataset.to_coco18()
    test = ds.test.astype(bool)
    clips = [c for c, t in zip(clip_list(ds), test) if t]
    y = label_indices(ds.labels, config["labels"])[test]
    head = model.get_layer("stats_head")
    kernel, bias = head.get_weights()
    head_only = (clip_head_inputs(clips) @ kernel + bias).argmax(1)
    head.set_weights([np.zeros_like(kernel), np.zeros_like(bias)])
    net = score_predictions(predict_sequences(model, clips), y, config["labels"])
    return {"net_alone": net["accuracy"], "net_alone_by_fraction": net["by_fraction"],
            "head_alone": round(float((head_only == y).mean()), 4)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path,
                    default=ROOT.parent / "shared/data/jhmdb14/jhmdb14_split1.npz")
    ap.add_argument("--out", type=Path, default=ROOT / "runs/jhmdb_bench")
    ap.add_argument("--epochs", type=int, default=160)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--only", default=",".join(VARIANTS))
    args = ap.parse_args()

    from pipan.dataset import load
    from training.action.train import train

    dataset = load(args.data)
    rows = []
    for name in args.only.split(","):
        out = args.out / name
        t0 = time.time()
        m = train(dataset, out, epochs=args.epochs, learning_rate=args.lr, seed=args.seed,
                  builder=VARIANTS[name], verbose=0, log=lambda s: None,
                  command=f"benchmarks/action_jhmdb.py variant {name} seed {args.seed}")
        row = {"variant": name, "params": m["params"], "float": m["accuracy"],
               "by_fraction": m["by_fraction"], "train_s": round(time.time() - t0)}
        row.update(split_scores(out, dataset))
        if name == "full":
            q = int8_accuracy(out, dataset, args.seed)
            row["int8"] = q["accuracy"]
            row["int8_by_fraction"] = q["by_fraction"]
        rows.append(row)
        print(json.dumps(row), flush=True)
    print(f"\nJHMDB-14 split 1, ground-truth joints, {args.epochs} epochs, seed {args.seed}")
    print(f"{'variant':<20} {'params':>8} {'float':>7} {'int8':>7} {'net alone':>9} "
          f"{'10%':>6} {'25%':>6} {'50%':>6} {'train s':>8}")
    for r in rows:
        bf = r["by_fraction"]
        int8 = f"{r['int8']:.3f}" if "int8" in r else "-"
        alone = f"{r['net_alone']:.3f}" if "net_alone" in r else "-"
        print(f"{r['variant']:<20} {r['params']:>8} {r['float']:>7.3f} {int8:>7} {alone:>9} "
              f"{bf['0.1']:>6.3f} {bf['0.25']:>6.3f} {bf['0.5']:>6.3f} {r['train_s']:>8}")
    heads = {r["head_alone"] for r in rows if "head_alone" in r}
    if heads:
        print(f"statistics head alone (the regression on the running statistics): "
              f"{', '.join(f'{h:.3f}' for h in sorted(heads))}")


if __name__ == "__main__":
    main()
