"""Training and evaluation of the action model (library; ``cli.py`` is the thin command).

The loss is eq. 16: CE(p_t, y) + lambda_joints * CE(softmax(W_j s_t), y),
both per frame. The first term is taken at every prefix length t (weights ramping up to
the full clip, ``data.frame_weights``) so that early, partial observations are classified
too; the second averages eq. 17's sum over frames (a constant factor folded into
lambda_joints).
"""
from __future__ import annotations

import json
import math
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence

import numpy as np

from pipan.dataset import SkeletonDataset
from pipan.errors import DatasetError, PipanError
from pipan.evaluate import score_predictions
from pipan.fileio import atomic_path, atomic_write_text
from pipan.skeleton import FEATURES

from ..provenance import git_commit
from .pose_noise import PoseNoise
from .data import (Augment, augment_clip, clip_list, crop, crop_start,
                   features_of, frame_weights, label_indices, pad_features, split,
                   subsample, with_pose_noise)


#: The training default (``python -m training action train``): the paper's network
#: (``build_action_model``'s defaults) plus a dense layer per joint before the graph, the
#: joint attention concatenating the clusters, and a statistics head fitted after the
#: network (docs/action.md: each measured on JHMDB-14).
DEFAULT_BUILDER = dict(hidden=128, gcn_units=64, gcn_layers=2, clusters=5,
                       attention_units=64, dropout=0.3,
                       joint_embed=64, concat_nodes=True, stats_head=True)
#: Weight of the auxiliary joint-attention classifier's loss (the main term weighs 1).
DEFAULT_LAMBDA_JOINTS = 0.3


class TrainingError(PipanError):
    """Training that cannot produce a usable model (e.g. a loss gone NaN)."""


def predict_sequences(model, clips: Sequence[np.ndarray], batch_size: int = 64) -> List[np.ndarray]:
    """Per-frame probabilities ``(T_i, C)`` of the sequence model for each COCO-18 clip."""
    feats = features_of(clips)
    order = np.argsort([len(f) for f in feats])  # similar lengths together: less padding
    out: List[Optional[np.ndarray]] = [None] * len(feats)
    for s in range(0, len(order), batch_size):
        idx = order[s:s + batch_size]
        x = pad_features([feats[i] for i in idx])
        probs = np.asarray(model(x, training=False)["probs"])
        for j, i in enumerate(idx):
            out[i] = probs[j, :len(feats[i])]
    return out  # type: ignore[return-value]


def _make_sequence(clips, y, classes, *, batch_size, t_pad, augment, seed, prefix_ramp,
                   pose_noise=None, pose_noise_fraction=0.0):
    import keras

    class Batches(keras.utils.PyDataset):
        def __init__(self):
            super().__init__()
            self.rng = np.random.default_rng(seed)
            self.order = self.rng.permutation(len(clips))

        def __len__(self):
            return math.ceil(len(clips) / batch_size)

        def on_epoch_end(self):
            self.order = self.rng.permutation(len(clips))

        def __getitem__(self, b):
            idx = self.order[b * batch_size:(b + 1) * batch_size]
            pairs = [subsample(augment_clip(clips[i], self.rng, augment), self.rng, augment)
                     for i in idx]
            if pose_noise is None:
                kps = [crop(kp, t_pad, self.rng) for kp, _ in pairs]
                return batch_arrays(kps, y[idx], t_pad, prefix_ramp, [f for _, f in pairs])
            kps, times = [], []
            for kp, fps in pairs:
                kp, t = with_pose_noise(kp, fps, self.rng, pose_noise, pose_noise_fraction)
                start = crop_start(len(kp), t_pad, self.rng)
                kps.append(kp[start:start + t_pad])
                times.append(None if t is None else t[start:start + t_pad])
            return batch_arrays(kps, y[idx], t_pad, prefix_ramp, [f for _, f in pairs],
                                times)

    return Batches()


def batch_arrays(kps, y, t_pad, prefix_ramp, fps=None, times=None):
    """(x, targets, sample weights) of a batch of COCO-18 clips (at ``fps`` each, default
    30, or at their frame ``times`` where given) for ``model.fit``."""
    x = pad_features(features_of(kps, fps, times), t_pad)
    lengths = [min(len(k), t_pad) for k in kps]
    yy = np.repeat(np.asarray(y, np.int64)[:, None], t_pad, axis=1)
    w_pose = np.stack([frame_weights(T, t_pad, prefix_ramp) for T in lengths])
    w_joint = np.stack([frame_weights(T, t_pad, 0.0) for T in lengths])
    return x, {"probs": yy, "joint_probs": yy}, {"probs": w_pose, "joint_probs": w_joint}


def train(dataset: SkeletonDataset, out_dir: Path, *, epochs: int = 160, batch_size: int = 32,
          learning_rate: float = 3e-3, weight_decay: float = 1e-4, seed: int = 0, max_frames: int = 64,
          prefix_ramp: float = 2.0, lambda_joints: float = DEFAULT_LAMBDA_JOINTS,
          val_fraction: float = 0.0, augment: Augment = Augment(),
          pose_noise: Optional[PoseNoise] = None, pose_noise_fraction: float = 0.5,
          pose_noise_file: Optional[str] = None,
          builder: Optional[Dict] = None, build: Optional[Callable[..., Any]] = None,
          command: Optional[str] = None,
          verbose: int = 1, log: Callable[[str], None] = print) -> Dict:
    """Train on the clips whose test flag is 0 (or a seeded split), evaluate on the others,
    and write ``out_dir``/model.keras, config.json, curves.png, confusion.png.

    ``val_fraction`` > 0 sets the test clips aside entirely and evaluates on a seeded
    stratified ``val_fraction`` of the training clips instead (for choosing settings
    without looking at the test set). ``builder``: keyword arguments of ``build`` (default
    :func:`training.action.model.build_action_model`) over ``DEFAULT_BUILDER``; a
    benchmark passes its own ``build`` for an ablation.

    ``pose_noise``: the pose stage's measured errors (``pose_noise.load_noise`` of
    ``pose_noise_file``), applied on the fly to ``pose_noise_fraction`` of the training
    clips after the other augmentations, so they look like what the runtime feeds the
    model; the evaluation clips stay as they are.

    Returns the metrics dict stored in config.json."""
    import keras
    import tensorflow as tf

    from .model import build_action_model
    from .plots import plot_confusion, plot_curves

    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()
    ds = dataset.to_coco18()
    classes = ds.classes
    if len(classes) < 2:
        raise DatasetError(f"need clips of at least 2 actions to train, got {classes}")
    test_mask = split(ds, seed)
    if test_mask.all():
        raise DatasetError("every clip is marked test=1: nothing to train on")
    if val_fraction > 0:
        # Validation inside the training clips: the test clips take no part at all.
        sub = ds.subset(~test_mask)
        ds = SkeletonDataset(sub.keypoints, sub.lengths, sub.labels, sub.joints, None)
        test_mask = split(ds, seed, val_fraction)
    clips = clip_list(ds)
    y = label_indices(ds.labels, classes)
    train_idx, test_idx = np.flatnonzero(~test_mask), np.flatnonzero(test_mask)
    train_clips = [clips[i] for i in train_idx]
    test_clips = [clips[i] for i in test_idx]
    t_pad = min(max_frames, max(len(c) for c in clips))
    kwargs = dict(DEFAULT_BUILDER, **(builder or {}))
    # The network trains alone; a statistics head is fitted and attached afterwards.
    build = build or build_action_model
    model = build(len(classes), **dict(kwargs, stats_head=False))
    steps = math.ceil(len(train_clips) / batch_size) * epochs
    schedule = keras.optimizers.schedules.CosineDecay(learning_rate, steps, alpha=0.05)
    model.compile(
        optimizer=keras.optimizers.AdamW(schedule, weight_decay=weight_decay, clipnorm=1.0),
        loss={"probs": keras.losses.SparseCategoricalCrossentropy(),
              "joint_probs": keras.losses.SparseCategoricalCrossentropy()},
        loss_weights={"probs": 1.0, "joint_probs": lambda_joints},
        weighted_metrics={"probs": [keras.metrics.SparseCategoricalAccuracy(name="acc")]})
    params = int(model.count_params())
    log(f"{len(train_clips)} training clips, {len(test_clips)} evaluation clips, "
        f"{len(classes)} classes, {params} parameters, frames padded to {t_pad}")
    batches = _make_sequence(train_clips, y[train_idx], classes, batch_size=batch_size,
                             t_pad=t_pad, augment=augment, seed=seed, prefix_ramp=prefix_ramp,
                             pose_noise=pose_noise, pose_noise_fraction=pose_noise_fraction)
    val = None
    if len(test_clips):
        vx, vy, vw = batch_arrays([crop(c, t_pad, None) for c in test_clips], y[test_idx],
                                  t_pad, prefix_ramp)
        val = (vx, vy, vw)
    start = time.time()
    history = model.fit(batches, epochs=epochs, validation_data=val, verbose=verbose,
                        shuffle=False, callbacks=[keras.callbacks.TerminateOnNaN()])
    seconds = time.time() - start
    check_finite(history.history, model)
    if kwargs.get("stats_head"):
        from .stats_head import fit_stats_head, with_stats_head

        kernel, bias = fit_stats_head(train_clips, y[train_idx], len(classes))
        model = with_stats_head(model, kernel, bias, kwargs, build)
        params = int(model.count_params())
    metrics: Dict = {"params": params, "train_clips": len(train_clips),
                     "train_seconds": round(seconds, 1), "epochs": epochs}
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if len(test_clips):
        scores = score_predictions(predict_sequences(model, test_clips), y[test_idx], classes)
        metrics.update({k: v for k, v in scores.items() if k != "confusion"})
        plot_confusion(np.array(scores["confusion"]), classes, out_dir / "confusion.png",
                       title=f"evaluation clips: top-1 {scores['accuracy']:.1%}")
        log(f"evaluation accuracy {scores['accuracy']:.4f} on {scores['clips']} clips; "
            f"by fraction observed {scores['by_fraction']}")
    plot_curves(history.history, out_dir / "curves.png")
    metrics["history"] = {k: [round(float(v), 5) for v in vals]
                          for k, vals in history.history.items()}
    # Save to a temp name of its own (two runs may share a folder), then rename: never a
    # half-written model.keras.
    with atomic_path(out_dir / "model.keras") as tmp:
        model.save(tmp)
    config = {"kind": "action", "builder": dict(num_classes=len(classes), **kwargs),
              "labels": list(classes), "layout": "coco18", "features": list(FEATURES),
              "seed": seed,
              "training": {"epochs": epochs, "batch_size": batch_size,
                           "learning_rate": learning_rate, "weight_decay": weight_decay,
                           "max_frames": max_frames, "lambda_joints": lambda_joints,
                           "val_fraction": val_fraction,
                           "prefix_ramp": prefix_ramp, "augment": asdict(augment),
                           "pose_noise": None if pose_noise is None else {
                               "file": pose_noise_file,
                               "fraction": pose_noise_fraction}},
              "command": command or " ".join(["python -m training"] + sys.argv[1:]),
              "commit": git_commit(), "metrics": metrics}
    atomic_write_text(out_dir / "config.json",
                      json.dumps(config, indent=2, allow_nan=False) + "\n")
    return metrics


def check_finite(history: Dict[str, List[float]], model) -> None:
    """TrainingError (nothing written yet) when the loss or any weight is NaN or infinite:
    training diverged, typically on coordinates far outside any image."""
    bad = [k for k, vals in history.items() if not np.all(np.isfinite(np.asarray(vals, float)))]
    if not bad and all(np.all(np.isfinite(w)) for w in model.get_weights()):
        return
    raise TrainingError("training diverged (the loss became NaN or infinite); nothing was "
                        "written. Check the dataset for absurd coordinates, or lower --lr")


def evaluate(model_path: Path, dataset: SkeletonDataset, threads: Optional[int] = None,
             data_classes_only: bool = False) -> Dict:
    """Accuracy of a trained model directory, or a ``.tflite`` step model streamed by the
    runtime, on the clips with test=1 (all clips when the file has no test column).

    Clips whose label the model does not know are skipped (counted in ``skipped``);
    predictions range over all the model's classes, or, with ``data_classes_only``, over
    those that occur among the evaluation clips (for a model trained on other data, e.g.
    synthetic motions evaluated on JHMDB's overlapping classes)."""
    ds = dataset.to_coco18()
    mask = ds.test.astype(bool) if ds.test is not None else np.ones(len(ds), bool)
    if not mask.any():
        raise DatasetError("no clip has test=1: nothing to evaluate")
    model_path = Path(model_path)
    if model_path.suffix == ".tflite":
        from pipan.action import ActionRecognizer

        rec = ActionRecognizer(model_path, threads=threads)
        classes = list(rec.labels)
        predict = lambda clips: [rec.run_clip(c) for c in clips]  # noqa: E731
    else:
        from .export import load_model_dir

        model, config = load_model_dir(model_path)
        classes = list(config["labels"])
        predict = lambda clips: predict_sequences(model, clips)  # noqa: E731
    y = label_indices(ds.labels, classes)
    keep = mask & (y >= 0)
    if not keep.any():
        raise DatasetError(f"no evaluation clip has a label the model knows "
                           f"({', '.join(classes)})")
    clips = [c for c, k in zip(clip_list(ds), keep) if k]
    probs = predict(clips)
    if data_classes_only:
        allowed = np.zeros(len(classes), bool)
        allowed[np.unique(y[keep])] = True
        probs = [np.where(allowed, p, 0.0) for p in probs]
    scores = score_predictions(probs, y[keep], classes)
    scores["skipped"] = int((mask & (y < 0)).sum())
    return scores
