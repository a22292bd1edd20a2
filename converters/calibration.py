"""Calibration material for the converter: images (pose) or a skeleton dataset (action).

Pose: a folder of images, a COCO keypoints JSON file, or a folder holding one (then the
images are found beside the JSON, or in an ``images/`` folder beside it). People annotated
in a COCO file give ground truth for PCK (COCO-17 -> COCO-18 by joint name).
Action: a skeleton dataset file (``pipan.dataset`` ``.npz``), whose clips are streamed
through the float step model (``stream_step_inputs``) for the step's inputs as it sees
them at run time.

Samples are split into a calibration part and a held-out evaluation part with a fixed
seed, so the same DATA and seed give the same representative dataset.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Tuple, Union

import cv2
import numpy as np

from pipan import dataset as skeleton_dataset
from pipan.action import StepFn, step_takes_stats
from pipan.errors import DatasetError
from pipan.skeleton import COCO17, clip_features, clip_stats, to_coco18

PathLike = Union[str, os.PathLike]
IMAGE_EXTS = (".jpg", ".jpeg", ".png", ".bmp", ".webp")


@dataclass(frozen=True)
class ImageSample:
    """One calibration image; ``people`` (P, 18, 3) COCO-18 ground truth in the image's
    pixels (score 1 = labelled, 0 = not), or None when the source has no annotations."""

    path: Path
    people: Optional[np.ndarray] = None

    def read(self) -> np.ndarray:
        """The image as BGR uint8 (H, W, 3)."""
        img = cv2.imread(str(self.path), cv2.IMREAD_COLOR)
        if img is None:
            raise DatasetError(f"{self.path}: not a readable image")
        return img


def describe(path: PathLike) -> str:
    """'images', 'coco' or 'skeletons': what kind of calibration material ``path`` is."""
    p = Path(path)
    if not p.exists():
        raise DatasetError(f"{p}: no such file or folder")
    if p.is_file():
        if p.suffix.lower() == ".npz":
            return "skeletons"
        if p.suffix.lower() == ".json":
            return "coco"
        if p.suffix.lower() in IMAGE_EXTS:
            return "images"
        raise DatasetError(f"{p}: not calibration data (expected a folder of images, a COCO "
                           f"keypoints .json or a skeleton dataset .npz)")
    if _coco_json_in(p) is not None:
        return "coco"
    return "images"


def _coco_json_in(folder: Path) -> Optional[Path]:
    for j in sorted(folder.glob("*.json")):
        try:
            head = json.loads(j.read_text())
        except (OSError, ValueError):
            continue
        if isinstance(head, dict) and "images" in head and "annotations" in head:
            return j
    return None


def load_images(path: PathLike) -> List[ImageSample]:
    """The calibration images at ``path`` (sorted by path), with COCO people if annotated."""
    p = Path(path)
    what = describe(p)
    if what == "skeletons":
        raise DatasetError(f"{p} is a skeleton dataset; a pose model calibrates on images "
                           f"(a folder of images or a COCO keypoints JSON)")
    if what == "coco":
        return _load_coco(p if p.is_file() else _coco_json_in(p))
    files = [p] if p.is_file() else sorted(
        f for f in p.rglob("*") if f.is_file() and f.suffix.lower() in IMAGE_EXTS)
    if not files:
        raise DatasetError(f"{p}: no images ({', '.join(IMAGE_EXTS)}) found")
    return [ImageSample(f) for f in files]


def _load_coco(json_path: Path) -> List[ImageSample]:
    try:
        coco = json.loads(json_path.read_text())
        images = {int(im["id"]): str(im["file_name"]) for im in coco["images"]}
        anns = coco["annotations"]
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise DatasetError(f"{json_path}: not a COCO keypoints file ({type(e).__name__}: {e})") \
            from None
    people: dict = {i: [] for i in images}
    for a in anns:
        kp = a.get("keypoints")
        if a.get("iscrowd", 0) or not kp or a.get("num_keypoints", 1) == 0:
            continue
        k = np.asarray(kp, np.float32).reshape(-1, 3)
        if k.shape[0] != len(COCO17):
            raise DatasetError(f"{json_path}: annotation {a.get('id')} has {k.shape[0]} "
                               f"keypoints, expected COCO's {len(COCO17)}")
        k[:, 2] = (k[:, 2] > 0).astype(np.float32)  # v = 1 (occluded) or 2: labelled
        if int(a.get("image_id", -1)) in people:
            people[int(a["image_id"])].append(to_coco18(k, COCO17))
    samples = []
    for image_id in sorted(images, key=lambda i: images[i]):
        name = images[image_id]
        for cand in (json_path.parent / name, json_path.parent / "images" / name):
            if cand.is_file():
                ppl = people[image_id]
                samples.append(ImageSample(cand, np.stack(ppl) if ppl else
                                           np.zeros((0, 18, 3), np.float32)))
                break
    if not samples:
        raise DatasetError(f"{json_path}: none of its {len(images)} images was found beside it")
    return samples


def load_skeletons(path: PathLike) -> skeleton_dataset.SkeletonDataset:
    """The skeleton dataset at ``path`` in COCO-18 with scores (action calibration)."""
    p = Path(path)
    what = describe(p)
    if what != "skeletons":
        found = "is a COCO keypoints file" if what == "coco" else "holds images"
        raise DatasetError(f"{p} {found}; an action model calibrates on a skeleton "
                           f"dataset (.npz)")
    return skeleton_dataset.load(p).to_coco18()


def split(n: int, samples: int, held_out: int, seed: int) -> Tuple[np.ndarray, np.ndarray, bool]:
    """Indices (calibration, evaluation, disjoint) of ``n`` items, drawn with ``seed``.

    A quarter of the items (at most ``held_out``, at least 1) is held out for evaluation
    and up to ``samples`` of the rest calibrate. With fewer than 4 items there is nothing to
    spare: both use all of them and ``disjoint`` is False (the report says so).
    """
    order = np.random.default_rng(seed).permutation(n)
    if n < 4:
        return order[:samples], order[:held_out], False
    k = max(1, min(held_out, n // 4))
    return order[k:k + samples], order[:k], True


def stream_step_inputs(step: StepFn, keypoints: np.ndarray,
                       hidden: int) -> Iterator[Dict[str, np.ndarray]]:
    """Per frame of a COCO-18 clip ``(T, 18, 3)`` (30 fps): the step's inputs
    ``{"features" (1, 18, 5), "h_prev" (1, H)}`` (plus ``"stats"`` (1, 144) for a step with
    a statistics head) as ``step`` sees them when streamed through the clip from a zero
    state: the calibration samples of an int8 conversion."""
    feats = clip_features(keypoints)
    stats = clip_stats(feats) if step_takes_stats(step) else None
    h = np.zeros((1, hidden), np.float32)
    for t, f in enumerate(feats):
        inputs = {"features": f[None].astype(np.float32), "h_prev": h}
        if stats is not None:
            inputs["stats"] = stats[t][None]
        yield inputs
        h = np.asarray(step(**inputs)["h"], np.float32).reshape(1, hidden)
