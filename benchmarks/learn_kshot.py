"""How well `pipan learn` teaches new actions from k examples per action, against a plain
logistic regression on pooled joint statistics, and how long learning takes.

Data (read from ../shared; skipped with a note when absent):

- JHMDB-14 split 1 (ground-truth joints; the bundled action model never saw JHMDB): for
  k = 1, 2, 5 and each seed, k training clips per class drawn at random teach; all 176
  test clips are scored.
- UP-Fall camera 1 (11 activities, 3 trials): trial 1 (one clip per activity, so k = 1)
  teaches, trials 2-3 (22 clips) are scored. Skeletons come from the videos through
  pipan's pipeline (pose net -> tracker -> smoothing, the main person of each clip, as
  `pipan learn` does), with pipan's pose net and with BlazePose; extracted once and cached
  under runs/learn_kshot/ (git-ignored), the extraction time reported separately.

Methods, in the same run on the same examples:

- ``pipan learn``: pipan.learn.learn over the bundled int8 action model (closed set: the
  accuracy is the argmax over the taught actions; the open-set "unknown" rate on the
  taught actions' test clips, with the cross-validated threshold, is its own column);
- ``pooled LR``: the baseline, a multinomial logistic regression (pipan.linear, L2 3e-3)
  on each clip's standardised mean and standard deviation of every joint's position and
  velocity (pipan.skeleton.clip_stats at the last frame), no mirroring.

Time to learn from 10 clips (5 actions x 2 JHMDB clips) on one core: median of 5 runs of
pipan.learn.learn (descriptors, cross-validation and the final fit; videos already read).

    nice -n 5 python benchmarks/learn_kshot.py [--seeds 5] [--no-upfall] [--extract-only]
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("PIPAN_THREADS", "1")

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pipan.action import DEFAULT_MODEL, ActionRecognizer  # noqa: E402
from pipan.dataset import load  # noqa: E402
from pipan.fileio import file_sha256, write_npz, atomic_write  # noqa: E402
from pipan.learn import ClipSpec, Example, clip_example, learn  # noqa: E402
from pipan.linear import fit_logistic, standardiser  # noqa: E402
from pipan.skeleton import clip_features, clip_stats  # noqa: E402

SHARED = ROOT.parent / "shared"
JHMDB = SHARED / "data" / "jhmdb14" / "jhmdb14_split1.npz"
UPFALL = SHARED / "data" / "upfall"
BLAZEPOSE = SHARED / "models" / "blazepose"
CACHE = ROOT / "runs" / "learn_kshot"
BASELINE_L2 = 3e-3


# --- the baseline -------------------------------------------------------------------------

def pooled(ex: Example) -> np.ndarray:
    fps = 30.0 if ex.times is None or len(ex.times) < 2 else \
        (len(ex.times) - 1) / max(ex.times[-1] - ex.times[0], 1e-6)
    return clip_stats(clip_features(ex.keypoints, fps))[-1].astype(np.float64)


def baseline(train, test) -> np.ndarray:
    labels = sorted({e.label for e in train})
    xtr = np.stack([pooled(e) for e in train])
    mean, std = standardiser(xtr)
    y = np.array([labels.index(e.label) for e in train])
    w, b = fit_logistic((xtr - mean) / std, y, len(labels), l2=BASELINE_L2)
    xte = (np.stack([pooled(e) for e in test]) - mean) / std
    return np.array([labels[i] for i in (xte @ w + b).argmax(1)])


# --- pipan learn --------------------------------------------------------------------------

def taught(train, test, base, sha):
    """(closed-set predictions, fraction of test clips answered 'unknown', seconds)."""
    res = learn(train, base, base_path=None, base_sha256=sha, sources=["bench"])
    head = res.head
    X = []
    from pipan.learn import describe_example
    for e in test:
        X.append(describe_example(base, e))
    X = np.stack(X)
    closed = np.array([head.labels[i] for i in head.head_probabilities(X).argmax(1)])
    probs = np.stack([head.probabilities(x) for x in X])
    unknown = float((probs.argmax(1) == len(head.labels)).mean())
    return closed, unknown, res.seconds


def examples_of(ds, idx, tag):
    return [Example(str(ds.labels[i]), ds.clip(i), None, f"{tag}#{i}") for i in idx]


def jhmdb_rows(base, sha, seeds, ks):
    ds = load(JHMDB).to_coco18()
    test_idx = np.flatnonzero(ds.test == 1)
    train_idx = np.flatnonzero(ds.test == 0)
    test = examples_of(ds, test_idx, "test")
    truth = np.array([e.label for e in test])
    labels = sorted(set(ds.labels.astype(str)))
    rows = []
    for k in ks:
        accs, bases, unk = [], [], []
        for seed in range(seeds):
            rng = np.random.default_rng(seed)
            pick = np.concatenate([rng.choice([i for i in train_idx if ds.labels[i] == c], k,
                                              replace=False) for c in labels])
            train = examples_of(ds, pick, "train")
            pred, u, _ = taught(train, test, base, sha)
            accs.append((pred == truth).mean())
            unk.append(u)
            bases.append((baseline(train, test) == truth).mean())
        rows.append(("JHMDB-14 (GT joints)", k, seeds, len(test), accs, bases, unk))
        print(f"  JHMDB k={k}: learn {np.mean(accs):.3f}  baseline {np.mean(bases):.3f}",
              file=sys.stderr, flush=True)
    return rows


def upfall_examples(backend: str):
    """Trial and main-person skeletons of every UP-Fall clip through pipan's pipeline
    (cached); plus the extraction's seconds and frame count."""
    CACHE.mkdir(parents=True, exist_ok=True)
    cache = CACHE / f"upfall_{backend}.npz"
    if not cache.is_file():
        from pipan.pipeline import load_pose
        pose = load_pose(backend, str(BLAZEPOSE) if backend == "blazepose" else None, 1)
        rows = [line.split("\t") for line in
                (UPFALL / "labels.tsv").read_text().splitlines()[1:] if line.strip()]
        kps, times, labels, trials, frames = [], [], [], [], 0
        t0 = time.perf_counter()
        for name, _, label, trial, _ in rows:
            from pipan.video import VideoFileSource
            with VideoFileSource(UPFALL / name) as s:
                frames += s.info.frame_count or 0
            ex = clip_example(ClipSpec(UPFALL / name, label), pose)
            kps.append(ex.keypoints)
            times.append(ex.times)
            labels.append(label)
            trials.append(int(trial))
            print(f"  {backend}: {name} {len(ex.keypoints)} frames with the main person",
                  file=sys.stderr, flush=True)
        seconds = time.perf_counter() - t0
        arrays = {"keypoints": np.concatenate(kps), "times": np.concatenate(times),
                  "lengths": np.array([len(k) for k in kps]), "labels": np.array(labels),
                  "trials": np.array(trials), "seconds": np.float64(seconds),
                  "frames": np.int64(frames)}
        atomic_write(cache, lambda f: write_npz(f, arrays))
    with np.load(cache, allow_pickle=False) as z:
        o = np.concatenate([[0], np.cumsum(z["lengths"])])
        exs = [(int(z["trials"][i]),
                Example(str(z["labels"][i]), z["keypoints"][o[i]:o[i + 1]],
                        z["times"][o[i]:o[i + 1]], f"upfall#{i}"))
               for i in range(len(z["lengths"]))]
        return exs, float(z["seconds"]), int(z["frames"])


def upfall_rows(base, sha, backend):
    exs, seconds, frames = upfall_examples(backend)
    train = [e for t, e in exs if t == 1]
    test = [e for t, e in exs if t != 1]
    truth = np.array([e.label for e in test])
    pred, u, _ = taught(train, test, base, sha)
    b = (baseline(train, test) == truth).mean()
    name = f"UP-Fall cam 1 ({backend} pose)"
    return [(name, 1, 1, len(test), [(pred == truth).mean()], [b], [u])], \
        (name, seconds, frames)


def learn_time(base, sha, runs=5):
    ds = load(JHMDB).to_coco18()
    train_idx = np.flatnonzero(ds.test == 0)
    labels = sorted(set(ds.labels.astype(str)))[:5]
    pick = [i for c in labels for i in [j for j in train_idx if ds.labels[j] == c][:2]]
    train = examples_of(ds, pick, "train")
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        learn(train, base, base_path=None, base_sha256=sha)
        times.append(time.perf_counter() - t0)
    return float(np.median(times)), int(sum(len(e.keypoints) for e in train))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--k", type=int, nargs="+", default=[1, 2, 5])
    ap.add_argument("--no-upfall", action="store_true")
    ap.add_argument("--extract-only", action="store_true",
                    help="Only extract and cache the UP-Fall skeletons.")
    args = ap.parse_args()
    try:
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})  # one core
    except (AttributeError, OSError):
        pass
    if args.extract_only:
        for backend in ("pipan", "blazepose"):
            upfall_examples(backend)
        return
    base = ActionRecognizer(threads=1, embed=True)
    sha = file_sha256(DEFAULT_MODEL)
    rows, extraction = [], []
    if JHMDB.is_file():
        rows += jhmdb_rows(base, sha, args.seeds, args.k)
    else:
        print(f"(JHMDB-14 skipped: {JHMDB} not found)")
    if not args.no_upfall and UPFALL.is_dir():
        for backend in ("pipan", "blazepose"):
            if backend == "blazepose" and not BLAZEPOSE.is_dir():
                print(f"(UP-Fall with BlazePose skipped: {BLAZEPOSE} not found)")
                continue
            r, e = upfall_rows(base, sha, backend)
            rows += r
            extraction.append(e)
    print("k-shot top-1 accuracy (mean over seeds, min-max in brackets); 'unknown' = "
          "share of test clips of taught actions answered 'unknown' (cross-validated "
          "threshold)")
    print(f"{'data':<30} {'k':>2} {'seeds':>5} {'test':>5}  {'pipan learn':<20} "
          f"{'pooled LR':<20} {'unknown':>7}")

    def fmt(v):
        v = np.asarray(v)
        return f"{v.mean():.3f}" + (f" [{v.min():.2f}-{v.max():.2f}]" if len(v) > 1 else "")
    for name, k, n_seeds, n_test, accs, bases, unk in rows:
        print(f"{name:<30} {k:>2} {n_seeds:>5} {n_test:>5}  {fmt(accs):<20} "
              f"{fmt(bases):<20} {np.mean(unk):>7.3f}")
    if JHMDB.is_file():
        t, frames = learn_time(base, sha)
        print(f"\ntime to learn from 10 clips (5 actions x 2, {frames} frames), 1 core: "
              f"{t:.2f} s (median of 5; descriptors + cross-validation + fit)")
    for name, seconds, frames in extraction:
        print(f"pose extraction, {name}: {seconds:.0f} s for {frames} frames "
              f"({1000 * seconds / max(frames, 1):.1f} ms per frame, 1 core, cached)")


if __name__ == "__main__":
    main()
