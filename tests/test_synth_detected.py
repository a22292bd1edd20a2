"""training.synth.detected: action clips made by running pipan's own runtime over
synthetic videos (tiny videos here: a few seconds in all)."""
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import pipan
from pipan import dataset as ds
from training.cli import cli
from training.synth import detected as D

HAVE_POSE = (Path(pipan.__file__).parent / "models" / "pose.tflite").is_file()
needs_pose = pytest.mark.skipif(not HAVE_POSE, reason="pipan/models/pose.tflite not bundled")


def test_video_seeds_never_the_demo_and_distinct():
    s = D.video_seeds(1, 500)
    assert 0 not in s and len(set(s)) == 500
    assert s == D.video_seeds(1, 500) and s[:10] == D.video_seeds(1, 10)
    assert s[:10] != D.video_seeds(2, 10)
    with pytest.raises(ValueError, match="demo"):
        D.process_video(0, seconds=1, people=1, fps=30, width=160, height=120,
                        min_frames=5, max_frames=10)


def test_cut_runs_trims_splits_and_drops():
    kp = [(f, np.full((18, 3), f, np.float32)) for f in range(60)]
    owner = [(0, "walk")] * 30 + [None] * 2 + [(0, "sit")] * 8 + [(1, "sit")] * 20
    clips = D.cut(kp, owner, min_frames=5, max_frames=12)
    T = D.TRIM
    # walk: 30 frames -> trimmed to 24 -> 2 pieces of 12; sit of person 0: 8 -> 2 frames
    # (dropped); sit of person 1: 20 -> 14 -> 2 pieces of 7
    assert [(len(c), lab) for c, lab in clips] == [(12, "walk"), (12, "walk"),
                                                   (7, "sit"), (7, "sit")]
    assert clips[0][0][0, 0, 0] == T and clips[1][0][-1, 0, 0] == 29 - T
    assert clips[2][0][0, 0, 0] == 40 + T


def test_truth_oks_matches_itself_not_others():
    rng = np.random.default_rng(0)
    a = np.zeros((18, 3), np.float32)
    a[:, :2] = rng.uniform(100, 200, (18, 2))
    a[:, 2] = 2
    b = a.copy()
    b[:, 0] += 300
    det = a.copy()
    det[:, 2] = 0.7
    assert D.truth_oks(det, a) == pytest.approx(1.0)
    assert D.truth_oks(det, b) < 0.01


@needs_pose
def test_clips_are_what_the_runtime_feeds_and_deterministic():
    kw = dict(seconds=2.0, people=1, fps=30.0, width=320, height=240, min_frames=8,
              max_frames=30)
    r = D.process_video(11, **kw)
    assert r.frames == 60 and r.matched > 0.5 * r.person_frames
    assert r.clips and all(8 <= len(c) <= 30 for c in r.clips)
    import tempfile
    from training.synth.video import write_video
    with tempfile.TemporaryDirectory() as tmp:
        doc = write_video(Path(tmp) / "v.mp4", 11, seconds=2.0, people=1, width=320,
                          height=240, fps=30.0)
    assert set(r.labels) <= {s[2] for s in doc["people"][0]["segments"]}
    for c in r.clips:
        have = c[..., 2] > 0
        assert c.shape[1:] == (18, 3) and have.any(-1).all()
        assert (c[have, 0] >= -1).all() and (c[have, 0] <= 321).all()
    again = D.process_video(11, **kw)
    assert all(np.array_equal(a, b) for a, b in zip(r.clips, again.clips))


@needs_pose
def test_command_writes_a_dataset_with_a_test_column(tmp_path):
    out = tmp_path / "det.npz"
    res = CliRunner().invoke(cli, ["synth", "detected", "--out", str(out), "--videos", "2",
                                   "--seed", "3", "--seconds", "2", "--size", "320x240",
                                   "--people", "1", "--min-frames", "8"])
    assert res.exit_code == 0, res.output
    data = ds.load(out)
    assert data.joints == pipan.skeleton.COCO18 and data.keypoints.shape[-1] == 3
    assert data.test is not None and set(data.test.tolist()) <= {0, 1}
    assert (data.lengths >= 8).all() and "true person-frames matched" in res.output


def test_command_rejects_bad_people():
    res = CliRunner().invoke(cli, ["synth", "detected", "--out", "x.npz", "--people", "a-b"])
    assert res.exit_code != 0 and "MIN-MAX" in res.output
