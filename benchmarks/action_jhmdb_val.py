"""Choosing the action model's training settings on JHMDB-14 split 1 without the test set.

    nice -n 10 python benchmarks/action_jhmdb_val.py --config '{"builder": {"hidden": 64}}'
        [--epochs 60] [--seed 0] [--val-fraction 0.2]

Trains on 80% of split 1's training clips (a seeded split stratified per class; the 176
test clips take no part) and prints the accuracy on the other 20% (87 clips). ``--config``
is JSON: ``builder`` (kwargs of ``build_action_model``), ``augment`` (fields of
``training.action.data.Augment``) and any other keyword of ``training.action.train.train``
(learning_rate, weight_decay, label_smoothing, batch_size, ...).
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path,
                    default=ROOT.parent / "shared/data/jhmdb14/jhmdb14_split1.npz")
    ap.add_argument("--out", type=Path, default=ROOT / "runs/jhmdb_val")
    ap.add_argument("--config", default="{}")
    ap.add_argument("--epochs", type=int, default=60)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--val-fraction", type=float, default=0.2)
    args = ap.parse_args()

    from pipan.dataset import load
    from training.action.data import Augment
    from training.action.train import train

    cfg = json.loads(args.config)
    kw = {k: v for k, v in cfg.items() if k not in ("builder", "augment")}
    if "augment" in cfg:
        kw["augment"] = Augment(**cfg["augment"])
    t0 = time.time()
    m = train(load(args.data), args.out, epochs=args.epochs, seed=args.seed,
              val_fraction=args.val_fraction, builder=cfg.get("builder"), verbose=0,
              log=lambda s: None, command=f"benchmarks/action_jhmdb_val.py {args.config}", **kw)
    hist = m["history"]
    print(json.dumps({"config": cfg, "epochs": args.epochs, "seed": args.seed,
                      "params": m["params"], "val_clips": m["clips"],
                      "val_acc": m["accuracy"], "by_fraction": m["by_fraction"],
                      "train_acc_last": hist.get("probs_acc", [None])[-1],
                      "train_s": round(time.time() - t0)}), flush=True)


if __name__ == "__main__":
    main()
