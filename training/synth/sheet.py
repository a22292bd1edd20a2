"""A contact sheet: rendered frames with their exact keypoints and limbs drawn over them."""
from __future__ import annotations

import io
import os
from typing import Union

import cv2
import numpy as np

from pipan.fileio import atomic_write_bytes

from .coco import coco_image
from .render import draw_keypoints


def contact_sheet(seed: int = 0, *, columns: int = 6, rows: int = 4, size: int = 224,
                  keypoints: bool = True) -> np.ndarray:
    """A ``rows`` x ``columns`` grid (BGR uint8) of rendered ``size`` x ``size`` frames
    (the same images ``write_coco`` makes for ``seed``), keypoints drawn: filled dots are
    visible joints, rings hidden ones, yellow lines the limbs."""
    if columns < 1 or rows < 1:
        raise ValueError("rows and columns must be at least 1")
    tiles = []
    for i in range(rows * columns):
        img, anns = coco_image(i, seed, size)
        if keypoints and anns:
            kp = np.array([a["keypoints_coco18"] for a in anns], np.float32).reshape(-1, 18, 3)
            img = draw_keypoints(img, kp)
        tiles.append(img)
    grid = [np.hstack(tiles[r * columns:(r + 1) * columns]) for r in range(rows)]
    return np.vstack(grid)


def write_contact_sheet(out: Union[str, os.PathLike], seed: int = 0, **kwargs) -> None:
    """Write ``contact_sheet(seed, **kwargs)`` as a PNG, atomically. With Pillow (which
    matplotlib brings) the PNG has a 256-colour palette, a quarter of the size, so that the
    committed sheet stays well under 1 MB; without it a full-colour PNG."""
    sheet = contact_sheet(seed, **kwargs)
    try:
        from PIL import Image
    except ImportError:
        ok, buf = cv2.imencode(".png", sheet, [cv2.IMWRITE_PNG_COMPRESSION, 9])
        if not ok:
            raise RuntimeError("could not encode the contact sheet")
        data = buf.tobytes()
    else:
        pal = Image.fromarray(np.ascontiguousarray(sheet[..., ::-1])).quantize(
            256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
        f = io.BytesIO()
        pal.save(f, "PNG", optimize=True)
        data = f.getvalue()
    atomic_write_bytes(out, data)
