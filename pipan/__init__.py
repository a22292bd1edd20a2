"""pipan: online human action recognition from 2D skeletons, on a Raspberry Pi.

The runtime imports only numpy, OpenCV, click and a TFLite interpreter; it never imports
TensorFlow, ``training`` or ``converters``. The names below load their modules on first
use, so that ``import pipan`` (and the command's ``--help``) stays instant.
"""
from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__", "PoseEstimator", "ActionRecognizer", "Person", "Segment", "Track"]


def __getattr__(name: str):
    if name == "PoseEstimator":
        from .pose import PoseEstimator
        return PoseEstimator
    if name == "ActionRecognizer":
        from .action import ActionRecognizer
        return ActionRecognizer
    if name in ("Person", "Segment", "Track"):
        from . import types
        return getattr(types, name)
    raise AttributeError(f"module 'pipan' has no attribute {name!r}")
