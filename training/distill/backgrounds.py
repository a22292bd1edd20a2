"""Hard negatives from the backgrounds of teacher-labelled footage.

A pose net trained on people and on a few empty outdoor scenes fires on the stools, lamp
stands, poles and chair legs of a room (thin, upright, person-sized). The footage the net
learns from shows such things beside the people: this cuts regions out of each labelled
frame that hold nobody, as negatives with empty targets, at the scale the runtime looks at
(a region around the people, or the whole frame).

A region is kept only when (1) it stays clear of every person the teacher labelled (their
box widened by ``margin`` of its longer side), and (2) the teacher's own person detector
finds nobody in it (``max_score``): a person the teacher did not label (too small, cut by
the border, behind glass) must not become a negative.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple, Union

import cv2
import numpy as np

from pipan.errors import PipanError
from pipan.fileio import atomic_dir

PathLike = Union[str, os.PathLike]
Box = Tuple[float, float, float, float]  # x0, y0, x1, y1
#: detector(image BGR) -> the best person score in it (0 when nobody)
Detector = Callable[[np.ndarray], float]


@dataclass(frozen=True)
class BackgroundOptions:
    """``per_image``: regions cut from each frame at most; ``sides``: a region's side as a
    fraction of the frame's shorter side (drawn uniformly); ``margin``: how far a region
    keeps from a labelled person, as a fraction of their box's longer side; ``max_score``:
    the teacher detector's score at which a region counts as showing someone; ``tries``:
    random placements tried per region; ``only``: see below."""

    per_image: int = 1
    #: file-name prefixes of the frames to cut from (empty: every frame); footage with
    #: crowds or small people in the distance that the teacher does not label (and its
    #: detector does not see) must be left out, or people become negatives
    only: Tuple[str, ...] = ()
    sides: Tuple[float, float] = (0.35, 0.8)
    margin: float = 0.25
    max_score: float = 0.3
    tries: int = 30
    seed: int = 0


@dataclass(frozen=True)
class BackgroundSummary:
    path: Path
    frames: int
    regions: int
    rejected_by_detector: int


def people_boxes(annotations: Sequence[Dict], margin: float) -> List[Box]:
    """Each labelled person's box (COCO ``bbox`` and every labelled keypoint), widened by
    ``margin`` of its longer side."""
    out = []
    for a in annotations:
        x, y, w, h = (float(v) for v in a.get("bbox", (0, 0, 0, 0)))
        xs, ys = [x, x + w], [y, y + h]
        kp = np.asarray(a.get("keypoints", []), np.float64).reshape(-1, 3)
        have = kp[:, 2] > 0
        xs += list(kp[have, 0])
        ys += list(kp[have, 1])
        x0, x1, y0, y1 = min(xs), max(xs), min(ys), max(ys)
        pad = margin * max(x1 - x0, y1 - y0)
        out.append((x0 - pad, y0 - pad, x1 + pad, y1 + pad))
    return out


def _overlaps(a: Box, b: Box) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def place_regions(width: int, height: int, people: Sequence[Box], options: BackgroundOptions,
                  rng: np.random.Generator) -> List[Tuple[int, int, int, int]]:
    """Up to ``options.per_image`` square regions (x0, y0, x1, y1, integers) clear of
    ``people`` and of each other."""
    short = min(width, height)
    out: List[Tuple[int, int, int, int]] = []
    for _ in range(options.per_image):
        for _ in range(options.tries):
            side = int(round(rng.uniform(*options.sides) * short))
            if side < 32:
                break
            x0 = int(rng.integers(0, width - side + 1))
            y0 = int(rng.integers(0, height - side + 1))
            box = (x0, y0, x0 + side, y0 + side)
            if not any(_overlaps(box, p) for p in people) and \
                    not any(_overlaps(box, o) for o in out):
                out.append(box)
                break
    return out


def teacher_detector(model_dir: Optional[PathLike], threads: int = 1) -> Detector:
    """The BlazePose person detector as a :data:`Detector` (any score from 0.1 counts)."""
    from pipan.blazepose import BlazePoseEstimator
    est = BlazePoseEstimator(model_dir, threads=threads, min_score=0.1)

    def best(image: np.ndarray) -> float:
        found = est.detect(image)
        return max((s for _, s in found), default=0.0)
    return best


def background_crops(labels_dir: PathLike, out_dir: PathLike, detector: Detector,
                     options: BackgroundOptions = BackgroundOptions(),
                     command: str = "") -> BackgroundSummary:
    """Cut regions with nobody in them out of the frames of a teacher-labelled folder
    (``python -m training distill label`` output: ``annotations.json`` and ``images/``)
    into ``out_dir``: ``images/*.jpg`` and an ``annotations.json`` with no people.

    The output folder appears complete or not at all (written beside it, then renamed);
    an existing one is replaced only if it is an earlier output (has annotations.json)."""
    src = Path(labels_dir)
    ann_path = src / "annotations.json"
    try:
        doc = json.loads(ann_path.read_text())
        images, annotations = doc["images"], doc["annotations"]
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise PipanError(f"{ann_path}: not a teacher-labelled folder ({e})") from None
    out = Path(out_dir)
    if out.exists() and (not out.is_dir() or (any(out.iterdir())
                                              and not (out / "annotations.json").is_file())):
        raise PipanError(f"{out} exists and is not an earlier background folder; choose "
                         f"another --out")
    by_image: Dict[int, List[Dict]] = {}
    for a in annotations:
        by_image.setdefault(int(a["image_id"]), []).append(a)
    chosen = [im for im in images if not options.only
              or str(im["file_name"]).startswith(tuple(options.only))]
    if not chosen:
        raise PipanError(f"{ann_path}: no frame's file name starts with "
                         f"{', '.join(options.only)}")
    with atomic_dir(out) as tmp:
        (tmp / "images").mkdir()
        kept: List[Dict] = []
        rejected = 0
        for im in sorted(chosen, key=lambda i: int(i["id"])):
            path = src / "images" / im["file_name"]
            frame = cv2.imread(str(path))
            if frame is None:
                raise PipanError(f"{path}: unreadable image")
            H, W = frame.shape[:2]
            rng = np.random.default_rng([options.seed, int(im["id"])])
            people = people_boxes(by_image.get(int(im["id"]), []), options.margin)
            for k, (x0, y0, x1, y1) in enumerate(place_regions(W, H, people, options, rng)):
                crop = np.ascontiguousarray(frame[y0:y1, x0:x1])
                if detector(crop) >= options.max_score:
                    rejected += 1
                    continue
                name = f"{Path(im['file_name']).stem}_bg{k}.jpg"
                cv2.imwrite(str(tmp / "images" / name), crop,
                            [cv2.IMWRITE_JPEG_QUALITY, 92])
                kept.append({"id": len(kept) + 1, "file_name": name, "width": x1 - x0,
                             "height": y1 - y0, "negative": True, "source": im["file_name"],
                             "region": [x0, y0, x1, y1]})
        info = {"description": "regions of teacher-labelled footage with nobody in them "
                               "(pipan distill backgrounds)",
                "source": str(src), "command": command,
                "options": {"per_image": options.per_image, "only": list(options.only),
                            "sides": list(options.sides),
                            "margin": options.margin, "max_score": options.max_score,
                            "seed": options.seed},
                "rejected_by_detector": rejected}
        result = {"info": info, "licenses": [], "images": kept, "annotations": [],
                  "categories": doc.get("categories", [])}
        (tmp / "annotations.json").write_text(json.dumps(result, separators=(",", ":")))
    return BackgroundSummary(out / "annotations.json", len(chosen), len(kept), rejected)
