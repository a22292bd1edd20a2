"""How hard is the synthetic skeleton data? A simple baseline's held-out accuracy.

Features: ``pipan.skeleton.clip_features`` (body-centred, scale-normalised x, y, score and
velocity per joint) pooled over time (mean and standard deviation) -> 180 numbers per clip.
Classifiers (numpy only): nearest class centroid and multinomial logistic regression
(full-batch gradient descent, L2). Trained on the synthetic train clips, tested on the
synthetic test clips; then, for reference, trained on synthetic clips of JHMDB's classes
and tested on real JHMDB skeletons (../shared/data/jhmdb14, skipped when absent), with
the joints JHMDB lacks (eyes, ears) removed and scores made 0/1 like ground truth.

    python -m benchmarks.synth_baseline [--clips 1900] [--seed 0] [--seeds 3]

A baseline near 100 % would mean the data is too easy to teach a sequence model much.
"""
from __future__ import annotations

import argparse
import time

import numpy as np


from pipan import dataset as ds
from pipan.skeleton import JOINT_INDEX, clip_features
from training.action.stats_head import fit_logistic
from training.synth.motions import JHMDB_ACTIONS, generate_dataset

from .common import JHMDB

NOT_IN_JHMDB = [JOINT_INDEX[n] for n in ("left_eye", "right_eye", "left_ear", "right_ear")]


def pooled(data: ds.SkeletonDataset, drop=(), binary_scores: bool = False) -> np.ndarray:
    """(N, 180): time mean and std of each clip's per-frame features. ``drop``: joints to
    remove; ``binary_scores``: scores become 1 (present) or 0, as in ground-truth data."""
    out = []
    for kp in data.clips():
        kp = np.array(kp, np.float32)
        kp[:, list(drop)] = 0.0
        if binary_scores:
            kp[..., 2] = kp[..., 2] > 0
        f = clip_features(kp).reshape(len(kp), -1)
        out.append(np.concatenate([f.mean(0), f.std(0)]))
    return np.array(out)


def standardise(train: np.ndarray, *others: np.ndarray):
    mu, sd = train.mean(0), train.std(0) + 1e-6
    return [(x - mu) / sd for x in (train, *others)]


def nearest_centroid(xtr, ytr, xte, classes):
    cents = np.stack([xtr[ytr == c].mean(0) for c in range(len(classes))])
    d = ((xte[:, None, :] - cents[None]) ** 2).sum(-1)
    return d.argmin(1)


def logistic(xtr, ytr, xte, classes, steps=400, lr=0.5, l2=1e-3):
    w, b = fit_logistic(xtr, ytr, len(classes), l2=l2, steps=steps, learning_rate=lr)
    return (xte @ w + b).argmax(1)


def report(name, pred, y, classes):
    acc = (pred == y).mean()
    per = "  ".join(f"{c} {100 * (pred[y == i] == i).mean():.0f}" for i, c in enumerate(classes)
                    if (y == i).any())
    print(f"  {name:<20} {100 * acc:5.1f} %   per class: {per}")
    return acc


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clips", type=int, default=1900)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--seeds", type=int, default=3, help="synthetic sets for sim-to-real")
    args = ap.parse_args()

    t0 = time.perf_counter()
    data = generate_dataset(args.clips, args.seed)
    classes = data.classes
    y = np.array([classes.index(str(l)) for l in data.labels])
    x = pooled(data)
    tr, te = data.test == 0, data.test == 1
    xtr, xte = standardise(x[tr], x[te])
    print(f"synthetic: {len(data)} clips ({tr.sum()} train, {te.sum()} test), "
          f"{len(classes)} classes, chance {100 / len(classes):.1f} % "
          f"[{time.perf_counter() - t0:.0f} s]")
    report("nearest centroid", nearest_centroid(xtr, y[tr], xte, classes), y[te], classes)
    report("logistic regression", logistic(xtr, y[tr], xte, classes), y[te], classes)

    if not JHMDB.is_file():
        print("JHMDB: ../shared/data/jhmdb14 absent, sim-to-real reference skipped")
        return
    real = ds.load(JHMDB)
    real = real.to_coco18()
    jcls = sorted(set(map(str, real.labels)))
    yr = np.array([jcls.index(str(l)) for l in real.labels])
    rt = real.test == 1
    xr_raw = pooled(real)
    n = len(jcls) * 100
    print(f"sim-to-real: train on {n} synthetic clips of JHMDB's {len(jcls)} classes, test on "
          f"real JHMDB (split-1 test: {rt.sum()} clips; all: {len(real)}), chance "
          f"{100 / len(jcls):.1f} %; {args.seeds} synthetic seeds (the figure varies by seed)")
    accs = {"nearest centroid": [], "logistic regression": []}
    for k in range(args.seeds):
        syn = generate_dataset(n, args.seed + 1000 + k, actions=JHMDB_ACTIONS)
        ys = np.array([jcls.index(str(l)) for l in syn.labels])
        xs, xr = standardise(pooled(syn, NOT_IN_JHMDB, True), xr_raw)
        for name, fn in (("nearest centroid", nearest_centroid), ("logistic regression", logistic)):
            pred = fn(xs, ys, xr, jcls)
            accs[name].append(((pred[rt] == yr[rt]).mean(), (pred == yr).mean()))
            if k == 0:
                report(f"{name} (seed {args.seed + 1000}, test)", pred[rt], yr[rt], jcls)
    for name, a in accs.items():
        a = 100 * np.array(a)
        print(f"  {name:<20} split-1 test {a[:, 0].mean():5.1f} % (+- {a[:, 0].std():.1f}), "
              f"all clips {a[:, 1].mean():5.1f} % (+- {a[:, 1].std():.1f}) over {len(a)} seeds")
    # the same classifier trained on real JHMDB train clips, for scale
    xrt, xrte = standardise(pooled(real.subset(~rt)), pooled(real.subset(rt)))
    report("real->real logistic", logistic(xrt, yr[~rt], xrte, jcls), yr[rt], jcls)


if __name__ == "__main__":
    main()
