"""Synthetic videos with ground truth, for end-to-end tests and the demo.

``write_video(out, seed, seconds=10, people=2, width=640, height=480, fps=15)`` renders a
``generate_scene`` (people chaining actions in front of one camera) into an MP4 (OpenCV,
``mp4v``) and writes a sidecar ``out.with_suffix('.json')``::

    {"format": 1, "seed": S, "fps": 15.0, "frames": 150, "width": 640, "height": 480,
     "seconds": 10.0, "labels": [...every label that occurs...],
     "people": [{"id": 0, "segments": [[start_s, end_s, label], ...],
                 "frame_segments": [[start_frame, end_frame, label], ...],
                 "keypoints": [[[x, y, v] * 18] * frames]}, ...]}

Segment times are seconds from the first frame (frame i starts at i / fps; a segment
ends where the next begins). ``keypoints`` are COCO-18 pixels with COCO visibility flags
(0 outside, 1 hidden, 2 visible), as drawn. Both files are written atomically.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Dict, Union

import cv2
import numpy as np

from pipan.errors import VideoError
from pipan.fileio import atomic_path, atomic_write_text

from .camera import project
from .motions import ACTIONS, generate_scene
from .render import Figure, Look, background, camera_effects, render_frame


def write_video(out: Union[str, os.PathLike], seed: int, *, seconds: float = 10.0,
                people: int = 2, width: int = 640, height: int = 480, fps: float = 15.0,
                keypoints: bool = True, actions=ACTIONS, high_camera: float = 0.0) -> Dict:
    """Render a scene of ``people`` chaining ``actions`` into the video ``out`` plus its
    JSON sidecar; returns the sidecar's content. ``high_camera``: see ``generate_scene``.
    Same arguments, same frames and sidecar."""
    out = Path(out)
    if out.suffix.lower() != ".mp4":
        raise ValueError(f"the video must be an .mp4 file, got {out.name}")
    if seconds <= 0 or fps <= 0:
        raise ValueError("seconds and fps must be positive")
    if width < 64 or height < 64:
        raise ValueError(f"video size must be at least 64x64, got {width}x{height}")
    scene = generate_scene(seed, people, seconds, fps=fps, width=width, height=height,
                           actions=actions, high_camera=high_camera)
    rng = np.random.default_rng([seed, 0x71D])
    looks = [Look.random(rng) for _ in scene.people]
    # the wall meets the floor a couple of metres behind the people
    back = rng.uniform(1.5, 3.0)
    yaw = scene.camera.yaw
    wall = np.array([[[-np.sin(yaw) * back, 0.0, -np.cos(yaw) * back]]])
    floor_y = float(project(np.repeat(wall, scene.frames, 0), scene.camera,
                            scene.aim)[0][0, 0, 1])
    bg = background(rng, width, height, clutter=int(rng.integers(3, 9)),
                    floor_y=int(np.clip(floor_y, 0, height - 1)))
    fx_seed = int(rng.integers(2 ** 31))
    kps = np.zeros((len(scene.people), scene.frames, 18, 3), np.float32)

    with atomic_path(out) as tmp_path:
        tmp = str(tmp_path)
        writer = cv2.VideoWriter(tmp, cv2.VideoWriter_fourcc(*"mp4v"), float(fps),
                                 (width, height))
        if not writer.isOpened():
            raise VideoError(f"OpenCV cannot write mp4v video to {out}")
        try:
            for t in range(scene.frames):
                figs = [Figure(p.xy[t], p.depth[t], scene.camera.focal, p.motion.body, looks[i])
                        for i, p in enumerate(scene.people)]
                frng = np.random.default_rng([seed, 0x71D, t])
                img, kp = render_frame(figs, frng, width=width, height=height, bg=bg,
                                       occluders=0.0, effects=False)
                # the same lighting, blur and grain every frame: one fixed camera
                img = camera_effects(img, np.random.default_rng(fx_seed))
                writer.write(img)
                kps[:, t] = kp
        finally:
            writer.release()

    doc = {"format": 1, "seed": seed, "fps": float(fps), "frames": scene.frames,
           "width": width, "height": height, "seconds": scene.frames / fps,
           "labels": sorted({s[2] for p in scene.people for s in p.segments}),
           "people": []}
    for i, p in enumerate(scene.people):
        person = {"id": p.id,
                  "segments": [[round(s / fps, 4), round(e / fps, 4), label]
                               for s, e, label in p.segments],
                  "frame_segments": [[int(s), int(e), label] for s, e, label in p.segments]}
        if keypoints:
            person["keypoints"] = np.round(kps[i], 1).tolist()
        doc["people"].append(person)
    atomic_write_text(out.with_suffix(".json"), json.dumps(doc, separators=(",", ":")))
    return doc
