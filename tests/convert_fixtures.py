"""Tiny trained-model directories and calibration data for the converter's tests.

The models come from the real builders (``training.pose.model.build_pose_net``,
``training.action.model.build_action_model``) with tiny keyword arguments, saved in the
model directory format of docs/design.md. The action model is fitted for a few epochs on
a synthetic three-class dataset so that its accuracy means something; the pose net is
untrained, with batch-norm statistics taken from the calibration images.
"""
from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np

from pipan import dataset as skeleton_dataset
from pipan.skeleton import COCO18, JOINT_INDEX, clip_features

ACTION_LABELS = ("raise", "sway", "still")
TINY_POSE = dict(stages=1, input_size=224, stem_filters=8,
                 backbone_widths=(8, 8, 8, 16, 16, 16, 16, 16, 16, 16, 16),
                 stage_width=16, stage_depth=1)
TINY_ACTION = dict(hidden=8, gcn_units=8, gcn_layers=1, clusters=3, attention_units=8,
                   dropout=0.0)


def _stand(rng: np.random.Generator) -> np.ndarray:
    """A standing COCO-18 skeleton (18, 3) in pixels, about 100 px tall, random place."""
    x0, y0 = rng.uniform(80, 240), rng.uniform(60, 120)
    rel = {
        "nose": (0, -45), "neck": (0, -35), "right_shoulder": (-12, -35),
        "right_elbow": (-16, -18), "right_wrist": (-18, -2), "left_shoulder": (12, -35),
        "left_elbow": (16, -18), "left_wrist": (18, -2), "right_hip": (-8, 0),
        "right_knee": (-9, 25), "right_ankle": (-10, 50), "left_hip": (8, 0),
        "left_knee": (9, 25), "left_ankle": (10, 50), "right_eye": (-3, -48),
        "left_eye": (3, -48), "right_ear": (-6, -46), "left_ear": (6, -46),
    }
    kp = np.zeros((18, 3), np.float32)
    for name, (dx, dy) in rel.items():
        kp[JOINT_INDEX[name]] = (x0 + dx, y0 + dy, 1.0)
    return kp


def synthetic_clip(label: str, T: int, rng: np.random.Generator) -> np.ndarray:
    """(T, 18, 3) pixels: 'raise' lifts both wrists, 'sway' moves the body sideways,
    'still' stands; plus 1 px noise and scores in [0.5, 1]."""
    base = _stand(rng)
    clip = np.repeat(base[None], T, 0)
    t = np.linspace(0, 1, T, dtype=np.float32)
    if label == "raise":
        for j in ("right_wrist", "left_wrist", "right_elbow", "left_elbow"):
            clip[:, JOINT_INDEX[j], 1] -= 50 * t * (1.0 if "wrist" in j else 0.5)
    elif label == "sway":
        clip[:, :, 0] += 25 * np.sin(2 * np.pi * t)[:, None]
    clip[..., :2] += rng.normal(0, 1.0, clip[..., :2].shape).astype(np.float32)
    # detector-like confidences: a constant score channel would have zero variance, which
    # the model's input batch norm turns into a 30x gain on quantisation noise
    clip[..., 2] = rng.uniform(0.5, 1.0, clip[..., 2].shape).astype(np.float32)
    return clip


def make_action_dataset(path: Path, clips_per_label: int = 12, seed: int = 0,
                        test_fraction: float = 0.34) -> skeleton_dataset.SkeletonDataset:
    """A synthetic COCO-18 skeleton dataset file of ACTION_LABELS with a test split."""
    rng = np.random.default_rng(seed)
    kps, lengths, labels, test = [], [], [], []
    for i in range(clips_per_label):
        for label in ACTION_LABELS:
            T = int(rng.integers(12, 20))
            kps.append(synthetic_clip(label, T, rng))
            lengths.append(T)
            labels.append(label)
            test.append(int(i >= clips_per_label * (1 - test_fraction)))
    ds = skeleton_dataset.SkeletonDataset(np.concatenate(kps), np.array(lengths),
                                          np.array(labels), COCO18, np.array(test, np.int8))
    skeleton_dataset.save(ds, path)
    return ds


def make_action_dir(path: Path, data: skeleton_dataset.SkeletonDataset, epochs: int = 25,
                    seed: int = 0) -> Path:
    """A tiny action model directory, fitted on ``data``'s training clips."""
    import keras

    from training.action.model import build_action_model

    keras.utils.set_random_seed(seed)
    model = build_action_model(len(ACTION_LABELS), **TINY_ACTION)
    train = np.flatnonzero(data.test == 0)
    T = int(data.lengths.max())
    x = np.zeros((len(train), T, 18, 5), np.float32)
    y = np.zeros((len(train), T), np.int64)
    for row, i in enumerate(train):
        f = clip_features(data.clip(int(i)))
        x[row, :len(f)] = f
        x[row, len(f):] = f[-1]  # repeat the last frame rather than mask
        y[row] = ACTION_LABELS.index(str(data.labels[i]))
    model.compile(optimizer=keras.optimizers.Adam(0.02),
                  loss={"probs": "sparse_categorical_crossentropy",
                        "joint_probs": "sparse_categorical_crossentropy"})
    model.fit(x, {"probs": y, "joint_probs": y}, epochs=epochs, batch_size=8, verbose=0)
    return _save(path, model, {"kind": "action", "builder": dict(
        num_classes=len(ACTION_LABELS), **TINY_ACTION), "labels": list(ACTION_LABELS),
        "layout": "coco18", "features": ["x", "y", "score", "vx", "vy"]})


def make_pose_dir(path: Path, images: Path, seed: int = 0) -> Path:
    """A tiny pose net directory (the real builder, small widths), untrained but with
    realistic activations: untrained, its maps are ~1e-9 (batch norm's initial statistics
    do not match the activations), so each batch norm in turn takes its statistics from
    ``images`` (its input's per-channel mean, and variance floored at the layer's mean
    variance so that near-constant channels are not blown up into noise), and depthwise
    kernels are near box filters (a random deep net is chaotic; a trained one is smooth)."""
    import keras

    from pipan.image import letterbox, to_net_input
    from training.pose.model import build_pose_net

    model = build_pose_net(**TINY_POSE, seed=seed)
    x = np.stack([to_net_input(letterbox(cv2.imread(str(f)))[0])
                  for f in sorted(images.glob("*.png"))])
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        if isinstance(layer, keras.layers.DepthwiseConv2D):
            k = layer.get_weights()[0]
            layer.set_weights([(1 + 0.2 * rng.standard_normal(k.shape)).astype(np.float32)
                               / 9.0])
        elif layer.name.endswith("_out_pw"):
            # the builder starts output maps small (std 0.01) for training; an untrained
            # fixture needs maps of a trained net's size, so he-normal scale here
            w = layer.get_weights()
            fan_in = w[0].shape[-2]
            w[0] = (rng.standard_normal(w[0].shape) * np.sqrt(2.0 / fan_in)).astype(np.float32)
            layer.set_weights(w)
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            a = np.asarray(keras.Model(model.inputs, layer.input)([x], training=False))
            mean, var = a.mean(axis=(0, 1, 2)), a.var(axis=(0, 1, 2))
            gamma, beta, _, _ = layer.get_weights()
            layer.set_weights([gamma, beta, mean, var + var.mean() + 1e-6])
    return _save(path, model, {"kind": "pose", "builder": dict(TINY_POSE),
                               "layout": "coco18", "input_size": 224})


def convert_tiny_pose(folder: Path, latency_runs: int = 3):
    """(images, model directory, conversion): the tiny pose net of ``make_pose_dir``
    converted to int8. A random net's decoded "people" are noise, so the accuracy gate
    is off (max_drop=100); tests compare maps."""
    from converters import convert as C
    images = make_images(folder / "images")
    model_dir = make_pose_dir(folder / "model", images)
    return images, model_dir, C.convert(model_dir, images, max_drop=100,
                                        latency_runs=latency_runs)


def _save(path: Path, model, config: dict) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    model.save(path / "model.keras")
    config = dict(config, seed=0, command="tests/convert_fixtures.py", commit="test")
    (path / "config.json").write_text(json.dumps(config))
    return path


def make_images(folder: Path, n: int = 8, seed: int = 0) -> Path:
    """``n`` synthetic BGR images (varied sizes): blurred bright discs on a grey ground."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        h, w = int(rng.integers(120, 260)), int(rng.integers(120, 320))
        img = np.full((h, w, 3), 40, np.uint8)
        for _ in range(4):
            c = (int(rng.integers(0, w)), int(rng.integers(0, h)))
            cv2.circle(img, c, int(rng.integers(8, 30)),
                       tuple(int(v) for v in rng.integers(100, 255, 3)), -1)
        cv2.imwrite(str(folder / f"img{i:02d}.png"), cv2.GaussianBlur(img, (0, 0), 3))
    return folder
