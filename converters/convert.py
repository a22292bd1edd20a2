"""Full-integer int8 conversion of pipan's Keras models, validated, with metadata.

``convert(model_dir, calibration, ...)`` reads a trained model directory (docs/design.md),
asks ``training`` for the deployable Keras model (the pose net at batch 1, or the action
model's single-step form), quantises it with a representative dataset drawn with a fixed
seed from the calibration data, refuses float ops and accuracy drops, measures it, embeds
pipan's metadata, and returns ``Conversion(model_bytes, report)``. It writes nothing.

The float reference is the same Keras model converted to float32 TFLite, run through the
same runtime code (``pipan.runtime.TFLiteModel``, ``pipan.action.StreamingAction``) as
the int8 model, so the comparison isolates quantisation.
"""
from __future__ import annotations

import contextlib
import json
import os
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

from pipan.action import StreamingAction
from pipan.decode import decode
from pipan.errors import ModelError, PipanError
from pipan.fileio import file_sha256  # noqa: F401  (re-exported: converters.convert.file_sha256)
from pipan.image import letterbox, to_net_input
from pipan.runtime import (HASH_PLACEHOLDER, MODEL_HASH_KEY, TFLiteModel, default_threads,
                           quantize, read_metadata_bytes, runtime_name, seal_model_bytes)
from pipan.skeleton import FEATURES, NUM_FEATURES, NUM_JOINTS, NUM_STATS

from training.provenance import portable_command, repo_relative

from . import calibration as cal
from .calibration import stream_step_inputs
from .fixups import add_zero_biases
from .metadata import embed_metadata, float_ops, list_ops, summarise_ops
from .ranges import clip_ranges
from training.pose.metrics import pck_counts

PathLike = Union[str, os.PathLike]
KINDS = ("pose", "action")
IO_TYPES = ("float", "int8")
#: The runtime (pipan.runtime.TFLiteModel) feeds and reads float arrays whatever the model's
#: I/O type; with float I/O the boundary (de)quantisation runs inside the interpreter
#: instead of in numpy, which measured faster for both models (tiny pose net 1.41 vs
#: 2.17 ms, JHMDB action step 0.041 vs 0.096 ms per call, 1 thread, same accuracy;
#: benchmarks/convert_report.py at commit 229ec98).
DEFAULT_IO = "float"
METADATA_FORMAT = 1

#: Calibration samples (pose: images; action: frames) and held-out evaluation items
#: (pose: images; action: clips) when not given.
DEFAULT_SAMPLES = {"pose": 100, "action": 2000}
MAX_CALIBRATION_FRAMES = 50_000  # action: frames streamed to draw the samples from
DEFAULT_EVAL = {"pose": 50, "action": 200}
#: Activation ranges: the percentile of the calibration samples' extremes (100 = min/max).
#: Action: chosen on float/int8 agreement over training clips (docs/action.md, "Activation ranges");
#: pose: not measured, min/max as before.
DEFAULT_RANGE_PERCENTILE = {"pose": 100.0, "action": 95.0}
#: A heatmap peak below this is background for the map-level pose agreement.
PEAK_THRESHOLD = 0.1
#: PCK: a keypoint is correct within this fraction of the person's box's longer side.
PCK_ALPHA = 0.2


class ConversionError(PipanError):
    """The model cannot be converted as asked (float ops, accuracy drop, bad model)."""


def range_percentile_for(kind: str, value: Optional[float] = None) -> float:
    """The activation-range percentile to convert a ``kind`` model with: ``value``, or the
    kind's default (DEFAULT_RANGE_PERCENTILE); ConversionError outside (50, 100]."""
    p = DEFAULT_RANGE_PERCENTILE[kind] if value is None else float(value)
    if not 50.0 < p <= 100.0:
        raise ConversionError(f"range percentile must be in (50, 100], got {p}")
    return p


@dataclass(frozen=True)
class Conversion:
    """What ``convert`` produced: the TFLite model's bytes and its validation report."""

    model_bytes: bytes
    report: Dict[str, Any]


# --- the trained model directory -------------------------------------------------------

def read_config(model_dir: PathLike) -> Dict[str, Any]:
    """``model_dir/config.json``; ModelError if absent, unreadable or of no known kind."""
    d = Path(model_dir)
    if not d.is_dir():
        raise ModelError(f"{d}: no such model directory (expected a folder with "
                         f"model.keras and config.json written by `python -m training`)")
    path = d / "config.json"
    try:
        config = json.loads(path.read_text())
    except FileNotFoundError:
        raise ModelError(f"{d}: not a pipan model directory (no config.json)") from None
    except (OSError, ValueError) as e:
        raise ModelError(f"{path}: unreadable ({e})") from None
    if not isinstance(config, dict) or config.get("kind") not in KINDS:
        raise ModelError(f"{path}: 'kind' must be one of {', '.join(KINDS)}, "
                         f"got {config.get('kind') if isinstance(config, dict) else config!r}")
    return config


def deployable_model(model_dir: PathLike, kind: str, stages: Optional[int] = None):
    """The Keras model to convert, from the training package's exporters (imported here:
    they load Keras)."""
    if kind == "pose":
        from training.pose.export import inference_model
        return inference_model(model_dir, stages=stages)
    if stages is not None:
        raise ConversionError("--stages applies to pose models only")
    from training.action.export import step_model
    return step_model(model_dir)


# --- the Keras model's contract -----------------------------------------------------------

def _named_io(model):
    """``model`` with dict inputs and outputs keyed by name, so TFLite's signature keeps
    the names of docs/design.md whatever structure the builder used."""
    import keras
    ins = {t.name.split(":")[0]: t for t in model.inputs}
    outs = dict(zip(model.output_names, model.outputs))
    return keras.Model(ins, outs, name=model.name)


def _check_contract(model, kind: str) -> Dict[str, Any]:
    """Shapes the converted model must have (docs/design.md); returns what they imply."""
    ins = {t.name.split(":")[0]: tuple(t.shape) for t in model.inputs}
    outs = {n: tuple(t.shape) for n, t in zip(model.output_names, model.outputs)}

    def need(cond: bool, what: str) -> None:
        if not cond:
            raise ModelError(f"the {kind} model does not match the contract: {what} "
                             f"(inputs {ins}, outputs {outs})")
    if kind == "pose":
        need(set(ins) == {"image"}, "one input named 'image'")
        need(set(outs) == {"heatmaps", "pafs"}, "outputs named 'heatmaps' and 'pafs'")
        _, S, S2, ch = ins["image"]
        need(ins["image"][0] == 1 and S == S2 and ch == 3, "image of shape (1, S, S, 3)")
        need(outs["heatmaps"][-1] == NUM_JOINTS + 1, "heatmaps with 19 channels")
        need(outs["pafs"][-1] == 38, "pafs with 38 channels")
        return {"input_size": int(S)}
    stats = "stats" in ins
    need(set(ins) - {"stats"} == {"features", "h_prev"},
         "inputs named 'features' and 'h_prev' (and optionally 'stats')")
    need(set(outs) == {"h", "score", "logits"} | ({"stats_logits"} if stats else set()),
         "outputs named 'h', 'score' and 'logits' (and 'stats_logits' with input 'stats')")
    if stats:
        need(ins["stats"] == (1, NUM_STATS) and outs["stats_logits"] == outs["logits"],
             f"stats of shape (1, {NUM_STATS}) and stats_logits shaped like logits")
    need(ins["features"] == (1, NUM_JOINTS, NUM_FEATURES), "features of shape (1, 18, 5)")
    H = ins["h_prev"][-1]
    need(ins["h_prev"] == (1, H) and outs["h"] == (1, H), "h_prev and h of shape (1, H)")
    need(outs["score"] == (1, 1), "score of shape (1, 1)")
    return {"state_size": int(H), "num_classes": int(outs["logits"][-1])}


# --- TFLite conversion ----------------------------------------------------------------------

#: Python warnings TensorFlow's converter gives on every conversion, about its own
#: internals: Keras, when the converter traces a model with named inputs from a list; the
#: int8-I/O path, which asks for input statistics a full-int8 model takes from its
#: representative dataset; its calibrator, which runs the interpreter TensorFlow deprecates.
CONVERTER_WARNINGS = (
    r"The structure of `inputs` doesn't match the expected structure",
    r"Statistics for quantized inputs were expected, but not specified",
    r"\s*Warning\W+tf\.lite\.Interpreter is deprecated",
)


@contextlib.contextmanager
def _quiet() -> Iterator[List[str]]:
    """Silence TensorFlow's converter chatter (C++ logs on fd 2, Python prints, the
    warnings of CONVERTER_WARNINGS); the text is kept in the yielded list for error
    messages."""
    kept: List[str] = []
    sys.stdout.flush()
    sys.stderr.flush()
    with tempfile.TemporaryFile("w+") as tmp, warnings.catch_warnings():
        for message in CONVERTER_WARNINGS:
            warnings.filterwarnings("ignore", message=message, category=UserWarning)
        saved = []
        try:
            for fd in (1, 2):
                try:
                    saved.append((fd, os.dup(fd)))
                    os.dup2(tmp.fileno(), fd)
                except OSError:
                    pass
            with contextlib.redirect_stdout(tmp), contextlib.redirect_stderr(tmp):
                yield kept
        finally:
            tmp.flush()
            for fd, old in saved:
                os.dup2(old, fd)
                os.close(old)
            tmp.seek(0)
            kept.extend(tmp.read().splitlines())


def _converter(model):
    import tensorflow as tf
    return tf.lite.TFLiteConverter.from_keras_model(model), tf


def float_tflite(model) -> bytes:
    """``model`` as float32 TFLite (the reference the int8 model is compared against)."""
    with _quiet():
        conv, _ = _converter(model)
        return bytes(conv.convert())


def int8_tflite(model, representative: Callable[[], Iterator[Dict[str, np.ndarray]]],
                io: str = DEFAULT_IO, allow_float_ops: bool = False,
                range_percentile: float = 100.0) -> Tuple[bytes, list]:
    """Full-integer quantisation: int8 weights and activations, ``io`` int8 or float.

    Returns (model bytes, ops left in float). Ops with no int8 kernel make the converter
    either fail or leave them in float; either way they are listed, and unless
    ``allow_float_ops`` a ConversionError names them. Every int8 FULLY_CONNECTED the
    converter left without a bias gets an explicit zero one (``fixups.add_zero_biases``:
    without it tflite-runtime 2.14 on armv7 crashes; same numbers elsewhere).
    ``range_percentile`` < 100 sets each activation's int8 range from that percentile of
    the calibration samples' extremes instead of their min and max (``ranges.py``).
    """
    if io not in IO_TYPES:
        raise ConversionError(f"io must be one of {', '.join(IO_TYPES)}, got {io!r}")
    if not 50.0 < range_percentile <= 100.0:
        raise ConversionError(f"range_percentile must be in (50, 100], got {range_percentile}")

    def run(ops_sets: list) -> bytes:
        with _quiet() as log:
            conv, tf = _converter(model)
            conv.optimizations = [tf.lite.Optimize.DEFAULT]
            conv.representative_dataset = representative
            conv.target_spec.supported_ops = [getattr(tf.lite.OpsSet, s) for s in ops_sets]
            if io == "int8":
                conv.inference_input_type = tf.int8
                conv.inference_output_type = tf.int8
            try:
                if range_percentile == 100.0:
                    return bytes(conv.convert())
                # Calibrate only, narrow the ranges, then quantise as convert() would.
                conv._experimental_calibrate_only = True
                calibrated, _ = clip_ranges(bytes(conv.convert()), representative(),
                                            range_percentile)
                from tensorflow.lite.python import convert as tf_convert
                io_type = tf.int8 if io == "int8" else tf.float32
                return bytes(tf_convert.mlir_quantize(calibrated, input_data_type=io_type,
                                                      output_data_type=io_type))
            except Exception as e:  # the converter raises ConverterError and others
                msg = str(e).strip().splitlines() or log[-1:] or [type(e).__name__]
                raise ConversionError(f"TFLite conversion failed: {msg[0][:300]}") from None

    try:
        data = run(["TFLITE_BUILTINS_INT8"])
    except ConversionError as first:
        # Some ops have no int8 kernel; a conversion that may keep float ops names them.
        try:
            data = run(["TFLITE_BUILTINS_INT8", "TFLITE_BUILTINS"])
        except ConversionError:
            raise first from None
        if not float_ops(data):
            raise first from None
    data, _ = add_zero_biases(data)
    left = float_ops(data)
    if left and not allow_float_ops:
        names = ", ".join(f"{k} x{v}" for k, v in summarise_ops(left).items())
        raise ConversionError(f"ops left in float (no int8 kernel): {names}; "
                              f"pass --allow-float-ops to accept a partly float model")
    return data, left


# --- validation helpers -----------------------------------------------------------------------

def median_latency_ms(model: TFLiteModel, inputs: Mapping[str, np.ndarray], runs: int,
                      warmup: int = 3, invoke_only: bool = False) -> float:
    """Median wall time (ms) of one call after ``warmup``: through the runtime wrapper
    (float in and out, as pipan runs it), or with ``invoke_only`` the interpreter alone on
    inputs already in the model's types."""
    if invoke_only:
        feed = {k: quantize(v, model.input_details[k]) for k, v in inputs.items()}
        call = lambda: model.runner(**feed)  # noqa: E731
    else:
        call = lambda: model(**inputs)  # noqa: E731
    for _ in range(warmup):
        call()
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        call()
        times.append(time.perf_counter() - t0)
    return float(np.median(times) * 1e3)


def _pct(x: float) -> float:
    return round(100.0 * float(x), 2)


def _sig(x: float) -> float:
    """``x`` to 4 significant digits (differences span many orders of magnitude)."""
    return float(f"{float(x):.4g}")


# --- pose ---------------------------------------------------------------------------------------

def _pose_inputs(samples: Sequence[cal.ImageSample], size: int):
    """Letterboxed net inputs (1, S, S, 3) in [0, 1] and their Letterbox mappings."""
    out = []
    for s in samples:
        rgb, lb = letterbox(s.read(), size)
        out.append((to_net_input(rgb)[None], lb))
    return out


def _peak_cells(hm: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Per joint channel of heatmaps (h, w, C): the peak's (row, col) (C, 2) and value (C,)."""
    h, w, C = hm.shape
    flat = hm.reshape(-1, C)
    idx = flat.argmax(0)
    return np.stack([idx // w, idx % w], 1), flat.max(0)




def _validate_pose(ref: TFLiteModel, q: TFLiteModel, items,
                   truth: Optional[list]) -> Dict[str, Any]:
    """Float vs int8 on held-out images: map agreement, and the decoded people (mean
    keypoint shift, PCK against ground truth if any, else against float)."""
    hm_err, paf_err, agree, peaks = [], [], 0, 0
    shifts: List[float] = []
    pck = {"float": [0, 0], "int8": [0, 0]}
    for k, (x, lb) in enumerate(items):
        of, oq = ref(image=x), q(image=x)
        hf, hq = of["heatmaps"][0], oq["heatmaps"][0]
        hm_err.append(np.abs(hf - hq)[..., :NUM_JOINTS].mean())
        paf_err.append(np.abs(of["pafs"][0] - oq["pafs"][0]).mean())
        cf, vf = _peak_cells(hf[..., :NUM_JOINTS])
        cq, _ = _peak_cells(hq[..., :NUM_JOINTS])
        strong = vf >= PEAK_THRESHOLD
        peaks += int(strong.sum())
        agree += int((np.abs(cf - cq).max(1) <= 1)[strong].sum())
        people_f = [p.keypoints for p in decode(hf, of["pafs"][0])]
        people_q = [p.keypoints for p in decode(hq, oq["pafs"][0])]
        # Keypoint shift: int8 people matched to float people, in net-input pixels.
        for pf in people_f:
            best = None
            for pq in people_q:
                both = (pf[:, 2] > 0) & (pq[:, 2] > 0)
                if both.any():
                    d = np.linalg.norm(pf[both, :2] - pq[both, :2], axis=1)
                    if best is None or d.mean() < best.mean():
                        best = d
            if best is not None:
                shifts.extend(best.tolist())
        if truth is not None:
            gt = truth[k].copy()
            gt[..., :2] = lb.to_net(gt[..., :2])
        else:  # no annotations: the float model's people are the reference
            gt = np.stack(people_f) if people_f else np.zeros((0, NUM_JOINTS, 3), np.float32)
        for name, ppl in (("float", people_f), ("int8", people_q)):
            c, t = pck_counts(gt, ppl, PCK_ALPHA)
            pck[name][0] += c
            pck[name][1] += t
    out: Dict[str, Any] = {
        "images": len(items),
        "heatmap_mean_abs_diff": _sig(np.mean(hm_err)),
        "paf_mean_abs_diff": _sig(np.mean(paf_err)),
        "strong_peaks": peaks,
        "peak_agreement_pct": _pct(agree / peaks) if peaks else None,
        "decoded": True,
    }
    out["keypoint_shift_px"] = round(float(np.mean(shifts)), 3) if shifts else None
    out["pck_reference"] = "ground truth" if truth is not None else "float model"
    out["pck_alpha"] = PCK_ALPHA
    for name in ("float", "int8"):
        c, t = pck[name]
        out[f"pck_{name}"] = _pct(c / t) if t else None
    out["pck_keypoints"] = pck["float"][1]
    out["_accuracy"] = ("PCK", out["pck_float"], out["pck_int8"])
    return out


# --- action ------------------------------------------------------------------------------------

def _validate_action(ref: TFLiteModel, q: TFLiteModel, clips: Sequence[np.ndarray],
                     labels: Sequence[str], clip_labels: Sequence[str],
                     H: int) -> Dict[str, Any]:
    """Stream held-out clips through both models with the runtime's own streaming logic
    (``pipan.action.StreamingAction``): top-1 agreement per frame and at each clip's end,
    and clip accuracy (the prediction after the last frame) of both."""

    sf, sq = StreamingAction(ref, labels, H), StreamingAction(q, labels, H)
    frames = frame_agree = clip_agree = 0
    correct = {"float": 0, "int8": 0}
    known = 0
    max_prob_diff = 0.0
    for clip, label in zip(clips, clip_labels):
        pf, pq = sf.run_clip(clip), sq.run_clip(clip)
        tf_, tq = pf.argmax(1), pq.argmax(1)
        frames += len(tf_)
        frame_agree += int((tf_ == tq).sum())
        clip_agree += int(tf_[-1] == tq[-1])
        max_prob_diff = max(max_prob_diff, float(np.abs(pf - pq).max()))
        if label in labels:
            known += 1
            correct["float"] += int(labels[tf_[-1]] == label)
            correct["int8"] += int(labels[tq[-1]] == label)
    out: Dict[str, Any] = {
        "clips": len(clips),
        "frames": frames,
        "top1_agreement_frames_pct": _pct(frame_agree / frames),
        "top1_agreement_clips_pct": _pct(clip_agree / len(clips)),
        "max_prob_diff": _sig(max_prob_diff),
        "labelled_clips": known,
        "accuracy_float_pct": _pct(correct["float"] / known) if known else None,
        "accuracy_int8_pct": _pct(correct["int8"] / known) if known else None,
    }
    out["_accuracy"] = ("clip top-1 accuracy", out["accuracy_float_pct"],
                        out["accuracy_int8_pct"])
    return out


# --- the conversion -------------------------------------------------------------------------

def build_metadata(kind: str, config: Mapping[str, Any], info: Mapping[str, Any], *,
                   stages: Optional[int], sha256: Optional[str], io: str) -> Dict[str, Any]:
    """pipan's metadata for the converted model (docs/design.md keys)."""
    builder = config.get("builder") or {}
    epoch = os.environ.get("SOURCE_DATE_EPOCH")  # reproducible builds fix the date
    created = datetime.fromtimestamp(int(epoch), timezone.utc) if epoch else \
        datetime.now(timezone.utc)
    meta = {
        "kind": kind,
        "format": METADATA_FORMAT,
        "labels": [str(s) for s in config.get("labels", [])] if kind == "action" else None,
        "layout": config.get("layout", "coco18"),
        "input_size": info.get("input_size") if kind == "pose" else None,
        "input_normalisation": "rgb/255" if kind == "pose" else None,
        "stages": (stages if stages is not None else builder.get("stages"))
        if kind == "pose" else None,
        "state_size": info.get("state_size") if kind == "action" else None,
        "features": list(config.get("features", FEATURES)) if kind == "action" else None,
        # as training recorded them (training.provenance), paths inside the checkout made
        # relative to its root: what reproduces the model from a clean clone
        "command": portable_command(config.get("command")),
        "commit": config.get("commit"),
        "sha256": sha256,
        # The TFLite file's own SHA-256, filled in by seal_model_bytes once embedded.
        MODEL_HASH_KEY: HASH_PLACEHOLDER,
        "created": created.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "io": io,
        "quantization": "int8",
    }
    return meta


def convert(model_dir: PathLike, calibration: PathLike, *, io: str = DEFAULT_IO,
            allow_float_ops: bool = False, max_drop: float = 2.0, force: bool = False,
            samples: Optional[int] = None, eval_samples: Optional[int] = None, seed: int = 0,
            stages: Optional[int] = None, threads: Optional[int] = None,
            latency_runs: Optional[int] = None,
            range_percentile: Optional[float] = None) -> Conversion:
    """Convert the trained model in ``model_dir`` to a validated int8 TFLite model.

    ``calibration``: images / a COCO keypoints JSON (pose) or a skeleton dataset (action).
    ``io``: the model's input/output tensor type, "float" (default: what the runtime
    feeds; the interpreter (de)quantises at the boundary) or "int8" (every op int8 either
    way). ``max_drop``: the most accuracy (percentage points) int8 may lose against
    float before ConversionError (unless ``force``). ``samples``: calibration samples
    (pose images, action frames); ``eval_samples``: held-out images or clips; ``seed``
    draws both. ``stages``: pose stages to keep (default: the exporter's).
    ``range_percentile``: activation ranges from that percentile of the calibration
    samples' extremes (``ranges.py``; default per kind, DEFAULT_RANGE_PERCENTILE).
    """
    config = read_config(model_dir)
    kind = config["kind"]
    keras_path = Path(model_dir) / "model.keras"
    if not keras_path.is_file():
        raise ModelError(f"{model_dir}: no model.keras")
    # Check the calibration data's kind before the (slow) model loading.
    _load_calibration(kind, calibration)
    with _quiet():  # Keras/TensorFlow start-up chatter
        model = deployable_model(model_dir, kind, stages)
    return convert_keras(model, config, calibration, sha256=file_sha256(keras_path), io=io,
                         allow_float_ops=allow_float_ops, max_drop=max_drop, force=force,
                         samples=samples, eval_samples=eval_samples, seed=seed,
                         stages=stages, threads=threads, latency_runs=latency_runs,
                         range_percentile=range_percentile)


def _load_calibration(kind: str, calibration: PathLike):
    return cal.load_images(calibration) if kind == "pose" else cal.load_skeletons(calibration)


def convert_keras(model, config: Mapping[str, Any], calibration: PathLike, *,
                  sha256: Optional[str] = None, io: str = DEFAULT_IO,
                  allow_float_ops: bool = False, max_drop: float = 2.0, force: bool = False,
                  samples: Optional[int] = None, eval_samples: Optional[int] = None,
                  seed: int = 0, stages: Optional[int] = None, threads: Optional[int] = None,
                  latency_runs: Optional[int] = None,
                  range_percentile: Optional[float] = None) -> Conversion:
    """The conversion proper, for a deployable Keras ``model`` and its ``config`` (the
    model directory's config.json). See ``convert``."""
    kind = config.get("kind")
    if kind not in KINDS:
        raise ModelError(f"config 'kind' must be one of {', '.join(KINDS)}, got {kind!r}")
    if io not in IO_TYPES:
        raise ConversionError(f"io must be one of {', '.join(IO_TYPES)}, got {io!r}")
    if max_drop < 0:
        raise ConversionError(f"max_drop must be >= 0 points, got {max_drop}")
    samples = samples or DEFAULT_SAMPLES[kind]
    range_percentile = range_percentile_for(kind, range_percentile)
    eval_samples = eval_samples or DEFAULT_EVAL[kind]
    threads = threads or default_threads()
    data = _load_calibration(kind, calibration)
    model = _named_io(model)
    info = _check_contract(model, kind)
    if kind == "action":
        labels = [str(s) for s in config.get("labels") or []]
        if len(labels) != info["num_classes"]:
            raise ModelError(f"config.json names {len(labels)} labels but the model gives "
                             f"{info['num_classes']} classes")
    meta = build_metadata(kind, config, info, stages=stages, sha256=sha256, io=io)
    float_bytes = seal_model_bytes(embed_metadata(float_tflite(model),
                                                  dict(meta, quantization="float32")))
    with _quiet():  # LiteRT announces its XNNPACK delegate once per process
        ref = TFLiteModel(float_bytes, threads=threads, expected_kind=kind)

    if kind == "pose":
        S = info["input_size"]
        calib_idx, eval_idx, disjoint = cal.split(len(data), samples, eval_samples, seed)
        # The first held-out image also times the models and checks float TFLite = Keras.
        calib = [x for x, _ in _pose_inputs([data[i] for i in calib_idx], S)]
        evals = _pose_inputs([data[i] for i in eval_idx], S)
        truth = [data[i].people for i in eval_idx]
        truth = truth if all(t is not None for t in truth) else None
        rep_samples = [{"image": x} for x in calib]
        probe = {"image": evals[0][0]}
    else:
        H = info["state_size"]
        n_clips = len(data)
        if data.test is not None and data.test.any() and not data.test.all():
            pool = np.flatnonzero(data.test == 0)
            held = np.flatnonzero(data.test == 1)
            rng = np.random.default_rng(seed)
            calib_clips = rng.permutation(pool)
            eval_idx = np.sort(rng.permutation(held)[:eval_samples])
            disjoint = True
        else:
            calib_clips, eval_idx, disjoint = cal.split(n_clips, n_clips, eval_samples, seed)
        # Every calibration clip is streamed (the float step model is cheap), up to
        # MAX_CALIBRATION_FRAMES, and the samples drawn from all their frames. Measured on
        # JHMDB (benchmarks/convert_report.py at commit 229ec98; a 20-epoch model with
        # unbounded features): 500 samples from the first ~2,000 frames lost 7.4 points of accuracy;
        # 2,000 from all 15k frames 2.3-4.5 (seeds 0-2); 5,000 or 15,000 no better. With
        # the bounded features (30 epochs) 2,000 samples lose 0.6-2.3 points.
        steps: List[Dict[str, np.ndarray]] = []
        for c in calib_clips:
            steps.extend(stream_step_inputs(ref, data.clip(int(c)), H))
            if len(steps) >= MAX_CALIBRATION_FRAMES:
                break
        pick = np.sort(np.random.default_rng(seed + 1).permutation(len(steps))[:samples])
        rep_samples = [steps[i] for i in pick]
        probe = rep_samples[0]

    def representative():
        for s in rep_samples:
            yield dict(s)

    qbytes, left = int8_tflite(model, representative, io=io, allow_float_ops=allow_float_ops,
                               range_percentile=range_percentile)
    qbytes = seal_model_bytes(embed_metadata(qbytes, meta))
    meta = read_metadata_bytes(qbytes)
    q = TFLiteModel(qbytes, threads=threads, expected_kind=kind)
    try:  # LiteRT prepares its delegate on the first call: a broken model fails here
        q(**probe)
    except Exception as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise ConversionError(f"the int8 model does not run in {runtime_name()} ({first}); "
                              f"often a tensor that is constant (e.g. dead channels) "
                              f"quantised with a degenerate scale") from None

    keras_out = model({k: v for k, v in probe.items()}, training=False)
    ref_out = ref(**probe)
    keras_gap = max(float(np.abs(np.asarray(keras_out[k]) - ref_out[k]).max()) for k in ref_out)

    if kind == "pose":
        validation = _validate_pose(ref, q, evals, truth)
    else:
        validation = _validate_action(ref, q, [data.clip(int(i)) for i in eval_idx], labels,
                                      [str(data.labels[int(i)]) for i in eval_idx], H)
    metric, acc_f, acc_q = validation.pop("_accuracy")
    drop = None if acc_f is None or acc_q is None else round(acc_f - acc_q, 2)
    passed = drop is None or drop <= max_drop

    runs = latency_runs or (20 if kind == "pose" else 200)
    report: Dict[str, Any] = {
        "kind": kind,
        "io": io,
        "size_bytes": {"int8": len(qbytes), "float32": len(float_bytes)},
        "ops": summarise_ops(list_ops(qbytes)),
        "float_ops": summarise_ops(left),
        "calibration": {
            "source": repo_relative(str(calibration)),
            "samples": int(len(rep_samples)),
            "held_out": int(len(eval_idx)),
            "disjoint": bool(disjoint),
            "seed": seed,
            "range_percentile": range_percentile,
        },
        "float_tflite_vs_keras_max_abs": _sig(keras_gap),
        "validation": validation,
        "accuracy": {
            "metric": metric, "float": acc_f, "int8": acc_q, "drop": drop,
            # unchecked: nothing to measure it on (no labelled clip, no peak, no person)
            "checked": drop is not None,
            "max_drop": max_drop, "passed": passed, "forced": bool(force and not passed),
        },
        "latency_ms": {
            "int8_median": round(median_latency_ms(q, probe, runs), 4),
            "float32_median": round(median_latency_ms(ref, probe, runs), 4),
            "int8_invoke_median": round(median_latency_ms(q, probe, runs, invoke_only=True), 4),
            "float32_invoke_median": round(
                median_latency_ms(ref, probe, runs, invoke_only=True), 4),
            "runs": runs,
            "threads": threads,
            "runtime": runtime_name(),
        },
        "metadata": meta,
    }
    if not passed and not force:
        raise ConversionError(
            f"int8 {metric} drops {drop:.2f} points ({acc_f:.2f} -> {acc_q:.2f}), more than "
            f"--max-drop {max_drop:g}; nothing written (--force writes it anyway)")
    return Conversion(qbytes, report)
