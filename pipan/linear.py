"""Linear classifiers fitted with numpy: the multinomial logistic regression behind the
action model's statistics head (``training.action.stats_head``) and ``pipan learn``'s
heads. Deterministic (zero start, full-batch gradient descent) and convex."""
from __future__ import annotations

from typing import Tuple

import numpy as np

#: Floor of a feature's standard deviation when standardising, so that a constant feature
#: (a joint the data never has) gets a zero weight, not a huge one.
MIN_STD = 1e-3


def fit_logistic(x: np.ndarray, y: np.ndarray, num_classes: int, l2: float = 3e-3,
                 steps: int = 2000, learning_rate: float = 0.5) -> Tuple[np.ndarray, np.ndarray]:
    """Multinomial logistic regression by full-batch gradient descent: ``(W (D, C),
    b (C,))`` minimising mean cross-entropy + l2/2 |W|^2 on ``x (N, D)``, labels ``y``
    (class indices). ``x`` should be standardised (:func:`standardiser`): the step size
    assumes features of unit scale."""
    x = np.asarray(x, np.float64)
    n, dim = x.shape
    onehot = np.eye(num_classes)[np.asarray(y, np.int64)]
    w, b = np.zeros((dim, num_classes)), np.zeros(num_classes)
    for _ in range(steps):
        z = x @ w + b
        p = np.exp(z - z.max(1, keepdims=True))
        p /= p.sum(1, keepdims=True)
        g = (p - onehot) / n
        w -= learning_rate * (x.T @ g + l2 * w)
        b -= learning_rate * g.sum(0)
    return w, b


def standardiser(x: np.ndarray, min_std: float = MIN_STD) -> Tuple[np.ndarray, np.ndarray]:
    """Per-feature ``(mean (D,), std (D,))`` of ``x (N, D)``, the std floored at
    ``min_std``; standardise with ``(x - mean) / std``."""
    x = np.asarray(x, np.float64)
    return x.mean(0), np.maximum(x.std(0), min_std)
