"""`pipan recognize`, `pipan live`, `pipan benchmark` through click's CliRunner, with the
stand-in models injected where the commands load models; bad input gives one line and a
non-zero exit (truncation: a warning and exit 0), never a traceback or a partial file."""
import json
import sys

import pytest
from click.testing import CliRunner

import pipan.pipeline
from pipan.cli import cli
from pipan.errors import ModelError
from runtime_fakes import FakeAction, FakePose, two_people_scene, write_video


@pytest.fixture
def fakes(monkeypatch):
    """Inject stand-in models; returns the dict of the created objects."""
    made = {}

    def load_pose(backend="pipan", model_path=None, threads=None):
        made["pose"] = FakePose(two_people_scene(), **made.get("pose_kwargs", {}))
        return made["pose"]

    def load_action(model_path=None, threads=None, decay=1.0):
        made["action"] = FakeAction()
        made["decay"] = decay
        return made["action"]

    monkeypatch.setattr(pipan.pipeline, "load_pose", load_pose)
    monkeypatch.setattr(pipan.pipeline, "load_action", load_action)
    return made


@pytest.fixture
def video(tmp_path):
    p = tmp_path / "clip.avi"
    write_video(p, 150, fps=30.0)
    return p


def invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def one_line_error(r, code=1, match=""):
    assert r.exit_code == code, (r.exit_code, r.output, r.stderr)
    assert "Traceback" not in r.output + r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), r.stderr
    assert match in lines[0], lines[0]


def test_recognize_json_is_only_segments_on_stdout(fakes, video):
    r = invoke("recognize", video, "--json", "--min-duration", "0.3")
    assert r.exit_code == 0, r.stderr
    rows = [json.loads(line) for line in r.stdout.splitlines()]
    # the segment_end events of pipan.events: the fields segments always had, and more
    assert rows and all({"person", "start", "end", "label", "confidence"} <= set(row)
                        and row["type"] == "segment_end" and row["alert"] is False
                        and row["source"].endswith("clip.avi") for row in rows)
    assert [(row["person"], row["label"]) for row in rows] == [
        (1, "walk"), (1, "stand"), (1, "wave"), (2, "stand"), (2, "wave"), (2, "walk")]
    # a person is reported from the frame that confirms their track (Tracker.min_hits)
    assert rows[0]["start"] == pytest.approx(2 / 30, abs=1e-3)
    assert rows[-1]["end"] == pytest.approx(5.0)


def test_recognize_text_timeline_and_outputs(fakes, video, tmp_path):
    out, plot, fj = tmp_path / "o.mp4", tmp_path / "t.png", tmp_path / "f.jsonl"
    r = invoke("recognize", video, "-o", out, "--plot", plot, "--frames-json", fj)
    assert r.exit_code == 0, r.stderr
    assert "Person 1" in r.stdout and "Person 2" in r.stdout and "walk" in r.stdout
    assert "FPS" in r.stderr
    assert out.stat().st_size > 0 and plot.stat().st_size > 0
    assert len(fj.read_text().splitlines()) == 150


def test_recognize_every_and_options_reach_the_pipeline(fakes, video):
    r = invoke("recognize", video, "--json", "--every", "5", "--threads", "2")
    assert r.exit_code == 0, r.stderr
    assert fakes["pose"].calls == 30
    assert fakes["decay"] == pytest.approx(0.5 ** (1 / 6))  # half-life 1 s = 6 steps
    r = invoke("recognize", video, "--json", "--half-life", "2")
    assert r.exit_code == 0 and fakes["decay"] ** 60 == pytest.approx(0.5)
    r = invoke("recognize", video, "--json", "--half-life", "0")
    assert r.exit_code == 0 and fakes["decay"] == 1.0


def test_missing_file(fakes, tmp_path):
    one_line_error(invoke("recognize", tmp_path / "nope.mp4"), match="no such file")


def test_not_a_video(fakes, tmp_path):
    p = tmp_path / "x.mp4"
    p.write_bytes(b"\x00garbage" * 100)
    one_line_error(invoke("recognize", p), match="not a video")


def test_zero_frame_video(fakes, tmp_path):
    p = tmp_path / "empty.avi"
    write_video(p, 0)
    one_line_error(invoke("recognize", p), match="no decodable frames")


def test_truncated_video_warns_once_and_succeeds(fakes, video, tmp_path):
    cut = tmp_path / "cut.avi"
    data = video.read_bytes()
    cut.write_bytes(data[: len(data) // 2])
    r = invoke("recognize", cut, "--json")
    assert r.exit_code == 0, r.stderr
    assert r.stderr.count("Warning:") == 1 and "truncated" in r.stderr
    assert all(json.loads(line) for line in r.stdout.splitlines())


def test_unsupported_output_type_is_refused_before_work(fakes, video, tmp_path):
    one_line_error(invoke("recognize", video, "-o", tmp_path / "a.gif"),
                   match="unsupported video type")
    assert not (tmp_path / "a.gif").exists()


def test_model_failure_midway_leaves_no_partial_outputs(fakes, video, tmp_path):
    fakes["pose_kwargs"] = {"fail_at": 40, "fail_with": ModelError("pose.tflite: boom")}
    out = tmp_path / "out"
    out.mkdir()
    r = invoke("recognize", video, "-o", out / "a.mp4", "--plot", out / "t.png",
               "--frames-json", out / "f.jsonl")
    one_line_error(r, match="boom")
    assert list(out.iterdir()) == []


def test_unwritable_output_is_one_line_and_leaves_nothing(fakes, video, tmp_path):
    (tmp_path / "file").write_text("a file where a folder should be")
    one_line_error(invoke("recognize", video, "-o", tmp_path / "file" / "a.mp4"),
                   match="cannot write")
    one_line_error(invoke("recognize", video, "--frames-json", tmp_path / "file" / "f.jsonl"),
                   match="cannot write")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clip.avi", "file"]


def test_video_and_demo_together_is_a_usage_error(fakes, video):
    r = invoke("recognize", video, "--demo")
    assert r.exit_code == 2 and "--demo" in r.stderr


def test_demo_runs_or_says_it_is_missing(fakes):
    from pathlib import Path
    demo = Path(pipan.__file__).parent / "models" / "demo.mp4"
    r = invoke("recognize", "--demo", "--json")
    if demo.is_file():
        assert r.exit_code == 0, r.stderr
    else:
        one_line_error(r, match="demo video is not bundled")


@pytest.mark.parametrize("module", ["pipan.pose", "pipan.action"])
def test_unreadable_model(tmp_path, video, module, monkeypatch):
    if module == "pipan.action":  # the pose model loads first: a stand-in for it
        monkeypatch.setattr(pipan.pipeline, "load_pose",
                            lambda *a, **k: FakePose(two_people_scene()))
    bad = tmp_path / "bad.tflite"
    bad.write_bytes(b"not a model at all" * 10)
    opt = "--pose-model" if module == "pipan.pose" else "--action-model"
    one_line_error(invoke("recognize", video, opt, bad), match="bad.tflite")


def test_model_of_the_wrong_kind(video):
    from pathlib import Path
    models = Path(pipan.__file__).parent / "models"
    if not (models / "action.tflite").is_file() or not (models / "pose.tflite").is_file():
        pytest.skip("bundled pose.tflite/action.tflite not present yet")
    one_line_error(invoke("recognize", video, "--pose-model", models / "action.tflite"),
                   match="action")
    one_line_error(invoke("recognize", video, "--action-model", models / "pose.tflite"),
                   match="pose")


# --- live ---------------------------------------------------------------------------------

def test_live_json_jsonl_append_and_log(fakes, video, tmp_path):
    jl, log = tmp_path / "seg.jsonl", tmp_path / "pipan.log"
    args = ("live", "--source", video, "--json", "--jsonl", jl, "--log", log,
            "--max-frames", "100", "--min-duration", "0.3")
    r1 = invoke(*args)
    assert r1.exit_code == 0, r1.stderr
    rows = [json.loads(line) for line in r1.stdout.splitlines()]
    assert rows and max(row["end"] for row in rows) == pytest.approx(100 / 30.0, abs=1e-3)
    r2 = invoke(*args)
    assert r2.exit_code == 0

    def same(lines):  # but for when they were made
        return [{k: v for k, v in json.loads(line).items() if k != "wall"} for line in lines]
    assert same(jl.read_text().splitlines()) == same(r1.stdout.splitlines()) * 2  # appended
    assert jl.read_text().splitlines()[:len(rows)] == r1.stdout.splitlines()
    text = log.read_text()
    assert text.count("segment {") == 2 * len(rows) and "started: " in text


def test_live_text_mode_prints_segments_and_status(fakes, video):
    r = invoke("live", "--source", video, "--status-every", "0.1")
    assert r.exit_code == 0, r.stderr
    assert "person 1" in r.stdout and "walk" in r.stdout
    assert "Ended after 150 frames" in r.stderr and "FPS" in r.stderr


def test_live_ctrl_c_closes_open_segments_and_files(fakes, video, tmp_path):
    fakes["pose_kwargs"] = {"fail_at": 50}  # KeyboardInterrupt on the 51st frame
    jl = tmp_path / "seg.jsonl"
    r = invoke("live", "--source", video, "--jsonl", jl)
    assert r.exit_code == 130
    assert "Interrupted" in r.stderr and "Traceback" not in r.stderr
    rows = [json.loads(line) for line in jl.read_text().splitlines()]
    assert {row["person"] for row in rows} == {1, 2}
    assert max(row["end"] for row in rows) == pytest.approx(50 / 30.0, abs=1e-3)
    assert fakes["action"].state == {}  # every track forgotten


def test_live_camera_that_cannot_open(fakes):
    one_line_error(invoke("live", "--camera", "/dev/video99"), match="cannot be opened")


def test_live_picamera_missing(fakes, monkeypatch):
    monkeypatch.setitem(sys.modules, "picamera2", None)
    one_line_error(invoke("live", "--picamera"), code=3, match="picamera2")


def test_live_show_without_display(fakes, video, monkeypatch):
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    one_line_error(invoke("live", "--source", video, "--show"), match="display")


def test_live_needs_one_source(fakes, video):
    assert invoke("live").exit_code == 2
    assert invoke("live", "--source", video, "--camera", "0").exit_code == 2
    assert invoke("live", "--source", video, "--serve", "host:notaport").exit_code == 2


# --- benchmark ----------------------------------------------------------------------------

def test_benchmark_json(fakes, video):
    r = invoke("benchmark", video, "--json", "--repeats", "2", "--frames", "60", "--draw")
    assert r.exit_code == 0, r.stderr
    d = json.loads(r.stdout)
    # two people, each reported from their track's third frame (Tracker.min_hits)
    assert d["frames"] == 60 and d["repeats"] == 2
    assert d["people_per_frame"] == round(2 * 58 / 60, 2)
    assert set(d["ms_per_frame"]) == set(pipan.pipeline.STAGES)
    assert d["fps"] > 0 and d["reference_fps"] > 0 and d["ratio_to_reference"] > 0
    assert d["ms_per_frame"]["drawing"] > 0
    assert 0 < d["pose_stage_share"] < 1


def test_pose_stage_share_counts_decoding_and_the_pose_stage_only():
    from pipan.benchmark import pose_stage_share
    t = pipan.pipeline.StageTimes(frames=10, wall=2.0)
    for stage, s in {"decode": 0.1, "pose": 1.2, "maps": 0.2, "tracking": 0.2,
                     "action": 0.2, "segments": 0.05, "drawing": 0.05}.items():
        t.add(stage, s)
    assert pose_stage_share(t) == pytest.approx(0.75)
    assert pose_stage_share(pipan.pipeline.StageTimes()) == 0.0


def test_benchmark_text(fakes, video):
    r = invoke("benchmark", video, "--repeats", "1", "--no-reference", "--clock", "cpu")
    assert r.exit_code == 0, r.stderr
    assert "end to end" in r.stdout and "action step" in r.stdout and "cpu clock" in r.stdout
    assert "of the pipeline's time" in r.stdout and "alone" not in r.stdout


def test_live_picamera_with_fake_module_stamps_segments_with_wall_time(fakes, monkeypatch):
    import numpy as np
    from test_video import fake_picamera2
    mod, calls = fake_picamera2([np.zeros((48, 64, 4), np.uint8) for _ in range(200)])
    monkeypatch.setitem(sys.modules, "picamera2", mod)
    # frames come faster than real time: let even the shortest segments through
    r = invoke("live", "--picamera", "--size", "64x48", "--json", "--max-frames", "60",
               "--min-duration", "0")
    assert r.exit_code == 0, r.stderr
    rows = [json.loads(line) for line in r.stdout.splitlines()]
    assert rows and all(row["at"].endswith("Z") and row["at"][:2] == "20" for row in rows)
    assert calls["stopped"]  # the camera is released at the end


def test_live_camera_lost_mid_stream_exits_1_after_closing_segments(fakes, monkeypatch,
                                                                     tmp_path):
    import numpy as np
    from test_video import fake_picamera2
    mod, _ = fake_picamera2([np.zeros((48, 64, 4), np.uint8) for _ in range(90)])
    monkeypatch.setitem(sys.modules, "picamera2", mod)
    jl = tmp_path / "s.jsonl"
    r = invoke("live", "--picamera", "--size", "64x48", "--retry", "0", "--jsonl", jl,
               "--min-duration", "0")
    assert r.exit_code == 1 and "Traceback" not in r.stderr
    assert r.stderr.strip().splitlines() == [
        "Warning: picamera: stopped delivering frames; retrying for up to 0 s",
        "Error: picamera: lost (no frames for 0 s)"]
    assert {json.loads(line)["person"] for line in jl.read_text().splitlines()} == {1, 2}


def test_live_serve_option_starts_and_stops_the_server(fakes, video):
    r = invoke("live", "--source", video, "--serve", "127.0.0.1:0", "--max-frames", "10")
    assert r.exit_code == 0, r.stderr
    assert "Serving the annotated stream on http://127.0.0.1:" in r.stderr
