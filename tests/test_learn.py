"""`pipan learn` and `pipan evaluate`: teaching a head on synthetic skeletons (and on
videos through a stand-in pose estimator), running it with `--action-model`, what `pipan
info` says about it, and every bad input (one line naming the file, non-zero exit, nothing
written)."""
from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from click.testing import CliRunner

import pipan.pipeline
from pipan.action import DEFAULT_MODEL, ActionRecognizer
from pipan.cli import cli
from pipan.dataset import SkeletonDataset, save
from pipan.head import UNKNOWN, load_head
from pipan.learn import choose_threshold, folds, format_learned, main_person
from pipan.skeleton import COCO18, JOINT_INDEX
from pipan.types import Person, PoseEstimatorBase, PoseOutput
from runtime_fakes import figure

pytestmark = pytest.mark.skipif(not DEFAULT_MODEL.is_file(), reason="no bundled action model")
ACTIONS = ("wave", "squat", "kick")


def motion(action: str, T: int, rng: np.random.Generator) -> np.ndarray:
    """(T, 18, 3) pixels: a stick figure doing ``action`` (clearly different motions),
    placed, sized and timed at random."""
    cx, cy, scale = rng.uniform(80, 240), rng.uniform(100, 140), rng.uniform(0.8, 1.2)
    phase, freq = rng.uniform(0, 2 * np.pi), rng.uniform(1.2, 1.8)
    out = []
    for t in range(T):
        s = np.sin(2 * np.pi * freq * t / 30 + phase)
        kp = figure(0, 0, "wave" if action == "wave" else "stand", 1.0)
        if action == "wave":
            for j in ("right_elbow", "right_wrist"):
                kp[JOINT_INDEX[j], 0] += 15 * s
        elif action == "squat":
            upper = [j for j in range(18) if kp[j, 1] < 20]
            kp[upper, 1] += 15 * (1 + s)
            for j in ("right_knee", "left_knee"):
                kp[JOINT_INDEX[j], 0] += np.sign(kp[JOINT_INDEX[j], 0]) * 8 * (1 + s)
        elif action == "kick":
            kp[JOINT_INDEX["right_ankle"], :2] += (25 * s, -20 * max(s, 0))
            kp[JOINT_INDEX["right_knee"], :2] += (12 * s, -10 * max(s, 0))
        kp[:, :2] = kp[:, :2] * scale + (cx, cy) + rng.normal(0, 0.7, (18, 2))
        out.append(kp)
    return np.stack(out).astype(np.float32)


def make_data(path, train_per_class: int = 3, test_per_class: int = 4, seed: int = 0,
              actions=ACTIONS, T: int = 30):
    rng = np.random.default_rng(seed)
    clips, labels, test = [], [], []
    for a in actions:
        for i in range(train_per_class + test_per_class):
            clips.append(motion(a, T, rng))
            labels.append(a)
            test.append(int(i >= train_per_class))
    save(SkeletonDataset(np.concatenate(clips), np.array([len(c) for c in clips]),
                         np.array(labels), COCO18, np.array(test, np.int8)), path)
    return path


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return make_data(tmp_path_factory.mktemp("learn") / "moves.npz")


@pytest.fixture(scope="module")
def head_file(tmp_path_factory, data):
    out = tmp_path_factory.mktemp("head") / "mine.npz"
    r = CliRunner().invoke(cli, ["learn", "--data", str(data), "--out", str(out),
                                 "--threads", "1"])
    assert r.exit_code == 0, r.output
    return out, r.output


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def one_line_error(r, *words):
    assert r.exit_code != 0
    assert r.exception is None or isinstance(r.exception, SystemExit), r.exception
    lines = r.stderr.strip().splitlines()  # progress lines may come first
    err = lines[-1]
    assert err.startswith("Error:") and sum(s.startswith("Error:") for s in lines) == 1, lines
    assert "Traceback" not in r.stderr
    for w in words:
        assert str(w) in err, err


# --- learning and running ----------------------------------------------------------------

def test_learn_prints_counts_and_cross_validated_accuracy(head_file):
    out, text = head_file
    assert out.is_file()
    for a in ACTIONS:
        line = next(s for s in text.splitlines() if s.strip().startswith(a))
        assert "3 examples" in line and "cross-validated accuracy" in line


def test_kshot_on_separable_motions_learns(tmp_path):
    """Two examples of each of three clearly different motions teach a head that gets
    the held-out clips right (chance is 1/3), through `pipan evaluate`'s streaming (closed
    set: a threshold so large that nothing is 'unknown')."""
    d = make_data(tmp_path / "k2.npz", train_per_class=2, test_per_class=6, seed=0)
    out = tmp_path / "k2head.npz"
    assert run("learn", "--data", d, "--out", out, "--threads", 1,
               "--threshold", 1e9).exit_code == 0
    r = run("evaluate", "--data", d, "--action-model", out, "--json", "--threads", 1)
    assert r.exit_code == 0, r.output
    scores = json.loads(r.stdout)
    assert scores["clips"] == 18
    assert set(scores["per_class"]) == set(ACTIONS)
    assert scores["accuracy"] >= 0.9, scores


def test_evaluate_json_contract_bundled_model(data):
    """The bundled model on clips whose labels it knows ("wave", "squat", "kick")."""
    r = run("evaluate", "--data", data, "--json", "--threads", 1)
    assert r.exit_code == 0, r.output
    scores = json.loads(r.stdout)
    assert {"accuracy", "per_class", "clips"} <= set(scores)
    assert scores["clips"] + scores["skipped"] == 12
    assert 0.0 <= scores["accuracy"] <= 1.0
    text = run("evaluate", "--data", data, "--threads", 1)
    assert text.exit_code == 0 and f"on {scores['clips']} clips" in text.stdout


def test_head_file_is_not_a_pickle_and_says_what_it_was_taught(head_file, data):
    out, _ = head_file
    with np.load(out, allow_pickle=False) as z:  # loads without pickle
        assert all(z[k].dtype != object for k in z.files)
    head = load_head(out)
    assert head.labels == tuple(sorted(ACTIONS))
    assert head.info["taught"]["counts"] == {a: 3 for a in ACTIONS}
    assert head.info["base"]["path"] is None
    r = run("info", out)
    assert r.exit_code == 0, r.output
    for word in ("learned action head", "kick: 3 examples", "sha256", str(data), "threshold",
                 "mirrored examples: "):
        assert word in r.stdout
    js = json.loads(run("info", out, "--json").stdout)
    assert js["metadata"]["taught"]["counts"]["wave"] == 3


def test_round_trip_recognize_with_the_head(head_file, tmp_path, monkeypatch):
    """learn -> `pipan recognize --action-model HEAD`: the timeline speaks the head's
    labels (the taught ones or 'unknown'), from the head over the bundled base model."""
    from runtime_fakes import FakePose, two_people_scene, write_video

    out, _ = head_file
    video = tmp_path / "v.avi"
    write_video(video, 90)
    monkeypatch.setattr(pipan.pipeline, "load_pose",
                        lambda *a, **k: FakePose(two_people_scene()))
    r = run("recognize", video, "--action-model", out, "--json", "--threads", 1)
    assert r.exit_code == 0, r.output
    segs = [json.loads(s) for s in r.stdout.splitlines()]
    assert segs and {s["label"] for s in segs} <= set(ACTIONS) | {UNKNOWN}


def test_head_probabilities_replace_or_keep(head_file, data, tmp_path):
    from pipan.head import load_head_recognizer

    out, _ = head_file
    rec = load_head_recognizer(out, threads=1)
    assert rec.labels == tuple(sorted(ACTIONS)) + (UNKNOWN,)
    clip = motion("wave", 20, np.random.default_rng(9))
    p = rec.run_clip(clip)
    assert p.shape == (20, 4) and np.allclose(p.sum(1), 1, atol=1e-5)
    kept = tmp_path / "kept.npz"
    assert run("learn", "--data", data, "--out", kept, "--keep", "--threads", 1).exit_code == 0
    rk = load_head_recognizer(kept, threads=1)
    base = ActionRecognizer(threads=1)
    # keep: the base model's labels (its own "unknown" among them) take unknown's place
    assert rk.labels[:len(base.labels)] == base.labels
    assert rk.labels.count(UNKNOWN) == base.labels.count(UNKNOWN)
    assert set(ACTIONS) <= set(rk.labels) and len(set(rk.labels)) == len(rk.labels)
    pk = rk.run_clip(clip)
    assert np.allclose(pk.sum(1), 1, atol=1e-5)


def test_threshold_override_and_unknown(data, tmp_path):
    """A tiny threshold: everything is unknown; the option is recorded in the file."""
    out = tmp_path / "strict.npz"
    assert run("learn", "--data", data, "--out", out, "--threshold", 1e-6,
               "--threads", 1).exit_code == 0
    assert load_head(out).threshold == pytest.approx(1e-6)
    r = run("evaluate", "--data", data, "--action-model", out, "--json", "--threads", 1)
    assert json.loads(r.stdout)["accuracy"] == 0.0  # every clip answered 'unknown'


def test_mismatched_base_model_is_refused(data, tmp_path):
    base = tmp_path / "base.tflite"
    shutil.copy(DEFAULT_MODEL, base)
    out = tmp_path / "on_copy.npz"
    r = run("learn", "--data", data, "--out", out, "--action-model", base, "--threads", 1)
    assert r.exit_code == 0, r.output
    assert run("evaluate", "--data", data, "--action-model", out).exit_code == 0
    base.write_bytes(base.read_bytes() + b"\0")  # another model now
    one_line_error(run("evaluate", "--data", data, "--action-model", out), out, "checksum")
    base.unlink()
    one_line_error(run("evaluate", "--data", data, "--action-model", out), out, "missing")


def test_descriptor_of_a_clip_equals_streaming():
    rec = ActionRecognizer(threads=1, embed=True)
    clip = motion("kick", 25, np.random.default_rng(1))
    times = np.cumsum(np.random.default_rng(2).uniform(0.02, 0.08, 25))
    for tm in (None, times):
        for t in range(25):
            rec.update("p", clip[t], time=None if tm is None else float(tm[t]))
        np.testing.assert_allclose(rec.clip_descriptor(clip, tm), rec.descriptor("p"),
                                   rtol=1e-6, atol=1e-9)
        rec.forget("p")


def test_main_person_is_the_one_who_moves_most():
    still = [(t, figure(50, 100)) for t in range(10)]
    moving = [(t, figure(100 + 3 * t, 100)) for t in range(8)]
    assert main_person({1: still, 2: moving}) is moving
    assert main_person({}) is None


def test_folds_and_threshold():
    y = np.array([0, 0, 1, 1, 1, 2])
    f = folds(y)
    assert f[5] == -1 and (f[:5] >= 0).all()
    for k in set(f[:5]):  # every fold leaves each class something to teach
        assert all(((y == c) & (f != k)).any() for c in (0, 1, 2))
    own = np.linspace(1.0, 2.0, 11)
    assert choose_threshold(own) == pytest.approx(1.9)  # 90% of held-out taught accepted
    assert choose_threshold(np.array([np.nan, np.nan])) is None


def test_mirrored_views_are_chosen_by_cross_validation():
    """Where the mirrored views contradict the examples (a direction that is the
    difference), cross-validation drops them; where they agree, they stay (mirrored on a
    tie); one example per action keeps the default; --mirror/--no-mirror force it."""
    from pipan.learn import AS_FILMED, fit_head
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(3), 4)
    centres = rng.normal(0, 3, (3, 8))
    X = np.repeat((centres[y] + rng.normal(0, 0.3, (12, 8)))[:, None], 6, axis=1)
    common = dict(base_labels=["a", "b"], base_path=None, base_sha256="0" * 64)
    names = np.array(["left", "right", "stay"])[y]
    agree = fit_head(X, names, **common)
    assert agree.mirrored and agree.mirror_choice == "cross-validation"
    contra = X.copy()
    mirrored = [v for v in range(6) if v not in AS_FILMED]
    contra[:, mirrored] = centres[(y + 1) % 3][:, None] + rng.normal(0, 0.3, (12, 3, 8))
    chosen = fit_head(contra, names, **common)
    assert not chosen.mirrored and chosen.mirror_cv[1] > chosen.mirror_cv[0]
    assert chosen.head.info["taught"]["mirrored"] is False
    assert all(a == 1.0 for a in chosen.accuracy.values())
    one = fit_head(contra[[0, 4, 8]], names[[0, 4, 8]], **common)
    assert one.mirrored and one.mirror_choice == "default" and one.mirror_cv is None
    forced = fit_head(contra, names, mirror=True, **common)
    assert forced.mirrored and forced.mirror_choice == "given"
    assert "mirrored examples: not taught (cross-validated" in format_learned(chosen)


# --- videos (stand-in pose estimator) ------------------------------------------------------

class ColourPose(PoseEstimatorBase):
    """Pose stand-in: one person whose motion follows the frame's colour (blue: waving,
    red: squatting, black: nobody), animated by the call count."""

    def __init__(self):
        self.calls = 0
        self.rng = np.random.default_rng(0)

    def estimate_timed(self, frame):
        self.calls += 1
        b, _, r = (float(frame[..., c].mean()) for c in range(3))
        if max(b, r) < 40:
            return PoseOutput([])
        action = "wave" if b > r else "squat"
        kp = motion(action, self.calls, np.random.default_rng(self.calls // 1000))[-1]
        return PoseOutput([Person(keypoints=kp, score=0.9)])


def colour_video(path, colour, frames=45, fourcc="MJPG"):
    import cv2
    w = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), 30.0, (64, 48))
    assert w.isOpened()
    for _ in range(frames):
        w.write(np.full((48, 64, 3), colour, np.uint8))
    w.release()
    return path


@pytest.fixture
def colour_pose(monkeypatch):
    monkeypatch.setattr(pipan.pipeline, "load_pose", lambda *a, **k: ColourPose())


def examples_folder(root, **clips):
    for label, colours in clips.items():
        (root / label).mkdir(parents=True, exist_ok=True)
        for i, c in enumerate(colours):
            colour_video(root / label / f"{i}.avi", c)
    return root


def test_learn_from_a_folder_and_time_ranges(tmp_path, colour_pose):
    ex = examples_folder(tmp_path / "ex", wave=[(255, 0, 0)] * 2, squat=[(0, 0, 255)] * 2)
    out = tmp_path / "vid.npz"
    r = run("learn", ex, "--out", out, "--threads", 1)
    assert r.exit_code == 0, r.output
    assert load_head(out).info["taught"]["counts"] == {"squat": 2, "wave": 2}
    long = colour_video(tmp_path / "long.avi", (255, 0, 0), frames=90)
    red = colour_video(tmp_path / "red.avi", (0, 0, 255), frames=90)
    out2 = tmp_path / "ranges.npz"
    r = run("learn", f"{long}@0.5-2.5:wave", f"{red}@0-1.5:squat", "--out", out2,
            "--threads", 1)
    assert r.exit_code == 0, r.output
    assert load_head(out2).info["taught"]["counts"] == {"squat": 1, "wave": 1}


# --- bad input: one line naming the file, non-zero exit, nothing written ------------------

def test_empty_folder(tmp_path, colour_pose):
    (tmp_path / "ex").mkdir()
    out = tmp_path / "o.npz"
    one_line_error(run("learn", tmp_path / "ex", "--out", out), tmp_path / "ex")
    assert not out.exists()


def test_one_action_only(tmp_path, colour_pose, data):
    ex = examples_folder(tmp_path / "ex", wave=[(255, 0, 0)] * 2)
    out = tmp_path / "o.npz"
    one_line_error(run("learn", ex, "--out", out), ex, "only one action")
    one_d = make_data(tmp_path / "one.npz", actions=("wave",))
    one_line_error(run("learn", "--data", one_d, "--out", out), one_d, "only one action")
    assert not out.exists()


def test_unreadable_clip(tmp_path, colour_pose):
    ex = examples_folder(tmp_path / "ex", wave=[(255, 0, 0)], squat=[(0, 0, 255)])
    bad = ex / "squat" / "broken.mp4"
    bad.write_bytes(b"not a video at all" * 10)
    out = tmp_path / "o.npz"
    one_line_error(run("learn", ex, "--out", out), bad)
    assert not out.exists()


def test_clip_with_nobody(tmp_path, colour_pose):
    ex = examples_folder(tmp_path / "ex", wave=[(255, 0, 0)], squat=[(0, 0, 0)])
    out = tmp_path / "o.npz"
    one_line_error(run("learn", ex, "--out", out), ex / "squat" / "0.avi", "nobody")
    assert not out.exists()


@pytest.mark.parametrize("label", ["wa ve", "wave!", "unknown", "../up", "-x"])
def test_odd_labels(tmp_path, colour_pose, label):
    out = tmp_path / "o.npz"
    clip = colour_video(tmp_path / "c.avi", (255, 0, 0))
    one_line_error(run("learn", f"{clip}@0-1:{label}", f"{clip}@0-1:ok", "--out", out),
                   clip)
    assert not out.exists()


def test_odd_label_folder(tmp_path, colour_pose):
    ex = examples_folder(tmp_path / "ex", wave=[(255, 0, 0)])
    (ex / "squat right?").mkdir()
    colour_video(ex / "squat right?" / "0.avi", (0, 0, 255))
    one_line_error(run("learn", ex, "--out", tmp_path / "o.npz"), "squat right?")


def test_odd_label_in_data(tmp_path):
    d = make_data(tmp_path / "odd.npz", actions=("wave", "sq uat"))
    one_line_error(run("learn", "--data", d, "--out", tmp_path / "o.npz"), d)


def test_data_without_training_clips(tmp_path):
    d = make_data(tmp_path / "test_only.npz", train_per_class=0)
    out = tmp_path / "o.npz"
    one_line_error(run("learn", "--data", d, "--out", out), d, "no training clips")
    assert not out.exists()


def test_existing_output_is_kept_on_failure(tmp_path, data):
    out = tmp_path / "o.npz"
    out.write_bytes(b"old")
    d = make_data(tmp_path / "test_only.npz", train_per_class=0)
    one_line_error(run("learn", "--data", d, "--out", out), d)
    assert out.read_bytes() == b"old"


def test_evaluate_bad_input(tmp_path, head_file):
    one_line_error(run("evaluate", "--data", tmp_path / "none.npz"), "none.npz")
    d = make_data(tmp_path / "train_only.npz", test_per_class=0)
    one_line_error(run("evaluate", "--data", d), "test=1")
    garbage = tmp_path / "g.npz"
    garbage.write_bytes(b"PK\x03\x04 not really")
    one_line_error(run("evaluate", "--data", d, "--action-model", garbage), garbage)


def test_no_examples_is_a_usage_error(tmp_path):
    r = run("learn", "--out", tmp_path / "o.npz")
    assert r.exit_code == 2


# --- real data ------------------------------------------------------------------------------

def test_learn_on_jhmdb_beats_chance(shared, tmp_path):
    """Three JHMDB-14 training clips per class teach a head well above chance (1/14) on
    the test clips; the model never saw JHMDB."""
    from pipan.dataset import load

    ds = load(shared / "data" / "jhmdb14" / "jhmdb14_split1.npz")
    rng = np.random.default_rng(0)
    keep = np.zeros(len(ds), bool)
    for c in ds.classes:
        idx = np.flatnonzero((ds.labels == c) & (ds.test == 0))
        keep[rng.choice(idx, 3, replace=False)] = True
        keep[np.flatnonzero((ds.labels == c) & (ds.test == 1))[:4]] = True
    small = tmp_path / "j.npz"
    save(ds.subset(keep), small)
    out = tmp_path / "j_head.npz"
    assert run("learn", "--data", small, "--out", out, "--threads", 1).exit_code == 0
    scores = json.loads(run("evaluate", "--data", small, "--action-model", out, "--json",
                            "--threads", 1).stdout)
    assert scores["clips"] == 56 and scores["accuracy"] > 0.3, scores


# --- pipan record -----------------------------------------------------------------------------

def test_record_counts_down_and_saves_clips(tmp_path):
    """From a 10 s file (its frame times stand in for the camera's clock): two clips of
    1 s after 1 s countdowns, numbered after what the folder already holds."""
    import cv2
    from runtime_fakes import write_video

    src = tmp_path / "cam.avi"
    write_video(src, 300, fps=30.0)
    ex = tmp_path / "ex"
    r = run("record", "--source", src, "--label", "wave", "--count", 2, "--seconds", 1,
            "--countdown", 1, "--out", ex)
    assert r.exit_code == 0, r.output
    clips = sorted((ex / "wave").iterdir())
    assert [p.name for p in clips] == ["1.mp4", "2.mp4"]
    for p in clips:
        cap = cv2.VideoCapture(str(p))
        assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == 30
        cap.release()
    assert "1..." in r.stderr and "recording" in r.stderr
    r = run("record", "--source", src, "--label", "wave", "--count", 1, "--seconds", 1,
            "--countdown", 0, "--out", ex)
    assert r.exit_code == 0 and (ex / "wave" / "3.mp4").is_file()


def test_record_bad_input(tmp_path):
    from runtime_fakes import write_video

    src = tmp_path / "short.avi"
    write_video(src, 45, fps=30.0)
    ex = tmp_path / "ex"
    one_line_error(run("record", "--source", src, "--label", "wa ve", "--out", ex), "wa ve")
    r = run("record", "--source", src, "--label", "wave", "--count", 3, "--seconds", 1,
            "--countdown", 0, "--out", ex)
    one_line_error(r, "1 of 3")  # the clip that finished is kept, the rest never began
    assert [p.name for p in (ex / "wave").iterdir()] == ["1.mp4"]
    one_line_error(run("record", "--source", tmp_path / "none.avi", "--label", "wave"),
                   "none.avi")


def test_evaluate_matches_the_training_command(data):
    """`pipan evaluate` and `python -m training action evaluate` on an int8 model: the same
    figures (one scoring, pipan.evaluate.score_predictions)."""
    from pipan.dataset import load
    from pipan.evaluate import evaluate
    from training.action.train import evaluate as train_evaluate

    ds = load(data)
    ours = evaluate(ActionRecognizer(threads=1), ds)
    theirs = train_evaluate(DEFAULT_MODEL, ds, threads=1)
    for key in ("accuracy", "per_class", "clips", "by_fraction", "skipped"):
        assert ours[key] == theirs[key], key
