"""Tiny COCO-format keypoint folders for the pose tests (stick figures on noise)."""
from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np

from pipan.skeleton import COCO17

# COCO-17 stick figure, in units of a body height of 8, relative to the hips' centre
_REL = {
    "nose": (0, -3.5), "left_eye": (0.3, -3.7), "right_eye": (-0.3, -3.7),
    "left_ear": (0.6, -3.6), "right_ear": (-0.6, -3.6),
    "left_shoulder": (1.2, -2.4), "right_shoulder": (-1.2, -2.4),
    "left_elbow": (1.5, -1.0), "right_elbow": (-1.5, -1.0),
    "left_wrist": (1.6, 0.3), "right_wrist": (-1.6, 0.3),
    "left_hip": (0.7, 0.4), "right_hip": (-0.7, 0.4),
    "left_knee": (0.8, 2.2), "right_knee": (-0.8, 2.2),
    "left_ankle": (0.8, 3.9), "right_ankle": (-0.8, 3.9),
}
EDGES = [(5, 7), (7, 9), (6, 8), (8, 10), (11, 13), (13, 15), (12, 14), (14, 16), (5, 6),
         (11, 12), (5, 11), (6, 12), (0, 5), (0, 6), (0, 1), (0, 2), (1, 3), (2, 4)]


def figure(cx: float, cy: float, height: float) -> np.ndarray:
    """(17, 3) COCO-17 keypoints x, y, v=2 of a standing stick figure."""
    u = height / 8.0
    return np.float32([[cx + _REL[n][0] * u, cy + _REL[n][1] * u, 2] for n in COCO17])


def write_coco(folder: Path, images: int = 3, seed: int = 0, crowd: bool = False,
               scores: bool = False, size=(240, 320)) -> Path:
    """Write ``folder/annotations.json`` + ``images/*.png``; returns the JSON path."""
    rng = np.random.default_rng(seed)
    (folder / "images").mkdir(parents=True, exist_ok=True)
    H, W = size
    data = {"images": [], "annotations": [], "categories": [
        {"id": 1, "name": "person", "keypoints": list(COCO17), "skeleton": []}]}
    ann_id = 1
    for i in range(images):
        img = rng.integers(0, 60, (H, W, 3), dtype=np.uint8)
        n_people = 1 + i % 2
        for k in range(n_people):
            kp = figure(W * (k + 1) / (n_people + 1) + rng.uniform(-10, 10),
                        H / 2 + rng.uniform(-10, 10), H * 0.7)
            for a, b in EDGES:
                cv2.line(img, tuple(int(v) for v in kp[a, :2]),
                         tuple(int(v) for v in kp[b, :2]), (255, 255, 255), 4)
            ann = {"id": ann_id, "image_id": i + 1, "category_id": 1, "iscrowd": 0,
                   "num_keypoints": 17, "keypoints": kp.reshape(-1).round(2).tolist(),
                   "bbox": [float(kp[:, 0].min()), float(kp[:, 1].min()),
                            float(np.ptp(kp[:, 0])), float(np.ptp(kp[:, 1]))],
                   "area": float(np.ptp(kp[:, 0]) * np.ptp(kp[:, 1]))}
            if scores:
                ann["keypoint_scores"] = [0.5] * 17
            data["annotations"].append(ann)
            ann_id += 1
        if crowd:
            data["annotations"].append({
                "id": ann_id, "image_id": i + 1, "category_id": 1, "iscrowd": 1,
                "num_keypoints": 0, "keypoints": [0] * 51, "bbox": [0, 0, 40, 60],
                "area": 2400.0,
                "segmentation": [[0, 0, 40, 0, 40, 60, 0, 60]]})
            ann_id += 1
        name = f"{i + 1:05d}.png"
        cv2.imwrite(str(folder / "images" / name), img)
        data["images"].append({"id": i + 1, "file_name": name, "height": H, "width": W})
    path = folder / "annotations.json"
    path.write_text(json.dumps(data))
    return path
