"""The action model's statistics head: a logistic regression on the running mean and
standard deviation of each joint's position and velocity (docs/action.md, "Statistics
head").

A linear classifier of each clip's time-pooled statistics gets 83-85% on JHMDB-14 split 1,
more than the pose-attention network alone (76% mean of four seeds), and the two err on
different clips: adding the regression's logits to the network's (a product of experts)
beats both. The head is fitted here, after the network has trained, on the full training
clips (numpy, deterministic, convex), and attached as the model's non-trainable
``stats_head`` layer with the feature standardisation folded into its weights.
"""
from __future__ import annotations

from typing import Callable, Dict, Optional, Sequence, Tuple

import numpy as np

from pipan.linear import MIN_STD, fit_logistic, standardiser
from pipan.skeleton import clip_stats

from .data import features_of

#: L2 penalty of the regression on standardised statistics (chosen by 5-fold
#: cross-validation on JHMDB-14 split 1's training clips: 84.8% out of fold, against
#: 83.8% at 1e-3 and 83.1% at 1e-2; docs/action.md).
DEFAULT_L2 = 3e-3
__all__ = ["DEFAULT_L2", "MIN_STD", "clip_head_inputs", "fit_logistic", "fit_stats_head",
           "with_stats_head"]


def clip_head_inputs(clips: Sequence[np.ndarray]) -> np.ndarray:
    """``(N, 144)``: each COCO-18 clip's statistics over all its frames (the head's input
    at the clip's last frame)."""
    return np.stack([clip_stats(f)[-1] for f in features_of(clips)]).astype(np.float64)


def fit_stats_head(clips: Sequence[np.ndarray], y: np.ndarray, num_classes: int,
                   l2: float = DEFAULT_L2) -> Tuple[np.ndarray, np.ndarray]:
    """Fit the head on training clips: ``(kernel (144, C), bias (C,))`` float32 that act
    on raw statistics (the standardisation over the clips folded in)."""
    x = clip_head_inputs(clips)
    mean, std = standardiser(x, MIN_STD)
    w, b = fit_logistic((x - mean) / std, y, num_classes, l2)
    kernel = w / std[:, None]
    bias = b - mean @ kernel
    return kernel.astype(np.float32), bias.astype(np.float32)


def with_stats_head(model, kernel: np.ndarray, bias: np.ndarray, builder: Dict,
                    build: Optional[Callable] = None):
    """A new sequence model built by ``build`` (default ``build_action_model``) with
    ``builder`` and ``stats_head=True``: ``model``'s trained weights (layer by layer, by
    name) plus the fitted head."""
    from .model import build_action_model

    new = (build or build_action_model)(int(kernel.shape[1]), **dict(builder, stats_head=True))
    for layer in model.layers:
        if layer.weights:
            new.get_layer(layer.name).set_weights(layer.get_weights())
    new.get_layer("stats_head").set_weights([np.asarray(kernel, np.float32),
                                             np.asarray(bias, np.float32)])
    return new
