"""The one skeleton dataset format pipan reads and writes (a numpy ``.npz``).

Arrays (loaded with ``allow_pickle=False``):

- ``keypoints`` float32 ``(sum T, J, 2 or 3)``: every clip's frames, concatenated; x, y and
  optionally a score in [0, 1];
- ``lengths`` int ``(N,)``: frames per clip, in order;
- ``labels`` str ``(N,)``: one action label per clip;
- ``test`` int8 ``(N,)`` (optional): 1 = evaluation clip, 0 = training clip;
- ``joints`` str ``(J,)``: the joint names of the layout (see ``pipan.skeleton``).

``../shared/data/jhmdb14/jhmdb14_split1.npz`` is exactly this format.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, List, Optional, Sequence, Union

import numpy as np

from .errors import DatasetError
from .fileio import atomic_write, write_npz
from .skeleton import COCO18, conversion_indices, to_coco18

PathLike = Union[str, os.PathLike]


@dataclass(frozen=True)
class SkeletonDataset:
    """Clips of skeletons with labels. ``keypoints`` holds all frames concatenated."""

    keypoints: np.ndarray  # (sum T, J, C) float32
    lengths: np.ndarray  # (N,) int64
    labels: np.ndarray  # (N,) str
    joints: tuple  # (J,) names
    test: Optional[np.ndarray] = None  # (N,) int8

    def __post_init__(self) -> None:
        validate(self.keypoints, self.lengths, self.labels, self.joints, self.test)

    def __len__(self) -> int:
        return len(self.lengths)

    @property
    def offsets(self) -> np.ndarray:
        """(N + 1,) start frame of each clip, then the total frame count."""
        return np.concatenate([[0], np.cumsum(self.lengths)]).astype(np.int64)

    def clip(self, i: int) -> np.ndarray:
        """Keypoints of clip ``i``: (T, J, C)."""
        o = self.offsets
        return self.keypoints[o[i]:o[i + 1]]

    def clips(self) -> Iterator[np.ndarray]:
        for i in range(len(self)):
            yield self.clip(i)

    @property
    def classes(self) -> List[str]:
        """Sorted distinct labels."""
        return sorted(set(map(str, self.labels)))

    def to_coco18(self) -> "SkeletonDataset":
        """The same clips in the COCO-18 layout with a score channel (see skeleton.to_coco18)."""
        if tuple(self.joints) == COCO18 and self.keypoints.shape[-1] == 3:
            return self
        return SkeletonDataset(to_coco18(self.keypoints, self.joints), self.lengths,
                               self.labels, COCO18, self.test)

    def subset(self, mask: np.ndarray) -> "SkeletonDataset":
        """The clips where the boolean ``mask`` (N,) is true."""
        mask = np.asarray(mask, bool)
        o = self.offsets
        frames = np.concatenate([np.arange(o[i], o[i + 1]) for i in np.flatnonzero(mask)]
                                or [np.zeros(0, np.int64)])
        return SkeletonDataset(self.keypoints[frames], self.lengths[mask], self.labels[mask],
                               self.joints, None if self.test is None else self.test[mask])


#: Largest |x| or |y| a keypoint may have: pixels of any real image, or normalised
#: coordinates, stay far below it; beyond it float32 arithmetic in the features and the
#: augmentation overflows (training's loss turns NaN).
MAX_COORDINATE = 1e6


def validate(keypoints: np.ndarray, lengths: np.ndarray, labels: np.ndarray,
             joints: Sequence[str], test: Optional[np.ndarray] = None) -> None:
    """Raise DatasetError saying what is wrong with these arrays, if anything."""
    kp = np.asarray(keypoints)
    if kp.ndim != 3 or kp.shape[-1] not in (2, 3):
        raise DatasetError(f"keypoints must have shape (frames, joints, 2 or 3), got {kp.shape}")
    if kp.dtype.kind != "f":
        raise DatasetError(f"keypoints must be floating point, got {kp.dtype}")
    lengths = np.asarray(lengths)
    if lengths.ndim != 1 or len(lengths) == 0:
        raise DatasetError("the dataset is empty (no clips in 'lengths')")
    if lengths.dtype.kind not in "iu":
        raise DatasetError(f"lengths must be integers, got {lengths.dtype}")
    if (lengths <= 0).any():
        raise DatasetError(f"clip {int(np.argmax(lengths <= 0))} has no frames")
    if int(lengths.sum()) != kp.shape[0]:
        raise DatasetError(f"lengths sum to {int(lengths.sum())} frames but keypoints "
                           f"hold {kp.shape[0]}")
    labels = np.asarray(labels)
    if labels.shape != lengths.shape or labels.dtype.kind != "U":
        raise DatasetError(f"labels must be {len(lengths)} strings, got {labels.dtype} "
                           f"{labels.shape}")
    if any(not str(s) for s in labels):
        raise DatasetError("a clip has an empty label")
    if len(joints) != kp.shape[1]:
        raise DatasetError(f"keypoints have {kp.shape[1]} joints but 'joints' names "
                           f"{len(joints)}")
    try:
        conversion_indices([str(j) for j in joints])
    except ValueError as e:
        raise DatasetError(str(e)) from None
    if len(set(map(str, joints))) != len(joints):
        raise DatasetError("'joints' names a joint twice")
    if not np.isfinite(kp).all():
        bad = int(np.argmax(~np.isfinite(kp).reshape(kp.shape[0], -1).all(1)))
        raise DatasetError(f"keypoints contain NaN or infinity (first at frame {bad})")
    if kp.size and float(np.abs(kp[..., :2]).max()) > MAX_COORDINATE:
        bad = int(np.argmax((np.abs(kp[..., :2]) > MAX_COORDINATE).reshape(kp.shape[0], -1)
                            .any(1)))
        raise DatasetError(f"keypoint coordinates reach {float(np.abs(kp[..., :2]).max()):.3g}"
                           f" (first at frame {bad}); pixels or normalised coordinates stay "
                           f"within +-{MAX_COORDINATE:g}")
    if test is not None:
        t = np.asarray(test)
        if t.shape != lengths.shape:
            raise DatasetError(f"'test' must have one flag per clip ({len(lengths)}), "
                               f"got {t.shape}")
        if not np.isin(t, (0, 1)).all():
            raise DatasetError("'test' flags must be 0 or 1")


def load(path: PathLike) -> SkeletonDataset:
    """Read a dataset file, refusing (DatasetError) anything malformed."""
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"{path}: no such file")
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except Exception as e:  # zipfile/pickle/format errors all mean 'not a dataset'
        raise DatasetError(f"{path}: not a readable .npz dataset ({type(e).__name__}: {e})") \
            from None
    missing = [k for k in ("keypoints", "lengths", "labels", "joints") if k not in arrays]
    if missing:
        raise DatasetError(f"{path}: missing array(s) {', '.join(missing)}")
    try:
        return SkeletonDataset(
            keypoints=arrays["keypoints"].astype(np.float32, copy=False)
            if arrays["keypoints"].dtype.kind == "f" else arrays["keypoints"],
            lengths=arrays["lengths"].astype(np.int64)
            if arrays["lengths"].dtype.kind in "iu" else arrays["lengths"],
            labels=arrays["labels"],
            joints=tuple(str(j) for j in np.atleast_1d(arrays["joints"])),
            test=arrays["test"].astype(np.int8) if "test" in arrays else None,
        )
    except DatasetError as e:
        raise DatasetError(f"{path}: {e}") from None


def save(dataset: SkeletonDataset, path: PathLike) -> None:
    """Write ``dataset`` atomically (temp file, then rename); deterministic bytes."""
    arrays = {
        "keypoints": np.ascontiguousarray(dataset.keypoints, np.float32),
        "lengths": np.asarray(dataset.lengths, np.int32),
        "labels": np.asarray(dataset.labels, str),
        "joints": np.asarray(dataset.joints, str),
    }
    if dataset.test is not None:
        arrays["test"] = np.asarray(dataset.test, np.int8)
    atomic_write(path, lambda f: write_npz(f, arrays))
