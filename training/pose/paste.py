"""Copy-paste augmentation: real people cut out of frames with their masks (DAVIS sequences
labelled by ``python -m training distill label`` keep each frame's person mask) and pasted
onto other training images, real or synthetic, with people or without, at many scales and
places, several per image. The pose net then sees real people on backgrounds they were
never filmed against, and backgrounds (trees, fences) both with and without people on them.

A cut-out is the mask's bounding box: the image patch, its mask as alpha (softened at the
edge) and the one annotated person whose labelled joints lie inside the mask. Joints of
the target image's own people that a pasted patch covers become unlabelled (confidence 0):
they are occluded now.

A share of the pasted people can be laid down (``paste_random(lying=...)``): the cut-out
is given a quarter turn either way and flattened across the body by up to half (a body
on the floor seen from a camera high on a wall), its length drawn like a standing
person's height, and placed in the lower part of the image, where floors are; a share of
them (``paste_random(lying_edge=...)``) lies across the image's bottom edge, cut by it: a
camera high on a wall has the floor at its lower edge, and there a fallen person is seen
only in part (every UP-Fall camera-1 frame of a person lying is so). The whole
image turned (``Augment.lying``) shows lying people against a turned room; these lie in
an upright one, as a fallen person does.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple

import cv2
import numpy as np

from pipan.skeleton import FLIP, NUM_JOINTS

from .coco import CocoPoseData


@dataclass(frozen=True)
class Cutout:
    """Where a pastable person is: ``item`` indexes the data's items, ``person`` its people."""

    item: int
    person: int


def person_in_mask(people: np.ndarray, mask: np.ndarray, min_inside: float = 0.7
                   ) -> Optional[int]:
    """The index of the one person (N, 18, 3) whose labelled joints lie inside ``mask``
    (H, W bool; at least ``min_inside`` of them, and the most of anyone), or None."""
    H, W = mask.shape
    grown = cv2.dilate(mask.astype(np.uint8), np.ones((15, 15), np.uint8)) > 0
    best, best_frac = None, min_inside
    for i, kp in enumerate(np.asarray(people).reshape(-1, NUM_JOINTS, 3)):
        have = kp[:, 2] > 0
        if have.sum() < 5:
            continue
        x = np.clip(np.round(kp[have, 0]).astype(int), 0, W - 1)
        y = np.clip(np.round(kp[have, 1]).astype(int), 0, H - 1)
        frac = float(grown[y, x].mean())
        if frac >= best_frac:
            best, best_frac = i, frac
    return best


def find_cutouts(data: CocoPoseData) -> List[Cutout]:
    """Every image of ``data`` with a mask whose person can be cut out."""
    out = []
    for n, item in enumerate(data.items):
        if item.mask is None or not len(item.people):
            continue
        mask = item.load_mask()
        if mask is None or mask.sum() < 400:  # under 20x20 pixels: too small to teach
            continue
        k = person_in_mask(item.people, mask)
        if k is not None:
            out.append(Cutout(n, k))
    return out


def cut(data: CocoPoseData, c: Cutout) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(patch BGR (h, w, 3), alpha float32 (h, w) in [0, 1], person (18, 3) in patch
    pixels) of one cut-out."""
    item = data.items[c.item]
    image, mask = item.load_image(), item.load_mask()
    ys, xs = np.nonzero(mask)
    y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    alpha = cv2.GaussianBlur(mask[y0:y1, x0:x1].astype(np.float32), (5, 5), 0)
    person = item.people[c.person].copy()
    person[:, 0] -= x0
    person[:, 1] -= y0
    person[person[:, 2] <= 0, :2] = 0.0
    return image[y0:y1, x0:x1], alpha, person


def paste(image: np.ndarray, people: np.ndarray, patch: np.ndarray, alpha: np.ndarray,
          person: np.ndarray, height_frac: float, centre: Tuple[float, float]
          ) -> Tuple[np.ndarray, np.ndarray]:
    """``image`` (H, W, 3) with ``patch`` pasted, scaled to ``height_frac`` of the image's
    height (and at most its width) and centred at ``centre`` (fractions of W, H); returns
    the new image and people: the old ones, with joints under the patch unlabelled, plus
    the pasted person."""
    H, W = image.shape[:2]
    h, w = patch.shape[:2]
    s = min(height_frac * H / h, W / w)
    nh, nw = max(1, int(round(h * s))), max(1, int(round(w * s)))
    patch = cv2.resize(patch, (nw, nh), interpolation=cv2.INTER_AREA if s < 1
                       else cv2.INTER_LINEAR)
    alpha = cv2.resize(alpha, (nw, nh), interpolation=cv2.INTER_LINEAR)
    x0 = int(round(centre[0] * W - nw / 2))
    y0 = int(round(centre[1] * H - nh / 2))
    # the part of the patch inside the image
    ax0, ay0 = max(0, -x0), max(0, -y0)
    ax1, ay1 = min(nw, W - x0), min(nh, H - y0)
    out = image.copy()
    old = np.array(people, np.float32).reshape(-1, NUM_JOINTS, 3)
    if ax1 <= ax0 or ay1 <= ay0:
        return out, old
    a = alpha[ay0:ay1, ax0:ax1, None]
    region = out[y0 + ay0:y0 + ay1, x0 + ax0:x0 + ax1].astype(np.float32)
    region = region * (1 - a) + patch[ay0:ay1, ax0:ax1].astype(np.float32) * a
    out[y0 + ay0:y0 + ay1, x0 + ax0:x0 + ax1] = np.clip(region, 0, 255).astype(np.uint8)
    # joints of the people already there that the patch now hides
    cover = np.zeros((H, W), bool)
    cover[y0 + ay0:y0 + ay1, x0 + ax0:x0 + ax1] = alpha[ay0:ay1, ax0:ax1] > 0.5
    for kp in old:
        have = kp[:, 2] > 0
        x = np.clip(np.round(kp[:, 0]).astype(int), 0, W - 1)
        y = np.clip(np.round(kp[:, 1]).astype(int), 0, H - 1)
        hidden = have & cover[y, x]
        kp[hidden] = 0.0
    new = person.copy()
    have = new[:, 2] > 0
    new[have, 0] = new[have, 0] * (nw / w) + x0
    new[have, 1] = new[have, 1] * (nh / h) + y0
    inside = (new[:, 0] >= 0) & (new[:, 0] < W) & (new[:, 1] >= 0) & (new[:, 1] < H)
    new[~(have & inside)] = 0.0
    return out, np.concatenate([old, new[None]], 0)


def lay_down(patch: np.ndarray, alpha: np.ndarray, person: np.ndarray, turns: int,
             flatten: float) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A cut-out turned ``turns`` quarter turns counter-clockwise, then its height (across
    the lying body) scaled by ``flatten``; the person's joints follow."""
    h, w = patch.shape[:2]
    patch, alpha = np.rot90(patch, turns), np.rot90(alpha, turns)
    kp = person.copy()
    have = kp[:, 2] > 0
    x, y = kp[have, 0].copy(), kp[have, 1].copy()
    for _ in range(turns % 4):  # one counter-clockwise quarter turn of a w-wide image
        x, y = y, (w - 1) - x
        w, h = h, w
    nh = max(1, int(round(patch.shape[0] * flatten)))
    patch = cv2.resize(np.ascontiguousarray(patch), (patch.shape[1], nh),
                       interpolation=cv2.INTER_AREA)
    alpha = cv2.resize(np.ascontiguousarray(alpha), (alpha.shape[1], nh),
                       interpolation=cv2.INTER_AREA)
    kp[have, 0], kp[have, 1] = x, y * (nh / h)
    return patch, alpha, kp


def paste_random(image: np.ndarray, people: np.ndarray, data: CocoPoseData,
                 cutouts: Sequence[Cutout], rng: np.random.Generator, max_people: int = 3,
                 height_range: Tuple[float, float] = (0.2, 0.9), lying: float = 0.0,
                 lying_edge: float = 0.0) -> Tuple[np.ndarray, np.ndarray]:
    """Paste 1 to ``max_people`` random cut-outs at random sizes (``height_range`` of the
    image's height; a lying person's length) and places onto ``image``; each is laid down
    (:func:`lay_down`) with probability ``lying``, and a laid-down one is put across the
    image's bottom edge, 15-50% of the body's thickness below it, with probability
    ``lying_edge``."""
    for _ in range(int(rng.integers(1, max_people + 1))):
        patch, alpha, person = cut(data, cutouts[int(rng.integers(len(cutouts)))])
        if rng.random() < 0.5:  # mirrored: the person's sides swap
            patch, alpha = patch[:, ::-1], alpha[:, ::-1]
            person = person[list(FLIP)].copy()
            have = person[:, 2] > 0
            person[have, 0] = patch.shape[1] - 1 - person[have, 0]
        size = float(rng.uniform(*height_range))
        where = (float(rng.uniform(0.1, 0.9)), float(rng.uniform(0.25, 0.75)))
        if lying > 0 and rng.random() < lying:
            length = patch.shape[0]
            patch, alpha, person = lay_down(patch, alpha, person, int(rng.choice([1, 3])),
                                            float(rng.uniform(0.5, 1.0)))
            size *= patch.shape[0] / length  # the body's length, not its thickness
            where = (where[0], float(rng.uniform(0.55, 0.9)))
            if lying_edge > 0 and rng.random() < lying_edge:  # cut by the bottom edge
                # ``size`` is now the body's thickness as a fraction of the image height
                where = (where[0], 1.0 + size * (float(rng.uniform(0.15, 0.5)) - 0.5))
        image, people = paste(image, people, np.ascontiguousarray(patch),
                              np.ascontiguousarray(alpha), person, size, where)
    return image, people
