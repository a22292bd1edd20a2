"""Training targets, loss masks, augmentation and the masked L2 loss of the pose net.

Targets are built in map coordinates (stride 8; ``pipan.decode.net_to_map``), from people
given in net-input pixels as COCO-18 ``(N, 18, 3)`` arrays whose third channel is the
joint's confidence in [0, 1] (0 = not labelled; 1 for human labels; a teacher's score for
pseudo-labels):

- heatmap of joint j: the maximum over people of ``conf * exp(-d^2 / (2 sigma^2))``
  (OpenPose takes the maximum so that two close people keep two peaks);
- background channel: ``1 - max_j heatmap_j``;
- PAF of limb (a, b): on the cells within ``limb_width`` cells of the segment a-b, the unit
  vector from a to b times ``min(conf_a, conf_b)``; averaged over the people that cover a
  cell (the architecture note's rule);
- loss mask (H, W, 1): 0 on cells covered by people who are in the image but not
  annotated (crowd regions, people with no labelled keypoints), 1 elsewhere.

Augmentation warps image, mask and keypoints with one affine matrix built on the
letterbox geometry of ``pipan.image`` (identity parameters reproduce ``letterbox``), so
training sees exactly the runtime's preprocessing. Flipping mirrors the image and
re-indexes the joints with ``pipan.skeleton.FLIP``; the PAF channels then follow by
construction (limbs are built from the re-indexed joints, so limb (right_shoulder,
right_elbow) is drawn from what is now the person's right arm).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Tuple

import cv2
import numpy as np

from pipan.decode import net_to_map
from pipan.image import INPUT_SIZE, letterbox, letterbox_params, to_net_input
from pipan.skeleton import COCO18, FLIP, LIMBS, NUM_JOINTS

MAP_SIZE = INPUT_SIZE // 8


def _swapped_limbs() -> Tuple[int, ...]:
    """Per limb, the limb that joins the same joints with left and right swapped (every
    OpenPose limb has its mirror image in ``LIMBS``, in the same direction)."""
    out = []
    for a, b in LIMBS:
        swapped = (FLIP[a], FLIP[b])
        if swapped not in LIMBS:
            raise AssertionError(f"limb {(a, b)} has no mirror image in LIMBS")
        out.append(LIMBS.index(swapped))
    return tuple(out)


#: Channel order of the heatmap targets (18 joints + background) with every person's
#: left and right joints swapped, as if each had been labelled the other way round.
SWAPPED_HEATMAP_CHANNELS: Tuple[int, ...] = tuple(FLIP) + (NUM_JOINTS,)
#: The same for the PAF targets (limb i owns channels 2i, 2i + 1; the vectors stay).
SWAPPED_PAF_CHANNELS: Tuple[int, ...] = tuple(
    2 * j + c for j in _swapped_limbs() for c in (0, 1))

#: Groups of joints whose left and right a net may swap independently of the others: the
#: face, the arms, the legs (a person's arms can read as seen from the front while their
#: legs read as seen from behind).
SIDE_GROUPS: Tuple[Tuple[str, ...], ...] = (
    ("eye", "ear"), ("shoulder", "elbow", "wrist"), ("hip", "knee", "ankle"))
#: What the groups are called (``pose train --either-side-group``).
SIDE_GROUP_NAMES: Tuple[str, ...] = ("face", "arms", "legs")


def _joint_group(j: int) -> int:
    """The ``SIDE_GROUPS`` index of joint ``j``, or -1 (nose, neck: no side)."""
    for g, parts in enumerate(SIDE_GROUPS):
        if any(COCO18[j].endswith("_" + part) for part in parts):
            return g
    return -1


def _limb_group(a: int, b: int) -> int:
    """A limb's group: the later of its joints' groups in ``SIDE_GROUPS`` (ear to shoulder
    goes with the arms; -1: nose to neck)."""
    return max(_joint_group(a), _joint_group(b))


#: Per heatmap channel (18 joints + background) and per PAF channel: its ``SIDE_GROUPS``
#: index, -1 for channels without a side. Each group is closed under the swaps above.
HEATMAP_CHANNEL_GROUPS: Tuple[int, ...] = tuple(
    _joint_group(j) for j in range(NUM_JOINTS)) + (-1,)
PAF_CHANNEL_GROUPS: Tuple[int, ...] = tuple(
    _limb_group(a, b) for a, b in LIMBS for _ in (0, 1))


def heatmap_targets(people: np.ndarray, size: int = MAP_SIZE, sigma: float = 1.0
                    ) -> np.ndarray:
    """(size, size, 19) joint heatmaps + background from people (N, 18, 3) in net pixels.

    ``sigma`` in map cells (1 cell = 8 input pixels).
    """
    people = np.asarray(people, np.float32).reshape(-1, NUM_JOINTS, 3)
    out = np.zeros((size, size, NUM_JOINTS + 1), np.float32)
    grid = np.arange(size, dtype=np.float32)
    for kp in people:
        xy = net_to_map(kp[:, :2])
        for j in np.nonzero(kp[:, 2] > 0)[0]:
            gx = np.exp(-(grid - xy[j, 0]) ** 2 / (2 * sigma ** 2))
            gy = np.exp(-(grid - xy[j, 1]) ** 2 / (2 * sigma ** 2))
            np.maximum(out[..., j], kp[j, 2] * gy[:, None] * gx[None, :], out=out[..., j])
    out[..., NUM_JOINTS] = 1.0 - out[..., :NUM_JOINTS].max(-1)
    return out


def paf_targets(people: np.ndarray, size: int = MAP_SIZE, limb_width: float = 1.0
                ) -> np.ndarray:
    """(size, size, 38) part-affinity fields from people (N, 18, 3) in net pixels.

    ``limb_width`` in map cells: the half-width of the band around each limb's segment.
    """
    people = np.asarray(people, np.float32).reshape(-1, NUM_JOINTS, 3)
    out = np.zeros((size, size, 2 * len(LIMBS)), np.float32)
    count = np.zeros((size, size, len(LIMBS)), np.float32)
    ys, xs = np.mgrid[0:size, 0:size].astype(np.float32)
    for kp in people:
        xy = net_to_map(kp[:, :2])
        for k, (a, b) in enumerate(LIMBS):
            if kp[a, 2] <= 0 or kp[b, 2] <= 0:
                continue
            d = xy[b] - xy[a]
            length = float(np.hypot(*d))
            if length < 1e-3:
                continue
            u = d / length
            rx, ry = xs - xy[a, 0], ys - xy[a, 1]
            along = rx * u[0] + ry * u[1]
            across = np.abs(rx * u[1] - ry * u[0])
            on = (along >= -limb_width) & (along <= length + limb_width) & \
                (across <= limb_width)
            w = min(kp[a, 2], kp[b, 2])
            out[on, 2 * k] += w * u[0]
            out[on, 2 * k + 1] += w * u[1]
            count[on, k] += 1
    n = np.repeat(np.maximum(count, 1.0), 2, axis=-1)
    return out / n


# --- augmentation ------------------------------------------------------------------------

@dataclass(frozen=True)
class Augment:
    """Ranges of the random augmentation (all off = the runtime letterbox)."""

    scale: Tuple[float, float] = (0.75, 1.25)  # zoom about the letterbox centre
    rotate_deg: float = 30.0
    flip: float = 0.5  # probability
    shift: float = 0.15  # of the input size, both axes (random crop)
    colour: float = 0.25  # brightness/contrast/saturation jitter amplitude
    paste: float = 0.0  # probability of pasting cut-out real people (training.pose.paste)
    lying: float = 0.0  # probability of a quarter turn (either way) added to the rotation
    paste_lying: float = 0.0  # probability that a pasted person is laid down (paste.py)
    paste_lying_edge: float = 0.0  # chance one laid down lies across the bottom edge


NO_AUGMENT = Augment(scale=(1.0, 1.0), rotate_deg=0.0, flip=0.0, shift=0.0, colour=0.0)


def sample_transform(height: int, width: int, aug: Augment, rng: np.random.Generator
                     ) -> Tuple[np.ndarray, bool]:
    """A random 2x3 affine (frame pixels -> net pixels) and whether it mirrors."""
    lb = letterbox_params(height, width, INPUT_SIZE)
    base = np.float64([[lb.scale, 0, lb.dx], [0, lb.scale, lb.dy], [0, 0, 1]])
    c = (INPUT_SIZE - 1) / 2.0
    s = rng.uniform(*aug.scale)
    r = np.deg2rad(rng.uniform(-aug.rotate_deg, aug.rotate_deg))
    if aug.lying > 0 and rng.random() < aug.lying:  # people lying on the floor
        r += float(rng.choice([-0.5, 0.5])) * np.pi
    flip = bool(rng.random() < aug.flip)
    tx, ty = rng.uniform(-aug.shift, aug.shift, size=2) * INPUT_SIZE
    cos, sin = s * np.cos(r), s * np.sin(r)
    # about the centre: T(c + t) * F * R * S * T(-c)
    around = np.float64([[cos, -sin, 0], [sin, cos, 0], [0, 0, 1]])
    if flip:
        around = np.float64([[-1, 0, 0], [0, 1, 0], [0, 0, 1]]) @ around
    to_c = np.float64([[1, 0, -c], [0, 1, -c], [0, 0, 1]])
    back = np.float64([[1, 0, c + tx], [0, 1, c + ty], [0, 0, 1]])
    return (back @ around @ to_c @ base)[:2], flip


def transform_people(people: np.ndarray, matrix: np.ndarray, flip: bool) -> np.ndarray:
    """People (N, 18, 3) in frame pixels -> net pixels (joints re-indexed when mirrored).

    Joints that land outside the input square stay labelled: their Gaussian tails and limbs
    still fall partly on the map, which teaches the net about people cut by the border.
    """
    p = np.array(people, np.float32).reshape(-1, NUM_JOINTS, 3)
    xy = p[..., :2] @ matrix[:, :2].T.astype(np.float32) + matrix[:, 2].astype(np.float32)
    p[..., :2] = np.where(p[..., 2:] > 0, xy, 0.0)
    if flip:
        p = p[:, FLIP, :]
    # far outside the view: unlabelled (a joint 3 cells beyond the border leaves no trace)
    far = ((p[..., :2] < -24) | (p[..., :2] > INPUT_SIZE + 24)).any(-1)
    p[far] = 0.0
    return p


def colour_jitter(rgb: np.ndarray, amount: float, rng: np.random.Generator) -> np.ndarray:
    """Random brightness, contrast and saturation change of an RGB uint8 image."""
    if amount <= 0:
        return rgb
    x = rgb.astype(np.float32)
    grey = x.mean(-1, keepdims=True)
    x = grey + (x - grey) * (1 + rng.uniform(-amount, amount))  # saturation
    x = (x - x.mean()) * (1 + rng.uniform(-amount, amount)) + x.mean()  # contrast
    x = x * (1 + rng.uniform(-amount, amount))  # brightness
    return np.clip(x, 0, 255).astype(np.uint8)


def make_sample(image_bgr: np.ndarray, people: np.ndarray, ignore: Optional[np.ndarray],
                aug: Augment, rng: Optional[np.random.Generator],
                sigma: float = 1.0, limb_width: float = 1.0):
    """One training example from a frame and its people (frame pixels, (N, 18, 3)).

    ``ignore``: optional (H, W) bool/uint8 image of regions whose people are not
    annotated. Returns ``(x, heat, paf, mask, people_net)``: the net input (224, 224, 3)
    float32, targets (28, 28, 19) and (28, 28, 38), the loss mask (28, 28, 1) and the
    people in net pixels.
    """
    H, W = image_bgr.shape[:2]
    if rng is None or aug == NO_AUGMENT:
        rgb, lb = letterbox(image_bgr)
        matrix = np.float64([[lb.scale, 0, lb.dx], [0, lb.scale, lb.dy]])
        flip = False
    else:
        matrix, flip = sample_transform(H, W, aug, rng)
        rgb = cv2.warpAffine(image_bgr, matrix, (INPUT_SIZE, INPUT_SIZE),
                             flags=cv2.INTER_LINEAR, borderValue=(0, 0, 0))[..., ::-1]
        rgb = colour_jitter(np.ascontiguousarray(rgb), aug.colour, rng)
    people_net = transform_people(people, matrix, flip)
    heat = heatmap_targets(people_net, MAP_SIZE, sigma)
    paf = paf_targets(people_net, MAP_SIZE, limb_width)
    mask = np.ones((MAP_SIZE, MAP_SIZE, 1), np.float32)
    if ignore is not None and np.any(ignore):
        m = cv2.warpAffine(np.asarray(ignore, np.uint8) * 255, matrix,
                           (INPUT_SIZE, INPUT_SIZE), flags=cv2.INTER_LINEAR, borderValue=0)
        m = cv2.resize(m, (MAP_SIZE, MAP_SIZE), interpolation=cv2.INTER_AREA)
        mask[..., 0] = (m < 64).astype(np.float32)  # a cell a quarter covered is ignored
    return to_net_input(rgb), heat, paf, mask, people_net


def masked_l2(outputs, heat, paf, mask):
    """The pose net's loss: masked L2 (sum of squares over maps, mean over the batch) of
    every stage's heatmaps and PAFs. ``outputs`` alternates heatmaps and PAFs per stage."""
    import tensorflow as tf
    total = 0.0
    for k in range(0, len(outputs), 2):
        total += tf.reduce_sum(mask * tf.square(outputs[k] - heat))
        total += tf.reduce_sum(mask * tf.square(outputs[k + 1] - paf))
    return total / tf.cast(tf.shape(heat)[0], tf.float32)
