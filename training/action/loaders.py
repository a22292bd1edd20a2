"""UCF101 and HMDB51 as distributed -> skeleton datasets, by running a pose estimator over
every video once.

Layouts read (the official distributions, unpacked):

- UCF101: ``<videos>/<Class>/v_<Class>_gXX_cYY.avi`` and the split folder
  ``ucfTrainTestlist/`` with ``classInd.txt`` (``1 ApplyEyeMakeup``),
  ``trainlistNN.txt`` (``ApplyEyeMakeup/v_..._g08_c01.avi 1``) and ``testlistNN.txt``
  (``ApplyEyeMakeup/v_..._g01_c01.avi``).
- HMDB51: ``<videos>/<class>/<name>.avi`` and the split folder with
  ``<class>_test_splitN.txt`` lines ``<name>.avi 1|2|0`` (1 train, 2 test, 0 unused:
  left out).

The estimator is anything with ``.estimate(frame_bgr) -> list[Person]`` (e.g.
``pipan.pose.PoseEstimator``). Each frame keeps its main person: the one with the largest
sum of joint scores (a frame without anyone is all zeros, score 0). Skeletons are cached
per video (``<cache>/<class>/<name>.npy``, written atomically), so an interrupted run
resumes where it stopped; the merge into one dataset comes last.
"""
from __future__ import annotations

import io
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, List, Optional, Sequence

import numpy as np

from pipan.dataset import SkeletonDataset, save
from pipan.errors import DatasetError
from pipan.fileio import atomic_write_bytes
from pipan.skeleton import COCO18, NUM_JOINTS


@dataclass(frozen=True)
class VideoItem:
    """One video of a split: path relative to the videos folder, label, test flag."""

    relpath: str  # "<class>/<file>.avi"
    label: str
    test: int  # 1 = evaluation clip


def ucf101_split(splits_dir: Path, split: int = 1) -> List[VideoItem]:
    """The videos of UCF101 split ``split`` (1-3) from its official list files."""
    splits_dir = Path(splits_dir)
    ind = splits_dir / "classInd.txt"
    if not ind.is_file():
        raise DatasetError(f"{ind}: no such file (the UCF101 split folder has classInd.txt)")
    classes = {}
    for line in ind.read_text().splitlines():
        if line.strip():
            num, name = line.split()
            classes[int(num)] = name
    items: List[VideoItem] = []
    for kind, test in (("train", 0), ("test", 1)):
        path = splits_dir / f"{kind}list{split:02d}.txt"
        if not path.is_file():
            raise DatasetError(f"{path}: no such file")
        for n, line in enumerate(path.read_text().splitlines(), 1):
            parts = line.split()
            if not parts:
                continue
            rel = parts[0].replace("\\", "/")
            cls = rel.split("/")[0]
            if cls not in classes.values():
                raise DatasetError(f"{path}:{n}: class {cls!r} is not in classInd.txt")
            if len(parts) > 1 and classes.get(int(parts[1])) != cls:
                raise DatasetError(f"{path}:{n}: label {parts[1]} disagrees with {cls!r}")
            items.append(VideoItem(rel, cls, test))
    return items


_HMDB_SPLIT = re.compile(r"^(?P<cls>.+)_test_split(?P<n>\d)\.txt$")


def hmdb51_split(splits_dir: Path, split: int = 1) -> List[VideoItem]:
    """The videos of HMDB51 split ``split`` (1-3): ids 1 (train) and 2 (test); 0 left out."""
    splits_dir = Path(splits_dir)
    files = sorted(p for p in splits_dir.glob(f"*_test_split{split}.txt"))
    if not files:
        raise DatasetError(f"{splits_dir}: no <class>_test_split{split}.txt files")
    items: List[VideoItem] = []
    for path in files:
        cls = _HMDB_SPLIT.match(path.name).group("cls")  # type: ignore[union-attr]
        for n, line in enumerate(path.read_text().splitlines(), 1):
            parts = line.split()
            if not parts:
                continue
            if len(parts) != 2 or parts[1] not in ("0", "1", "2"):
                raise DatasetError(f"{path}:{n}: expected '<name>.avi 0|1|2', got {line!r}")
            if parts[1] != "0":
                items.append(VideoItem(f"{cls}/{parts[0]}", cls, int(parts[1] == "2")))
    return items


def main_person(people: Sequence) -> np.ndarray:
    """COCO-18 keypoints ``(18, 3)`` of the person with the largest sum of joint scores;
    zeros when there is nobody."""
    if not people:
        return np.zeros((NUM_JOINTS, 3), np.float32)
    best = max(people, key=lambda p: float(np.asarray(p.keypoints)[:, 2].sum()))
    return np.asarray(best.keypoints, np.float32).reshape(NUM_JOINTS, 3)


def video_skeletons(path: Path, estimator, stride: int = 1) -> np.ndarray:
    """Main-person skeletons ``(T, 18, 3)`` of every ``stride``-th frame of a video."""
    import cv2

    cap = cv2.VideoCapture(str(path))
    if not cap.isOpened():
        raise DatasetError(f"{path}: cannot open the video")
    frames = []
    try:
        i = 0
        while True:
            ok, frame = cap.read()
            if not ok:
                break
            if i % stride == 0:
                frames.append(main_person(estimator.estimate(frame)))
            i += 1
    finally:
        cap.release()
    return np.stack(frames) if frames else np.zeros((0, NUM_JOINTS, 3), np.float32)


def _cache_path(cache_dir: Path, relpath: str) -> Path:
    return Path(cache_dir) / (relpath.rsplit(".", 1)[0] + ".npy")


def build_dataset(items: Sequence[VideoItem], videos_dir: Path, estimator, cache_dir: Path,
                  out: Optional[Path] = None, stride: int = 1, progress: bool = True,
                  log: Callable[[str], None] = print) -> SkeletonDataset:
    """Run ``estimator`` over each listed video not yet cached, then merge all caches into
    one COCO-18 dataset (written atomically to ``out`` if given).

    Missing videos are an error (a wrong folder, not something to skip silently); a
    video that opens but yields no frame is cached as empty and left out of the merge."""
    videos_dir, cache_dir = Path(videos_dir), Path(cache_dir)
    missing = [it.relpath for it in items if not (videos_dir / it.relpath).is_file()]
    if missing:
        raise DatasetError(f"{len(missing)} listed video(s) not under {videos_dir}, e.g. "
                           f"{missing[0]}")
    todo = [it for it in items if not _cache_path(cache_dir, it.relpath).is_file()]
    if len(todo) < len(items):
        log(f"{len(items) - len(todo)} of {len(items)} videos already cached in {cache_dir}")
    iterator: Iterable[VideoItem] = todo
    if progress and todo:
        from tqdm import tqdm
        iterator = tqdm(todo, desc="pose estimation", unit="video")
    for it in iterator:
        kp = video_skeletons(videos_dir / it.relpath, estimator, stride)
        buf = io.BytesIO()
        np.save(buf, kp.astype(np.float32), allow_pickle=False)
        atomic_write_bytes(_cache_path(cache_dir, it.relpath), buf.getvalue())
    clips, labels, tests, empty = [], [], [], 0
    for it in items:
        kp = np.load(_cache_path(cache_dir, it.relpath), allow_pickle=False)
        if len(kp) == 0:
            empty += 1
            continue
        clips.append(kp)
        labels.append(it.label)
        tests.append(it.test)
    if empty:
        log(f"{empty} video(s) gave no frames and are left out")
    if not clips:
        raise DatasetError("no video gave any frame")
    ds = SkeletonDataset(np.concatenate(clips).astype(np.float32),
                         np.array([len(c) for c in clips], np.int64), np.array(labels, str),
                         COCO18, np.array(tests, np.int8))
    if out is not None:
        save(ds, out)
    return ds


def ucf101(videos_dir: Path, splits_dir: Path, estimator, cache_dir: Path, split: int = 1,
           out: Optional[Path] = None, **kwargs) -> SkeletonDataset:
    """UCF101 split ``split`` as a skeleton dataset (see :func:`build_dataset`)."""
    return build_dataset(ucf101_split(splits_dir, split), videos_dir, estimator, cache_dir,
                         out, **kwargs)


def hmdb51(videos_dir: Path, splits_dir: Path, estimator, cache_dir: Path, split: int = 1,
           out: Optional[Path] = None, **kwargs) -> SkeletonDataset:
    """HMDB51 split ``split`` as a skeleton dataset (see :func:`build_dataset`)."""
    return build_dataset(hmdb51_split(splits_dir, split), videos_dir, estimator, cache_dir,
                         out, **kwargs)
