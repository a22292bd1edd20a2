"""Folders of rendered people in the COCO keypoint format (what real COCO loaders read).

``write_coco(out_dir, images, seed, size=224)`` writes::

    OUT/annotations.json   COCO keypoints: images, annotations, categories (person)
    OUT/000000.jpg  ...    images beside the JSON (``file_name`` relative to its folder,
                           as in ../shared/data/coco-mini)

Each annotation is a standard COCO-17 person: ``keypoints`` (51 numbers, x, y, v with v = 0
outside the image, 1 hidden, 2 visible), ``num_keypoints``, ``bbox`` and ``area`` of the
visible pixels, ``iscrowd`` 0 and a box polygon as ``segmentation``. It also carries
``keypoints_coco18`` (54 numbers, the same in pipan's COCO-18 layout, neck included), which
COCO tools ignore. Image i depends only on ``(seed, i)``.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple, Union

import cv2
import numpy as np

from pipan.errors import PipanError
from pipan.fileio import atomic_dir
from pipan.skeleton import COCO17

from .render import render_frame, sample_figures, to_coco17

#: COCO's person skeleton (1-based COCO-17 joint pairs), as in the official annotations.
COCO_SKELETON = [[16, 14], [14, 12], [17, 15], [15, 13], [12, 13], [6, 12], [7, 13], [6, 7],
                 [6, 8], [7, 9], [8, 10], [9, 11], [2, 3], [1, 2], [1, 3], [2, 4], [3, 5],
                 [4, 6], [5, 7]]
CATEGORY = {"id": 1, "name": "person", "supercategory": "person",
            "keypoints": list(COCO17), "skeleton": COCO_SKELETON}
ANNOTATIONS = "annotations.json"


class OutputExistsError(PipanError):
    """The output folder exists and is not an earlier synthetic COCO folder."""


def _size(size: Union[int, Tuple[int, int]]) -> Tuple[int, int]:
    w, h = (size, size) if isinstance(size, int) else size
    if w < 32 or h < 32:
        raise ValueError(f"image size must be at least 32x32, got {w}x{h}")
    return int(w), int(h)


def coco_image(i: int, seed: int, size: Union[int, Tuple[int, int]] = 224,
               people: Optional[int] = None, actions: Optional[Sequence[str]] = None):
    """Render image ``i`` of the set ``seed`` (people caught in one of ``actions``, default
    ``training.synth.motions.ACTIONS``): ``(image BGR, annotations)`` where each
    annotation is a dict with ``keypoints`` (COCO-17, 51), ``keypoints_coco18`` (54),
    ``num_keypoints``, ``bbox``, ``area`` (no ids yet)."""
    w, h = _size(size)
    rng = np.random.default_rng([seed, i])
    figs = sample_figures(rng, w, h, people=people, actions=actions)
    img, kps, masks = render_frame(figs, rng, width=w, height=h, labels=True)
    anns = []
    for kp18, mask in zip(kps, masks):
        m8 = mask.view(np.uint8)
        area = int(cv2.countNonZero(m8))
        if area == 0:
            continue  # completely hidden or out of frame: nothing to annotate
        x0, y0, bw, bh = (float(v) for v in cv2.boundingRect(m8))
        kp17 = to_coco17(kp18)
        anns.append({
            "keypoints": [round(float(v), 2) for v in kp17.reshape(-1)],
            "keypoints_coco18": [round(float(v), 2) for v in kp18.reshape(-1)],
            "num_keypoints": int((kp17[:, 2] > 0).sum()),
            "bbox": [x0, y0, bw, bh], "area": float(area), "iscrowd": 0,
            "segmentation": [[x0, y0, x0 + bw, y0, x0 + bw, y0 + bh, x0, y0 + bh]],
        })
    return img, anns


def write_coco(out_dir: Union[str, os.PathLike], images: int, seed: int, *,
               size: Union[int, Tuple[int, int]] = 224, ext: str = "jpg",
               people: Optional[int] = None, quality: int = 92,
               actions: Optional[Sequence[str]] = None) -> Path:
    """Write ``images`` rendered images and their COCO keypoint JSON into ``out_dir``.

    The folder appears complete or not at all: everything is written into a temporary
    sibling, then renamed. An existing ``out_dir`` is replaced only if it is empty or an
    earlier output of this function (has ``annotations.json``); otherwise
    ``OutputExistsError``. Returns the path of ``annotations.json``.
    """
    if images < 1:
        raise ValueError("images must be at least 1")
    if ext not in ("jpg", "png"):
        raise ValueError(f"ext must be jpg or png, got {ext!r}")
    w, h = _size(size)
    out = Path(out_dir)
    if out.exists() and (not out.is_dir() or (any(out.iterdir())
                                              and not (out / ANNOTATIONS).is_file())):
        raise OutputExistsError(f"{out} exists and is not a synthetic COCO folder; "
                                "choose another --out")
    with atomic_dir(out) as tmp:
        params = [cv2.IMWRITE_JPEG_QUALITY, quality] if ext == "jpg" else \
            [cv2.IMWRITE_PNG_COMPRESSION, 3]
        coco_images: List[Dict] = []
        annotations: List[Dict] = []
        for i in range(images):
            img, anns = coco_image(i, seed, (w, h), people, actions)
            name = f"{i:06d}.{ext}"
            ok, buf = cv2.imencode(f".{ext}", img, params)
            if not ok:
                raise RuntimeError(f"could not encode image {i}")
            (tmp / name).write_bytes(buf.tobytes())
            coco_images.append({"id": i + 1, "file_name": name, "width": w,
                                "height": h})
            for a in anns:
                annotations.append({"id": len(annotations) + 1, "image_id": i + 1,
                                    "category_id": 1, **a})
        info = {"description": "pipan synthetic people", "seed": seed, "version": "1"}
        if actions:
            info["actions"] = list(actions)
        doc = {"info": info,
               "licenses": [], "images": coco_images, "annotations": annotations,
               "categories": [CATEGORY]}
        (tmp / ANNOTATIONS).write_text(json.dumps(doc, separators=(",", ":")))
    return out / ANNOTATIONS
