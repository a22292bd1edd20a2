"""Bad inputs and faults, tried as a new user and as an attacker would: nothing lost (an
input never overwritten, an existing output replaced only by a complete one, no temp file
left), nothing run that should not be (a model folder's code), and every failure one line
on stderr with a non-zero exit. Where native libraries could print (LiteRT, OpenCV), the
real command runs in a subprocess, so their output would be seen. tools/probe_bad_inputs.py
tries the whole catalogue against the commands."""
from __future__ import annotations

import errno
import json
import os
import signal
import socket
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import pipan.pipeline
from pipan.cli import cli
from pipan.errors import ModelError
from pipan.fileio import StagedOutputs, atomic_path, atomic_write_text
from runtime_fakes import FakeAction, FakePose, two_people_scene, write_video

ROOT = Path(__file__).resolve().parents[1]
MODELS = ROOT / "pipan" / "models"


def invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def run_pipan(*args, timeout=300, **kw):
    """The real command in a subprocess (native libraries' output included)."""
    env = dict(os.environ, PYTHONPATH=str(ROOT), PIPAN_THREADS="1")
    env.pop("PIPAN_VERBOSE", None)
    if "stdout" not in kw:
        kw["capture_output"] = True
    return subprocess.run([sys.executable, "-m", "pipan", *map(str, args)], cwd=ROOT,
                          env=env, text=True, timeout=timeout, **kw)


def assert_one_line_error(code, stderr, match=""):
    assert code not in (0, None), (code, stderr)
    assert "Traceback" not in stderr, stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), stderr
    assert match in lines[0], lines[0]


@pytest.fixture
def fakes(monkeypatch):
    monkeypatch.setattr(pipan.pipeline, "load_pose",
                        lambda *a, **k: FakePose(two_people_scene()))
    monkeypatch.setattr(pipan.pipeline, "load_action", lambda *a, **k: FakeAction())


@pytest.fixture
def video(tmp_path):
    p = tmp_path / "clip.avi"
    write_video(p, 60, fps=30.0, size=(160, 120))
    return p


def leftovers(folder: Path):
    return sorted(p.name for p in folder.iterdir() if ".tmp" in p.name)


# --- 1. an output that is the input -------------------------------------------------------

@pytest.mark.parametrize("option", ["-o", "--frames-json", "--plot"])
@pytest.mark.parametrize("how", ["same", "spelled", "hardlink", "symlink"])
def test_an_output_that_is_the_input_is_refused(fakes, tmp_path, option, how):
    src = tmp_path / ("clip.png" if option == "--plot" else "clip.mp4")
    write_video(tmp_path / "v.avi", 30, size=(160, 120))
    os.replace(tmp_path / "v.avi", src)
    before = src.read_bytes()
    target = {"same": src, "spelled": tmp_path / "." / ".." / tmp_path.name / src.name}[how] \
        if how in ("same", "spelled") else tmp_path / f"other{src.suffix}"
    if how == "hardlink":
        os.link(src, target)
    elif how == "symlink":
        os.symlink(src, target)
    r = invoke("recognize", src, option, target)
    assert r.exit_code == 1, r.output
    assert "is the input file" in r.stderr and "Traceback" not in r.output
    assert src.read_bytes() == before


def test_two_outputs_that_are_one_file_are_refused(fakes, video, tmp_path):
    r = invoke("recognize", video, "-o", tmp_path / "a.mp4", "--frames-json",
               tmp_path / "a.mp4")
    assert r.exit_code == 1 and "same file" in r.stderr


# --- 2. a video that cannot be written completely -----------------------------------------

def test_a_video_writer_that_loses_frames_fails_and_keeps_the_old_output(fakes, video,
                                                                         tmp_path,
                                                                         monkeypatch):
    import pipan.outputs as outputs

    class LosingWriter:  # OpenCV's writer reports nothing when a write fails
        def __init__(self, path, *a):
            self.path = path
            Path(path).write_bytes(b"")

        def isOpened(self):  # noqa: N802 (OpenCV's name)
            return True

        def write(self, image):
            pass

        def release(self):
            pass

    monkeypatch.setattr(outputs.cv2, "VideoWriter", LosingWriter)
    out = tmp_path / "out.mp4"
    out.write_bytes(b"the old video")
    r = invoke("recognize", video, "-o", out)
    assert r.exit_code == 1 and "cannot write the video" in r.stderr, r.output
    assert out.read_bytes() == b"the old video"
    assert leftovers(tmp_path) == []


@pytest.fixture
def full_disk(tmp_path):
    """A 1 MiB tmpfs: a disk that fills up (needs root and mount; skipped otherwise)."""
    mnt = tmp_path / "full"
    mnt.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mnt)],
                       capture_output=True)
    if r.returncode != 0:
        pytest.skip("cannot mount a small tmpfs here (needs root): "
                    + r.stderr.decode(errors="replace").strip()[:80])
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], capture_output=True)


def test_a_full_disk_fails_in_one_line_and_keeps_the_old_output(full_disk, tmp_path):
    src = tmp_path / "noise.avi"
    import cv2
    w = cv2.VideoWriter(str(src), cv2.VideoWriter_fourcc(*"MJPG"), 30.0, (320, 240))
    rng = np.random.default_rng(0)
    for _ in range(40):  # noise: barely compresses, so the annotated video fills 1 MiB
        w.write(rng.integers(0, 256, (240, 320, 3), np.uint8))
    w.release()
    out = full_disk / "out.mp4"
    out.write_bytes(b"the old video")
    r = run_pipan("recognize", src, "-o", out, "--frames-json", full_disk / "f.jsonl")
    assert_one_line_error(r.returncode, r.stderr, match="No space left")
    # the message names the user's file, never a hidden temp name
    assert any(f"Error: {p}: " in r.stderr for p in (out, full_disk / "f.jsonl")), r.stderr
    assert out.read_bytes() == b"the old video"
    assert sorted(p.name for p in full_disk.iterdir()) == ["out.mp4"]


# --- 3. outputs committed together --------------------------------------------------------

def test_a_failing_plot_leaves_the_video_and_frames_as_they_were(fakes, video, tmp_path):
    out, frames = tmp_path / "out.mp4", tmp_path / "f.jsonl"
    out.write_bytes(b"the old video")
    frames.write_text("old frames\n")
    (tmp_path / "file").write_text("a file where a folder should be")
    r = invoke("recognize", video, "-o", out, "--frames-json", frames,
               "--plot", tmp_path / "file" / "t.png")
    assert r.exit_code == 1 and "Traceback" not in r.output, r.output
    assert out.read_bytes() == b"the old video"
    assert frames.read_text() == "old frames\n"
    assert leftovers(tmp_path) == []


def test_staged_outputs_commit_all_or_nothing(tmp_path):
    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    a.write_text("old a")
    with pytest.raises(RuntimeError):
        with StagedOutputs() as staged:
            staged.path(a).write_text("new a")
            staged.path(b).write_text("new b")
            raise RuntimeError("the last output failed")
    assert a.read_text() == "old a" and not b.exists() and leftovers(tmp_path) == []
    with StagedOutputs() as staged:
        staged.path(a).write_text("new a")
        staged.path(b).write_text("new b")
        staged.commit()
    assert a.read_text() == "new a" and b.read_text() == "new b"
    assert leftovers(tmp_path) == []


# --- 4. SIGTERM and SIGHUP ------------------------------------------------------------------

@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP])
def test_a_termination_signal_cleans_up_like_ctrl_c(tmp_path, sig):
    src = tmp_path / "long.avi"
    write_video(src, 3000, size=(160, 120))
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    (out_dir / "out.mp4").write_bytes(b"the old video")
    env = dict(os.environ, PYTHONPATH=str(ROOT), PIPAN_THREADS="1")
    p = subprocess.Popen([sys.executable, "-m", "pipan", "recognize", str(src), "-o",
                          str(out_dir / "out.mp4"), "--frames-json", str(out_dir / "f.jsonl")],
                         cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True)
    deadline = time.monotonic() + 120
    while not leftovers(out_dir) and p.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert leftovers(out_dir), "the run ended before writing (video too short?)"
    p.send_signal(sig)
    _, err = p.communicate(timeout=60)
    assert p.returncode == 128 + sig, (p.returncode, err)
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    assert sorted(x.name for x in out_dir.iterdir()) == ["out.mp4"]
    assert (out_dir / "out.mp4").read_bytes() == b"the old video"


# --- 5. file modes ------------------------------------------------------------------------

@pytest.mark.parametrize("mask", [0o022, 0o077, 0o002])
def test_written_files_get_the_umask_mode_not_0600(tmp_path, mask):
    old = os.umask(mask)
    try:
        atomic_write_text(tmp_path / "a.txt", "x")
        with StagedOutputs() as staged:
            staged.path(tmp_path / "b.mp4").write_bytes(b"x")
            staged.commit()
    finally:
        os.umask(old)
    for name in ("a.txt", "b.mp4"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o666 & ~mask, name


# --- 6. training that diverges; temp names of their own -----------------------------------

def tiny_dataset(path: Path, scale: float = 1.0) -> Path:
    """8 random clips of 12 frames, two labels; coordinates times ``scale``."""
    from pipan.dataset import SkeletonDataset, save
    from pipan.skeleton import COCO18
    rng = np.random.default_rng(0)
    n, T = 8, 12
    kp = rng.uniform(50, 150, (n * T, 18, 3)).astype(np.float32)
    kp[..., 2] = 0.9
    kp[..., :2] *= scale
    labels = np.array(["a", "b"] * (n // 2))
    test = np.array([0, 0, 0, 0, 0, 0, 1, 1], np.int8)
    if scale == 1.0:
        save(SkeletonDataset(kp, np.full(n, T, np.int64), labels, COCO18, test), path)
    else:  # past what SkeletonDataset accepts: written as a user's tool would
        np.savez(path, keypoints=kp, lengths=np.full(n, T, np.int32), labels=labels,
                 joints=np.array(COCO18), test=test)
    return path


def test_training_whose_loss_goes_nan_writes_nothing(tmp_path):
    pytest.importorskip("tensorflow")
    from training.cli import cli as tcli
    data = tiny_dataset(tmp_path / "huge.npz", scale=1e30)
    out = tmp_path / "run"
    r = CliRunner().invoke(tcli, ["action", "train", "--data", str(data), "--out", str(out),
                                  "--epochs", "2", "--hidden", "8", "--clusters", "2",
                                  "--quiet"])
    assert r.exit_code == 1, r.output
    assert r.stderr.startswith("Error: ") and len(r.stderr.strip().splitlines()) == 1
    assert "coordinates reach 1.5e+32" in r.stderr and "Traceback" not in r.output
    assert not out.exists()


def test_a_loss_gone_nan_is_a_one_line_error_before_anything_is_written():
    pytest.importorskip("tensorflow")
    from training.action.train import TrainingError, check_finite

    class Model:
        def __init__(self, w):
            self.w = w

        def get_weights(self):
            return [np.ones(3), self.w]

    check_finite({"loss": [1.0, 0.5]}, Model(np.ones(2)))
    with pytest.raises(TrainingError, match="diverged"):
        check_finite({"loss": [1.0, float("nan")]}, Model(np.ones(2)))
    with pytest.raises(TrainingError, match="diverged"):
        check_finite({"loss": [1.0, 0.5]}, Model(np.array([1.0, np.inf])))


def test_temp_names_are_unique_per_writer(tmp_path):
    target = tmp_path / "model.keras"
    with atomic_path(target) as t1, atomic_path(target) as t2:
        assert t1 != t2 and t1.suffix == ".keras"
        t1.write_text("one")
        t2.write_text("two")
    assert target.read_text() == "one" and leftovers(tmp_path) == []


def test_training_beside_another_runs_temp_file_succeeds(tmp_path):
    pytest.importorskip("tensorflow")
    from training.cli import cli as tcli
    data = tiny_dataset(tmp_path / "d.npz")
    out = tmp_path / "run"
    out.mkdir()
    (out / ".model.tmp.keras").mkdir()  # another run's temp name, in use
    r = CliRunner().invoke(tcli, ["action", "train", "--data", str(data), "--out", str(out),
                                  "--epochs", "1", "--hidden", "8", "--clusters", "2",
                                  "--quiet"])
    assert r.exit_code == 0, r.output
    assert (out / "model.keras").is_file() and (out / ".model.tmp.keras").is_dir()
    json.loads((out / "config.json").read_text())


# --- 7. model folders from someone else -----------------------------------------------------

def test_a_model_folder_with_code_is_refused_without_running_it(tmp_path):
    keras = pytest.importorskip("keras")
    from training.action.export import load_model_dir
    marker = tmp_path / "pwned"
    inp = keras.Input((4,))
    # A Lambda layer carries its function's bytecode in the file: loading it unsafely
    # runs it.
    out = keras.layers.Lambda(lambda x, m=str(marker): (__import__("os").system(
        f"touch {m}"), x)[1])(inp)
    d = tmp_path / "model"
    d.mkdir()
    keras.Model(inp, out).save(d / "model.keras")
    marker.unlink()  # building the model ran the function once; loading must not
    (d / "config.json").write_text(json.dumps({"kind": "action", "labels": ["a", "b"]}))
    with pytest.raises(ModelError, match="cannot load the model") as e:
        load_model_dir(d)
    assert "\n" not in str(e.value)
    assert not marker.exists()


@pytest.mark.parametrize("config", ['{"kind": "act', "[1, 2]", '"action"', "\xff\xfe"])
def test_action_evaluate_with_a_bad_config_is_one_line(tmp_path, config):
    pytest.importorskip("keras")
    from training.cli import cli as tcli
    d = tmp_path / "model"
    d.mkdir()
    (d / "config.json").write_bytes(config.encode("latin-1"))
    (d / "model.keras").write_bytes(b"whatever")
    data = tiny_dataset(tmp_path / "d.npz")
    r = CliRunner().invoke(tcli, ["action", "evaluate", "--model", str(d), "--data", str(data)])
    assert r.exit_code == 1, r.output
    assert r.stderr.startswith("Error: ") and len(r.stderr.strip().splitlines()) == 1
    assert "Traceback" not in r.output


# --- 8. the MJPEG server under a flood of idle connections ---------------------------------

def test_the_server_caps_clients_and_times_out_idle_ones():
    from pipan.serve import FrameServer
    server = FrameServer(port=0, max_clients=4, idle_timeout=1.0)
    host, port = server.address
    threads0 = threading.active_count()
    socks = []
    try:
        most = 0
        for _ in range(60):
            socks.append(socket.create_connection((host, port), timeout=5))
            most = max(most, threading.active_count())
        time.sleep(0.2)
        most = max(most, threading.active_count())
        assert most <= threads0 + 4  # one thread per served client, at most 4
        answers = []
        t0 = time.monotonic()
        for s in socks:  # each is answered "busy" or, once served and silent, closed
            s.settimeout(5)
            answers.append(s.recv(100))
        assert time.monotonic() - t0 < 10
        busy = sum(a.startswith(b"HTTP/1.0 503") for a in answers)
        assert busy >= 30 and all(a == b"" or a.startswith(b"HTTP/1.0 503") for a in answers)
        time.sleep(0.3)
        with socket.create_connection((host, port), timeout=5) as s:  # room again
            s.sendall(b"GET / HTTP/1.0\r\n\r\n")
            assert s.recv(100).startswith(b"HTTP/1.0 200")
    finally:
        for s in socks:
            s.close()
        server.close()


def test_live_help_states_the_server_limits():
    r = invoke("live", "--help")
    assert "at most 8 viewers" in r.output and "10 s" in r.output


# --- 9. stdout and --jsonl that cannot be written ------------------------------------------

@pytest.mark.skipif(not Path("/dev/full").exists(), reason="no /dev/full here")
def test_stdout_on_a_full_disk_is_one_line():
    with open("/dev/full", "w") as full:
        r = run_pipan("info", MODELS / "action.tflite", "--json", stdout=full,
                      stderr=subprocess.PIPE)
    assert_one_line_error(r.returncode, r.stderr, match="standard output")


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="no /dev/full here")
def test_live_jsonl_on_a_full_disk_is_one_line():
    r = run_pipan("live", "--source", MODELS / "demo.mp4", "--max-frames", "45",
                  "--jsonl", "/dev/full", "--min-duration", "0")
    assert_one_line_error(r.returncode, r.stderr, match="/dev/full: cannot write")


def test_a_log_file_that_cannot_be_written_is_one_line(fakes, video):
    if not Path("/dev/full").exists():
        pytest.skip("no /dev/full here")
    r = invoke("live", "--source", video, "--log", "/dev/full")
    assert r.exit_code == 1 and "Traceback" not in r.output and "Logging error" not in r.output
    assert "cannot write the log" in r.stderr


# --- 10. damaged models -----------------------------------------------------------------

def test_a_model_whose_first_run_fails_is_a_model_error_at_load(monkeypatch):
    import pipan.runtime as rt
    real = rt.interpreter_class()

    class Failing(real):
        def get_signature_runner(self, *a, **k):
            runner = super().get_signature_runner(*a, **k)

            class Runner:
                def get_input_details(self):
                    return runner.get_input_details()

                def get_output_details(self):
                    return runner.get_output_details()

                def __call__(self, **kw):
                    raise RuntimeError("tensorflow/lite/kernels/conv.cc:351 bad tensor\nmore")
            return Runner()

    monkeypatch.setattr(rt, "interpreter_class", lambda: Failing)
    with pytest.raises(ModelError, match="does not run") as e:
        rt.TFLiteModel(MODELS / "action.tflite", threads=1)
    assert "\n" not in str(e.value)


@pytest.fixture(scope="module")
def sealed_model(tmp_path_factory):
    """The bundled action model with a recorded checksum, as `pipan convert` writes."""
    pytest.importorskip("tensorflow")
    from converters.metadata import embed_metadata
    from pipan.runtime import HASH_PLACEHOLDER, MODEL_HASH_KEY, read_metadata, seal_model_bytes
    data = (MODELS / "action.tflite").read_bytes()
    meta = dict(read_metadata(MODELS / "action.tflite"), **{MODEL_HASH_KEY: HASH_PLACEHOLDER})
    path = tmp_path_factory.mktemp("sealed") / "action.tflite"
    path.write_bytes(seal_model_bytes(embed_metadata(data, meta)))
    return path


def test_a_sealed_model_loads_and_a_flipped_weight_is_refused(sealed_model, tmp_path):
    from pipan.runtime import TFLiteModel, read_metadata
    m = TFLiteModel(sealed_model, threads=1)
    assert len(m.metadata["model_sha256"]) == 64
    data = bytearray(sealed_model.read_bytes())
    data[len(data) // 3] ^= 0x10  # inside the weights: the interpreter would not notice
    bad = tmp_path / "bad.tflite"
    bad.write_bytes(bytes(data))
    assert read_metadata(bad)["model_sha256"] == m.metadata["model_sha256"]
    with pytest.raises(ModelError, match="damaged or altered"):
        TFLiteModel(bad, threads=1)


# --- 11. native libraries keep quiet ------------------------------------------------------

@pytest.fixture(scope="module")
def short_video(tmp_path_factory):
    p = tmp_path_factory.mktemp("v") / "short.avi"
    write_video(p, 10, size=(160, 120))
    return p


def test_recognize_prints_no_native_chatter_unless_verbose(short_video):
    r = run_pipan("recognize", short_video, "--json")
    assert r.returncode == 0, r.stderr
    assert "XNNPACK" not in r.stderr and "INFO:" not in r.stderr, r.stderr
    r = run_pipan("--verbose", "recognize", short_video, "--json")
    assert r.returncode == 0 and "XNNPACK" in r.stderr, r.stderr



def test_the_blazepose_backend_prints_no_native_chatter_either(short_video, monkeypatch):
    models = ROOT.parent / "shared" / "models" / "blazepose"
    if not (models / "pose_landmark_full.tflite").is_file():
        pytest.skip("../shared/models/blazepose is absent")
    monkeypatch.setenv("PIPAN_BLAZEPOSE_DIR", str(models))
    r = run_pipan("recognize", short_video, "--json", "--pose", "blazepose")
    assert r.returncode == 0, r.stderr
    assert "XNNPACK" not in r.stderr and "INFO:" not in r.stderr, r.stderr

def test_a_camera_that_cannot_open_is_one_line():
    index = next(i for i in range(9, 64) if not Path(f"/dev/video{i}").exists())
    r = run_pipan("live", "--camera", index, "--retry", "0")
    assert_one_line_error(r.returncode, r.stderr, match="cannot be opened")


# --- 12. messages that say what happened ---------------------------------------------------

def test_an_error_names_the_users_path_not_the_temp_file(tmp_path):
    target = tmp_path / "out.mp4"
    with pytest.raises(OSError) as e:
        with atomic_path(target) as tmp:
            raise OSError(errno.ENOSPC, "No space left on device", str(tmp))
    assert e.value.filename == str(target)


def test_a_directory_given_as_a_model_says_so(tmp_path):
    r = run_pipan("info", tmp_path)
    assert_one_line_error(r.returncode, r.stderr, match="is a directory")


def test_people_seen_but_no_action_long_enough_says_so(fakes, video):
    r = invoke("recognize", video, "--min-duration", "100")
    assert r.exit_code == 0, r.output
    assert "Nobody was detected" not in r.stdout
    assert "--min-duration" in r.stdout


def test_recognize_given_a_url_points_to_live(fakes):
    r = invoke("recognize", "rtsp://camera.local/stream")
    assert r.exit_code == 1 and "pipan live --source" in r.stderr


@pytest.mark.parametrize("args", [["-h"], ["recognize", "-h"]])
def test_dash_h_is_help(args):
    r = invoke(*args)
    assert r.exit_code == 0 and "Usage:" in r.output
