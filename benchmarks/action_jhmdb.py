"""JHMDB (14 classes, ground-truth joints, split 1): the action model's accuracy, float and
int8, and its ablations, a table of variants.

    nice -n 10 python -m benchmarks.action_jhmdb [--out runs/jhmdb_bench] [--epochs 160]
        [--seed 0] [--only full,paper_per_frame,...] [--val-fraction 0.2]

Each variant (``VARIANTS``: the training default, the paper's per-frame network, and the
model with one component taken out) is trained with ``training.action.train.train`` on
the test=0 clips and evaluated on the 176 test=1 clips (top-1 of the prediction after the
whole clip, and against the fraction of the clip observed); with ``--val-fraction F`` on a
seeded stratified fraction F of the training clips instead (the test clips take no part:
for choosing settings). Each variant has the training default's statistics head; "net
alone" is the same trained model with the head's logits left out, and the head alone (the
regression on the running statistics) is printed once. The full model is also converted
to int8 (``benchmarks.action_int8``: 500 streaming frames of 60 training clips) and
streamed through the runtime. Needs ../shared/data/jhmdb14 and TensorFlow. Takes a while
(5-10 minutes per variant on 2 cores): run it niced.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import keras

from .common import JHMDB, ROOT, require_file, run_benchmark


@keras.saving.register_keras_serializable(package="pipan_benchmarks")
class NodeMean(keras.layers.Layer):
    """The mean over the node axis, ``(..., K, F) -> (..., F)`` (a registered layer, so
    that a saved ablation model reloads)."""

    def call(self, h):
        return keras.ops.mean(h, axis=-2)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-2]) + (input_shape[-1],)


def _no_graph(num_classes, *, joint_embed, gcn_units, gcn_layers, attention_units,
              concat_nodes, hidden, dropout, stats_head, **_):
    """Without the graph network: per-joint dense layers (no mixing between joints),
    attention over the 18 joints."""
    from training.action.layers import JointAttention, JointDense
    from training.action.model import frame_input, sequence_head

    x_in, x = frame_input()
    if joint_embed:
        x = JointDense(joint_embed, name="joint_embed")(x)
    for i in range(gcn_layers + 1):
        x = keras.layers.Dense(gcn_units, activation="relu", name=f"joint_dense{i + 1}")(x)
    s = JointAttention(attention_units, concat=concat_nodes, name="joint_attention")(x)
    return sequence_head(x_in, s, num_classes, hidden=hidden, attention_units=attention_units,
                         dropout=dropout, stats_head=stats_head)


def _no_joint_attention(num_classes, *, joint_embed, gcn_units, gcn_layers, clusters,
                        attention_units, hidden, dropout, stats_head, **_):
    """Without the joint attention: the mean of the pooled nodes."""
    from training.action.model import frame_input, graph_network, sequence_head

    x_in, x = frame_input()
    nodes = graph_network(x, joint_embed=joint_embed, gcn_units=gcn_units,
                          gcn_layers=gcn_layers, clusters=clusters)
    s = NodeMean(name="node_mean")(nodes)
    return sequence_head(x_in, s, num_classes, hidden=hidden, attention_units=attention_units,
                         dropout=dropout, stats_head=stats_head)


def _last_hidden(num_classes, *, joint_embed, gcn_units, gcn_layers, clusters,
                 attention_units, concat_nodes, hidden, dropout, stats_head, **_):
    """Without the frame attention: classify the last hidden state h_t."""
    from training.action.layers import JointAttention
    from training.action.model import frame_input, graph_network, sequence_head

    x_in, x = frame_input()
    nodes = graph_network(x, joint_embed=joint_embed, gcn_units=gcn_units,
                          gcn_layers=gcn_layers, clusters=clusters)
    s = JointAttention(attention_units, concat=concat_nodes, name="joint_attention")(nodes)
    return sequence_head(x_in, s, num_classes, hidden=hidden, attention_units=attention_units,
                         dropout=dropout, stats_head=stats_head, frame_attention=False)


#: name -> (what it is, builder options over the training default, build function or
#: None for ``build_action_model``)
VARIANTS = {
    "full": ("training default", {}, None),
    "paper_per_frame": ("the paper's per-frame network (shared graph weights, joint "
                        "attention summing)", {"joint_embed": 0, "concat_nodes": False}, None),
    "no_graph": ("without graph network", {}, _no_graph),
    "no_joint_attention": ("without joint attention", {}, _no_joint_attention),
    "last_hidden": ("last hidden state, no frame attention", {}, _last_hidden),
}


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


def int8_scores(model_dir: Path, dataset, seed: int) -> dict:
    """Clip accuracy of the full-int8 step streamed by the runtime on the test clips."""
    import numpy as np

    from pipan.action import StreamingAction
    from pipan.runtime import TFLiteModel
    from training.action.data import label_indices
    from training.action.export import load_model_dir, step_from_sequence_model
    from training.action.train import score_predictions

    from .action_int8 import calibration_clips, int8_step

    model, config = load_model_dir(model_dir)
    ds = dataset.to_coco18()
    data = int8_step(step_from_sequence_model(model), calibration_clips(ds, 60, seed), seed)
    (model_dir / "step_int8.tflite").write_bytes(data)
    tfl = TFLiteModel(data, threads=1)
    rec = StreamingAction(tfl, config["labels"], int(tfl.input_shape("h_prev")[-1]))
    test_idx = np.flatnonzero(ds.test == 1)
    probs = [rec.run_clip(ds.clip(i)) for i in test_idx]
    y = label_indices(ds.labels[test_idx], config["labels"])
    return score_predictions(probs, y, config["labels"])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=JHMDB)
    ap.add_argument("--out", type=Path, default=ROOT / "runs/jhmdb_bench")
    ap.add_argument("--epochs", type=int, default=160)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--val-fraction", type=float, default=0.0,
                    help="evaluate on this seeded fraction of the training clips (no int8)")
    ap.add_argument("--only", default=",".join(VARIANTS),
                    help="comma-separated variants: " + "; ".join(
                        f"{k}: {v[0]}" for k, v in VARIANTS.items()))
    args = ap.parse_args()
    names = args.only.split(",")
    unknown = [n for n in names if n not in VARIANTS]
    if unknown:
        ap.error(f"unknown variant(s) {', '.join(unknown)}; known: {', '.join(VARIANTS)}")
    require_file(args.data, "needs ../shared/data/jhmdb14 or --data")

    from pipan.dataset import load
    from training.action.train import train

    dataset = load(args.data)
    rows = []
    for name in names:
        _, options, build = VARIANTS[name]
        out = args.out / name
        t0 = time.time()
        m = train(dataset, out, epochs=args.epochs, learning_rate=args.lr, seed=args.seed,
                  val_fraction=args.val_fraction, builder=options, build=build, verbose=0,
                  log=lambda s: None,
                  command=f"python -m benchmarks.action_jhmdb --only {name} --seed {args.seed}")
        row = {"variant": name, "params": m["params"], "float": m["accuracy"],
               "by_fraction": m["by_fraction"], "train_s": round(time.time() - t0)}
        if not args.val_fraction:
            row.update(split_scores(out, dataset))
            if name == "full":
                q = int8_scores(out, dataset, args.seed)
                row["int8"] = q["accuracy"]
                row["int8_by_fraction"] = q["by_fraction"]
        rows.append(row)
        print(json.dumps(row), flush=True)
    where = f"{args.val_fraction:.0%} of the training clips" if args.val_fraction else \
        "the test clips"
    print(f"\nJHMDB-14 split 1, ground-truth joints, {args.epochs} epochs, seed {args.seed}, "
          f"evaluated on {where}")
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
    run_benchmark(main)
