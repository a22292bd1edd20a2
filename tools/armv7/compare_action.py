"""Stream the same inputs through an action step model on two machines and compare.

Three stages, so that the emulated armv7 root needs only numpy, a TFLite runtime and the
checkout's ``pipan`` package (on PYTHONPATH):

  prepare DATASET INPUTS.npz [--clips N] [--random N] [--frames T] [--seed S]
      (host) the features (T, 18, 5) of N held-out test clips (``test == 1``, drawn with
      the seed) and N seeded random sequences, each cut to at most T frames.
  run MODEL INPUTS.npz OUT.npz [--teacher REF.npz]
      (either side) stream every sequence through ``pipan.runtime.TFLiteModel`` (the
      runtime's own path, whatever interpreter is installed: ai-edge-litert or
      tflite-runtime) from a zero state, as ``pipan.action`` does: logits, h and score per
      frame. With ``--teacher`` each step is instead fed the reference run's h_prev, so a
      per-step error cannot compound through the recurrent state.
  compare MODEL REF.npz OTHER.npz
      (host) per sequence: largest |logit| and |h| difference, also in int8 steps of the
      output tensors (read from the model), and top-1 agreement per frame and at the end.
  random MODEL OUT.npz [--n N] / diff MODEL REF.npz OTHER.npz
      any model (the pose net): seeded inputs in [0, 1), and the largest output
      differences in int8 steps.

Usage: docs/pi-check.md, "armv7".
"""
from __future__ import annotations

import argparse
import sys
from typing import Dict

import numpy as np


def prepare(args) -> None:
    from pipan.dataset import load
    from pipan.skeleton import clip_features
    data = load(args.dataset).to_coco18()
    rng = np.random.default_rng(args.seed)
    test = np.flatnonzero(data.test == 1) if data.test is not None else np.arange(len(data))
    picked = np.sort(rng.permutation(test)[:args.clips])
    out: Dict[str, np.ndarray] = {}
    for i in picked:
        feats = clip_features(data.clip(int(i)))[:args.frames].astype(np.float32)
        out[f"clip{int(i)}_{data.labels[int(i)]}"] = feats
    for k in range(args.random):
        T = args.frames
        out[f"random{k}"] = rng.normal(0, 1, (T, 18, 5)).astype(np.float32)
    np.savez(args.inputs, **out)
    print(f"{len(out)} sequences, {sum(len(v) for v in out.values())} frames ->", args.inputs)


def run(args) -> None:
    from pipan.runtime import TFLiteModel, runtime_name
    model = TFLiteModel(args.model, threads=1)
    H = model.input_shape("h_prev")[-1]
    teacher = np.load(args.teacher) if args.teacher else None
    res: Dict[str, np.ndarray] = {}
    with np.load(args.inputs) as z:
        for name in z.files:
            feats = z[name]
            h = np.zeros((1, H), np.float32)
            rows = {"logits": [], "h": [], "score": []}
            for t, f in enumerate(feats):
                if teacher is not None and t > 0:
                    h = teacher[f"{name}/h"][t - 1][None]
                out = model(features=f[None], h_prev=h)
                for k in rows:
                    rows[k].append(np.asarray(out[k], np.float32).reshape(-1))
                h = rows["h"][-1][None]
            for k, v in rows.items():
                res[f"{name}/{k}"] = np.stack(v)
    np.savez(args.out, **res)
    print(f"{runtime_name()}: {len(res) // 3} sequences ->", args.out)


def random_inputs(args) -> None:
    """Any model (e.g. the pose net): seeded float inputs in [0, 1) through TFLiteModel."""
    from pipan.runtime import TFLiteModel, runtime_name
    model = TFLiteModel(args.model, threads=1)
    rng = np.random.default_rng(args.seed)
    res: Dict[str, np.ndarray] = {}
    for case in range(args.n):
        feed = {k: rng.random(model.input_shape(k)).astype(np.float32)
                for k in model.input_names}
        for k, v in model(**feed).items():
            res[f"case{case}/{k}"] = np.asarray(v, np.float32)
    np.savez(args.out, **res)
    print(f"{runtime_name()}: {args.n} inputs ->", args.out)


def diff(args) -> None:
    """Per output of ``random_inputs`` runs: largest difference, in the output's int8 steps."""
    steps = _output_steps(args.model)
    a, b = np.load(args.ref), np.load(args.other)
    for k in sorted(steps):
        d = max(float(np.abs(a[n] - b[n]).max()) for n in a.files if n.endswith("/" + k))
        print(f"{k}: max diff {d:.4g} ({d / steps[k]:.1f} int8 steps) over "
              f"{sum(n.endswith('/' + k) for n in a.files)} inputs")


def _output_steps(model_path: str) -> Dict[str, float]:
    """The int8 step (scale) of each output of a float-I/O model: the scale of the tensor
    its DEQUANTIZE reads; an int8-I/O model's own output scale."""
    from pipan.runtime import interpreter_class
    it = interpreter_class()(model_path=model_path)
    tensors = {d["index"]: d for d in it.get_tensor_details()}
    ops = it._get_ops_details()  # noqa: SLF001 (no public op listing)
    sig = it.get_signature_list()
    name = next(iter(sig))
    out_idx = {k: v for k, v in it.get_signature_runner(name).get_output_details().items()}
    steps = {}
    for k, d in out_idx.items():
        scale = float(d["quantization_parameters"]["scales"][0]) \
            if len(d["quantization_parameters"]["scales"]) else 0.0
        if not scale:
            # Find the output tensor by name among the tensors, then its DEQUANTIZE input.
            target = next(i for i, t in tensors.items() if t["name"] == d["name"])
            for op in ops:
                if op["op_name"] == "DEQUANTIZE" and target in list(op["outputs"]):
                    src = tensors[int(op["inputs"][0])]
                    scale = float(src["quantization_parameters"]["scales"][0])
        steps[k] = scale
    return steps


def compare(args) -> None:
    steps = _output_steps(args.model)
    ref, other = np.load(args.ref), np.load(args.other)
    names = sorted({k.split("/")[0] for k in ref.files})
    print(f"int8 step of logits {steps['logits']:.4g}, h {steps['h']:.4g}, "
          f"score {steps['score']:.4g}")
    print(f"{'sequence':<28}{'frames':>7}{'logit diff':>12}{'(steps)':>9}{'h diff':>9}"
          f"{'(steps)':>9}{'top-1 frames':>14}{'end':>6}")
    worst = {"logits": 0.0, "h": 0.0}
    agree = frames = ends = 0
    all_dl, all_dh = [], []
    for n in names:
        dl = float(np.abs(ref[f"{n}/logits"] - other[f"{n}/logits"]).max())
        dh = float(np.abs(ref[f"{n}/h"] - other[f"{n}/h"]).max())
        worst["logits"], worst["h"] = max(worst["logits"], dl), max(worst["h"], dh)
        all_dl.append(np.abs(ref[f"{n}/logits"] - other[f"{n}/logits"]).ravel() / steps["logits"])
        all_dh.append(np.abs(ref[f"{n}/h"] - other[f"{n}/h"]).ravel() / steps["h"])
        a, b = ref[f"{n}/logits"].argmax(1), other[f"{n}/logits"].argmax(1)
        agree += int((a == b).sum())
        frames += len(a)
        ends += int(a[-1] == b[-1])
        print(f"{n:<28}{len(a):>7}{dl:>12.4f}{dl / steps['logits']:>9.1f}{dh:>9.4f}"
              f"{dh / steps['h']:>9.1f}{100 * (a == b).mean():>13.1f}%{'yes' if a[-1] == b[-1] else 'NO':>6}")
    print(f"ALL: {len(names)} sequences, {frames} frames; max logit diff "
          f"{worst['logits']:.4f} ({worst['logits'] / steps['logits']:.1f} steps), max h diff "
          f"{worst['h']:.4f} ({worst['h'] / steps['h']:.1f} steps); top-1 agreement "
          f"{100 * agree / frames:.1f}% of frames, {ends}/{len(names)} at the end")
    dl, dh = np.concatenate(all_dl), np.concatenate(all_dh)
    print(f"ALL: in int8 steps, logits mean {dl.mean():.2f}, 99th percentile "
          f"{np.percentile(dl, 99):.1f}, {100 * (dl <= 2.5).mean():.1f}% within 2; h mean "
          f"{dh.mean():.2f}, 99th percentile {np.percentile(dh, 99):.1f}, "
          f"{100 * (dh <= 2.5).mean():.1f}% within 2")


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    a = sub.add_parser("prepare")
    a.add_argument("dataset")
    a.add_argument("inputs")
    a.add_argument("--clips", type=int, default=4)
    a.add_argument("--random", type=int, default=2)
    a.add_argument("--frames", type=int, default=40)
    a.add_argument("--seed", type=int, default=0)
    a = sub.add_parser("run")
    a.add_argument("model")
    a.add_argument("inputs")
    a.add_argument("out")
    a.add_argument("--teacher")
    a = sub.add_parser("compare")
    a.add_argument("model")
    a.add_argument("ref")
    a.add_argument("other")
    a = sub.add_parser("random")
    a.add_argument("model")
    a.add_argument("out")
    a.add_argument("--n", type=int, default=2)
    a.add_argument("--seed", type=int, default=0)
    a = sub.add_parser("diff")
    a.add_argument("model")
    a.add_argument("ref")
    a.add_argument("other")
    args = p.parse_args(argv)
    {"prepare": prepare, "run": run, "compare": compare, "random": random_inputs,
     "diff": diff}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
