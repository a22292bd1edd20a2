"""Segments from per-frame probabilities: flickers smoothed, boundaries where runs begin,
contiguous cover of each track's span, confidence = mean probability of the label."""
import numpy as np
import pytest

from pipan.segments import Segmenter, segment_probabilities

LABELS = ("a", "b", "c")
FPS = 10.0


def onehot(seq, p=0.8):
    out = np.full((len(seq), 3), (1 - p) / 2, np.float32)
    out[np.arange(len(seq)), seq] = p
    return out


def run(seq, min_duration=0.5, p=0.8, window=0.0):
    t = np.arange(len(seq)) / FPS
    return segment_probabilities(t, onehot(seq, p), LABELS, min_duration=min_duration,
                                 window=window)


def test_constant_label_is_one_segment_covering_every_frame():
    (s,) = run([1] * 30)
    assert (s.label, s.start, s.person) == ("b", 0.0, 1)
    assert s.end == pytest.approx(3.0)  # last frame at 2.9 s plus one frame period
    assert s.confidence == pytest.approx(0.8)


def test_flicker_shorter_than_min_duration_is_smoothed_away():
    seq = [0] * 20 + [1] * 3 + [0] * 20 + [2] + [0] * 10
    segs = run(seq, min_duration=0.5)
    assert [s.label for s in segs] == ["a"]
    # the flicker frames count toward the segment's confidence (p(a) = 0.1 there)
    assert segs[0].confidence == pytest.approx((50 * 0.8 + 4 * 0.1) / 54)


def test_change_starts_the_new_segment_where_its_run_began():
    segs = run([0] * 20 + [1] * 20)
    assert [(s.label, s.start, s.end) for s in segs] == [("a", 0.0, 2.0), ("b", 2.0,
                                                                             pytest.approx(4.0))]


def test_a_track_shorter_than_min_duration_gives_no_segment():
    assert run([1] * 4, min_duration=0.5) == []
    assert [s.label for s in run([1] * 5, min_duration=0.5)] == ["b"]


def test_short_noisy_start_merges_into_the_first_real_segment():
    segs = run([2, 2] + [0] * 30)
    assert [(s.label, s.start) for s in segs] == [("a", 0.0)]


@pytest.mark.parametrize("window", [0.0, 0.4])
@pytest.mark.parametrize("seed", range(20))
def test_segments_tile_the_span_and_last_at_least_min_duration(seed, window):
    rng = np.random.default_rng(seed)
    seq = []
    while len(seq) < 300:  # runs of random labels, many shorter than min_duration
        seq += [int(rng.integers(3))] * int(rng.integers(1, 15))
    segs = run(seq, min_duration=0.5, window=window)
    assert segs[0].start == 0.0
    assert segs[-1].end == pytest.approx(len(seq) / FPS)
    for a, b in zip(segs, segs[1:]):
        assert a.end == pytest.approx(b.start)
        assert a.label != b.label
    for s in segs:
        assert s.end - s.start >= 0.5 - 1e-6
        assert 0 < s.confidence <= 1


def test_people_are_independent_and_close_and_finish_report_open_segments():
    seg = Segmenter(LABELS, min_duration=0.3)
    closed = []
    for f in range(30):
        t = f / FPS
        closed += seg.update(1, t, onehot([0 if f < 15 else 1])[0])
        closed += seg.update(2, t, onehot([2])[0])
    assert [(s.person, s.label) for s in closed] == [(1, "a")]
    assert seg.current(1) == "b" and seg.current(2) == "c"
    (last,) = seg.close(2)
    assert (last.person, last.label, last.start) == (2, "c", 0.0)
    assert seg.current(2) is None
    rest = seg.finish()
    assert [(s.person, s.label) for s in rest] == [(1, "b")]
    assert seg.finish() == []


def test_mode_filter_removes_scattered_flickers_that_break_runs():
    # Every 4th frame of each run is a random other label: runs never last min_duration
    # unbroken, so hysteresis alone lags or misses the changes; the mode filter does not.
    rng = np.random.default_rng(0)
    truth = [0] * 30 + [1] * 12 + [2] * 30
    noisy = [int(rng.choice([x for x in range(3) if x != k])) if i % 4 == 3 else k
             for i, k in enumerate(truth)]
    segs = run(noisy, min_duration=0.5, window=0.4)
    assert [s.label for s in segs] == ["a", "b", "c"]
    assert [s.start for s in segs] == pytest.approx([0.0, 3.0, 4.2], abs=0.11)
    plain = run(noisy, min_duration=0.5, window=0.0)
    assert [s.label for s in plain] != ["a", "b", "c"] or \
        [s.start for s in plain] != pytest.approx([0.0, 3.0, 4.2], abs=0.11)


def test_mode_filter_settles_frames_half_a_window_late_and_close_flushes_them():
    seg = Segmenter(LABELS, min_duration=0.2, window=0.4)
    out = []
    for f in range(20):
        out += seg.update(1, f / FPS, onehot([0 if f < 10 else 1])[0])
    # frames 10..19 are b; b's run settles once frame 10 + 2 (half window) + 2 (hysteresis)
    assert [(s.label, s.start) for s in out] == [("a", 0.0)]
    rest = seg.close(1)
    assert [(s.label, s.start, s.end) for s in rest] == [("b", 1.0, pytest.approx(2.0))]


def test_the_source_end_bounds_the_last_segment():
    seg = Segmenter(("a", "b"), min_duration=0.5, window=0.0)
    for t in (0.0, 1.5, 3.0, 4.5, 6.0):  # a person seen only every 1.5 s
        seg.update(1, t, np.float32([0.9, 0.1]))
    assert seg.close(1, until=100.0)[0].end == pytest.approx(7.5)  # one period on
    for t in (0.0, 1.5, 3.0, 4.5, 6.0):
        seg.update(2, t, np.float32([0.9, 0.1]))
    [last] = seg.finish(until=6.5)
    assert last.end == pytest.approx(6.5)  # not 7.5: the video ended at 6.5 s


def test_a_pipeline_never_ends_a_segment_after_the_video():
    from pipan.pipeline import Pipeline
    from pipan.tracker import Tracker
    from pipan.video import ArraySource
    from runtime_fakes import FakeAction, FakePose, two_people_scene
    scene = two_people_scene()  # 180 frames at 30 fps: 6.0 s
    pipe = Pipeline(FakePose(scene), FakeAction(), every=50, min_duration=0.3,
                    regions=False, tracker=Tracker(min_hits=1, max_missed=100))
    image = np.zeros((8, 8, 3), np.uint8)
    results = list(pipe.run(ArraySource([image] * scene.length, fps=30.0)))
    segments = [s for r in results for s in r.closed]
    assert segments and max(s.end for s in segments) <= scene.length / 30.0 + 1e-6


def test_an_event_that_ends_in_a_state_is_short_even_when_the_model_lingers_on_it():
    # labels a (stand), b (fall), c (lie); the model says "fall" for 4 s after a stand
    labels = ("stand", "fall", "lie")
    seq = [0] * 20 + [1] * 40
    t = np.arange(len(seq)) / FPS
    segs = segment_probabilities(t, onehot(seq), labels, min_duration=0.5,
                                 transitions={"fall": "lie"}, event_max=1.5)
    assert [s.label for s in segs] == ["stand", "fall", "lie"]
    assert segs[1].start == pytest.approx(2.0)
    assert segs[1].end - segs[1].start == pytest.approx(1.6, abs=0.11)
    assert segs[2].end == pytest.approx(6.0)
    # the fall's probability counts as lying's once the fall is over
    assert segs[2].confidence == pytest.approx(0.9)
    # without the transition the fall lasts as long as the model says it
    plain = segment_probabilities(t, onehot(seq), labels, min_duration=0.5)
    assert [s.label for s in plain] == ["stand", "fall"]


def test_events_without_an_end_state_and_short_transitions_are_untouched():
    labels = ("stand", "fall", "lie")
    seq = [0] * 20 + [1] * 10 + [2] * 20 + [1] * 8 + [0] * 10
    t = np.arange(len(seq)) / FPS
    segs = segment_probabilities(t, onehot(seq), labels, min_duration=0.5,
                                 transitions={"fall": "lie"}, event_max=1.5)
    assert [(s.label, round(s.start, 1)) for s in segs] == [
        ("stand", 0.0), ("fall", 2.0), ("lie", 3.0), ("fall", 5.0), ("stand", 5.8)]
    # labels the model does not have are ignored
    Segmenter(labels, transitions={"sit_down": "sit"})


def test_the_pipeline_keeps_falls_short_with_the_vocabulary():
    from pipan.pipeline import Pipeline
    from pipan.vocabulary import TRANSITIONS

    class Labels:
        labels = ("stand", "fall", "lie")

    pipe = Pipeline(pose=None, action=Labels(), regions=False)
    assert pipe.segmenter._ends_in == {1: 2}
    assert TRANSITIONS["fall"] == "lie"
