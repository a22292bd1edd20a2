"""Frame sources: files (timestamps, damaged files), bad input, live-source retries,
picamera2 through a fake module, and decoding the real videos in ../shared."""
import logging
import sys
import types

import numpy as np
import pytest

from pipan.errors import MissingDependencyError, VideoError
from pipan.video import (ArraySource, CaptureSource, PiCameraSource, VideoFileSource,
                         _retrying_reads, open_source)
from runtime_fakes import write_video


@pytest.fixture
def avi(tmp_path):
    p = tmp_path / "clip.avi"
    write_video(p, 50, fps=25.0)
    return p


@pytest.mark.parametrize("suffix,fourcc", [(".avi", "MJPG"), (".mp4", "mp4v")])
def test_file_source_frames_and_timestamps(tmp_path, suffix, fourcc):
    p = tmp_path / f"clip{suffix}"
    write_video(p, 40, fps=20.0, size=(64, 48), fourcc=fourcc)
    with VideoFileSource(p) as src:
        assert (src.info.width, src.info.height, src.info.fps) == (64, 48, 20.0)
        assert src.info.frame_count == 40
        frames = list(src)
    assert [f.index for f in frames] == list(range(40))
    assert [f.time for f in frames] == pytest.approx([i / 20.0 for i in range(40)])
    assert frames[0].image.shape == (48, 64, 3) and frames[0].image.dtype == np.uint8


def test_missing_file(tmp_path):
    with pytest.raises(VideoError, match="no such file"):
        VideoFileSource(tmp_path / "nope.mp4")


def test_not_a_video(tmp_path):
    p = tmp_path / "notes.mp4"
    p.write_text("this is not a video\n" * 10)
    with pytest.raises(VideoError, match="not a video"):
        VideoFileSource(p)


@pytest.mark.parametrize("suffix,fourcc", [(".avi", "MJPG"), (".mp4", "mp4v")])
def test_zero_frame_video(tmp_path, suffix, fourcc):
    p = tmp_path / f"empty{suffix}"
    write_video(p, 0, fourcc=fourcc)
    with pytest.raises(VideoError, match="no decodable frames|not a video"):
        VideoFileSource(p)


def test_truncated_video_yields_what_decodes_and_warns_once(avi, tmp_path, caplog):
    data = avi.read_bytes()
    cut = tmp_path / "cut.avi"
    cut.write_bytes(data[: len(data) // 2])
    with caplog.at_level(logging.WARNING, logger="pipan"):
        with VideoFileSource(cut) as src:
            n = sum(1 for _ in src)
    assert 5 < n < 50
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "truncated or corrupt" in warnings[0].getMessage()


def test_damaged_middle_yields_what_decodes_and_warns_once(avi, tmp_path, caplog):
    # What FFmpeg recovers after damage varies (it may resynchronise or stop), so this
    # checks the contract: no exception, the frames before the damage, ordered times,
    # one warning.
    b = bytearray(avi.read_bytes())
    mid = len(b) // 2
    b[mid:mid + len(b) // 5] = bytes(len(b) // 5)  # about a fifth of the frames
    bad = tmp_path / "bad.avi"
    bad.write_bytes(bytes(b))
    with caplog.at_level(logging.WARNING, logger="pipan"):
        frames = list(VideoFileSource(bad))
    idx = [f.index for f in frames]
    assert 20 <= len(frames) < 50
    assert idx == sorted(set(idx))
    assert sum(r.levelno == logging.WARNING for r in caplog.records) == 1


def test_camera_that_cannot_open_is_a_clear_error():
    with pytest.raises(VideoError, match="cannot be opened"):
        CaptureSource("/dev/video99", retry_s=0)


def test_open_source_needs_exactly_one(tmp_path, avi):
    with pytest.raises(VideoError, match="exactly one"):
        open_source(avi, camera=0)
    with pytest.raises(VideoError, match="exactly one"):
        open_source()
    assert isinstance(open_source(str(avi)), VideoFileSource)


class FakeClock:
    def __init__(self):
        self.t = 0.0

    def __call__(self):
        return self.t

    def sleep(self, s):
        self.t += s


def test_live_source_recovers_after_a_short_outage(caplog):
    script = [1, 2, None, None, None, 3, 4]  # None = a failed read
    reopened = []

    def read():
        v = script.pop(0) if script else None
        return None if v is None else np.full((2, 2, 3), v, np.uint8)

    clock = FakeClock()
    gen = _retrying_reads(read, lambda: reopened.append(1) or True, "camera 0", 5.0,
                          clock=clock, sleep=clock.sleep)
    with caplog.at_level(logging.WARNING, logger="pipan"):
        got = [int(next(gen)[0, 0, 0]) for _ in range(4)]
    assert got == [1, 2, 3, 4]
    assert reopened and clock.t < 5.0
    assert any("retrying" in r.getMessage() for r in caplog.records)


def test_live_source_lost_for_too_long_is_reported():
    clock = FakeClock()
    gen = _retrying_reads(lambda: None, lambda: False, "camera 0", 3.0, clock=clock,
                          sleep=clock.sleep)
    with pytest.raises(VideoError, match="camera 0: lost"):
        next(gen)
    assert clock.t >= 3.0


def test_picamera_missing_is_a_clear_message(monkeypatch):
    monkeypatch.setitem(sys.modules, "picamera2", None)  # import fails as if absent
    with pytest.raises(MissingDependencyError, match="python3-picamera2") as e:
        PiCameraSource()
    assert e.value.exit_code == 3


def fake_picamera2(frames, fail_after=None):
    """A stand-in picamera2 module: Picamera2 delivering ``frames`` 4-channel arrays."""
    calls = {"configured": None, "started": False, "stopped": False}

    class Picamera2:
        def create_video_configuration(self, main):
            return {"main": main}

        def configure(self, config):
            calls["configured"] = config

        def start(self):
            calls["started"] = True

        def capture_array(self, name="main"):
            assert name == "main"
            if not frames:
                raise RuntimeError("camera gone")
            return frames.pop(0)

        def stop(self):
            calls["stopped"] = True

        def close(self):
            pass

    mod = types.ModuleType("picamera2")
    mod.Picamera2 = Picamera2
    return mod, calls


def test_picamera_source_with_fake_module(monkeypatch):
    W, H = 32, 24
    frames = [np.full((H, W, 4), i, np.uint8) for i in range(5)]
    mod, calls = fake_picamera2(frames)
    monkeypatch.setitem(sys.modules, "picamera2", mod)
    src = open_source(picamera=True, width=W, height=H, retry_s=0.0)
    assert calls["configured"]["main"] == {"size": (W, H), "format": "RGB888"}
    assert calls["started"] and src.info.live
    got = []
    with pytest.raises(VideoError, match="picamera: lost"):
        for f in src:
            got.append(f)
    src.close()
    assert calls["stopped"]
    assert [int(f.image[0, 0, 0]) for f in got] == [0, 1, 2, 3, 4]
    assert got[0].image.shape == (H, W, 3)  # the padding byte dropped: BGR for OpenCV


def test_array_source():
    imgs = [np.zeros((4, 6, 3), np.uint8)] * 3
    src = ArraySource(imgs, fps=10)
    assert (src.info.width, src.info.height, src.info.frame_count) == (6, 4, 3)
    assert [f.time for f in src] == pytest.approx([0, 0.1, 0.2])


REAL = [("makeup_320x240.avi", 320, 240, 164), ("armwrestling_340x256.mp4", 340, 256, 280),
        ("taichi_340x256.mp4", 340, 256, 300), ("clean_and_jerk_340x256.mp4", 340, 256, 300),
        ("hug_1920x1080.mp4", 1920, 1080, 72)]


@pytest.mark.parametrize("name,W,H,count", REAL)
def test_real_videos_decode_fully(shared, name, W, H, count, caplog):
    with caplog.at_level(logging.WARNING, logger="pipan"):
        with VideoFileSource(shared / "data" / "videos" / name) as src:
            assert (src.info.width, src.info.height) == (W, H)
            n, last = 0, None
            for f in src:
                assert f.image.shape == (H, W, 3)
                n, last = n + 1, f
    assert n == count
    assert last.time == pytest.approx((count - 1) / src.info.fps)
    assert not caplog.records
