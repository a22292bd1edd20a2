"""Soft training targets from a pooled-statistics teacher (knowledge distillation).

On JHMDB-14 a multinomial logistic regression on each clip's time mean and standard
deviation of the joint positions and velocities classifies better than the sequence
model trained on the same 433 clips (docs/action.md, sessions 2 and 4). It cannot run
online (the statistics need the whole clip), but it can teach: the sequence model is
trained towards ``(1 - w) * one_hot(y) + w * p_teacher(clip)`` at every frame.

The teacher's probabilities for a training clip come from a teacher fitted on the
*other* folds of the training clips (out of fold), so they carry what the pooled
statistics generalise, not a memorised label. Numpy only; deterministic.
"""
from __future__ import annotations

from typing import Sequence, Tuple

import numpy as np

from pipan.skeleton import NUM_JOINTS

POS, VEL = (0, 1), (3, 4)


def pooled_statistics(features: np.ndarray) -> np.ndarray:
    """One clip's features ``(T, 18, 5)`` -> ``(144,)``: time mean and standard deviation
    of every joint's position (x, y) and velocity (vx, vy)."""
    f = np.asarray(features, np.float64)
    if f.ndim != 3 or f.shape[0] < 1 or f.shape[1] != NUM_JOINTS:
        raise ValueError(f"expected features (T, {NUM_JOINTS}, C) with T >= 1, got {f.shape}")
    T = f.shape[0]
    pos = f[:, :, list(POS)].reshape(T, -1)
    vel = f[:, :, list(VEL)].reshape(T, -1)
    return np.concatenate([pos.mean(0), pos.std(0), vel.mean(0), vel.std(0)])


def fit_logistic(x: np.ndarray, y: np.ndarray, num_classes: int, *, l2: float = 1e-3,
                 steps: int = 1500, lr: float = 0.5) -> Tuple[np.ndarray, np.ndarray, np.ndarray,
                                                              np.ndarray]:
    """Multinomial logistic regression by full-batch gradient descent from zero weights on
    standardised inputs. Returns ``(mean, std, W, b)`` for :func:`logistic_logits`."""
    x = np.asarray(x, np.float64)
    y = np.asarray(y, np.int64)
    if x.ndim != 2 or len(x) != len(y) or len(x) == 0:
        raise ValueError(f"need x (N, D) and y (N,) with N >= 1, got {x.shape} and {y.shape}")
    if y.min() < 0 or y.max() >= num_classes:
        raise ValueError(f"labels must lie in [0, {num_classes}), got {y.min()}..{y.max()}")
    mean, std = x.mean(0), x.std(0) + 1e-6
    xs = (x - mean) / std
    n, d = xs.shape
    W, b = np.zeros((d, num_classes)), np.zeros(num_classes)
    onehot = np.eye(num_classes)[y]
    for _ in range(steps):
        p = _softmax(xs @ W + b)
        g = (p - onehot) / n
        W -= lr * (xs.T @ g + l2 * W)
        b -= lr * g.sum(0)
    return mean, std, W, b


def logistic_logits(model: Tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
                    x: np.ndarray) -> np.ndarray:
    """Logits ``(N, C)`` of a :func:`fit_logistic` model."""
    mean, std, W, b = model
    return ((np.asarray(x, np.float64) - mean) / std) @ W + b


def out_of_fold_probs(x: np.ndarray, y: np.ndarray, num_classes: int, *, folds: int = 5,
                      seed: int = 0, temperature: float = 1.0, l2: float = 1e-3,
                      steps: int = 1500) -> np.ndarray:
    """Teacher probabilities ``(N, C)`` for each row of ``x``, each from a logistic
    regression fitted on the other folds (class-stratified, seeded), softened by
    ``temperature``."""
    y = np.asarray(y, np.int64)
    if folds < 2 or len(y) < folds:
        raise ValueError(f"need at least {max(folds, 2)} clips for {folds}-fold teaching, "
                         f"got {len(y)}")
    if not temperature > 0:
        raise ValueError(f"temperature must be positive, got {temperature}")
    rng = np.random.default_rng(seed)
    fold = np.zeros(len(y), np.int64)
    for c in np.unique(y):  # each class dealt round-robin over the folds, in random order
        idx = np.flatnonzero(y == c)
        fold[rng.permutation(idx)] = np.arange(len(idx)) % folds
    out = np.zeros((len(y), num_classes))
    for k in range(folds):
        held = fold == k
        model = fit_logistic(x[~held], y[~held], num_classes, l2=l2, steps=steps)
        out[held] = _softmax(logistic_logits(model, x[held]) / temperature)
    return out.astype(np.float32)


def soft_targets(features: Sequence[np.ndarray], y: np.ndarray, num_classes: int,
                 weight: float, *, seed: int = 0, temperature: float = 1.0) -> np.ndarray:
    """Training targets ``(N, C)``: ``(1 - weight) * one_hot(y) + weight * teacher``, the
    teacher out of fold on these clips' pooled statistics."""
    if not 0.0 <= weight <= 1.0:
        raise ValueError(f"distillation weight must be in [0, 1], got {weight}")
    y = np.asarray(y, np.int64)
    onehot = np.eye(num_classes, dtype=np.float32)[y]
    if weight == 0.0:
        return onehot
    x = np.stack([pooled_statistics(f) for f in features])
    teacher = out_of_fold_probs(x, y, num_classes, seed=seed, temperature=temperature)
    return ((1.0 - weight) * onehot + weight * teacher).astype(np.float32)


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(1, keepdims=True)
