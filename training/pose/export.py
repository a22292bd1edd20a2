"""The deployable form of a trained pose net (the contract in docs/design.md).

``inference_model(model_dir)`` reads ``DIR/config.json`` and ``DIR/model.keras`` and returns
a Keras model with input ``image`` (1, 224, 224, 3) float32 RGB in [0, 1] and outputs
``heatmaps`` (1, 28, 28, 19) and ``pafs`` (1, 28, 28, 38): the last kept stage's maps.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Dict, Optional, Union

from pipan.errors import PipanError

PathLike = Union[str, os.PathLike]


class ModelDirError(PipanError):
    """A trained model directory that cannot be read."""


def read_config(model_dir: PathLike) -> Dict[str, Any]:
    """``DIR/config.json`` of a trained pose model (checked to be kind "pose")."""
    path = Path(model_dir) / "config.json"
    if not path.is_file():
        raise ModelDirError(f"{model_dir}: no config.json (not a trained model directory)")
    try:
        config = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, ValueError) as e:
        raise ModelDirError(f"{path}: unreadable ({e})") from None
    if not isinstance(config, dict):
        raise ModelDirError(f"{path}: not a JSON object")
    if config.get("kind") != "pose":
        raise ModelDirError(f"{path}: kind is {config.get('kind')!r}, expected 'pose'")
    return config


def inference_model(model_dir: PathLike, stages: Optional[int] = None):
    """The trained pose net of ``model_dir`` in its deployable form (batch size 1).

    ``stages``: keep only the first ``stages`` stages (default: all that were trained);
    the exported maps are then that stage's outputs. The weights are copied by layer name
    from ``model.keras``, so the result computes exactly what the trained model's stage
    ``stages`` computes.
    """
    import keras

    from .model import build_pose_net

    config = read_config(model_dir)
    builder = dict(config.get("builder", {}))
    trained = int(builder.get("stages", 1))
    keep = trained if stages is None else int(stages)
    if not 1 <= keep <= trained:
        raise ModelDirError(f"{model_dir}: cannot export {keep} stage(s) of a model trained "
                            f"with {trained}")
    weights_path = Path(model_dir) / "model.keras"
    if not weights_path.is_file():
        raise ModelDirError(f"{model_dir}: no model.keras")
    try:  # safe mode (the default): a model file's code is never run
        trained_model = keras.models.load_model(weights_path, compile=False, safe_mode=True)
    except Exception as e:  # a damaged file, unsafe code, or layers this code cannot rebuild
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise ModelDirError(f"{weights_path}: cannot load the model ({first})") from None
    builder.update(stages=keep, batch_size=1, inference=True)
    builder.pop("seed", None)
    model = build_pose_net(**builder)
    source = {layer.name: layer for layer in trained_model.layers}
    for layer in model.layers:
        if not layer.weights:
            continue
        if layer.name not in source:
            raise ModelDirError(f"{model_dir}: model.keras has no layer {layer.name!r} "
                                f"(config.json does not match the weights)")
        layer.set_weights(source[layer.name].get_weights())
    return model
