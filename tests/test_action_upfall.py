"""Judging actions on real footage: the clip and per-frame rules, the fall's frames located
on a height trajectory, and replaying the action stage over a recorded pose stage (the
same segments as a full run)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from pipan.types import Segment
from training.action.replay import (TrackRecord, record_key, record_run, replay,
                                    replay_action)
from training.action.upfall import (HIPS, body_height, clip_right, fall_frames,
                                    fall_window, frame_hits, frame_labels, label_map,
                                    longest_label, main_track, reported, score_clip,
                                    unknown_counts)

ROOT = Path(__file__).resolve().parents[1]


def seg(person, start, end, label):
    return Segment(person, start, end, label, 0.5)


def make_record(rows, times, processed=None, keypoints=None):
    """A TrackRecord from (frame, id) rows; keypoints (N, 18, 3) optional."""
    n = len(rows)
    kp = np.zeros((n, 18, 3), np.float32) if keypoints is None else np.asarray(keypoints)
    times = np.asarray(times, np.float64)
    return TrackRecord(
        fps=10.0, width=64, height=64, times=times,
        processed=np.ones(len(times), bool) if processed is None else np.asarray(processed),
        row_frame=np.array([f for f, _ in rows], np.int64),
        row_id=np.array([i for _, i in rows], np.int64), row_keypoints=kp,
        row_score=np.ones(n), row_age=np.zeros(n, np.int64),
        row_missed=np.zeros(n, np.int64), ended_frame=np.zeros(0, np.int64),
        ended_id=np.zeros(0, np.int64))


# --- labels and the clip rule ---------------------------------------------------------------

def test_label_map_identity_for_vocabulary_names_else_the_map_naming_every_label():
    assert label_map(["walk", "fall", "unknown"]) == (
        "vocabulary", {"walk": "walk", "fall": "fall", "unknown": "unknown"})
    name, m = label_map(["idle", "sit", "golf", "wave_both"])
    assert name == "synthetic"
    assert m == {"idle": "stand", "sit": "sit_down", "golf": "unknown", "wave_both": "wave"}
    assert label_map(["teapot", "walk"]) == ("none", {"teapot": "teapot", "walk": "walk"})


def test_longest_label_sums_durations_over_people_and_segments():
    segs = [seg(1, 0, 4, "walk"), seg(1, 4, 7, "stand"), seg(2, 0, 2, "stand"),
            seg(2, 2, 3, "walk")]
    assert longest_label(segs) == "stand"  # 3 + 2 = 5 s against 4 + 1
    assert longest_label([]) is None
    assert clip_right("stand", segs)
    assert not clip_right("walk", segs)


def test_a_fall_clip_is_right_with_any_fall_segment_of_anyone():
    segs = [seg(1, 0, 9, "lie"), seg(2, 3, 3.6, "fall")]
    assert clip_right("fall", segs)
    assert not clip_right("fall", [seg(1, 0, 9, "lie")])
    assert not clip_right("lie", [seg(1, 0, 1, "fall"), seg(1, 1, 1.5, "lie"),
                                  seg(2, 0, 3, "walk")])


# --- per frame ------------------------------------------------------------------------------

def test_frame_labels_follow_the_main_person_and_missing_frames_have_none():
    times = np.arange(6) / 10
    # person 1 in frames 0-4 except 2, person 2 in frames 3-5: person 1 is the main one
    rows = [(0, 1), (1, 1), (3, 1), (3, 2), (4, 1), (4, 2), (5, 2)]
    rec = make_record(rows, times)
    assert main_track(rec) == 1
    segs = [seg(1, 0.0, 0.25, "walk"), seg(1, 0.25, 0.5, "stand"), seg(2, 0.3, 0.6, "walk")]
    labels = frame_labels(rec, segs, 1)
    assert labels == ["walk", "walk", None, "stand", "stand", None]
    assert frame_hits(labels, "stand") == (2, 6)
    assert frame_hits(labels, "walk", np.array([1, 1, 1, 0, 0, 0], bool)) == (2, 3)
    assert frame_labels(rec, segs, None) == [None] * 6


def test_frames_the_pose_net_skipped_keep_the_last_processed_frames_people():
    rec = make_record([(0, 1), (4, 1)], np.arange(6) / 10,
                      processed=[1, 0, 1, 0, 1, 0])
    assert reported(rec, 1).tolist() == [True, True, False, False, True, True]


def test_main_track_ties_go_to_the_lower_id_and_nobody_is_none():
    assert main_track(make_record([(0, 2), (0, 1)], [0.0])) == 1
    assert main_track(make_record([], [0.0, 0.1])) is None


def test_unknown_counts_person_frames_labelled_unknown_by_their_segment():
    rec = make_record([(0, 1), (1, 1), (1, 2), (2, 2)], np.arange(3) / 10)
    segs = [seg(1, 0, 0.15, "unknown"), seg(2, 0.1, 0.3, "walk")]
    assert unknown_counts(rec, segs) == (2, 4)


# --- the fall's frames ----------------------------------------------------------------------

def trajectory(fps=10.0):
    """Standing (hip y 100) until 2.05 s, down to 300 linearly over 1 s, lying until 5 s
    (10% of the way down at 2.15 s, 90% at 2.95 s: between frames)."""
    t = np.arange(int(5 * fps)) / fps
    y = np.interp(t, [0, 2.05, 3.05, 5], [100, 100, 300, 300])
    return t, y


def test_fall_window_spans_ten_to_ninety_percent_of_the_drop_padded():
    t, y = trajectory()
    start, end = fall_window(t, y, standing_height=300)
    assert start == pytest.approx(2.1 - 0.5)  # the last frame under 10%: 2.1 s (y 110)
    assert end == pytest.approx(3.0 + 0.5)  # the first over 90%: 3.0 s (y 290)


def test_fall_window_ignores_jitter_and_gaps_and_reads_either_direction():
    t, y = trajectory()
    noisy = y.copy()
    noisy[5] = 400  # a single wild frame while standing
    noisy[40:43] = np.nan  # the person lost for a moment while lying
    start, end = fall_window(t, noisy, 300)
    assert (start, end) == pytest.approx((1.6, 3.5))
    up = 400 - y  # a camera where lying moves the hips up the image
    assert fall_window(t, up, 300) == pytest.approx((1.6, 3.5))


def test_no_fall_without_a_large_enough_change_of_level():
    t, y = trajectory()
    assert fall_window(t, np.full_like(y, 100.0), 300) is None
    assert fall_window(t, 100 + (y - 100) * 0.1, 300) is None  # 20 px of a 300 px person
    assert fall_window(t[:3], y[:3], 300) is None


def test_body_height_is_the_mid_hip_else_the_confident_joints_centre():
    kp = np.zeros((18, 3), np.float32)
    kp[:, 1], kp[:, 2] = 50.0, 0.9
    kp[HIPS[0]] = (0, 100, 0.9)
    kp[HIPS[1]] = (0, 110, 0.1)  # not confident: left out
    assert body_height(kp) == pytest.approx(100)
    kp[HIPS[0], 2] = 0.0
    assert body_height(kp) == pytest.approx(50)
    assert np.isnan(body_height(np.zeros((18, 3))))


def fall_record(fps=10.0, ids=None):
    """One person whose every joint follows ``trajectory``, 200 px tall when standing;
    ``ids``: the track id per frame (default 1)."""
    t, y = trajectory(fps)
    kp = np.zeros((len(t), 18, 3), np.float32)
    kp[:, :, 1] = y[:, None] + np.linspace(-100, 100, 18)[None]
    kp[:, :, 2] = 0.9
    kp[:, list(HIPS), 1] = y[:, None]
    ids = [1] * len(t) if ids is None else ids
    return make_record(list(enumerate(ids)), t, keypoints=kp), t


def test_fall_frames_and_the_fall_clip_score_count_only_the_falls_frames():
    ref, t = fall_record()
    mask, window = fall_frames(ref)
    assert window == pytest.approx((1.6, 3.5))
    assert mask.sum() == 20  # frames at 1.6 ... 3.5 s
    segs = [seg(1, 0, 2.0, "stand"), seg(1, 2.0, 3.0, "fall"), seg(1, 3.0, 5.0, "lie")]
    s = score_clip("x", "fall", ref, segs, ref)
    assert s.right and (s.frames_right, s.frames_counted) == (10, 20)
    # not a fall: every frame counts; stand and lie last 2 s each, the tie goes to "lie"
    stand = score_clip("y", "stand", ref, segs, None)
    assert (stand.right, stand.longest) == (False, "lie")
    assert (stand.frames_right, stand.frames_counted) == (20, 50)
    with pytest.raises(ValueError):
        score_clip("z", "fall", ref, segs, None)


def test_a_person_found_again_under_a_new_id_while_lying_is_still_one_fall():
    # track 1 standing and falling (26 frames, to 2.5 s), track 2 from 2.6 s on (24
    # frames): track 1 alone ends mid-fall, and its "lying level" would be half way down
    ref, _ = fall_record(ids=[1] * 26 + [2] * 24)
    assert fall_frames(ref)[1] == pytest.approx((1.6, 3.5))


# --- replaying the action stage -------------------------------------------------------------

@pytest.mark.parametrize("every", [1, 2])
def test_replay_from_a_record_gives_the_full_runs_segments(tmp_path, every):
    """The demo's first 3 s through the bundled pose and action models, then the action
    stage replayed over the saved record: the same segments and probabilities."""
    from pipan.cli import _pipeline
    from pipan.video import ArraySource, VideoFileSource
    with VideoFileSource(ROOT / "pipan" / "models" / "demo.mp4") as src:
        fps = src.info.fps
        frames = [f.image for _, f in zip(range(int(3 * fps)), src)]
    pipe = _pipeline(fps, "pipan", None, None, 1, every, 0.0, 0.5, 1.0, None)
    record, segments, probs = record_run(pipe, ArraySource(frames, fps=fps))
    assert segments and len(record.row_id) > len(frames) // every  # several people
    record.save(tmp_path / "r.npz")
    loaded = TrackRecord.load(tmp_path / "r.npz")
    again, probs2 = replay(loaded, replay_action(None, fps, every), every=every)
    assert again == segments
    assert len(probs2) == len(probs)
    for a, b in zip(probs, probs2):
        assert a.keys() == b.keys()
        assert all(np.array_equal(a[k], b[k]) for k in a)
    # another half-life is another action stage: the replay does not just echo the run
    other, _ = replay(loaded, replay_action(None, fps, every, half_life=0), every=every)
    assert other != segments


def test_benchmark_skips_cleanly_without_the_shared_data(tmp_path, monkeypatch, capsys):
    import benchmarks.action_upfall as bench
    monkeypatch.setattr(bench, "DATA", tmp_path / "absent")
    monkeypatch.setattr("sys.argv", ["action_upfall"])
    bench.main()
    assert "skipped" in capsys.readouterr().out


def test_upfall_clips_read_from_the_shared_labels(shared):
    import benchmarks.action_upfall as bench
    from pipan.vocabulary import UPFALL
    clips = bench.upfall_clips(quick=True)
    assert len(clips) == 11 and all(c.is_file() and a in UPFALL and t == 1
                                    for c, a, t in clips)
    assert len(bench.upfall_clips(quick=False)) == 33


def test_record_key_follows_the_clip_the_pose_files_and_the_settings(tmp_path):
    clip, pose = tmp_path / "c.mp4", tmp_path / "p.tflite"
    clip.write_bytes(b"clip")
    pose.write_bytes(b"pose")
    key = record_key(clip, [pose], "pipan|every=1")
    assert key == record_key(clip, [pose], "pipan|every=1")
    assert key != record_key(clip, [pose], "pipan|every=2")
    pose.write_bytes(b"another pose net")
    assert key != record_key(clip, [pose], "pipan|every=1")


def test_the_record_key_reads_the_pose_stages_code_not_the_action_features():
    from training.action.replay import pose_stage_source
    code = pose_stage_source()
    assert "def body_frame" in code and "BLAZEPOSE33" in code and "def process" in code
    assert "def frame_features" not in code and "def clip_features" not in code
