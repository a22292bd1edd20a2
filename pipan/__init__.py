"""pipan: online human action recognition from 2D skeletons, on a Raspberry Pi.

The runtime imports only numpy, OpenCV, click and a TFLite interpreter; it never imports
TensorFlow, ``training`` or ``converters``. Heavier pieces load lazily on first use.
"""
from __future__ import annotations

__version__ = "0.1.0"

_LAZY = {
    "PoseEstimator": ("pipan.pose", "PoseEstimator"),
    "ActionRecognizer": ("pipan.action", "ActionRecognizer"),
    "Person": ("pipan.types", "Person"),
    "Segment": ("pipan.types", "Segment"),
    "Track": ("pipan.types", "Track"),
}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib
        module, attr = _LAZY[name]
        return getattr(importlib.import_module(module), attr)
    raise AttributeError(f"module 'pipan' has no attribute {name!r}")


__all__ = ["__version__", *_LAZY]
