"""UCF101/HMDB51 loaders on a fabricated folder tree with the official split-file syntax,
tiny generated videos and a fake pose estimator."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from pipan.dataset import load
from pipan.errors import DatasetError
from pipan.types import Person
from training.action.loaders import hmdb51, main_person, ucf101


class FakeEstimator:
    """Two people per frame; the main one's x encodes the frame's brightness."""

    def __init__(self):
        self.calls = 0

    def estimate(self, frame_bgr):
        self.calls += 1
        level = float(frame_bgr.mean())
        big = np.zeros((18, 3), np.float32)
        big[:, 0], big[:, 1], big[:, 2] = level, np.arange(18), 0.9
        small = big.copy()
        small[:, 2] = 0.2
        return [Person(small, 0.2), Person(big, 0.9)]


def write_video(path: Path, levels):
    path.parent.mkdir(parents=True, exist_ok=True)
    w = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10, (32, 24))
    assert w.isOpened()
    for v in levels:
        w.write(np.full((24, 32, 3), v, np.uint8))
    w.release()


@pytest.fixture()
def ucf_tree(tmp_path):
    vids, splits = tmp_path / "UCF-101", tmp_path / "ucfTrainTestlist"
    splits.mkdir()
    (splits / "classInd.txt").write_text("1 ApplyEyeMakeup\n2 Archery\n")
    names = {"ApplyEyeMakeup": ["v_ApplyEyeMakeup_g01_c01", "v_ApplyEyeMakeup_g08_c01"],
             "Archery": ["v_Archery_g01_c01", "v_Archery_g08_c02"]}
    for i, (cls, files) in enumerate(names.items()):
        for j, f in enumerate(files):
            write_video(vids / cls / f"{f}.avi", [40 * (i + 1) + 10 * j] * (3 + j))
    (splits / "trainlist01.txt").write_text(
        "ApplyEyeMakeup/v_ApplyEyeMakeup_g08_c01.avi 1\r\nArchery/v_Archery_g08_c02.avi 2\r\n")
    (splits / "testlist01.txt").write_text(
        "ApplyEyeMakeup/v_ApplyEyeMakeup_g01_c01.avi\r\nArchery/v_Archery_g01_c01.avi\r\n")
    return vids, splits


def test_ucf101_split_files_and_cache_resume(ucf_tree, tmp_path):
    vids, splits = ucf_tree
    est = FakeEstimator()
    out = tmp_path / "ucf.npz"
    ds = ucf101(vids, splits, est, tmp_path / "cache", out=out, progress=False, log=lambda s: None)
    assert list(ds.labels) == ["ApplyEyeMakeup", "Archery", "ApplyEyeMakeup", "Archery"]
    assert list(ds.test) == [0, 0, 1, 1]
    assert list(ds.lengths) == [4, 4, 3, 3]
    # The main person was kept, frame order and brightness preserved (MJPG is lossy: +-3).
    np.testing.assert_allclose(ds.clip(0)[:, 0, 0], 50, atol=3)
    assert (ds.clip(0)[:, :, 2] == np.float32(0.9)).all()
    saved = load(out)
    np.testing.assert_array_equal(saved.keypoints, ds.keypoints)
    calls = est.calls
    # Resume: nothing is recomputed when every video is cached ...
    ucf101(vids, splits, est, tmp_path / "cache", progress=False, log=lambda s: None)
    assert est.calls == calls
    # ... and only the lost ones are when a cache file is gone (an interrupted run).
    (tmp_path / "cache" / "Archery" / "v_Archery_g01_c01.npy").unlink()
    again = ucf101(vids, splits, est, tmp_path / "cache", progress=False, log=lambda s: None)
    assert est.calls == calls + 3
    np.testing.assert_array_equal(again.keypoints, ds.keypoints)


def test_ucf101_bad_lists_are_clear_errors(ucf_tree, tmp_path):
    vids, splits = ucf_tree
    with pytest.raises(DatasetError, match="classInd"):
        ucf101(vids, tmp_path, FakeEstimator(), tmp_path / "c", progress=False)
    (splits / "testlist01.txt").write_text("Bowling/v_Bowling_g01_c01.avi\n")
    with pytest.raises(DatasetError, match="Bowling"):
        ucf101(vids, splits, FakeEstimator(), tmp_path / "c", progress=False)
    (splits / "testlist01.txt").write_text("Archery/v_Archery_g09_c01.avi\n")
    with pytest.raises(DatasetError, match="not under"):
        ucf101(vids, splits, FakeEstimator(), tmp_path / "c", progress=False)


def test_hmdb51_split_ids(tmp_path):
    vids, splits = tmp_path / "hmdb51_org", tmp_path / "testTrainMulti_7030_splits"
    splits.mkdir()
    for cls in ("brush_hair", "cartwheel"):
        lines = []
        for k, sid in enumerate((1, 2, 0)):
            name = f"{cls}_clip_{k}_f_cm_np1_ri_med_0.avi"
            write_video(vids / cls / name, [60 + 20 * k] * 3)
            lines.append(f"{name} {sid} ")
        (splits / f"{cls}_test_split1.txt").write_text("\n".join(lines) + "\n")
        (splits / f"{cls}_test_split2.txt").write_text(lines[0].replace(" 1 ", " 2 ") + "\n")
    ds = hmdb51(vids, splits, FakeEstimator(), tmp_path / "cache", progress=False,
                log=lambda s: None)
    assert list(ds.labels) == ["brush_hair", "brush_hair", "cartwheel", "cartwheel"]
    assert list(ds.test) == [0, 1, 0, 1]  # id 0 (unused) left out
    ds2 = hmdb51(vids, splits, FakeEstimator(), tmp_path / "cache", split=2, progress=False,
                 log=lambda s: None)
    assert list(ds2.test) == [1, 1]
    (splits / "cartwheel_test_split1.txt").write_text("x.avi 7\n")
    with pytest.raises(DatasetError, match="0\\|1\\|2"):
        hmdb51(vids, splits, FakeEstimator(), tmp_path / "cache", progress=False)


def test_main_person_and_empty_frames():
    assert (main_person([]) == 0).all() and main_person([]).shape == (18, 3)
    a = np.zeros((18, 3), np.float32)
    b = a.copy()
    b[:, 2] = 0.5
    assert main_person([Person(a, 1.0), Person(b, 0.1)])[0, 2] == 0.5
