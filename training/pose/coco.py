"""COCO keypoints data (the official JSON format) as COCO-18 people, for the pose net.

A source is a COCO keypoints JSON file or a folder holding them (every ``*.json`` in it,
``annotations/*.json`` too). Images are looked up beside the JSON, in ``images/`` beside it,
and in the folder the source names, by ``file_name``.

Per image: the annotated people (non-crowd, ``num_keypoints`` > 0) become ``(N, 18, 3)``
COCO-18 keypoints (``pipan.skeleton.to_coco18``, neck from the shoulders), the third
channel the joint's confidence: 1 for a labelled joint (visibility 1 or 2), 0 unlabelled,
multiplied by the annotation's optional ``keypoint_scores`` (17 floats, a teacher's
pseudo-label confidence). People present but not annotated (``iscrowd`` = 1, or no
labelled keypoints) become the ``ignore`` mask, from their segmentation (polygons or RLE,
decoded by pycocotools), or from their bounding box when they have no segmentation.

Two fields beyond COCO, written by ``python -m training distill label``: an image with
``negative: true`` shows nobody and is kept with no people (a hard negative: empty
targets), where other images without people are dropped (a teacher that found nobody may
have missed someone); ``mask``: the file name of a mask image (white = the main person)
beside the image, used to cut people out for copy-paste augmentation.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple, Union

import cv2
import numpy as np

from pipan.errors import PipanError
from pipan.skeleton import COCO17, NUM_JOINTS, to_coco18

PathLike = Union[str, os.PathLike]


class DataError(PipanError):
    """Pose training or evaluation data that cannot be used."""


@dataclass
class CocoImage:
    """One image's annotations: ``people`` (N, 18, 3) in the image's pixels."""

    path: Path
    image_id: int
    width: int
    height: int
    people: np.ndarray
    ignore_anns: list  # raw annotations of unannotated people (for the mask)
    source: int  # index of the JSON file it came from
    negative: bool = False  # known to show nobody
    mask: Optional[Path] = None  # the main person's mask image, if any

    def load_mask(self) -> Optional[np.ndarray]:
        """(H, W) bool mask of the main person, or None without one."""
        if self.mask is None:
            return None
        m = cv2.imread(str(self.mask), cv2.IMREAD_GRAYSCALE)
        if m is None:
            raise DataError(f"{self.mask}: cannot read the mask image")
        return m > 127

    def load_image(self) -> np.ndarray:
        img = cv2.imread(str(self.path), cv2.IMREAD_COLOR)
        if img is None:
            raise DataError(f"{self.path}: cannot read image")
        return img


def _json_files(source: Path) -> List[Path]:
    if source.is_file():
        return [source]
    if source.is_dir():
        files = sorted(source.glob("*.json")) + sorted(source.glob("annotations/*.json"))
        if files:
            return files
        raise DataError(f"{source}: no COCO JSON file in this folder")
    raise DataError(f"{source}: no such file or folder")


def _find_image(json_path: Path, file_name: str) -> Path:
    for base in (json_path.parent, json_path.parent / "images", json_path.parent.parent,
                 json_path.parent.parent / "images"):
        p = base / file_name
        if p.is_file():
            return p
    raise DataError(f"{json_path}: image {file_name!r} not found beside it or in images/")


def annotation_people(anns: Sequence[dict]) -> np.ndarray:
    """COCO-17 keypoint annotations -> (N, 18, 3) COCO-18 people with confidences."""
    out = []
    for a in anns:
        kp = np.asarray(a["keypoints"], np.float32).reshape(17, 3)
        conf = (kp[:, 2] > 0).astype(np.float32)
        scores = a.get("keypoint_scores")
        if scores is not None:
            s = np.asarray(scores, np.float32).reshape(-1)
            if s.shape != (17,):
                raise DataError(f"annotation {a.get('id')}: keypoint_scores must hold 17 "
                                f"values, has {s.size}")
            conf = conf * np.clip(s, 0.0, 1.0)
        kp17 = np.concatenate([kp[:, :2], conf[:, None]], axis=1)
        out.append(to_coco18(kp17, COCO17))
    if not out:
        return np.zeros((0, NUM_JOINTS, 3), np.float32)
    return np.stack(out).astype(np.float32)


class CocoPoseData:
    """Images with people from one or more COCO keypoints sources (files or folders)."""

    def __init__(self, sources: Union[PathLike, Sequence[PathLike]],
                 require_people: bool = True):
        if isinstance(sources, (str, os.PathLike)):
            sources = [sources]
        self.json_files: List[Path] = []
        for s in sources:
            self.json_files += _json_files(Path(s))
        self.items: List[CocoImage] = []
        self._coco: Dict[int, object] = {}
        for n, jf in enumerate(self.json_files):
            self._load(n, jf, require_people)
        if not self.items:
            raise DataError(f"no images with annotated people in {', '.join(map(str, sources))}")

    def _load(self, n: int, jf: Path, require_people: bool) -> None:
        try:
            data = json.loads(jf.read_text())
        except (OSError, json.JSONDecodeError) as e:
            raise DataError(f"{jf}: not a readable JSON file ({e})") from None
        if not isinstance(data, dict) or "images" not in data or "annotations" not in data:
            raise DataError(f"{jf}: not COCO format (needs 'images' and 'annotations')")
        by_image: Dict[int, List[dict]] = {}
        for a in data["annotations"]:
            if a.get("category_id", 1) != 1:
                continue
            by_image.setdefault(a["image_id"], []).append(a)
        self._coco[n] = data
        for im in data["images"]:
            anns = by_image.get(im["id"], [])
            good = [a for a in anns if not a.get("iscrowd", 0)
                    and a.get("num_keypoints", int((np.asarray(a.get("keypoints", [0, 0, 0]))
                                                    [2::3] > 0).sum())) > 0]
            bad = [a for a in anns if a not in good]
            negative = bool(im.get("negative", False))
            if negative and anns:
                raise DataError(f"{jf}: image {im['id']} is marked negative but has "
                                f"annotations")
            if require_people and not good and not negative:
                continue
            mask = im.get("mask")
            self.items.append(CocoImage(
                path=_find_image(jf, im["file_name"]), image_id=int(im["id"]),
                width=int(im["width"]), height=int(im["height"]),
                people=annotation_people(good), ignore_anns=bad, source=n,
                negative=negative, mask=_find_image(jf, mask) if mask else None))

    def __len__(self) -> int:
        return len(self.items)

    def ignore_mask(self, item: CocoImage) -> Optional[np.ndarray]:
        """(H, W) uint8 mask of the image's unannotated people, or None if there are none."""
        if not item.ignore_anns:
            return None
        from pycocotools import mask as mask_utils
        H, W = item.height, item.width
        mask = np.zeros((H, W), np.uint8)
        for a in item.ignore_anns:
            seg = a.get("segmentation")
            if seg:
                if isinstance(seg, list):
                    rles = mask_utils.frPyObjects(seg, H, W)
                    rle = mask_utils.merge(rles)
                elif isinstance(seg.get("counts"), list):
                    rle = mask_utils.frPyObjects(seg, H, W)
                else:
                    rle = seg
                mask |= mask_utils.decode(rle).astype(np.uint8)
            elif a.get("bbox"):
                x, y, w, h = (int(round(v)) for v in a["bbox"])
                mask[max(0, y):max(0, y + h), max(0, x):max(0, x + w)] = 1
        return mask

    def split(self, fraction: float, seed: int = 0):
        """(train_indices, held_out_indices): a seeded random split of the images."""
        rng = np.random.default_rng(seed)
        order = rng.permutation(len(self.items))
        k = int(round(len(order) * fraction))
        return np.sort(order[k:]), np.sort(order[:k])


def mix_coco(sources: Sequence[str], out: PathLike) -> Tuple[int, int]:
    """Merge COCO sources (``PATH`` or ``PATH:N`` for the first N images by file name) into
    ``out/annotations.json``, images reached through links ``out/s0``, ``out/s1``, ... to
    each source's folder; ids renumbered. Returns (images, people)."""
    from pipan.fileio import atomic_write_text
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    merged: Dict[str, list] = {"images": [], "annotations": [], "categories": []}
    for k, spec in enumerate(sources):
        path, sep, limit = str(spec).rpartition(":")
        if not sep or not limit.isdigit():  # no ':N' suffix
            path, limit = str(spec), ""
        files = _json_files(Path(path))
        if len(files) != 1:
            raise DataError(f"{path}: give one COCO file or a folder with one")
        jf = files[0]
        try:
            coco = json.loads(jf.read_text())
        except (OSError, json.JSONDecodeError) as e:
            raise DataError(f"{jf}: not a readable JSON file ({e})") from None
        merged["categories"] = merged["categories"] or coco.get("categories", [])
        link = out / f"s{k}"
        if link.is_symlink() or link.exists():
            link.unlink()
        link.symlink_to(jf.parent.resolve(), target_is_directory=True)
        images = sorted(coco["images"], key=lambda im: im["file_name"])
        if limit:
            images = images[:int(limit)]
        new_id = {}
        for im in images:
            rel = _find_image(jf, im["file_name"]).resolve().relative_to(jf.parent.resolve())
            new_id[im["id"]] = len(merged["images"]) + 1
            extra = {}
            if im.get("mask"):
                extra["mask"] = f"s{k}/" + _find_image(jf, im["mask"]).resolve().relative_to(
                    jf.parent.resolve()).as_posix()
            merged["images"].append(dict(im, id=new_id[im["id"]],
                                         file_name=f"s{k}/{rel.as_posix()}", **extra))
        for a in coco["annotations"]:
            if a["image_id"] in new_id:
                merged["annotations"].append(dict(a, id=len(merged["annotations"]) + 1,
                                                  image_id=new_id[a["image_id"]]))
    atomic_write_text(out / "annotations.json", json.dumps(merged))
    return len(merged["images"]), len(merged["annotations"])
