"""Person masks for teacher-labelled frames, for copy-paste augmentation.

Only DAVIS frames come with person masks, and few of those show a person alone (most
masks take in a bike, a horse or a kite). This cuts a mask for every other frame whose one
labelled person is seen whole, from the teacher's skeleton: OpenCV's GrabCut, started with
the skeleton's limbs and torso as sure foreground, a band around them as probable
foreground, the person's box grown by a margin as probable background and the crop's
border as sure background. A mask is kept only when it holds the skeleton's joints and is
neither a sliver nor the whole box.

``python -m training distill masks --labels runs/teacher-real --out runs/teacher-masks``
writes the frames that got a mask (by their path; the images are not copied), each with its
one person and ``mask`` image, as a COCO file that ``training pose train --data`` reads and
``--paste`` cuts people from.
"""
from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import cv2
import numpy as np

from pipan.skeleton import COCO17, COCO18, JOINT_INDEX, LIMBS

J = JOINT_INDEX
_TORSO = [J["right_shoulder"], J["left_shoulder"], J["left_hip"], J["right_hip"]]
_HEAD = [J["nose"], J["right_eye"], J["left_eye"], J["right_ear"], J["left_ear"]]
_ANKLES = [J["right_ankle"], J["left_ankle"]]


@dataclass(frozen=True)
class MaskRules:
    """Which people get a mask, and when a mask is kept."""

    min_joints: int = 13  # of the 18, the neck included
    min_height: int = 80  # pixels, the joints' box's longer side
    work_side: int = 256  # GrabCut runs on the crop scaled to this longer side
    iterations: int = 4
    min_inside: float = 0.9  # share of the joints the mask must hold
    fill: Tuple[float, float] = (0.15, 0.75)  # mask area / the joints' box (grown) area


def whole_person(person: np.ndarray, rules: MaskRules = MaskRules()) -> bool:
    """Whether a (18, 3) person is seen whole enough to cut out: most joints, the
    shoulders, hips and an ankle, and tall enough."""
    have = person[:, 2] > 0
    if have.sum() < rules.min_joints or not have[_TORSO].all() or not have[_ANKLES].any():
        return False
    xy = person[have, :2]
    return float((xy.max(0) - xy.min(0)).max()) >= rules.min_height


def skeleton_mask(image: np.ndarray, person: np.ndarray, rules: MaskRules = MaskRules()
                  ) -> Optional[np.ndarray]:
    """(H, W) bool mask of ``person`` (18, 3; frame pixels) in BGR ``image``, or None when
    GrabCut gives nothing that passes ``rules``."""
    H, W = image.shape[:2]
    have = person[:, 2] > 0
    xy = person[have, :2]
    (bx0, by0), (bx1, by1) = xy.min(0), xy.max(0)
    size = float(max(bx1 - bx0, by1 - by0))
    # the head and hands reach past their joints; context around for the colour models
    grow, context = 0.12 * size, 0.35 * size
    cx0, cy0 = int(max(bx0 - context, 0)), int(max(by0 - context, 0))
    cx1, cy1 = int(min(bx1 + context, W)), int(min(by1 + context, H))
    crop = image[cy0:cy1, cx0:cx1]
    s = rules.work_side / max(crop.shape[:2])
    s = min(s, 1.0)
    small = cv2.resize(crop, (max(1, round(crop.shape[1] * s)), max(1, round(crop.shape[0] * s))),
                       interpolation=cv2.INTER_AREA)
    h, w = small.shape[:2]
    pts = (person[:, :2] - [cx0, cy0]) * s
    unit = size * s

    mask = np.full((h, w), cv2.GC_BGD, np.uint8)
    gx0, gy0 = int(max((bx0 - grow - cx0) * s, 0)), int(max((by0 - grow - cy0) * s, 0))
    gx1, gy1 = int(min((bx1 + grow - cx0) * s, w)), int(min((by1 + grow - cy0) * s, h))
    mask[gy0:gy1, gx0:gx1] = cv2.GC_PR_BGD
    wide, thin = max(2, int(round(0.09 * unit))), max(1, int(round(0.025 * unit)))
    head = [j for j in _HEAD if have[j]]
    for code, width in ((cv2.GC_PR_FGD, wide), (cv2.GC_FGD, thin)):
        for a, b in LIMBS:
            if have[a] and have[b] and not (a in head and b in head):
                cv2.line(mask, _pt(pts[a]), _pt(pts[b]), int(code), width)
        if code == cv2.GC_FGD:
            cv2.fillConvexPoly(mask, np.round(pts[_TORSO]).astype(np.int32), int(code))
        if head:
            c = pts[head].mean(0)
            cv2.circle(mask, _pt(c), max(1, int(round((0.07 if code == cv2.GC_PR_FGD
                                                         else 0.03) * unit))), int(code), -1)
    bgd, fgd = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
    try:
        cv2.grabCut(small, mask, None, bgd, fgd, rules.iterations, cv2.GC_INIT_WITH_MASK)
    except cv2.error:
        return None
    fg = ((mask == cv2.GC_FGD) | (mask == cv2.GC_PR_FGD)).astype(np.uint8)
    # the one piece that holds the torso
    n, comp = cv2.connectedComponents(fg)
    centre = _pt(pts[_TORSO].mean(0))
    keep = comp[min(max(centre[1], 0), h - 1), min(max(centre[0], 0), w - 1)]
    if n < 2 or keep == 0:
        return None
    fg = (comp == keep).astype(np.uint8)
    fg = cv2.morphologyEx(fg, cv2.MORPH_CLOSE, np.ones((3, 3), np.uint8))
    full = np.zeros((H, W), bool)
    full[cy0:cy1, cx0:cx1] = cv2.resize(fg, (crop.shape[1], crop.shape[0]),
                                        interpolation=cv2.INTER_NEAREST) > 0
    # checks: the joints inside (dilated a little: joints sit at limb ends) and a
    # person-like share of the grown box
    near = cv2.dilate(full.astype(np.uint8), np.ones((7, 7), np.uint8)) > 0
    x = np.clip(np.round(xy[:, 0]).astype(int), 0, W - 1)
    y = np.clip(np.round(xy[:, 1]).astype(int), 0, H - 1)
    if near[y, x].mean() < rules.min_inside:
        return None
    area = (bx1 - bx0 + 2 * grow) * (by1 - by0 + 2 * grow)
    share = full.sum() / max(area, 1.0)
    if not rules.fill[0] <= share <= rules.fill[1]:
        return None
    return full


def _pt(p: np.ndarray) -> Tuple[int, int]:
    return int(round(float(p[0]))), int(round(float(p[1])))


def make_masks(labels: Path, out: Path, rules: MaskRules = MaskRules(),
               progress=None) -> Dict[str, int]:
    """Masks for every frame of the COCO set ``labels`` (a folder with annotations.json,
    or the file) with exactly one annotated person seen whole; writes ``out`` (masks/ and
    annotations.json: those frames, named by their path relative to ``out``, their person
    and mask) through a temporary folder beside it, so nothing half-written is left.
    Returns counts."""
    from training.pose.coco import CocoPoseData  # the reader training uses

    src = labels / "annotations.json" if labels.is_dir() else labels
    data = CocoPoseData([src])
    tmp = out.with_name(out.name + ".tmp")
    if tmp.exists():
        shutil.rmtree(tmp)
    (tmp / "masks").mkdir(parents=True)
    images: List[dict] = []
    anns: List[dict] = []
    counts = {"frames": len(data.items), "one_whole_person": 0, "masked": 0}
    for n, item in enumerate(data.items):
        if progress is not None:
            progress(n, len(data.items))
        if item.negative or len(item.people) != 1 or item.mask is not None:
            continue
        person = np.asarray(item.people[0], np.float32)
        if not whole_person(person, rules):
            continue
        counts["one_whole_person"] += 1
        image = item.load_image()
        mask = skeleton_mask(image, person, rules)
        if mask is None:
            continue
        k = len(images) + 1
        if not cv2.imwrite(str(tmp / "masks" / f"{k:06d}.png"), mask.astype(np.uint8) * 255):
            raise OSError(f"cannot write {tmp / 'masks' / f'{k:06d}.png'}")
        H, W = image.shape[:2]
        # the frame itself stays where the labels keep it (no lossy copy); tmp and out
        # share a parent, so the path relative to tmp holds for out
        images.append({"id": k, "file_name": os.path.relpath(item.path.resolve(),
                                                              tmp.resolve()),
                       "width": W, "height": H, "mask": f"masks/{k:06d}.png"})
        anns.append(_annotation(k, person))
        counts["masked"] += 1
    coco = {"info": {"description": f"person masks cut by GrabCut from {src}"},
            "licenses": [], "images": images, "annotations": anns,
            "categories": [{"id": 1, "name": "person"}]}
    (tmp / "annotations.json").write_text(json.dumps(coco))
    if out.exists():
        shutil.rmtree(out)
    os.replace(tmp, out)
    return counts


def _annotation(k: int, person: np.ndarray) -> dict:
    """A COCO-17 keypoint annotation (with the teacher's scores) of one COCO-18 person."""
    idx = [COCO18.index(name) for name in COCO17]
    kp17 = person[idx]
    have = kp17[:, 2] > 0
    flat = np.zeros((17, 3), np.float32)
    flat[have, :2] = kp17[have, :2]
    flat[have, 2] = 2
    xy = kp17[have, :2]
    x0, y0 = xy.min(0)
    x1, y1 = xy.max(0)
    return {"id": k, "image_id": k, "category_id": 1,
            "keypoints": [round(float(v), 2) for v in flat.reshape(-1)],
            "keypoint_scores": [round(float(v), 4) for v in kp17[:, 2]],
            "num_keypoints": int(have.sum()), "iscrowd": 0,
            "bbox": [float(x0), float(y0), float(x1 - x0), float(y1 - y0)],
            "area": float((x1 - x0) * (y1 - y0))}


