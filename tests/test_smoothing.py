"""pipan.smoothing: One-Euro keypoint smoothing per track, and its place in the pipeline."""
import numpy as np
import pytest

from pipan.pipeline import Pipeline
from pipan.smoothing import KeypointSmoother, alpha
from pipan.tracker import Tracker
from pipan.types import Person, PoseEstimatorBase, PoseOutput
from pipan.video import Frame


def skeleton(rng, centre=(320.0, 240.0), size=100.0):
    kp = np.zeros((18, 3), np.float32)
    kp[:, :2] = np.float32(centre) + rng.uniform(-size / 2, size / 2, (18, 2))
    kp[:, 2] = 0.8
    return kp


def test_alpha_limits():
    assert 0 < alpha(1.0, 1 / 30) < alpha(10.0, 1 / 30) < 1
    assert alpha(1e6, 1 / 30) == pytest.approx(1.0, abs=1e-4)


def test_still_person_jitter_is_reduced_and_mean_kept():
    rng = np.random.default_rng(0)
    base = skeleton(rng)
    sm = KeypointSmoother()
    raw, out = [], []
    for f in range(300):
        kp = base.copy()
        kp[:, :2] += rng.normal(0, 3.0, (18, 2))
        raw.append(kp)
        out.append(sm.smooth(1, kp, f / 30))
    raw, out = np.stack(raw)[30:], np.stack(out)[30:]
    jitter = lambda a: np.abs(np.diff(a[..., :2], axis=0)).mean()
    assert jitter(out) < 0.35 * jitter(raw)
    assert np.abs(out[..., :2].mean(0) - base[:, :2]).max() < 1.5
    assert (out[..., 2] == raw[..., 2]).all()  # scores pass through


def test_fast_motion_lags_little():
    """A person crossing the frame at 3 body heights a second is followed closely."""
    rng = np.random.default_rng(1)
    base = skeleton(rng)
    sm = KeypointSmoother()
    for f in range(60):
        kp = base.copy()
        kp[:, 0] += 10.0 * f  # 300 px/s
        out = sm.smooth(7, kp, f / 30)
    assert np.abs(out[:, 0] - kp[:, 0]).max() < 12.0  # under 1.2 frames of travel


def test_missing_joints_stay_missing_and_restart():
    rng = np.random.default_rng(2)
    base = skeleton(rng)
    sm = KeypointSmoother()
    sm.smooth(1, base, 0.0)
    gone = base.copy()
    gone[4] = 0
    out = sm.smooth(1, gone, 1 / 30)
    assert (out[4] == 0).all()
    back = base.copy()
    back[4, :2] += 50.0  # found again elsewhere: no smoothing across the gap
    out = sm.smooth(1, back, 2 / 30)
    assert np.allclose(out[4], back[4])


def test_tracks_are_independent_and_forgotten():
    rng = np.random.default_rng(3)
    a, b = skeleton(rng), skeleton(rng, (100.0, 100.0))
    sm = KeypointSmoother()
    sm.smooth(1, a, 0.0)
    first_b = sm.smooth(2, b, 0.0)
    assert np.array_equal(first_b, b) and len(sm) == 2
    sm.forget(1)
    sm.forget(99)  # unknown: ignored
    assert len(sm) == 1
    assert np.array_equal(sm.smooth(1, b, 1.0), b)  # a new track starts from its input


def test_bad_parameters():
    with pytest.raises(ValueError):
        KeypointSmoother(min_cutoff_hz=0)
    with pytest.raises(ValueError):
        KeypointSmoother(beta=-1)


class _Pose(PoseEstimatorBase):
    def __init__(self, seq):
        self.seq, self.n = seq, 0

    def estimate_timed(self, image):
        kp = self.seq[self.n]
        self.n += 1
        return PoseOutput([] if kp is None else [Person(kp, 0.9)])


class _Action:
    labels = ("a", "b")

    def __init__(self):
        self.fed, self.forgotten = [], []

    def update(self, tid, kp, time=None):
        self.fed.append(np.array(kp))
        return np.float32([0.5, 0.5])

    def forget(self, tid):
        self.forgotten.append(tid)


@pytest.mark.parametrize("smoother", [True, False])
def test_pipeline_feeds_the_smoothed_keypoints(smoother):
    rng = np.random.default_rng(4)
    base = skeleton(rng)
    seq = [base + np.float32(np.r_[rng.normal(0, 3, 2), 0]) for _ in range(20)]
    seq += [None] * 20  # the person leaves: the track ends, its filter state goes too
    action = _Action()
    pipe = Pipeline(_Pose(seq), action, smoother=smoother, regions=False,
                    tracker=Tracker(min_hits=1, max_missed=15))  # fed from the first frame
    image = np.zeros((8, 8, 3), np.uint8)
    for i in range(len(seq)):
        r = pipe.process(Frame(index=i, time=i / 30, image=image))
        if i < 20:
            assert np.array_equal(r.tracks[0].person.keypoints, action.fed[-1])
    fed = np.stack(action.fed)
    raw = np.stack(seq[:20])
    if smoother:
        assert not np.allclose(fed, raw) and np.allclose(fed[0], raw[0])
        assert len(pipe.smoother) == 0  # the ended track's state was dropped
    else:
        assert np.array_equal(fed, raw) and pipe.smoother is None
    assert action.forgotten == [1]


def test_cli_smooth_option(monkeypatch):
    """--smooth/--no-smooth reach the Pipeline; unset means the pipeline's default."""
    from click.testing import CliRunner

    import pipan.pipeline as P
    from pipan.cli import cli
    seen = []

    def spy(*a, **kw):
        seen.append(kw.get("smoother"))
        raise SystemExit(0)  # stop before any frame is processed

    monkeypatch.setattr(P, "Pipeline", spy)
    monkeypatch.setattr(P, "load_pose", lambda *a, **k: None)
    monkeypatch.setattr(P, "load_action", lambda *a, **k: None)
    for flag in ([], ["--smooth"], ["--no-smooth"]):
        CliRunner().invoke(cli, ["recognize", "--demo", *flag])
    assert seen == [P.SMOOTH_KEYPOINTS, True, False]
