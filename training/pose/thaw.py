"""A trainable pose model directory rebuilt from a converted (int8) pose ``.tflite``.

Training runs live in git-ignored folders and are gone with the machine that made them;
the bundled ``pipan/models/pose.tflite`` is what stays. :func:`thaw` turns it back into a
model directory (``model.keras`` + ``config.json``) that ``python -m training pose train
--init`` fine-tunes, instead of repeating the hours of training that made it.

How. The converter folded each batch normalisation into the convolution before it and
stored the weights as int8 with one scale per output channel. Every convolution gets its
folded kernel back (dequantised: ``scale * (q - zero_point)``); the folded bias goes into
the batch normalisation after it, whose statistics are then set from the thawed net's own
activations on real images: with ``mean`` and ``var`` the per-channel statistics of the
convolution's output, ``moving_mean = mean``, ``moving_var = var``, ``gamma = sqrt(var +
eps)`` and ``beta = bias + mean`` compute exactly ``conv + bias`` at inference, and about
the same in training, where a batch's own statistics replace the moving ones. Without that
the first training step would normalise every layer afresh and undo the trained net.

The net's layout (stages, widths, depth) is read from the tensors' names and shapes; the
tensors' names carry the Keras layer names the converter saw. The result differs from the
float net that was converted by the int8 rounding of its weights (about 0.4% of each
channel's largest weight): :func:`thaw` reports how far its maps are from the int8 model's.
"""
from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Sequence, Union

import numpy as np

from pipan.errors import PipanError

PathLike = Union[str, os.PathLike]

#: A layer name inside a tensor name: "pose_net_1/conv2_dw_1/depthwise" -> "conv2_dw_1",
#: which is the layer "conv2_dw" with the suffix TensorFlow adds to names it saw before
#: (``_SUFFIX``; no convolution of the pose net has a name ending in "_<digits>").
_LAYER = re.compile(r"/([A-Za-z0-9_]+)/(?:convolution|depthwise)")
_SUFFIX = re.compile(r"_\d+$")
#: ``build_pose_net``'s stem width, which training's builder options leave at this default
STEM_FILTERS = 24
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp")


class ThawError(PipanError):
    """A .tflite that is not a pipan pose net this code can rebuild."""


@dataclass
class ConvWeights:
    """One convolution of the converted net: its folded kernel in Keras layout and bias."""
    kernel: np.ndarray
    bias: np.ndarray


def _dequantise(detail: dict, values: np.ndarray) -> np.ndarray:
    q = detail.get("quantization_parameters") or {}
    scales = np.asarray(q.get("scales", []), np.float64)
    if values.dtype == np.float32 or scales.size == 0:
        return values.astype(np.float32)
    zeros = np.asarray(q.get("zero_points", np.zeros_like(scales)), np.float64)
    axis = int(q.get("quantized_dimension", 0))
    shape = [1] * values.ndim
    if scales.size > 1:
        shape[axis] = scales.size
    return ((values.astype(np.float64) - zeros.reshape(shape)) *
            scales.reshape(shape)).astype(np.float32)


def read_convolutions(tflite_path: PathLike) -> Dict[str, ConvWeights]:
    """Every convolution of a converted pose net, by the Keras layer name it came from."""
    from pipan.runtime import interpreter_class
    try:
        it = interpreter_class()(model_path=str(tflite_path), num_threads=1)
        it.allocate_tensors()
    except (ValueError, RuntimeError) as e:
        raise ThawError(f"{tflite_path}: not a readable TFLite model ({e})") from None
    details = {d["index"]: d for d in it.get_tensor_details()}
    out: Dict[str, ConvWeights] = {}
    for op in it._get_ops_details():
        kind = op["op_name"]
        if kind not in ("CONV_2D", "DEPTHWISE_CONV_2D"):
            continue
        w_idx, b_idx = op["inputs"][1], op["inputs"][2] if len(op["inputs"]) > 2 else -1
        w_detail = details[w_idx]
        names = _LAYER.findall(w_detail["name"])
        if not names:
            raise ThawError(f"{tflite_path}: cannot tell which layer the tensor "
                            f"{w_detail['name']!r} belongs to")
        w = _dequantise(w_detail, it.get_tensor(w_idx))
        # CONV_2D (out, kh, kw, in) -> (kh, kw, in, out); DEPTHWISE (1, kh, kw, ch) ->
        # (kh, kw, ch, 1): the same transposition.
        kernel = np.transpose(w, (1, 2, 3, 0))
        channels = w.shape[0] if kind == "CONV_2D" else w.shape[3]
        bias = (_dequantise(details[b_idx], it.get_tensor(b_idx)) if b_idx >= 0
                else np.zeros(channels, np.float32))
        out[_SUFFIX.sub("", names[-1])] = ConvWeights(kernel=kernel, bias=bias.reshape(-1))
    if not out:
        raise ThawError(f"{tflite_path}: no convolutions (not a pose net)")
    return out


def infer_builder(convs: Dict[str, ConvWeights]) -> dict:
    """The ``build_pose_net`` options (stages, stage width and depth, backbone widths) of
    the converted net, from its convolutions' names and shapes."""
    widths = []
    for i in range(2, 13):
        if f"conv{i}_pw" not in convs:
            raise ThawError(f"no backbone layer conv{i}_pw: not a pipan pose net")
        widths.append(int(convs[f"conv{i}_pw"].kernel.shape[-1]))
    stages = 0
    while f"stage{stages + 1}_S_out_pw" in convs:
        stages += 1
    if stages == 0:
        raise ThawError("no stage1_S_out_pw layer: not a pipan pose net")
    depth = 0
    while f"stage1_S_{depth + 1}_pw" in convs:
        depth += 1
    width = int(convs["stage1_S_1_pw"].kernel.shape[-1]) if depth else 0
    builder = {"stages": stages, "stage_width": width, "stage_depth": depth,
               "backbone_widths": widths}
    if "conv1" not in convs:
        raise ThawError("no stem layer conv1: not a pipan pose net")
    stem = int(convs["conv1"].kernel.shape[-1])
    if stem != STEM_FILTERS:  # training's builder never sets it
        builder["stem_filters"] = stem
    return builder


def _image_paths(source: Path) -> list:
    """The images of a COCO keypoints source, or of a plain folder of images."""
    from .coco import CocoPoseData
    if source.is_dir() and not any(source.glob("*.json")):
        return sorted(p for p in source.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    return [item.path for item in CocoPoseData(source, require_people=False).items]


def _net_inputs(images: Sequence[PathLike], count: int, seed: int) -> np.ndarray:
    """Up to ``count`` letterboxed net inputs (N, 224, 224, 3) drawn from the images of
    COCO sources or image folders."""
    import cv2

    from pipan.image import letterbox, to_net_input

    paths = [p for source in images for p in _image_paths(Path(source))]
    rng = np.random.default_rng(seed)
    pick = np.sort(rng.permutation(len(paths))[:count])
    out = []
    for i in pick:
        frame = cv2.imread(str(paths[int(i)]), cv2.IMREAD_COLOR)
        if frame is None:
            continue
        rgb, _ = letterbox(frame)
        out.append(to_net_input(rgb))
    if not out:
        raise ThawError(f"no readable images in {', '.join(map(str, images))}")
    return np.stack(out).astype(np.float32)


def thaw(tflite_path: PathLike, images: Sequence[PathLike], out: PathLike, *,
         count: int = 64, seed: int = 0, command: str = "") -> dict:
    """Write ``out/model.keras`` and ``out/config.json``: the converted pose net at
    ``tflite_path`` as a trainable Keras model, its batch normalisations' statistics from
    ``count`` images of the COCO sources ``images`` (drawn with ``seed``). Returns the config,
    whose ``thawed`` entry gives the mean and largest difference of the maps from the int8
    model's on those images."""
    import keras

    from pipan.fileio import atomic_path, atomic_write_text, file_sha256
    from pipan.runtime import TFLiteModel

    from .model import build_pose_net

    convs = read_convolutions(tflite_path)
    builder = infer_builder(convs)
    model = build_pose_net(**builder)
    layers = {layer.name: layer for layer in model.layers}
    wanted = [n for n, layer in layers.items()
              if isinstance(layer, (keras.layers.Conv2D, keras.layers.DepthwiseConv2D))]
    missing = [n for n in wanted if n not in convs]
    if missing:
        raise ThawError(f"{tflite_path}: no weights for {', '.join(missing[:4])} "
                        f"(not this code's pose net)")
    followers: Dict[str, str] = {}
    for name in wanted:
        layer = layers[name]
        w = convs[name]
        if tuple(layer.kernel.shape) != w.kernel.shape:
            raise ThawError(f"{tflite_path}: {name} has shape {w.kernel.shape}, this code "
                            f"builds {tuple(layer.kernel.shape)}")
        bn = f"{name}_bn"
        if layer.use_bias:
            layer.set_weights([w.kernel, w.bias])
        elif bn in layers:
            layer.set_weights([w.kernel])
            followers[name] = bn
        else:
            raise ThawError(f"{name}: no bias and no batch normalisation after it")

    x = _net_inputs(images, count, seed)
    # Every BN first computes x + bias at inference (mean 0, variance 1, gamma sqrt(1 +
    # eps)): the thawed net, whose convolutions' outputs one pass then measures.
    for name, bn_name in followers.items():
        bn = layers[bn_name]
        bias = convs[name].bias
        bn.set_weights([np.full_like(bias, np.sqrt(1.0 + float(bn.epsilon))), bias,
                        np.zeros_like(bias), np.ones_like(bias)])
    probe = keras.Model(model.input, [layers[n].output for n in followers])
    outs = probe.predict(x, batch_size=16, verbose=0)
    if not isinstance(outs, list):
        outs = [outs]
    for (name, bn_name), y in zip(followers.items(), outs):
        bn = layers[bn_name]
        flat = y.reshape(-1, y.shape[-1])
        mean, var = flat.mean(0), flat.var(0)
        bias = convs[name].bias
        bn.set_weights([np.sqrt(var + float(bn.epsilon)).astype(np.float32),
                        (bias + mean).astype(np.float32),
                        mean.astype(np.float32), var.astype(np.float32)])

    # How far the thawed maps are from the int8 model's, on the same images.
    q = TFLiteModel(tflite_path, threads=1)
    ref_h, ref_p = [], []
    preds = model.predict(x, batch_size=16, verbose=0)
    for i in range(len(x)):
        r = q(image=x[i:i + 1])
        ref_h.append(r["heatmaps"][0])
        ref_p.append(r["pafs"][0])
    dh = np.abs(np.stack(ref_h) - preds[-2])
    dp = np.abs(np.stack(ref_p) - preds[-1])

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    with atomic_path(out / "model.keras") as tmp:
        model.save(tmp)
    config = {"kind": "pose", "builder": builder, "layout": "coco18", "input_size": 224,
              "seed": seed, "command": command, "init": None,
              "thawed": {"from": str(tflite_path), "sha256": file_sha256(tflite_path),
                         "images": int(len(x)), "sources": [str(s) for s in images],
                         "heatmap_mean_abs_diff": round(float(dh.mean()), 5),
                         "heatmap_max_abs_diff": round(float(dh.max()), 4),
                         "paf_mean_abs_diff": round(float(dp.mean()), 5),
                         "paf_max_abs_diff": round(float(dp.max()), 4)}}
    atomic_write_text(out / "config.json", json.dumps(config, indent=2))
    return config
