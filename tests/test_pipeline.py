"""The pipeline with stand-in models: segments match a scripted scene, skipped frames,
track ends reach the recognizer, per-stage timing, and the outputs of recognize()."""
import json

import cv2
import numpy as np
import pytest

from pipan.draw import draw_person, timeline_image, track_colour
from pipan.pipeline import STAGES, Pipeline
from pipan.recognize import format_timeline, recognize
from pipan.tracker import Tracker
from pipan.types import PoseOutput, Segment
from pipan.video import ArraySource, Frame, VideoFileSource
from runtime_fakes import LABELS, Actor, FakeAction, FakePose, Scene, two_people_scene

FPS = 30.0
TOL_S = 0.1  # boundaries: the fake recognizer lags one frame; hysteresis keeps run starts


def blank_frames(n, W=320, H=240):
    img = np.zeros((H, W, 3), np.uint8)
    return [img] * n


def compare(segments, scene, fps=FPS, tol=TOL_S):
    for pid, actor in enumerate(scene.actors, start=1):
        got = [(s.start, s.end, s.label) for s in segments if s.person == pid]
        want = actor.truth(fps)
        assert [g[2] for g in got] == [w[2] for w in want], (pid, got, want)
        for (gs, ge, _), (ws, we, _) in zip(got, want):
            assert abs(gs - ws) <= tol and abs(ge - we) <= tol, (pid, got, want)


def test_two_people_scene_segments_match_the_script():
    scene = two_people_scene()
    pipe = Pipeline(FakePose(scene), FakeAction(), min_duration=0.3, regions=False)
    result = recognize(ArraySource(blank_frames(scene.length), fps=FPS), pipe)
    compare(result.segments, scene)
    assert result.times.frames == scene.length
    # each person is reported from the frame that confirms their track (Tracker.min_hits)
    assert result.times.steps == 2 * (scene.length - (pipe.tracker.min_hits - 1))
    text = format_timeline(result.segments)
    assert text.startswith("Person 1") and "Person 2" in text and "wave" in text


def test_run_ends_with_a_final_result_holding_the_segments_closed_at_the_end():
    scene = two_people_scene()
    pipe = Pipeline(FakePose(scene), FakeAction(), min_duration=0.3, regions=False)
    results = list(pipe.run(ArraySource(blank_frames(scene.length), fps=FPS)))
    assert [r.final for r in results] == [False] * scene.length + [True]
    final = results[-1]
    assert final.tracks == [] and final.image is None and not final.processed
    # both people are still there at the end: their last segments close with the source
    assert sorted(s.person for s in final.closed) == [1, 2]
    compare([s for r in results for s in r.closed], scene)
    assert pipe.times.frames == scene.length and pipe.times.wall > 0
    assert all(r.annotated is None for r in results)  # nothing drawn unless asked


def test_run_gives_its_final_result_then_the_sources_failure():
    from pipan.errors import VideoError

    class Lost(ArraySource):
        def __iter__(self):
            yield from super().__iter__()
            raise VideoError("camera 0: lost")

    scene = two_people_scene()
    pipe = Pipeline(FakePose(scene), FakeAction(), min_duration=0.3, regions=False)
    seen = []
    with pytest.raises(VideoError, match="lost"):
        for r in pipe.run(Lost(blank_frames(60), fps=FPS)):
            seen.append(r)
    assert len(seen) == 61 and seen[-1].final
    assert {s.person for s in seen[-1].closed} == {1, 2}


def test_run_stops_when_asked_and_draws_at_the_size_asked():
    scene = two_people_scene()
    pipe = Pipeline(FakePose(scene), FakeAction(), regions=False,
                    tracker=Tracker(min_hits=1))  # people drawn from the first frame
    results = list(pipe.run(ArraySource(blank_frames(30), fps=FPS), draw=True, size=(64, 48),
                            stop=lambda: pipe.times.frames >= 5))
    assert len(results) == 6 and results[-1].final and results[-1].annotated is None
    for r in results[:-1]:
        assert r.annotated.shape == (48, 64, 3) and r.annotated.max() > 0  # skeletons
        assert r.image.shape == (240, 320, 3) and r.image.max() == 0  # the frame untouched
    assert pipe.times.seconds["drawing"] > 0 and pipe.recent_fps > 0


def test_every_n_skips_pose_but_keeps_timeline():
    scene = two_people_scene()
    pose = FakePose(scene, index_from_image=True)
    from runtime_fakes import encode_index
    frames = [encode_index(np.zeros((24, 32, 3), np.uint8), i) for i in range(scene.length)]
    # no keypoint smoothing: the scripted figures change pose within one frame, and the
    # filter's lag (tests/test_smoothing.py) would add to the skipped frames' delay
    pipe = Pipeline(pose, FakeAction(), every=3, min_duration=0.3, smoother=False, regions=False)
    result = recognize(ArraySource(frames, fps=FPS), pipe)
    assert pose.calls == (scene.length + 2) // 3
    assert result.times.processed == pose.calls and result.times.frames == scene.length
    compare(result.segments, scene, tol=TOL_S + 3 / FPS)  # up to 3 frames later seen


def test_ended_tracks_are_forgotten_and_their_segments_closed():
    scene = Scene([Actor(0, (50, 100), [(30, "stand", (0, 0))]),
                   Actor(40, (200, 100), [(30, "wave", (0, 0))])])
    action = FakeAction()
    pipe = Pipeline(FakePose(scene), action, min_duration=0.3, regions=False)
    pipe.tracker.max_missed = 5
    pipe.tracker.min_look = 1.01  # blank frames: everyone looks alike; no id is taken again
    closed_at = {}
    for i in range(scene.length):
        r = pipe.process(Frame(i, i / FPS, blank_frames(1)[0]))
        for s in r.closed:
            closed_at[s.person] = i
    assert closed_at == {1: 30 + 5}  # missed frames 30..35: ends on the 6th miss
    assert action.forgotten == [1] and list(action.state) == [2]
    rest = pipe.finish()
    assert [(s.person, s.label) for s in rest] == [(2, "wave")]
    assert action.forgotten == [1, 2] and action.state == {}


def test_stage_times_split_pose_and_maps_when_the_estimator_reports_it():
    scene = two_people_scene()
    pipe = Pipeline(FakePose(scene, split=(0.002, 0.001)), FakeAction(), regions=False)
    recognize(ArraySource(blank_frames(20), fps=FPS), pipe)
    ms = pipe.times.per_frame_ms()
    assert set(ms) == set(STAGES)
    assert all(v >= 0 for v in ms.values())
    d = pipe.times.as_dict()
    steps = 2 * (20 - (pipe.tracker.min_hits - 1))  # people are reported once confirmed
    assert d["frames"] == 20 and d["person_steps"] == steps and d["fps"] > 0


def test_min_score_drops_weak_people():
    scene = two_people_scene()

    class Weak(FakePose):
        def estimate_timed(self, frame):
            people = super().estimate_timed(frame).people
            return PoseOutput([people[0]] + [type(p)(p.keypoints, 0.1) for p in people[1:]])

    pipe = Pipeline(Weak(scene), FakeAction(), min_score=0.5, regions=False)
    r = recognize(ArraySource(blank_frames(30), fps=FPS), pipe)
    assert {s.person for s in r.segments} == {1}


def test_recognize_writes_video_plot_and_frames_json(tmp_path):
    scene = two_people_scene()
    pipe = Pipeline(FakePose(scene), FakeAction(), min_duration=0.3, regions=False)
    out, plot, fj = tmp_path / "a.mp4", tmp_path / "t.png", tmp_path / "f.jsonl"
    n = 60
    recognize(ArraySource(blank_frames(n), fps=FPS), pipe, output=str(out), plot=str(plot),
              frames_json=str(fj))
    with VideoFileSource(out) as src:
        frames = list(src)
    assert len(frames) == n and frames[0].image.shape == (240, 320, 3)
    assert frames[10].image.max() > 100  # skeletons drawn on the black frames
    img = cv2.imread(str(plot))
    assert img is not None and img.shape[1] == 1000
    lines = [json.loads(l) for l in fj.read_text().splitlines()]
    assert len(lines) == n and lines[0]["frame"] == 0
    p = lines[5]["people"][0]
    assert np.array(p["keypoints"]).shape == (18, 3)
    assert set(p["probabilities"]) == set(LABELS)
    assert sorted(x.name for x in tmp_path.iterdir()) == ["a.mp4", "f.jsonl", "t.png"]


def test_interrupted_recognize_leaves_no_output_files(tmp_path):
    scene = two_people_scene()
    pipe = Pipeline(FakePose(scene, fail_at=20), FakeAction(), regions=False)
    with pytest.raises(KeyboardInterrupt):
        recognize(ArraySource(blank_frames(60), fps=FPS), pipe,
                  output=str(tmp_path / "a.mp4"), plot=str(tmp_path / "t.png"),
                  frames_json=str(tmp_path / "f.jsonl"))
    assert list(tmp_path.iterdir()) == []


def test_draw_person_draws_limbs_in_the_track_colour():
    from runtime_fakes import figure
    img = np.zeros((240, 320, 3), np.uint8)
    draw_person(img, figure(160, 120), 3, "walk 0.90")
    colour = np.array(track_colour(3), np.uint8)
    assert (img == colour).all(-1).sum() > 100


def test_timeline_image_has_a_bar_per_segment():
    segs = [Segment(1, 0.0, 2.0, "walk", 0.9), Segment(1, 2.0, 5.0, "wave", 0.8),
            Segment(2, 1.0, 5.0, "stand", 0.7)]
    img = timeline_image(segs, LABELS, duration=5.0)
    assert img.dtype == np.uint8 and img.shape[1] == 1000
    from pipan.draw import label_colour
    for name in ("walk", "wave", "stand"):
        c = np.array(label_colour(LABELS.index(name)), np.uint8)
        assert (img == c).all(-1).sum() > 500, name
    assert timeline_image([], LABELS).shape[1] == 1000


def test_pose_and_maps_split_follows_the_estimators_own_proportions():
    scene = two_people_scene()

    pipe = Pipeline(FakePose(scene, split=(0.003, 0.001)), FakeAction(), regions=False)
    recognize(ArraySource(blank_frames(10), fps=FPS), pipe)
    s = pipe.times.seconds
    assert s["maps"] > 0
    assert s["maps"] / (s["pose"] + s["maps"]) == pytest.approx(0.25)
