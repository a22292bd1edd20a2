"""The single-step streaming form of a trained action model (``docs/design.md``).

``step_model(model_dir)``: inputs ``features`` (1, 18, 5) and ``h_prev`` (1, H); outputs
``h`` (1, H), ``score`` (1, 1) = e_t and ``logits`` (1, C) = W_c h_t + b_c (and, for a model
with a statistics head, input ``stats`` (1, 144) and output ``stats_logits`` (1, C)), sharing the
trained layers (same weight objects; an input norm and joint embedding are folded into
one layer holding a copy of their weights). A runtime that keeps m, n = sum exp(e_i - m)
logits_i and d = sum exp(e_i - m) reproduces the sequence model's ``probs`` at every
frame as softmax(n / d) (softmax(n / d + stats_logits) with a statistics head, ``stats``
the running statistics of :func:`pipan.skeleton.clip_stats`).
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import List, Tuple, Union

import keras
import numpy as np

from pipan.errors import ModelError
from pipan.skeleton import NUM_FEATURES, NUM_JOINTS, NUM_STATS

from . import layers as _layers  # noqa: F401  (registers the custom layers for loading)
from .layers import JointDense
from .model import check_builder_config


def load_model_dir(model_dir: Union[str, Path]) -> tuple:
    """(keras model, config dict) of a trained action model directory."""
    d = Path(model_dir)
    cfg_path, model_path = d / "config.json", d / "model.keras"
    if not cfg_path.is_file() or not model_path.is_file():
        raise ModelError(f"{d}: not a trained model directory (needs config.json and "
                         f"model.keras)")
    try:
        config = json.loads(cfg_path.read_text())
    except (OSError, UnicodeDecodeError, ValueError) as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise ModelError(f"{cfg_path}: unreadable ({first})") from None
    if not isinstance(config, dict):
        raise ModelError(f"{cfg_path}: not a JSON object")
    if config.get("kind") != "action":
        raise ModelError(f"{d}: is a {config.get('kind')!r} model, expected an action model")
    labels = config.get("labels")
    if not (isinstance(labels, list) and labels and all(isinstance(x, str) for x in labels)):
        raise ModelError(f"{cfg_path}: 'labels' must be a list of action names")
    try:
        check_builder_config(config.get("builder") or {})
    except ValueError as e:
        raise ModelError(f"{d}: {e}") from None
    try:
        # Safe mode (Keras' default) refuses to deserialise code (Lambda layers, pickled
        # functions): a model folder from someone else must not run their code here.
        # pipan's own layers are registered classes and load without it.
        model = keras.models.load_model(model_path, compile=False, safe_mode=True)
    except Exception as e:  # a damaged file, unsafe code, or layers this code cannot rebuild
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise ModelError(f"{model_path}: cannot load the model ({first})") from None
    return model, config


def input_norm_affine(model: keras.Model) -> Tuple[np.ndarray, np.ndarray]:
    """(a, b), each ``(18, 5)``: the trained input batch norm at inference is x * a + b
    (per channel, broadcast over the joints)."""
    norm = model.get_layer("input_norm")
    var = np.asarray(norm.moving_variance, np.float64)
    a = 1.0 / np.sqrt(var + norm.epsilon)
    if norm.scale:
        a = a * np.asarray(norm.gamma, np.float64)
    b = -np.asarray(norm.moving_mean, np.float64) * a
    if norm.center:
        b = b + np.asarray(norm.beta, np.float64)
    shape = (NUM_JOINTS, NUM_FEATURES)
    return np.broadcast_to(a, shape), np.broadcast_to(b, shape)


def apply_folded_embed(model: keras.Model, x):
    """The trained model's input norm followed by its joint embedding, as one JointDense
    with folded weights (a new layer holding a copy of them) applied to ``x``."""
    embed = model.get_layer("joint_embed")
    a, b = input_norm_affine(model)
    kernel = np.asarray(embed.kernel, np.float64)  # (18, 5, U)
    folded = JointDense(embed.units, activation=keras.activations.serialize(embed.activation),
                        name="joint_embed_folded")
    folded.build((None, NUM_JOINTS, NUM_FEATURES))
    folded.kernel.assign((a[:, :, None] * kernel).astype(np.float32))
    folded.bias.assign((np.asarray(embed.bias, np.float64)
                        + np.einsum("nd,ndu->nu", b, kernel)).astype(np.float32))
    return folded(x)


#: Layers every model with a streaming step form has (build_action_model's).
STEP_LAYERS = ("input_norm", "pool", "gcn_pooled", "joint_attention", "gru", "frame_score",
               "classifier")


def frame_layers(model: keras.Model, x) -> List[Tuple[str, object]]:
    """Replay ``model``'s per-frame layers (built by build_action_model) on one frame ``x``
    ``(B, 18, 5)``, in graph order up to the joint-attended feature s_t: ``[(layer name,
    its output)]``, the last one s_t. The step model uses s_t; a benchmark may use any
    prefix. An input norm followed by a joint embedding is replayed as one layer with
    the norm folded in (``apply_folded_embed``), listed as "joint_embed"."""
    names = {layer.name for layer in model.layers}
    out: List[Tuple[str, object]] = []

    def apply(name, *args):
        y = model.get_layer(name)(*args)
        out.append((name, y[0] if isinstance(y, (list, tuple)) else y))
        return y

    if "joint_embed" in names:
        # The batch norm is affine and the joint embedding linear before its bias: fold
        # the norm into the embedding's weights (the same function), so that the int8
        # step feeds its quantised input straight into one FULLY_CONNECTED instead of
        # rounding a MUL and an ADD of the norm on the way.
        x = apply_folded_embed(model, x)
        out.append(("joint_embed", x))
    else:
        # The batch norm was built for (B, T, 18, 5): give it a time axis of one frame.
        x = keras.layers.Reshape((1, NUM_JOINTS, NUM_FEATURES))(x)
        x = keras.layers.Reshape((NUM_JOINTS, NUM_FEATURES))(
            model.get_layer("input_norm")(x, training=False))
        out.append(("input_norm", x))
    i = 1
    while f"gcn{i}" in names:
        x = apply(f"gcn{i}", x)
        i += 1
    x, a_pooled = apply("pool", x)
    x = apply("gcn_pooled", [x, a_pooled])
    apply("joint_attention", x)
    return out


def step_from_sequence_model(model: keras.Model, stats_head: bool = True) -> keras.Model:
    """The single-step model sharing ``model``'s layers (built by build_action_model).
    ``stats_head=False`` leaves a statistics head out (the network's step alone)."""
    names = {layer.name for layer in model.layers}
    missing = [n for n in STEP_LAYERS if n not in names]
    if missing:
        raise ModelError(f"this action model has no streaming step form (an ablation "
                         f"without {', '.join(missing)})")
    gru = model.get_layer("gru")
    hidden = gru.cell.units
    feats = keras.Input((NUM_JOINTS, NUM_FEATURES), batch_size=1, name="features")
    h_prev = keras.Input((hidden,), batch_size=1, name="h_prev")
    s = frame_layers(model, feats)[-1][1]
    h, _ = gru.cell(s, [h_prev], training=False)
    h = keras.layers.Identity(name="h")(h)
    score = keras.layers.Identity(name="score")(model.get_layer("frame_score")(h))
    logits = keras.layers.Identity(name="logits")(model.get_layer("classifier")(h))
    inputs = {"features": feats, "h_prev": h_prev}
    outputs = {"h": h, "score": score, "logits": logits}
    if stats_head and "stats_head" in names:
        # The statistics head is stateless given the running statistics, which the
        # runtime keeps (pipan.action); its logits add to the attended logits there.
        stats = keras.Input((NUM_STATS,), batch_size=1, name="stats")
        inputs["stats"] = stats
        outputs["stats_logits"] = keras.layers.Identity(name="stats_logits")(
            model.get_layer("stats_head")(stats))
    return keras.Model(inputs, outputs, name="action_step")


def keras_step_fn(step: keras.Model):
    """A step function for :class:`pipan.action.StreamingAction` running the float Keras
    step model (tests and calibration use it; the Pi runs the TFLite form)."""
    def run(**inputs):
        out = step({k: np.asarray(v, np.float32) for k, v in inputs.items()}, training=False)
        return {k: np.asarray(v) for k, v in out.items()}
    run.input_names = tuple(t.name.split(":")[0] for t in step.inputs)  # type: ignore[attr-defined]
    return run


def streaming_from_model_dir(model_dir: Union[str, Path], decay: float = 1.0,
                             window=None):
    """A :class:`pipan.action.StreamingAction` over the float step model of a trained
    model directory (labels from its config.json)."""
    from pipan.action import StreamingAction

    model, config = load_model_dir(model_dir)
    step = step_from_sequence_model(model)
    return StreamingAction(keras_step_fn(step), config["labels"],
                           int(step.get_layer("h_prev").batch_shape[-1]), decay, window)


def step_model(model_dir: Union[str, Path]) -> keras.Model:
    """The deployable single-step Keras model of the trained model in ``model_dir``."""
    model, _ = load_model_dir(model_dir)
    return step_from_sequence_model(model)
