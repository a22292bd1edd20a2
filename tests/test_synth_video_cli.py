"""Synthetic videos with their ground-truth sidecar, and the ``python -m training synth``
commands through click's CliRunner (including bad arguments: a clean one-line error)."""
import json

import cv2
import numpy as np
import pytest
from click.testing import CliRunner

from pipan import dataset as ds
from training.cli import cli
from training.synth.motions import ACTIONS
from training.synth.video import write_video


def test_video_frames_match_sidecar(tmp_path):
    out = tmp_path / "v.mp4"
    doc = write_video(out, seed=3, seconds=3, people=2, width=160, height=120, fps=10)
    side = json.loads(out.with_suffix(".json").read_text())
    assert side == json.loads(json.dumps(doc))
    cap = cv2.VideoCapture(str(out))
    n = 0
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        assert frame.shape == (120, 160, 3)
        n += 1
    assert n == side["frames"] == 30 and side["fps"] == 10.0
    assert abs(cap.get(cv2.CAP_PROP_FPS) - 10.0) < 0.01
    assert len(side["people"]) == 2
    for p in side["people"]:
        segs = p["segments"]
        assert segs[0][0] == 0 and abs(segs[-1][1] - 3.0) < 1e-6
        assert all(a[1] == b[0] for a, b in zip(segs, segs[1:]))
        labels = {s[2] for s in segs}
        assert labels <= set(ACTIONS) and labels <= set(side["labels"])
        fs = p["frame_segments"]
        assert [(s / 10, e / 10, l) for s, e, l in fs] == [tuple(s) for s in segs]
        kp = np.array(p["keypoints"])
        assert kp.shape == (30, 18, 3) and set(np.unique(kp[..., 2])) <= {0, 1, 2}
        assert (kp[..., 2] == 2).mean() > 0.3
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp files


def test_video_is_deterministic_and_refuses_bad_names(tmp_path):
    a = write_video(tmp_path / "a.mp4", seed=1, seconds=1, width=96, height=64, fps=8)
    b = write_video(tmp_path / "b.mp4", seed=1, seconds=1, width=96, height=64, fps=8)
    assert a == b
    with pytest.raises(ValueError, match="mp4"):
        write_video(tmp_path / "a.avi", seed=1, seconds=1)


def _run(*args):
    return CliRunner().invoke(cli, ["synth", *map(str, args)])


def test_cli_motions_same_seed_same_bytes(tmp_path):
    a, b = tmp_path / "a.npz", tmp_path / "b.npz"
    for p in (a, b):
        r = _run("motions", "--out", p, "--clips", 25, "--seed", 9)
        assert r.exit_code == 0, r.output
    assert a.read_bytes() == b.read_bytes()
    d = ds.load(a)
    assert len(d) == 25 and d.test is not None and d.keypoints.shape[1:] == (18, 3)
    r = _run("motions", "--out", a, "--clips", 4, "--seed", 1, "--actions", "walk,wave")
    assert r.exit_code == 0 and ds.load(a).classes == ["walk", "wave"]


def test_cli_frames_video_sheet(tmp_path):
    r = _run("frames", "--out", tmp_path / "c", "--images", 3, "--seed", 2, "--size", 96)
    assert r.exit_code == 0, r.output
    doc = json.loads((tmp_path / "c" / "annotations.json").read_text())
    assert len(doc["images"]) == 3 and doc["images"][0]["width"] == 96
    r = _run("video", "--out", tmp_path / "v.mp4", "--seconds", 1, "--size", "128x96",
             "--fps", 5, "--people", 1)
    assert r.exit_code == 0, r.output
    assert json.loads((tmp_path / "v.json").read_text())["frames"] == 5
    r = _run("sheet", "--out", tmp_path / "s.png", "--rows", 1, "--columns", 2)
    assert r.exit_code == 0, r.output
    assert cv2.imread(str(tmp_path / "s.png")).shape == (224, 448, 3)


@pytest.mark.parametrize("args, message", [
    (("motions", "--out", "X.npz", "--clips", 0), "Invalid value for '--clips'"),
    (("motions", "--out", "X.npz", "--actions", "walk,fly"), "Error: unknown action 'fly'"),
    (("motions", "--out", "X.npz", "--vocabulary", "--actions", "lie,fly"),
     "Error: unknown action 'fly'"),
    (("motions", "--out", "X.npz", "--vocabulary", "--actions", "lie,lie"),
     "Error: each action may be named once"),
    (("motions", "--out", "X.npz", "--high-camera", 2), "Invalid value for '--high-camera'"),
    (("motions", "--out", "X.npz", "--min-frames", 50, "--max-frames", 10),
     "Error: need 1 <= min_frames"),
    (("video", "--out", "X.mp4", "--size", "big"), "expected WIDTHxHEIGHT"),
    (("video", "--out", "X.avi"), "Error: the video must be an .mp4 file"),
    (("frames", "--out", "NOTES", "--images", 1), "Error: "),
    (("frames", "--out", "F", "--images", 1, "--actions", "lie,fly"),
     "Error: unknown action 'fly'"),
])
def test_cli_bad_arguments_give_a_clean_error(tmp_path, args, message):
    notes = tmp_path / "NOTES"
    notes.mkdir()
    (notes / "mine.txt").write_text("x")
    args = [str(tmp_path / a) if a in ("X.npz", "X.mp4", "X.avi", "NOTES") else a
            for a in args]
    r = _run(*args)
    assert r.exit_code != 0
    assert message in r.output
    assert "Traceback" not in r.output
    assert r.exception is None or isinstance(r.exception, SystemExit)  # no crash
    assert (notes / "mine.txt").exists()
