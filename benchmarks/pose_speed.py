"""Speed of pipan's int8 pose net against BlazePose GHUM full, in the same process (LiteRT).

    python -m benchmarks.pose_speed [--model pipan/models/pose.tflite]
        [--reference ../shared/models/blazepose/pose_landmark_full.tflite] [--runs 50]

Prints, at 1 and 2 interpreter threads, the median time per frame of each network
(interpreter invoke only, inputs already prepared), their ratio, and separately the median
time of pipan's decoding (peaks + PAF grouping) on the model's own output for a real frame
(the JHMDB clip's first frame when ../shared is present, else a blank frame). pipan's net
finds every person in one pass; BlazePose's landmark model handles one person per call (it
also needs its detector), so the ratio favours BlazePose when several people are present.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

from .common import ROOT


def time_interpreter(path: Path, threads: int, runs: int, warmup: int = 5) -> float:
    """Median seconds of one invoke of a TFLite model (random input of its own type)."""
    from pipan.runtime import interpreter_class
    it = interpreter_class()(model_path=str(path), num_threads=threads)
    it.allocate_tensors()
    rng = np.random.default_rng(0)
    for d in it.get_input_details():
        dtype = np.dtype(d["dtype"])
        if dtype.kind == "f":
            x = rng.random(d["shape"], dtype=np.float32).astype(dtype)
        else:
            info = np.iinfo(dtype)
            x = rng.integers(info.min, info.max, d["shape"], endpoint=True).astype(dtype)
        it.set_tensor(d["index"], x)
    for _ in range(warmup):
        it.invoke()
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        it.invoke()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def time_decode(model: Path, runs: int) -> tuple:
    """(median decode seconds, people found) on the model's maps of a real frame."""
    import cv2

    from pipan.decode import decode
    from pipan.image import letterbox, to_net_input
    from pipan.runtime import TFLiteModel
    frame_path = ROOT.parent / "shared" / "data" / "jhmdb-clip" / "frames" / "00001.png"
    frame = cv2.imread(str(frame_path)) if frame_path.is_file() else None
    if frame is None:
        frame = np.zeros((240, 320, 3), np.uint8)
    net = TFLiteModel(model, threads=1)
    rgb, _ = letterbox(frame)
    out = net(image=to_net_input(rgb)[None])
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        people = decode(out["heatmaps"], out["pafs"])
        times.append(time.perf_counter() - t)
    return statistics.median(times), len(people)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=str(ROOT / "pipan" / "models" / "pose.tflite"))
    ap.add_argument("--reference", default=str(
        ROOT.parent / "shared" / "models" / "blazepose" / "pose_landmark_full.tflite"))
    ap.add_argument("--runs", type=int, default=50)
    args = ap.parse_args()
    model, ref = Path(args.model), Path(args.reference)
    for p in (model, ref):
        if not p.is_file():
            sys.exit(f"Error: {p}: no such model")
    from pipan.runtime import runtime_name
    print(f"{runtime_name()}, median of {args.runs} runs per figure")
    print(f"pipan:     {model}")
    print(f"reference: {ref}")
    for threads in (1, 2):
        # interleave the two so that machine load hits both alike
        ours, theirs = [], []
        for _ in range(3):
            ours.append(time_interpreter(model, threads, args.runs // 3 + 1))
            theirs.append(time_interpreter(ref, threads, args.runs // 3 + 1))
        o, t = statistics.median(ours), statistics.median(theirs)
        print(f"{threads} thread(s): pipan {o * 1e3:.2f} ms/frame (all people), "
              f"BlazePose full {t * 1e3:.2f} ms/call (one person); ratio {o / t:.2f}")
    d, n = time_decode(model, args.runs)
    print(f"decode (numpy, on a real frame's maps, {n} people): {d * 1e3:.2f} ms/frame")


if __name__ == "__main__":
    main()
