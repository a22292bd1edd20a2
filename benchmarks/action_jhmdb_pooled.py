"""What the JHMDB-14 clips need: a time-pooled linear baseline against the sequence model.

Pools ``pipan.skeleton.clip_features`` of each clip over time in several ways (mean and/or
standard deviation of positions and velocities) and fits a multinomial logistic regression
(numpy, ``synth_baseline.logistic``) on split 1's 433 training clips; prints the top-1 on
the 176 test clips per pooling, then per class for the best one, and, with ``--model DIR``
(trained action model directories, e.g. from ``benchmarks/action_jhmdb.py``), the same
per-class table for the sequence model(s) and their log-probability average.

    python benchmarks/action_jhmdb_pooled.py [--model DIR ...]

This is a diagnosis, not model selection: it reads the test clips to show *where* the
pose-attention network falls short of a pooled baseline (which classes, which statistics).
Needs ../shared/data/jhmdb14.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from synth_baseline import logistic, standardise  # noqa: E402

from pipan.dataset import load  # noqa: E402
from pipan.skeleton import clip_features  # noqa: E402

JHMDB = ROOT.parent / "shared" / "data" / "jhmdb14" / "jhmdb14_split1.npz"
POS, VEL = [0, 1], [3, 4]


def pooling(name: str, f: np.ndarray) -> np.ndarray:
    """One clip's features ``(T, 18, 5)`` pooled over time as ``name`` says."""
    T = len(f)
    pos, vel = f[:, :, POS].reshape(T, -1), f[:, :, VEL].reshape(T, -1)
    parts = {"pos mean": [pos.mean(0)], "pos std": [pos.std(0)],
             "pos mean+std": [pos.mean(0), pos.std(0)],
             "vel mean+std": [vel.mean(0), vel.std(0)],
             "pos+vel mean": [pos.mean(0), vel.mean(0), np.abs(vel).mean(0)],
             "pos+vel mean+std": [pos.mean(0), pos.std(0), vel.mean(0), vel.std(0)]}[name]
    return np.concatenate(parts)


POOLINGS = ("pos mean", "pos std", "pos mean+std", "vel mean+std", "pos+vel mean",
            "pos+vel mean+std")


def per_class(pred: np.ndarray, y: np.ndarray, classes) -> str:
    return " ".join(f"{c} {(pred[y == i] == i).mean():.2f}" for i, c in enumerate(classes))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=JHMDB)
    ap.add_argument("--model", type=Path, nargs="*", default=[])
    args = ap.parse_args()
    if not args.data.is_file():
        sys.exit(f"{args.data} not found (needs ../shared/data/jhmdb14)")
    ds = load(args.data).to_coco18()
    classes = sorted(set(ds.labels.astype(str)))
    y = np.array([classes.index(s) for s in ds.labels.astype(str)])
    test = ds.test.astype(bool)
    feats = [clip_features(c) for c in ds.clips()]
    print(f"JHMDB-14 split 1: {int((~test).sum())} training clips, {int(test.sum())} test "
          f"clips; logistic regression on time-pooled features")
    best = None
    for name in POOLINGS:
        x = np.stack([pooling(name, f) for f in feats])
        xtr, xte = standardise(x[~test], x[test])
        pred = logistic(xtr, y[~test], xte, classes, steps=1500)
        acc = float((pred == y[test]).mean())
        print(f"  {name:<18} {x.shape[1]:>4} numbers  top-1 {acc:.3f}")
        if best is None or acc > best[1]:
            best = (name, acc, pred)
    print(f"\nper class, {best[0]}: {per_class(best[2], y[test], classes)}")
    if args.model:
        from training.action.export import load_model_dir
        from training.action.train import predict_sequences

        clips = [c for c, t in zip(ds.clips(), test) if t]
        logp = []
        for d in args.model:
            model, cfg = load_model_dir(d)
            if list(cfg["labels"]) != classes:
                sys.exit(f"{d}: labels differ from the data's classes")
            p = np.stack([q[-1] for q in predict_sequences(model, clips)])
            logp.append(np.log(p + 1e-9))
            print(f"per class, {d} (top-1 {(p.argmax(1) == y[test]).mean():.3f}): "
                  f"{per_class(p.argmax(1), y[test], classes)}")
        if len(logp) > 1:
            pe = np.mean(logp, 0).argmax(1)
            print(f"per class, average of {len(logp)} (top-1 {(pe == y[test]).mean():.3f}): "
                  f"{per_class(pe, y[test], classes)}")


if __name__ == "__main__":
    main()
