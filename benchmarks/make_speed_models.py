"""Untrained stand-ins for pose.tflite and action.tflite, for timing the pipeline before
trained models exist (workstation only: needs TensorFlow).

The architecture and int8 form are those of the real models (the builders' default
hyperparameters, full-integer quantisation, pipan metadata), only the weights are the seeded
initial ones. Timing of the nets does not depend on the weights; the decoding of maps does
somewhat (how many peaks the heatmaps hold), so figures measured with these are labelled
as such. Never bundle these.

    python benchmarks/make_speed_models.py --out /tmp/pipan-speed-models
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

LABELS = ["catch", "clap", "golf", "jump", "pick", "pour", "pullup", "push", "run", "sit",
          "stand", "throw", "walk", "wave"]


def calibration_images(n: int, seed: int):
    """Letterboxed net inputs from the real videos in ../shared (random noise if absent)."""
    from pipan.image import letterbox, to_net_input
    from pipan.video import VideoFileSource
    videos = sorted((ROOT.parent / "shared" / "data" / "videos").glob("*.mp4"))
    rng = np.random.default_rng(seed)
    out = []
    for v in videos:
        with VideoFileSource(v) as src:
            for f in src:
                if f.index % 25 == 0:
                    out.append(to_net_input(letterbox(f.image)[0])[None])
    if not out:
        out = [rng.random((1, 224, 224, 3), np.float32) for _ in range(n)]
    return out[:n]


def pose_model(seed: int) -> bytes:
    from converters.convert import int8_tflite
    from converters.metadata import embed_metadata
    from training.pose.model import build_pose_net
    model = build_pose_net(batch_size=1, inference=True, seed=seed)
    images = calibration_images(32, seed)

    def representative():
        for x in images:
            yield [x]

    data = int8_tflite(model, representative, io="int8")[0]
    return embed_metadata(data, {"kind": "pose", "format": 1, "layout": "coco18",
                                 "input_size": 224, "input_normalisation": "rgb/255",
                                 "note": "UNTRAINED: timing only",
                                 "command": "python benchmarks/make_speed_models.py"})


def action_model(seed: int) -> bytes:
    import keras
    from converters.metadata import embed_metadata
    from training.action.export import step_from_sequence_model
    from training.action.model import build_action_model
    from training.action.quantize import calibration_samples, step_to_int8
    keras.utils.set_random_seed(seed)
    model = build_action_model(len(LABELS))
    step = step_from_sequence_model(model)
    rng = np.random.default_rng(seed)
    clips = [np.concatenate([rng.random((30, 18, 2), np.float32) * 200 + 100,
                             np.full((30, 18, 1), 0.9, np.float32)], -1) for _ in range(8)]
    data = step_to_int8(step, calibration_samples(step, clips, limit=200, seed=seed))
    hidden = int(step.get_layer("h_prev").batch_shape[-1])
    return embed_metadata(data, {"kind": "action", "format": 1, "layout": "coco18",
                                 "labels": LABELS, "state_size": hidden,
                                 "features": ["x", "y", "score", "vx", "vy"],
                                 "note": "UNTRAINED: timing only",
                                 "command": "python benchmarks/make_speed_models.py"})


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="/tmp/pipan-speed-models")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    from pipan.fileio import atomic_write_bytes
    if not (out / "pose.tflite").is_file():
        atomic_write_bytes(out / "pose.tflite", pose_model(args.seed))
    atomic_write_bytes(out / "action.tflite", action_model(args.seed))
    for name in ("pose.tflite", "action.tflite"):
        print(f"{out / name}: {(out / name).stat().st_size / 1e6:.2f} MB (untrained)")


if __name__ == "__main__":
    main()
