"""Drawing synthetic people with OpenCV, with exact keypoints and visibility flags.

A person in a frame is a ``Figure``: projected COCO-18 joints (pixels), their depths
(metres from the camera), the focal length (pixels; turns metres into pixels at a depth),
the body proportions and a ``Look`` (clothes, skin, hair, build). ``render_frame`` paints
the figures far-to-near (painter's algorithm) as shaded capsules, a torso polygon and a
head on a background, adds occluders and camera effects (lighting, blur, noise), and
returns the image with each person's keypoints ``(18, 3)``: x, y in pixels and a COCO
visibility flag ``v`` (0 = outside the image, 1 = inside but hidden by something nearer,
2 = visible). A label map drawn alongside the colours decides visibility exactly.

Everything random comes from the ``rng`` argument; textures come from a bank built once
per process from a fixed seed, so the same seed gives the same pixels.
"""
from __future__ import annotations

import colorsys
from dataclasses import dataclass
from functools import lru_cache
from typing import List, Optional, Sequence, Tuple

import cv2
import numpy as np

from pipan.skeleton import COCO17, JOINT_INDEX, LIMBS, NUM_JOINTS

from .body import Body

J = JOINT_INDEX
V_OUTSIDE, V_HIDDEN, V_VISIBLE = 0, 1, 2
OCCLUDER = 0xFFFF  # label-map code of occluders (and clutter drawn over people)

#: (name, joint a, joint b, width in metres, clothing slot); slot picks the colour.
_SEGMENTS = (
    ("r_upper_arm", J["right_shoulder"], J["right_elbow"], 0.095, "sleeve"),
    ("l_upper_arm", J["left_shoulder"], J["left_elbow"], 0.095, "sleeve"),
    ("r_forearm", J["right_elbow"], J["right_wrist"], 0.075, "forearm"),
    ("l_forearm", J["left_elbow"], J["left_wrist"], 0.075, "forearm"),
    ("r_thigh", J["right_hip"], J["right_knee"], 0.15, "trousers"),
    ("l_thigh", J["left_hip"], J["left_knee"], 0.15, "trousers"),
    ("r_shin", J["right_knee"], J["right_ankle"], 0.11, "shin"),
    ("l_shin", J["left_knee"], J["left_ankle"], 0.11, "shin"),
    ("neck", J["neck"], -1, 0.10, "skin"),  # -1: to the head centre
)
# part ids in the label map (1-based within a person)
PART = {name: i + 1 for i, name in enumerate([s[0] for s in _SEGMENTS]
                                              + ["torso", "head", "r_hand", "l_hand",
                                                 "r_foot", "l_foot"])}
PARTS_PER_PERSON = 16

#: For each COCO-18 joint, the parts whose pixels count as "this joint is visible".
_JOINT_PARTS = {
    "nose": ("head",), "neck": ("neck", "torso", "head"),
    "right_eye": ("head",), "left_eye": ("head",), "right_ear": ("head",), "left_ear": ("head",),
    "right_shoulder": ("torso", "r_upper_arm"), "left_shoulder": ("torso", "l_upper_arm"),
    "right_elbow": ("r_upper_arm", "r_forearm"), "left_elbow": ("l_upper_arm", "l_forearm"),
    "right_wrist": ("r_forearm", "r_hand"), "left_wrist": ("l_forearm", "l_hand"),
    "right_hip": ("torso", "r_thigh"), "left_hip": ("torso", "l_thigh"),
    "right_knee": ("r_thigh", "r_shin"), "left_knee": ("l_thigh", "l_shin"),
    "right_ankle": ("r_shin", "r_foot"), "left_ankle": ("l_shin", "l_foot"),
}
_JOINT_MASK = np.zeros((NUM_JOINTS, PARTS_PER_PERSON + 1), bool)
for _name, _parts in _JOINT_PARTS.items():
    for _p in _parts:
        _JOINT_MASK[J[_name], PART[_p]] = True
_HEAD_JOINTS = np.array([J[n] for n in ("nose", "right_eye", "left_eye", "right_ear", "left_ear")])

#: COCO-17 index -> COCO-18 index (COCO-17 has no neck).
COCO17_FROM_18 = np.array([J[n] for n in COCO17])

_SKIN = np.array([[203, 224, 255], [166, 196, 234], [124, 160, 210], [90, 125, 180],
                  [61, 88, 141], [45, 62, 100]], np.float64)  # BGR


@dataclass(frozen=True)
class Look:
    """A person's appearance: BGR colours (0-255) and build."""

    skin: Tuple[int, int, int]
    shirt: Tuple[int, int, int]
    trousers: Tuple[int, int, int]
    shoes: Tuple[int, int, int]
    hair: Tuple[int, int, int]
    long_sleeves: bool
    shorts: bool
    girth: float  # limb width multiplier

    @staticmethod
    def random(rng: np.random.Generator) -> "Look":
        def colour(sat_hi=1.0):
            r, g, b = colorsys.hsv_to_rgb(rng.random(), rng.uniform(0, sat_hi),
                                          rng.uniform(0.12, 0.98))
            return int(b * 255), int(g * 255), int(r * 255)
        skin = _SKIN[rng.integers(len(_SKIN))] * rng.uniform(0.9, 1.1)
        hair = tuple(int(c) for c in np.clip(rng.uniform(10, 60) * np.array([1, 1.3, 1.8])
                                               * rng.uniform(0.5, 2.5), 0, 255))
        return Look(skin=tuple(int(c) for c in np.clip(skin, 0, 255)), shirt=colour(),
                    trousers=colour(0.63), shoes=colour(0.47), hair=hair,
                    long_sleeves=bool(rng.random() < 0.5), shorts=bool(rng.random() < 0.25),
                    girth=float(rng.uniform(0.8, 1.45)))

    def slot(self, name: str) -> Tuple[int, int, int]:
        if name == "sleeve":
            return self.shirt
        if name == "forearm":
            return self.shirt if self.long_sleeves else self.skin
        if name == "shin":
            return self.skin if self.shorts else self.trousers
        return getattr(self, name)


@dataclass
class Figure:
    """One person in one frame: ``xy`` ``(18, 2)`` pixels, ``depth`` ``(18,)`` metres along
    the camera axis, ``focal`` pixels, ``body`` proportions, ``look`` appearance."""

    xy: np.ndarray
    depth: np.ndarray
    focal: float
    body: Body
    look: Look


# --- textures ---------------------------------------------------------------------------

@lru_cache(maxsize=1)
def texture_bank(count: int = 24, size: int = 256) -> Tuple[np.ndarray, ...]:
    """Background textures (uint8 BGR, ``size`` x ``size``), made once from a fixed seed:
    smooth colour noise, stripes, tiles, wood-like grain and speckle."""
    rng = np.random.default_rng(12345)
    out = []
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size
    for i in range(count):
        kind = i % 5
        base = rng.uniform(30, 220, 3)
        if kind == 0:  # blotchy low-frequency noise (walls, foliage, ground)
            g = rng.random((8, 8, 3)).astype(np.float32)
            img = cv2.resize(g, (size, size), interpolation=cv2.INTER_CUBIC)
            img = base + (img - 0.5) * rng.uniform(60, 160)
        elif kind == 1:  # stripes in a random direction
            a = rng.uniform(0, np.pi)
            f = rng.uniform(4, 30)
            s = np.sin(2 * np.pi * f * (np.cos(a) * xx + np.sin(a) * yy))[..., None]
            img = base + s * rng.uniform(20, 70, 3)
        elif kind == 2:  # tiles / bricks
            n = int(rng.integers(4, 14))
            cell = size // n
            img = np.tile(base, (size, size, 1)).astype(np.float32)
            img *= rng.uniform(0.85, 1.15, (n + 1, n + 1, 1)).repeat(cell, 0).repeat(cell, 1)[:size, :size]
            img[::cell, :] *= 0.5
            img[:, ::cell] *= 0.5
        elif kind == 3:  # wood-like grain
            warp = cv2.resize(rng.random((4, 4)).astype(np.float32), (size, size)) * 3
            s = np.sin(2 * np.pi * (rng.uniform(8, 25) * yy + warp))[..., None]
            img = base + s * rng.uniform(15, 45)
        else:  # speckle (gravel, carpet)
            g = rng.random((size // 2, size // 2, 1)).astype(np.float32)
            img = base + (cv2.resize(g, (size, size))[..., None] - 0.5) * rng.uniform(40, 120)
        out.append(np.clip(img, 0, 255).astype(np.uint8))
    return tuple(out)


@lru_cache(maxsize=12)
def _noise_bank(h: int, w: int, level: int) -> np.ndarray:
    """Gaussian sensor noise (int16, 2h x 2w x 3, sigma 3 * level) to crop from, made once
    per size and level."""
    rng = np.random.default_rng(777 + level)
    return np.round(rng.normal(0.0, 3.0 * level, (2 * h, 2 * w, 3))).astype(np.int16)


def _random_colour(rng: np.random.Generator) -> Tuple[int, int, int]:
    return tuple(int(c) for c in rng.integers(0, 256, 3))


def background(rng: np.random.Generator, width: int, height: int,
               clutter: int = -1) -> np.ndarray:
    """A random background ``(height, width, 3)`` uint8 BGR: one or two textures (wall and
    floor), a colour cast, and ``clutter`` random shapes (random 3-10 when -1), some of
    them limb-like so the pose net learns that a stick is not an arm."""
    bank = texture_bank()
    img = _texture_crop(bank[rng.integers(len(bank))], rng, width, height)
    if rng.random() < 0.7:  # a floor with its own texture below a horizon
        y = int(rng.uniform(0.35, 0.85) * height)
        img[y:] = _texture_crop(bank[rng.integers(len(bank))], rng, width, height - y)
    n = int(rng.integers(3, 11)) if clutter < 0 else clutter
    s = max(width, height)
    for _ in range(n):
        kind = rng.integers(0, 4)
        c = _random_colour(rng)
        p = (int(rng.uniform(0, width)), int(rng.uniform(0, height)))
        if kind == 0:
            q = (int(p[0] + rng.normal(0, s / 4)), int(p[1] + rng.normal(0, s / 4)))
            cv2.rectangle(img, p, q, c, -1)
        elif kind == 1:
            cv2.circle(img, p, int(rng.uniform(0.02, 0.15) * s), c, -1)
        elif kind == 2:  # limb-like stick
            q = (int(p[0] + rng.normal(0, s / 5)), int(p[1] + rng.normal(0, s / 5)))
            cv2.line(img, p, q, c, int(rng.uniform(0.01, 0.05) * s) + 1)
        else:
            pts = (np.array(p) + rng.normal(0, s / 8, (int(rng.integers(3, 6)), 2))).astype(np.int32)
            cv2.fillPoly(img, [pts], c)
    return img


def _texture_crop(tex: np.ndarray, rng: np.random.Generator, width: int, height: int) -> np.ndarray:
    th, tw = tex.shape[:2]
    zoom = rng.uniform(0.4, 1.0)
    cw, ch = max(8, int(tw * zoom)), max(8, int(th * zoom))
    x0, y0 = int(rng.integers(0, tw - cw + 1)), int(rng.integers(0, th - ch + 1))
    crop = tex[y0:y0 + ch, x0:x0 + cw]
    if rng.random() < 0.5:
        crop = crop[:, ::-1]
    if rng.random() < 0.8:  # recolour the (smaller) crop, not the resized image
        M = np.zeros((3, 4), np.float32)
        M[[0, 1, 2], [0, 1, 2]] = rng.uniform(0.6, 1.3, 3)
        crop = cv2.transform(np.ascontiguousarray(crop), M)
    return cv2.resize(crop, (width, height), interpolation=cv2.INTER_LINEAR)


# --- people ---------------------------------------------------------------------------

@lru_cache(maxsize=4096)
def _shade(colour: Tuple[int, int, int], f: float) -> Tuple[int, int, int]:
    return tuple(int(min(255, max(0, c * f))) for c in colour)


def _pt(p: np.ndarray) -> Tuple[int, int]:
    return int(round(float(p[0]))), int(round(float(p[1])))


def _capsule(img, lab, code, a, b, width, colour, light):
    """A shaded capsule: dark rim, base colour, a highlight offset towards the light."""
    w = max(1, int(round(width)))
    pa, pb = _pt(a), _pt(b)
    cv2.line(img, pa, pb, _shade(colour, 0.55), w)
    if w >= 4:
        off = (int(round(light[0] * w * 0.15)), int(round(light[1] * w * 0.15)))
        cv2.line(img, (pa[0] + off[0], pa[1] + off[1]), (pb[0] + off[0], pb[1] + off[1]),
                 colour, max(1, int(w * 0.62)))
        off2 = (2 * off[0], 2 * off[1])
        cv2.line(img, (pa[0] + off2[0], pa[1] + off2[1]), (pb[0] + off2[0], pb[1] + off2[1]),
                 _shade(colour, 1.3), max(1, int(w * 0.25)))
    cv2.line(lab, pa, pb, code, w)


def _person_parts(fig: Figure):
    """Drawable parts of one figure: (depth, kind, name, args) sorted far to near."""
    xy, d, look = fig.xy, fig.depth, fig.look
    px = lambda metres, depth: fig.focal * metres * look.girth / max(depth, 0.05)  # noqa: E731
    head_c = (xy[J["left_ear"]] + xy[J["right_ear"]]) / 2
    head_d = float((d[J["left_ear"]] + d[J["right_ear"]]) / 2)
    parts = []
    for name, a, b, width, slot in _SEGMENTS:
        pb = head_c if b < 0 else xy[b]
        db = head_d if b < 0 else d[b]
        depth = float((d[a] + db) / 2)
        parts.append((depth, "capsule", name, (xy[a], pb, px(width, depth), look.slot(slot))))
    for side, s in (("r", "right"), ("l", "left")):
        w = xy[J[f"{s}_wrist"]]
        e = xy[J[f"{s}_elbow"]]
        hand = w + (w - e) * 0.18
        parts.append((float(d[J[f"{s}_wrist"]]) - 0.01, "capsule", f"{side}_hand",
                      (w, hand, px(0.085, d[J[f"{s}_wrist"]]), look.skin)))
        a = xy[J[f"{s}_ankle"]]
        parts.append((float(d[J[f"{s}_ankle"]]) - 0.01, "capsule", f"{side}_foot",
                      (a, a + np.array([0.0, 0.2]) * px(0.1, d[J[f"{s}_ankle"]]),
                       px(0.11, d[J[f"{s}_ankle"]]), look.shoes)))
    torso_d = float(d[[J["neck"], J["right_hip"], J["left_hip"], J["right_shoulder"],
                       J["left_shoulder"]]].mean())
    parts.append((torso_d, "torso", "torso", (px(0.2, torso_d),)))
    head_r = fig.focal * fig.body.head * 1.1 / max(head_d, 0.05)
    facing = float(d[J["nose"]] - head_d)  # < 0: the face is towards the camera
    parts.append((head_d - 0.02, "head", "head", (head_c, head_r, facing)))
    parts.sort(key=lambda p: -p[0])
    return parts


def _draw_person(img, lab, fig: Figure, index: int, light) -> None:
    look, xy = fig.look, fig.xy
    base = index * PARTS_PER_PERSON
    for depth, kind, name, args in _person_parts(fig):
        code = base + PART[name]
        if kind == "capsule":
            a, b, w, colour = args
            _capsule(img, lab, code, a, b, w, colour, light)
        elif kind == "torso":
            (thick,) = args
            rs, ls = xy[J["right_shoulder"]], xy[J["left_shoulder"]]
            rh, lh = xy[J["right_hip"]], xy[J["left_hip"]]
            across_s, across_h = (ls - rs) * 0.12, (lh - rh) * 0.25
            poly = np.array([ls + across_s, rs - across_s, rh - across_h, lh + across_h])
            mid_h = (rh + lh) / 2
            _capsule(img, lab, code, xy[J["neck"]], mid_h, thick, look.shirt, light)
            pts = np.round(poly).astype(np.int32)
            cv2.fillConvexPoly(img, pts, _shade(look.shirt, 0.9))
            cv2.fillConvexPoly(lab, pts, code)
            # belt line: where the shirt meets the trousers
            _capsule(img, lab, code, rh - across_h * 0.5, lh + across_h * 0.5,
                     max(2.0, thick * 0.45), look.trousers, light)
        else:
            c, r, facing = args
            r = max(1, int(round(r)))
            cc = _pt(c)
            face = facing < 0.0
            cv2.circle(img, cc, r, _shade(look.skin if face else look.hair, 0.7), -1)
            cv2.circle(img, (cc[0] + int(light[0] * r * 0.2), cc[1] + int(light[1] * r * 0.2)),
                       max(1, int(r * 0.8)), look.skin if face else look.hair, -1)
            if face and r >= 4:  # hair cap on top
                cv2.ellipse(img, (cc[0], cc[1] - r // 3), (r, max(1, int(r * 0.7))), 0, 180, 360,
                            look.hair, -1)
            cv2.circle(lab, cc, r, code, -1)


def _visibility(kp_xy: np.ndarray, depth: np.ndarray, lab: np.ndarray, index: int,
                width: int, height: int) -> np.ndarray:
    """COCO v flags ``(18,)`` of person ``index`` from the finished label map."""
    x = np.round(kp_xy[:, 0]).astype(np.int64)
    y = np.round(kp_xy[:, 1]).astype(np.int64)
    inside = (depth > 0.05) & (x >= 0) & (x < width) & (y >= 0) & (y < height)
    v = np.where(inside, V_HIDDEN, V_OUTSIDE)
    codes = lab[np.clip(y, 0, height - 1), np.clip(x, 0, width - 1)].astype(np.int64)
    mine = (codes > index * PARTS_PER_PERSON) & (codes <= (index + 1) * PARTS_PER_PERSON) \
        & (codes != OCCLUDER)
    part = np.where(mine, codes - index * PARTS_PER_PERSON, 0)
    ok = _JOINT_MASK[np.arange(NUM_JOINTS), part] & mine
    # face joints on the far side of the head are hidden by the head itself
    head_d = (depth[J["left_ear"]] + depth[J["right_ear"]]) / 2
    back = np.zeros(NUM_JOINTS, bool)
    back[_HEAD_JOINTS] = depth[_HEAD_JOINTS] > head_d + 0.01
    back[[J["left_ear"], J["right_ear"]]] = \
        depth[[J["left_ear"], J["right_ear"]]] > head_d + 0.04
    return np.where(inside & ok & ~back, V_VISIBLE, v)


def render_frame(figures: Sequence[Figure], rng: np.random.Generator, *, width: int = 224,
                 height: int = 224, bg: Optional[np.ndarray] = None, occluders: float = 0.35,
                 effects: bool = True, labels: bool = False):
    """Draw ``figures`` on a background; returns ``(image, keypoints)``, or
    ``(image, keypoints, masks)`` with ``labels=True``.

    ``image``: ``(height, width, 3)`` uint8 BGR. ``keypoints``: ``(P, 18, 3)`` float32 per
    figure: exact x, y (pixels, the joints as projected) and the COCO visibility flag
    (0 outside, 1 hidden, 2 visible); x = y = 0 where v = 0. ``bg`` (optional) is used as
    the background instead of a random one. ``occluders`` is the chance of an object drawn
    over the people. ``effects`` adds lighting, colour changes, blur and sensor noise.
    ``masks`` ``(P, height, width)`` bool: the pixels where each figure is seen.
    """
    img = background(rng, width, height) if bg is None else bg.copy()
    if img.shape[:2] != (height, width):
        raise ValueError(f"background is {img.shape[1]}x{img.shape[0]}, expected {width}x{height}")
    lab = np.zeros((height, width), np.uint16)
    ang = rng.uniform(0, 2 * np.pi)
    light = (float(np.cos(ang)), float(np.sin(ang)))
    order = np.argsort([-float(np.median(f.depth)) for f in figures], kind="stable")
    for i in order:  # far people first
        _draw_person(img, lab, figures[i], int(i), light)
    if figures and rng.random() < occluders:
        _occluder(img, lab, rng, figures)
    kps = np.zeros((len(figures), NUM_JOINTS, 3), np.float32)
    for i, f in enumerate(figures):
        v = _visibility(f.xy, f.depth, lab, i, width, height)
        kps[i, :, :2] = np.where((v > 0)[:, None], f.xy, 0.0)
        kps[i, :, 2] = v
    if effects:
        img = camera_effects(img, rng)
    if labels:
        masks = np.stack([(lab > i * PARTS_PER_PERSON) & (lab <= (i + 1) * PARTS_PER_PERSON)
                          for i in range(len(figures))]) if figures \
            else np.zeros((0, height, width), bool)
        return img, kps, masks
    return img, kps


def _occluder(img, lab, rng, figures: Sequence[Figure]) -> None:
    """An object in front of a random person: a box, a pole or a blob over part of them."""
    f = figures[int(rng.integers(len(figures)))]
    lo, hi = f.xy.min(0), f.xy.max(0)
    size = max(float((hi - lo).max()), 4.0)
    c = rng.uniform(lo, hi)
    colour = _random_colour(rng)
    kind = rng.integers(0, 3)
    if kind == 0:  # box from the bottom or a side
        w, h = rng.uniform(0.2, 0.6) * size, rng.uniform(0.15, 0.5) * size
        p, q = _pt(c - [w / 2, h / 2]), _pt(c + [w / 2, h / 2])
        cv2.rectangle(img, p, q, colour, -1)
        cv2.rectangle(lab, p, q, OCCLUDER, -1)
    elif kind == 1:  # pole
        w = int(rng.uniform(0.04, 0.15) * size) + 1
        x = int(c[0])
        cv2.line(img, (x, 0), (x + int(rng.normal(0, 10)), img.shape[0]), colour, w)
        cv2.line(lab, (x, 0), (x + int(rng.normal(0, 10)), img.shape[0]), OCCLUDER, w)
    else:
        r = int(rng.uniform(0.08, 0.25) * size) + 1
        cv2.circle(img, _pt(c), r, colour, -1)
        cv2.circle(lab, _pt(c), r, OCCLUDER, -1)


def camera_effects(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Lighting gradient, brightness/contrast/colour, blur (focus or motion) and noise.

    Done with OpenCV's saturating uint8 operations (a float copy of the frame would cost
    more than drawing it)."""
    h, w = img.shape[:2]
    gain = rng.uniform(0.55, 1.35) * rng.uniform(0.85, 1.15, 3)
    M = np.zeros((3, 4), np.float32)
    M[[0, 1, 2], [0, 1, 2]] = gain
    M[:, 3] = rng.uniform(-25, 25)
    out = cv2.transform(img, M)
    if rng.random() < 0.6:  # uneven lighting: a brightness ramp across the frame
        gx, gy = rng.normal(0, 0.5, 2)
        ramp = np.add.outer(gy * (np.arange(h, dtype=np.float32) / h - 0.5),
                            1.0 + gx * (np.arange(w, dtype=np.float32) / w - 0.5))
        ramp = np.maximum(ramp, 0.0).astype(np.float32)
        out = cv2.multiply(out, cv2.cvtColor(ramp, cv2.COLOR_GRAY2BGR),
                           dtype=cv2.CV_8U)
    r = rng.random()
    if r < 0.35:
        k = int(rng.integers(1, 3)) * 2 + 1
        out = cv2.GaussianBlur(out, (k, k), 0)
    elif r < 0.5:  # motion blur along a random direction
        n = int(rng.integers(3, 8))
        kern = np.zeros((n, n), np.float32)
        if rng.random() < 0.5:
            kern[n // 2, :] = 1.0 / n
        else:
            kern[:, n // 2] = 1.0 / n
        out = cv2.filter2D(out, -1, kern)
    if rng.random() < 0.7:
        level = int(rng.integers(1, 4))
        bank = _noise_bank(h, w, level)
        y0, x0 = int(rng.integers(0, h)), int(rng.integers(0, w))
        out = cv2.add(out, bank[y0:y0 + h, x0:x0 + w], dtype=cv2.CV_8U)
    return out


def sample_figures(rng: np.random.Generator, width: int = 224, height: int = 224,
                   people: Optional[int] = None,
                   actions: Optional[Sequence[str]] = None) -> List[Figure]:
    """Random people for one still frame: each a random action at a random moment, seen
    by its own random camera (any direction, size, position; sometimes partly out of
    frame). ``people`` defaults to 1 (60 %), 2 (25 %) or 3 (15 %)."""
    from .camera import project, random_camera
    from .motions import ACTIONS, action_motion

    acts = tuple(actions) if actions else ACTIONS
    n = people if people is not None else int(rng.choice([1, 2, 3], p=[0.6, 0.25, 0.15]))
    figs = []
    for _ in range(n):
        T = int(rng.integers(8, 40))
        motion = action_motion(str(rng.choice(acts)), T, rng, 30.0)
        t = int(rng.integers(T))
        joints = motion.joints[t:t + 1]
        cam = random_camera(rng, 1, width=width, height=height,
                            person_height=motion.body.height, shake=0.0,
                            off_centre=1.0 if n == 1 else 1.8)
        root = joints[0, [J["left_hip"], J["right_hip"]]].mean(0)
        aim = np.array([root[0], 0.5 * motion.body.height, root[2]])
        xy, depth = project(joints, cam, aim)
        figs.append(Figure(xy[0], depth[0], cam.focal, motion.body, Look.random(rng)))
    return figs


def to_coco17(keypoints18: np.ndarray) -> np.ndarray:
    """COCO-18 ``(..., 18, 3)`` -> COCO-17 ``(..., 17, 3)`` (drops the neck; x, y, v kept)."""
    return np.asarray(keypoints18)[..., COCO17_FROM_18, :]


def draw_keypoints(img: np.ndarray, keypoints: np.ndarray, radius: int = 2) -> np.ndarray:
    """Draw COCO-18 keypoints ``(P, 18, 3)`` (v flags) and limbs on a copy of ``img``:
    visible joints filled, hidden ones as rings; limbs between joints inside the image."""
    out = img.copy()
    for kp in keypoints:
        for a, b in LIMBS:
            if kp[a, 2] > 0 and kp[b, 2] > 0:
                cv2.line(out, _pt(kp[a]), _pt(kp[b]), (0, 255, 255), 1, cv2.LINE_AA)
        for j in range(NUM_JOINTS):
            if kp[j, 2] >= V_VISIBLE:
                cv2.circle(out, _pt(kp[j]), radius, (0, 0, 255), -1, cv2.LINE_AA)
            elif kp[j, 2] > 0:
                cv2.circle(out, _pt(kp[j]), radius, (255, 128, 0), 1, cv2.LINE_AA)
    return out


__all__ = ["Figure", "Look", "render_frame", "background", "camera_effects", "to_coco17",
           "draw_keypoints", "texture_bank", "sample_figures", "V_OUTSIDE", "V_HIDDEN",
           "V_VISIBLE"]
