"""How well `pipan learn` teaches new actions from k examples per action, against a plain
logistic regression on pooled joint statistics, and how long learning takes.

Data (read from ../shared; skipped with a note when absent):

- JHMDB-14 split 1 (ground-truth joints): for k = 1, 2, 5 and each seed, k training clips
  per class drawn at random teach; all 176 test clips are scored. The bundled action
  model learned from these training clips, mapped onto its vocabulary (catch, golf,
  pour, pullup and push as ``unknown``), so JHMDB is not new to it; UP-Fall is.
- UP-Fall camera 1 (11 activities, 3 trials, one clip per activity in each): for k = 1
  each trial in turn teaches and the other two (22 clips) are scored; for k = 2 two trials
  teach and the third (11 clips) is scored, each in turn. Skeletons come from the videos through
  pipan's pipeline (pose net -> tracker -> smoothing, the main person of each clip, as
  `pipan learn` does), with pipan's pose net and with BlazePose; extracted once and cached
  under runs/learn_kshot/ (git-ignored; pipan's per bundled pose model), the extraction
  time reported separately.

Methods, in the same run on the same examples:

- ``pipan learn``: pipan.learn.learn over the bundled int8 action model (closed set: the
  accuracy is the argmax over the taught actions; the open-set "unknown" rate on the
  taught actions' test clips, with the cross-validated threshold, is its own column);
- ``pooled LR``: the baseline, a multinomial logistic regression (pipan.linear, L2 3e-3)
  on each clip's standardised mean and standard deviation of every joint's position and
  velocity (pipan.skeleton.clip_stats at the last frame), no mirroring.

Time to learn from 10 clips (5 actions x 2 JHMDB clips) on one core: median of 5 runs of
pipan.learn.learn (descriptors, cross-validation and the final fit; videos already read).

    nice -n 5 python -m benchmarks.learn_kshot [--seeds 5] [--no-upfall] [--extract-only]
        [--pose-model POSE.tflite] [--action-model ACTION.tflite]
"""
from __future__ import annotations

import argparse
import itertools
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("PIPAN_THREADS", "1")
# one core: numpy's BLAS on one thread too (set before numpy loads; its threads spinning
# on a busy machine made the head's fit 13 times slower in wall time)
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]

from pipan.action import DEFAULT_MODEL, ActionRecognizer  # noqa: E402
from pipan.dataset import load  # noqa: E402
from pipan.errors import PipanError  # noqa: E402
from pipan.fileio import file_sha256, write_npz, atomic_write  # noqa: E402
from pipan.learn import (NUM_VIEWS, ClipSpec, Example, clip_example,  # noqa: E402
                         describe_example,
                         descriptors, fit_head, learn)
from pipan.linear import fit_logistic, standardiser  # noqa: E402
from pipan.pose import DEFAULT_MODEL as POSE_MODEL  # noqa: E402
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

def head_on(X, names, base, sha):
    """pipan learn's head (pipan.learn.fit_head, what `pipan learn` runs after computing
    the descriptors) on descriptors X (N, 2, D)."""
    return fit_head(X, names, base_labels=base.labels, base_path=None,
                    base_sha256=sha, sources=["bench"]).head


def scores(head, Xtest, truth):
    """(closed-set accuracy, share of test clips answered 'unknown')."""
    closed = np.array([head.labels[i] for i in head.head_probabilities(Xtest).argmax(1)])
    unknown = np.array([head.probabilities(x).argmax() == len(head.labels) for x in Xtest])
    return float((closed == truth).mean()), float(unknown.mean())


def examples_of(ds, idx, tag):
    return [Example(str(ds.labels[i]), ds.clip(i), None, f"{tag}#{i}") for i in idx]


def jhmdb_descriptors(base, sha):
    """Every JHMDB clip's descriptors as filmed and mirrored (N, 2, D), cached per base
    model: a descriptor depends on its clip and the base model only."""
    ds = load(JHMDB).to_coco18()
    cache = CACHE / f"jhmdb_descriptors_{NUM_VIEWS}views_{sha[:12]}.npy"
    if cache.is_file():
        return ds, np.load(cache, allow_pickle=False)
    CACHE.mkdir(parents=True, exist_ok=True)
    X, _ = descriptors(base, examples_of(ds, range(len(ds)), "jhmdb"))
    np.save(cache, X)
    return ds, X


def jhmdb_rows(base, sha, seeds, ks):
    ds, X = jhmdb_descriptors(base, sha)
    test_idx = np.flatnonzero(ds.test == 1)
    train_idx = np.flatnonzero(ds.test == 0)
    test = examples_of(ds, test_idx, "test")
    truth = ds.labels[test_idx].astype(str)
    labels = sorted(set(ds.labels.astype(str)))
    rows = []
    for k in ks:
        accs, bases, unk = [], [], []
        for seed in range(seeds):
            rng = np.random.default_rng(seed)
            pick = np.concatenate([rng.choice([i for i in train_idx if ds.labels[i] == c], k,
                                              replace=False) for c in labels])
            head = head_on(X[pick], ds.labels[pick].astype(str), base, sha)
            acc, u = scores(head, X[test_idx, 0], truth)
            accs.append(acc)
            unk.append(u)
            bases.append((baseline(examples_of(ds, pick, "train"), test) == truth).mean())
        rows.append(("JHMDB-14 (GT joints)", k, seeds, len(test), accs, bases, unk))
        print(f"  JHMDB k={k}: learn {np.mean(accs):.3f}  baseline {np.mean(bases):.3f}",
              file=sys.stderr, flush=True)
    return rows


def jhmdb_open_set(base, sha, seeds, ks):
    """Teach 7 of the 14 classes (drawn per seed), k clips each; on the test clips: share
    of the taught classes' clips accepted (not 'unknown') and of the other 7 classes'
    clips answered 'unknown', with the cross-validated threshold."""
    ds, X = jhmdb_descriptors(base, sha)
    test_idx = np.flatnonzero(ds.test == 1)
    train_idx = np.flatnonzero(ds.test == 0)
    labels = np.array(sorted(set(ds.labels.astype(str))))
    rows = []
    for k in ks:
        acc, rej = [], []
        for seed in range(seeds):
            rng = np.random.default_rng(1000 + seed)
            taught = labels[rng.permutation(len(labels))[:7]]
            pick = np.concatenate([rng.choice([i for i in train_idx if ds.labels[i] == c], k,
                                              replace=False) for c in taught])
            head = head_on(X[pick], ds.labels[pick].astype(str), base, sha)
            known = np.isin(ds.labels[test_idx], taught)
            said_unknown = np.array([head.probabilities(x).argmax() == len(head.labels)
                                     for x in X[test_idx, 0]])
            acc.append(float((~said_unknown[known]).mean()))
            rej.append(float(said_unknown[~known].mean()))
        rows.append((k, seeds, float(np.mean(acc)), float(np.mean(rej))))
    return rows


def upfall_examples(backend: str, pose_model: Path = POSE_MODEL):
    """Trial and main-person skeletons of every UP-Fall clip through pipan's pipeline
    (cached); plus the extraction's seconds and frame count. ``pose_model``: pipan's pose
    net (the pipan backend)."""
    CACHE.mkdir(parents=True, exist_ok=True)
    # keyed by the pose model: skeletons from another net are not these
    key = file_sha256(pose_model)[:12] if backend == "pipan" else "ref"
    cache = CACHE / f"upfall_{backend}_{key}.npz"
    if not cache.is_file():
        from pipan.pipeline import load_pose
        pose = load_pose(backend, str(BLAZEPOSE) if backend == "blazepose"
                         else str(pose_model), 1)
        rows = [line.split("\t") for line in
                (UPFALL / "labels.tsv").read_text().splitlines()[1:] if line.strip()]
        kps, times, labels, trials, frames = [], [], [], [], 0
        t0 = time.perf_counter()
        for name, _, label, trial, _ in rows:
            from pipan.video import VideoFileSource
            with VideoFileSource(UPFALL / name) as s:
                frames += s.info.frame_count or 0
            try:
                ex = clip_example(ClipSpec(UPFALL / name, label), pose)
                kp, ts = ex.keypoints, ex.times
            except PipanError as e:  # nobody found: never taught, always wrong when tested
                print(f"  {backend}: {e}", file=sys.stderr, flush=True)
                kp, ts = np.zeros((0, 18, 3), np.float32), np.zeros(0, np.float64)
            kps.append(kp)
            times.append(ts)
            labels.append(label)
            trials.append(int(trial))
            print(f"  {backend}: {name} {len(kp)} frames with the main person",
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
        return exs, float(z["seconds"]), int(z["frames"]), int(z["lengths"].sum())


def upfall_rows(base, sha, backend, pose_model: Path = POSE_MODEL):
    """k = 1: each trial in turn teaches, the other two are scored; k = 2: two trials
    teach, the third is scored, each in turn (three draws either way). A clip in which
    the pose stage found nobody teaches nothing and counts as wrong when tested."""
    exs, seconds, frames, kept = upfall_examples(backend, pose_model)
    trials = sorted({t for t, _ in exs})
    rows = []
    for k in (1, 2):
        accs, bases, unks, n_test = [], [], [], 0
        for taught in itertools.combinations(trials, k):
            train = [e for t, e in exs if t in taught and len(e.keypoints)]
            test = [e for t, e in exs if t not in taught]
            seen = [e for e in test if len(e.keypoints)]
            truth = np.array([e.label for e in seen])
            Xtr, names = descriptors(base, train)
            head = head_on(Xtr, names, base, sha)
            Xte = np.stack([describe_example(base, e) for e in seen])
            acc, u = scores(head, Xte, truth)
            share = len(seen) / len(test)
            accs.append(acc * share)
            unks.append(u * share)
            bases.append((baseline(train, seen) == truth).sum() / len(test))
            n_test = len(test)
        rows.append((f"UP-Fall cam 1 ({backend} pose)", k, len(accs), n_test, accs, bases,
                     unks))
    return rows, (f"UP-Fall cam 1 ({backend} pose)", seconds, frames, kept)


def full_training(k: int = 5, seed: int = 0, epochs: int = 160):
    """The full training pipeline (TensorFlow, `python -m training action train` with its
    default recipe) on the same k clips per class as seed ``seed`` of the k-shot table;
    returns (test accuracy of the trained float model, training seconds)."""
    import json
    import subprocess

    from pipan.dataset import save

    ds = load(JHMDB)
    train_idx = np.flatnonzero(ds.test == 0)
    rng = np.random.default_rng(seed)
    pick = np.concatenate([rng.choice([i for i in train_idx if ds.labels[i] == c], k,
                                      replace=False) for c in sorted(set(ds.labels.astype(str)))])
    keep = np.zeros(len(ds), bool)
    keep[pick] = True
    keep[ds.test == 1] = True
    sub = CACHE / f"jhmdb_k{k}_seed{seed}.npz"
    save(ds.subset(keep), sub)
    out = CACHE / f"full_k{k}_seed{seed}"
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "training", "action", "train", "--data", str(sub),
                    "--out", str(out), "--seed", str(seed), "--epochs", str(epochs),
                    "--quiet"], check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
    seconds = time.perf_counter() - t0
    r = subprocess.run([sys.executable, "-m", "training", "action", "evaluate", "--model",
                        str(out), "--data", str(sub), "--json"], check=True, cwd=ROOT,
                       capture_output=True, text=True)
    return json.loads(r.stdout.strip().splitlines()[-1])["accuracy"], seconds


def learn_time(base, sha, runs=5):
    ds = load(JHMDB).to_coco18()
    train_idx = np.flatnonzero(ds.test == 0)
    labels = sorted(set(ds.labels.astype(str)))[:5]
    pick = [i for c in labels for i in [j for j in train_idx if ds.labels[j] == c][:2]]
    train = examples_of(ds, pick, "train")
    wall, cpu = [], []
    for _ in range(runs):
        t0, c0 = time.perf_counter(), time.process_time()
        learn(train, base, base_path=None, base_sha256=sha)
        wall.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return float(np.median(wall)), float(np.median(cpu)), \
        int(sum(len(e.keypoints) for e in train))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--k", type=int, nargs="+", default=[1, 2, 5])
    ap.add_argument("--no-upfall", action="store_true")
    ap.add_argument("--extract-only", action="store_true",
                    help="Only extract and cache the UP-Fall skeletons.")
    ap.add_argument("--backends", nargs="+", default=["pipan", "blazepose"],
                    choices=["pipan", "blazepose"], help="Pose backends for UP-Fall.")
    ap.add_argument("--no-jhmdb", action="store_true")
    ap.add_argument("--pose-model", type=Path, default=POSE_MODEL,
                    help="pipan pose .tflite for the pipan backend (default: the bundled one)")
    ap.add_argument("--action-model", type=Path, default=Path(DEFAULT_MODEL),
                    help="the base action model .tflite (default: the bundled one)")
    ap.add_argument("--full-training", action="store_true",
                    help="Also train the full TensorFlow model on k=5 clips per class "
                         "(seed 0) and score it on the same test clips (minutes of CPU).")
    args = ap.parse_args()
    if not args.extract_only:  # extraction may run one process per backend and core
        try:
            os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})  # one core
        except (AttributeError, OSError):
            pass
    if args.extract_only:
        for backend in args.backends:
            upfall_examples(backend, args.pose_model)
        return
    base = ActionRecognizer(args.action_model, threads=1, embed=True)
    sha = file_sha256(args.action_model)
    rows, extraction = [], []
    jhmdb = JHMDB.is_file() and not args.no_jhmdb
    if jhmdb:
        rows += jhmdb_rows(base, sha, args.seeds, args.k)
    elif not JHMDB.is_file():
        print(f"(JHMDB-14 skipped: {JHMDB} not found)")
    if not args.no_upfall and UPFALL.is_dir():
        for backend in args.backends:
            if backend == "blazepose" and not BLAZEPOSE.is_dir():
                print(f"(UP-Fall with BlazePose skipped: {BLAZEPOSE} not found)")
                continue
            r, e = upfall_rows(base, sha, backend, args.pose_model)
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
    if jhmdb:
        print("\nopen set, JHMDB-14: 7 of the 14 classes taught (drawn per seed), k clips "
              "each; test clips of the taught classes accepted / of the other 7 answered "
              "'unknown'")
        for k, n, acc, rej in jhmdb_open_set(base, sha, args.seeds, [k for k in args.k
                                                                      if k >= 2]):
            print(f"  k={k} ({n} seeds): taught accepted {acc:.3f}, untaught rejected "
                  f"{rej:.3f}")
        wall, cpu, frames = learn_time(base, sha)
        print(f"\ntime to learn from 10 clips (5 actions x 2, {frames} frames), 1 core: "
              f"{wall:.2f} s wall, {cpu:.2f} s CPU (median of 5; descriptors, "
              f"cross-validation, fit; load average {os.getloadavg()[0]:.1f})")
    if args.full_training and jhmdb:
        acc, seconds = full_training()
        same = [r for r in rows if r[0].startswith("JHMDB") and r[1] == 5]
        print(f"full training pipeline (TensorFlow, default recipe, 160 epochs), JHMDB-14 "
              f"k=5 seed 0: top-1 {acc:.3f} on the 176 test clips, {seconds:.0f} s of "
              f"training (wall, load average {os.getloadavg()[0]:.1f})"
              + (f"; on the same clips pipan learn {same[0][4][0]:.3f}, pooled LR "
                 f"{same[0][5][0]:.3f}" if same else ""))
    for name, seconds, frames, kept in extraction:
        print(f"pose extraction, {name}: {seconds:.0f} s for {frames} frames "
              f"({1000 * seconds / max(frames, 1):.1f} ms per frame, 1 core, cached); the "
              f"main person is in {kept} of them ({kept / max(frames, 1):.0%})")


if __name__ == "__main__":
    main()
