"""Try a catalogue of bad inputs and faults against pipan's real commands, each in a
subprocess, and judge how each was handled.

Handled cleanly means: the exit status is what it should be (non-zero for an error, 2 for
a bad option, 128 + N after signal N), stderr holds exactly one ``Error: ...`` line (click
adds its usage lines to a bad option) and no traceback, no native library chatter
(LiteRT's INFO line, OpenCV's [ WARN ] lines), every input file unchanged, no temp file
left behind, nothing an existing output held replaced by something incomplete, and no code
from a model folder run. The catalogue: videos, models, datasets, option values, output
paths, the MJPEG server, signals, stdout and files that cannot be written, and a full
disk (a small tmpfs, where this machine allows mounting one; skipped with the reason
where not).

    python tools/probe_bad_inputs.py            # the whole catalogue
    python tools/probe_bad_inputs.py -k server  # cases whose name contains "server"
    python tools/probe_bad_inputs.py --tree /tmp/other-checkout   # probe another tree

Prints one line per case that was not handled cleanly (``-v``: every case), then
``N bad inputs tried, M handled cleanly``. Exit status 0 when every case was handled.
Cases that need TensorFlow (training, conversion) are skipped with a reason where it is
not installed.
"""
from __future__ import annotations

import argparse
import concurrent.futures as cf
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
NATIVE_NOISE = ("INFO: Created TensorFlow Lite", "[ WARN:", "[ERROR:", "Failed to write frame")


@dataclass
class Outcome:
    code: Optional[int]
    stdout: str
    stderr: str
    seconds: float


@dataclass
class Case:
    """One bad input. ``argv`` after ``python -m`` (pipan or training); ``expect``:
    "error" (non-zero, one Error line), "usage" (exit 2, one Error line after click's
    usage), "ok" (exit 0, no Error line), an int exit status with no traceback, or
    "either" (a clean success or a clean error), "nonzero" (any failure, no traceback).
    ``check(outcome)`` returns what else
    is wrong (None: nothing). ``run`` replaces the
    plain subprocess run (signals, servers)."""

    name: str
    argv: Sequence[str] = ()
    expect: object = "error"
    match: str = ""
    check: Optional[Callable[[Outcome], Optional[str]]] = None
    run: Optional[Callable[["Probe", "Case"], Outcome]] = None
    stdout_to: Optional[str] = None
    umask: Optional[int] = None
    needs_tf: bool = False
    timeout: float = 240.0
    skip: Optional[str] = None


@dataclass
class Verdict:
    case: Case
    problems: List[str] = field(default_factory=list)
    outcome: Optional[Outcome] = None
    skipped: Optional[str] = None


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def snapshot(folder: Path) -> Dict[str, str]:
    """{relative path: sha256} of every file under ``folder`` (mount points excluded)."""
    out = {}
    for p in sorted(folder.rglob("*")):
        if p.is_file() and not p.is_symlink():
            out[str(p.relative_to(folder))] = sha(p)
    return out


# --- fixtures ---------------------------------------------------------------------------

def write_video(path: Path, frames: int, size=(160, 120), noise: bool = False,
                fourcc: str = "MJPG") -> Path:
    import cv2
    W, H = size
    w = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), 30.0, (W, H))
    rng = np.random.default_rng(0)
    x = np.arange(W)[None, :]
    for i in range(frames):
        if noise:
            img = rng.integers(0, 256, (H, W, 3), np.uint8)
        else:
            img = np.zeros((H, W, 3), np.uint8)
            img[..., 0] = (x + 3 * i) % 256
            img[..., 2] = 128
        w.write(img)
    w.release()
    return path


def write_dataset(path: Path, scale: float = 1.0, n: int = 8, T: int = 12) -> Path:
    sys.path.insert(0, str(ROOT))
    from pipan.skeleton import COCO18
    rng = np.random.default_rng(0)
    kp = rng.uniform(50, 150, (n * T, 18, 3)).astype(np.float32)
    kp[..., 2] = 0.9
    kp[..., :2] *= scale
    labels = np.array(["a", "b"] * (n // 2))
    test = np.array([0] * (n - 2) + [1, 1], np.int8)
    # written as a user's tool would (past what a tree's SkeletonDataset may accept)
    np.savez(path, keypoints=kp, lengths=np.full(n, T, np.int32), labels=labels,
             joints=np.array(COCO18), test=test)
    return path


class Probe:
    def __init__(self, tree: Path, python: str, work: Path, verbose: bool):
        self.tree, self.python, self.work, self.verbose = tree, python, work, verbose
        self.models = tree / "pipan" / "models"
        self.inputs = work / "in"
        self.out = work / "out"
        self.inputs.mkdir()
        self.out.mkdir()
        self.has_tf = subprocess.run(
            [python, "-c", "import importlib.util as u; "
                           "raise SystemExit(u.find_spec('tensorflow') is None)"],
            capture_output=True).returncode == 0
        self.full: Optional[Path] = None
        self.full_reason = ""

    # paths of the fixtures, made once
    def make_fixtures(self) -> None:
        i = self.inputs
        shutil.copy(self.models / "demo.mp4", i / "demo.mp4")
        write_video(i / "clip.avi", 20)
        write_video(i / "long.avi", 3000)
        write_video(i / "noise.avi", 40, size=(320, 240), noise=True)
        data = (i / "demo.mp4").read_bytes()
        (i / "truncated.mp4").write_bytes(data[:len(data) // 3])
        (i / "head.mp4").write_bytes(data[:2000])
        (i / "empty.mp4").write_bytes(b"")
        (i / "text.mp4").write_text("this is not a video\n" * 50)
        (i / "noext").write_bytes(data)
        rnd = np.random.default_rng(1).integers(0, 256, 50_000, np.uint8).tobytes()
        (i / "random.mp4").write_bytes(rnd)
        import cv2
        cv2.imwrite(str(i / "image.png"), np.full((120, 160, 3), 90, np.uint8))
        shutil.copy(i / "image.png", i / "image.mp4")
        (i / "folder").mkdir()
        (i / "folder.mp4").mkdir()
        os.symlink(i / "nowhere.mp4", i / "dangling.mp4")
        # models
        action = (self.models / "action.tflite").read_bytes()
        (i / "empty.tflite").write_bytes(b"")
        (i / "text.tflite").write_text("not a model\n" * 40)
        (i / "half.tflite").write_bytes(action[:len(action) // 2])
        (i / "header.tflite").write_bytes(action[:64])
        (i / "random.tflite").write_bytes(rnd[:4] + b"TFL3" + rnd[8:20_000])
        (i / "models").mkdir()
        (i / "clip.tflite").write_bytes((i / "clip.avi").read_bytes())
        # datasets
        write_dataset(i / "d.npz")
        write_dataset(i / "huge.npz", scale=1e30)
        (i / "text.npz").write_text("not a dataset")
        np.savez(i / "pickled.npz", keypoints=np.array([{"a": 1}], dtype=object))
        np.savez(i / "nokeys.npz", something=np.zeros(3))
        kp = np.full((24, 18, 3), np.nan, np.float32)
        np.savez(i / "nan.npz", keypoints=kp, lengths=np.array([12, 12]),
                 labels=np.array(["a", "b"]), joints=np.array(["x"] * 18))
        # trained-model folders
        for name, cfg in (("cfg-truncated", '{"kind": "act'), ("cfg-list", "[1, 2, 3]"),
                          ("cfg-string", '"action"'), ("cfg-binary", "\udcff\udcfe"),
                          ("cfg-nolabels", '{"kind": "action"}'),
                          ("cfg-pose", '{"kind": "pose", "builder": {"stages": 1}}'),
                          ("cfg-unknown", '{"kind": "sound"}')):
            d = i / name
            d.mkdir()
            (d / "config.json").write_bytes(cfg.encode("utf-8", "surrogateescape"))
            (d / "model.keras").write_bytes(b"not a keras archive")
        (i / "no-keras").mkdir()
        (i / "no-keras" / "config.json").write_text('{"kind": "action", "labels": ["a"]}')
        if self.has_tf:
            self._lambda_model(i / "evil")
            self._sealed_models()

    def keep_pristine(self) -> None:
        shutil.copytree(self.inputs, self.work / "pristine", symlinks=True)

    def restore_inputs(self) -> None:
        shutil.rmtree(self.inputs)
        shutil.copytree(self.work / "pristine", self.inputs, symlinks=True)

    def _lambda_model(self, d: Path) -> None:
        """A model folder whose model.keras runs ``touch MARKER`` when loaded unsafely."""
        marker = self.work / "PWNED"
        code = f"""
import json, sys
import keras
inp = keras.Input((18, 5))
out = keras.layers.Lambda(lambda x: (__import__("os").system("touch {marker}"), x)[1])(inp)
d = sys.argv[1]
keras.Model(inp, out).save(d + "/model.keras")
json.dump({{"kind": "action", "labels": ["a", "b"], "builder": {{}}}},
          open(d + "/config.json", "w"))
"""
        d.mkdir()
        env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
        subprocess.run([self.python, "-c", code, str(d)], check=True, capture_output=True,
                       env=env)
        marker.unlink()  # building the model ran the function once; loading must not

    def _sealed_models(self) -> None:
        """The bundled action model with a recorded checksum (as `pipan convert` writes
        it) and a copy with one weight byte flipped; only where this tree can seal."""
        code = """
import sys
sys.path.insert(0, sys.argv[1])
from converters.metadata import embed_metadata
import pipan.runtime as rt
if not hasattr(rt, "seal_model_bytes"):
    raise SystemExit(0)
src, dst, bad = sys.argv[2:5]
data = open(src, "rb").read()
meta = dict(rt.read_metadata(src), **{rt.MODEL_HASH_KEY: rt.HASH_PLACEHOLDER})
sealed = rt.seal_model_bytes(embed_metadata(data, meta))
open(dst, "wb").write(sealed)
flip = bytearray(sealed)
flip[len(flip) // 3] ^= 0x10
open(bad, "wb").write(bytes(flip))
"""
        env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
        subprocess.run([self.python, "-c", code, str(self.tree),
                        str(self.models / "action.tflite"), str(self.inputs / "sealed.tflite"),
                        str(self.inputs / "flipped.tflite")],
                       check=True, capture_output=True, env=env, cwd=self.tree)
        if not (self.inputs / "flipped.tflite").exists():
            # a tree without model checksums: flip a byte of the plain model instead
            data = bytearray((self.models / "action.tflite").read_bytes())
            data[len(data) // 3] ^= 0x10
            (self.inputs / "flipped.tflite").write_bytes(bytes(data))

    def mount_full_disk(self) -> None:
        mnt = self.work / "full"
        mnt.mkdir()
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mnt)],
                           capture_output=True, text=True)
        if r.returncode == 0:
            self.full = mnt
        else:
            self.full_reason = (r.stderr.strip() or "mount failed")[:100]

    def unmount(self) -> None:
        if self.full is not None:
            subprocess.run(["umount", "-l", str(self.full)], capture_output=True)

    # running
    def env(self) -> Dict[str, str]:
        env = dict(os.environ, PYTHONPATH=str(self.tree), PIPAN_THREADS="1",
                   TF_CPP_MIN_LOG_LEVEL="2")
        for k in ("PIPAN_VERBOSE", "OPENCV_LOG_LEVEL", "DISPLAY", "WAYLAND_DISPLAY"):
            env.pop(k, None)
        return env

    def command(self, case: Case) -> List[str]:
        argv = list(case.argv)
        module = "training" if argv and argv[0] == "training" else "pipan"
        if module == "training":
            argv = argv[1:]
        return [self.python, "-m", module, *map(str, argv)]

    def popen(self, case: Case, **kw) -> subprocess.Popen:
        umask = case.umask

        def pre():
            if umask is not None:
                os.umask(umask)
        return subprocess.Popen(self.command(case), cwd=self.work, env=self.env(),
                                text=True, preexec_fn=pre, **kw)

    def run_plain(self, case: Case) -> Outcome:
        t0 = time.monotonic()
        out = open(case.stdout_to, "w") if case.stdout_to else subprocess.PIPE
        try:
            p = self.popen(case, stdout=out, stderr=subprocess.PIPE,
                           stdin=subprocess.DEVNULL)
            try:
                so, se = p.communicate(timeout=case.timeout)
            except subprocess.TimeoutExpired:
                p.kill()
                so, se = p.communicate()
                return Outcome(None, so or "", (se or "") + "\n(timed out)",
                               time.monotonic() - t0)
        finally:
            if case.stdout_to:
                out.close()
        return Outcome(p.returncode, so or "", se or "", time.monotonic() - t0)

    def judge(self, case: Case) -> Verdict:
        if case.skip:
            return Verdict(case, skipped=case.skip)
        if case.needs_tf and not self.has_tf:
            return Verdict(case, skipped="TensorFlow is not installed")
        before = snapshot(self.inputs)
        models_before = snapshot(self.models)
        o = case.run(self, case) if case.run else self.run_plain(case)
        v = Verdict(case, outcome=o)
        err_lines = [ln for ln in o.stderr.strip().splitlines() if ln.strip()]
        errors = [ln for ln in err_lines if ln.startswith("Error:")]
        if "Traceback" in o.stderr or "Traceback" in o.stdout:
            v.problems.append("traceback")
        if "(timed out)" in o.stderr:
            v.problems.append("timed out")
        v.problems += [ln[len("(probe: "):-1] for ln in err_lines if ln.startswith("(probe: ")]
        err_lines = [ln for ln in err_lines if not ln.startswith("(probe: ")]
        noise = [n for n in NATIVE_NOISE if n in o.stderr or n in o.stdout]
        if noise:
            v.problems.append(f"native output {noise[0]!r}")
        if case.expect == "error":
            if o.code in (0, None):
                v.problems.append(f"exit {o.code}, expected an error")
            if len(errors) != 1 or len(err_lines) != 1:
                v.problems.append(f"stderr is not one Error line ({len(err_lines)} lines)")
        elif case.expect == "usage":
            if o.code != 2:
                v.problems.append(f"exit {o.code}, expected 2 (bad option)")
            if len(errors) != 1:
                v.problems.append("no single Error line")
        elif case.expect == "either":  # a clean success or a clean one-line error
            if o.code != 0 and (len(errors) != 1 or (len(err_lines) != 1 and o.code != 2)):
                v.problems.append(f"exit {o.code} without one Error line")
            if o.code == 0 and errors:
                v.problems.append("an Error line on success")
        elif case.expect == "ok":
            if o.code != 0:
                v.problems.append(f"exit {o.code}, expected 0")
            if errors:
                v.problems.append("an Error line on success")
        elif case.expect == "nonzero":  # a failure that need not say anything
            if o.code in (0, None):
                v.problems.append(f"exit {o.code}, expected non-zero")
        elif isinstance(case.expect, int) and o.code != case.expect:
            v.problems.append(f"exit {o.code}, expected {case.expect}")
        if case.match and case.match not in o.stderr + o.stdout:
            v.problems.append(f"message lacks {case.match!r}")
        if snapshot(self.inputs) != before or snapshot(self.models) != models_before:
            v.problems.append("an input file changed")
            self.restore_inputs()  # so that later cases see the inputs they expect
        temps = [p.name for d in (self.inputs, self.out, self.full) if d is not None
                 for p in d.rglob("*") if ".tmp" in p.name and p.is_file()]
        if temps:
            v.problems.append(f"temp file left: {temps[0]}")
            for d in (self.inputs, self.out, self.full):
                for p in (d.rglob("*") if d is not None else ()):
                    if ".tmp" in p.name and p.is_file():
                        p.unlink()
        if (self.work / "PWNED").exists():
            v.problems.append("ran code from a model folder")
            (self.work / "PWNED").unlink()
        if case.check is not None:
            extra = case.check(o)
            if extra:
                v.problems.append(extra)
        return v


# --- the catalogue ----------------------------------------------------------------------

def catalogue(pr: Probe) -> List[Case]:
    I, O = pr.inputs, pr.out
    demo, clip = I / "demo.mp4", I / "clip.avi"
    cases: List[Case] = []
    add = cases.append

    def fresh(*names: str) -> None:
        for n in names:
            p = O / n
            if p.exists():
                p.unlink()

    def absent(*paths: Path) -> Callable[[Outcome], Optional[str]]:
        def check(o: Outcome) -> Optional[str]:
            made = [p.name for p in paths if p.exists()]
            for p in paths:
                if p.exists() and p.is_file():
                    p.unlink()
            return f"wrote {made[0]} although it failed" if made else None
        return check

    def kept(path: Path, content: bytes) -> Callable[[Outcome], Optional[str]]:
        path.write_bytes(content)

        def check(o: Outcome) -> Optional[str]:
            ok = path.exists() and path.read_bytes() == content
            return None if ok else f"{path.name} was replaced or removed"
        return check

    # videos
    for name, why in (("missing.mp4", "no such file"), ("empty.mp4", ""), ("text.mp4", ""),
                      ("random.mp4", ""), ("head.mp4", ""), ("folder", "not a file"),
                      ("folder.mp4", "not a file"), ("dangling.mp4", "no such file"),
                      ("models", "not a file")):
        add(Case(f"video: {name}", ["recognize", I / name], match=why))
    add(Case("video: the first third of an mp4 (one warning and what decodes, or an error)",
             ["recognize", I / "truncated.mp4", "--json"], expect="either",
             check=lambda o: None if o.code != 0 or o.stderr.count("Warning:") == 1
             else "not exactly one warning"))
    add(Case("video: a still image named .mp4", ["recognize", I / "image.mp4", "--json"],
             expect="either"))
    add(Case("video: a video without extension", ["recognize", I / "noext", "--json"],
             expect="either"))
    add(Case("video: a URL given to recognize", ["recognize", "http://127.0.0.1:9/x.mp4"],
             match="pipan live"))
    add(Case("video: --demo and a video", ["recognize", clip, "--demo"], expect="usage"))
    add(Case("video: neither video nor --demo", ["recognize"], expect="usage"))
    add(Case("benchmark: missing video", ["benchmark", I / "missing.mp4"]))
    add(Case("benchmark: text file", ["benchmark", I / "text.mp4"]))
    add(Case("live: missing file", ["live", "--source", I / "missing.mp4"]))
    add(Case("live: text file", ["live", "--source", I / "text.mp4"]))
    add(Case("live: no source", ["live"], expect="usage"))
    add(Case("live: two sources", ["live", "--camera", "0", "--source", clip], expect="usage"))
    free_cam = next(n for n in range(9, 64) if not Path(f"/dev/video{n}").exists())
    add(Case("live: a camera index that does not exist",
             ["live", "--camera", free_cam, "--retry", "0"], match="cannot be opened"))
    add(Case("live: a device path that does not exist",
             ["live", "--camera", f"/dev/video{free_cam}", "--retry", "0"]))
    add(Case("live: a stream nobody serves",
             ["live", "--source", "http://127.0.0.1:9/stream", "--retry", "0"]))
    add(Case("live: --show without a display", ["live", "--source", clip, "--show"]))
    add(Case("live: --picamera without picamera2", ["live", "--picamera"], expect=3))

    # models
    for opt in ("--pose-model", "--action-model"):
        for name in ("missing.tflite", "empty.tflite", "text.tflite", "half.tflite",
                     "header.tflite", "random.tflite", "clip.tflite"):
            add(Case(f"model: {opt} {name}", ["recognize", clip, opt, I / name]))
        add(Case(f"model: {opt} a directory", ["recognize", clip, opt, I / "models"],
                 expect="either", match="directory"))
    add(Case("model: the action model as the pose model",
             ["recognize", clip, "--pose-model", pr.models / "action.tflite"]))
    add(Case("model: the pose model as the action model",
             ["recognize", clip, "--action-model", pr.models / "pose.tflite"]))
    add(Case("model: blazepose folder that is empty",
             ["recognize", clip, "--pose", "blazepose", "--pose-model", I / "models"]))
    for name in ("missing.tflite", "text.tflite", "half.tflite", "random.tflite"):
        add(Case(f"info: {name}", ["info", I / name]))
    add(Case("info: a directory", ["info", I / "models"], match="directory"))
    add(Case("model: a weight byte flipped in a model with a recorded checksum",
             ["recognize", clip, "--action-model", I / "flipped.tflite"],
             match="damaged", needs_tf=True))
    add(Case("env: PIPAN_THREADS=abc",
             ["recognize", clip], run=lambda p, c: _with_env(p, c, PIPAN_THREADS="abc")))

    # option values
    for args in (["--every", "0"], ["--every", "x"], ["--min-score", "2"],
                 ["--min-score", "-1"], ["--threads", "0"], ["--threads", "1000"],
                 ["--min-duration", "-1"], ["--half-life", "-2"], ["--pose", "openpose"],
                 ["--no-such-option"], ["-o"]):
        add(Case(f"option: recognize {' '.join(args)}", ["recognize", clip, *args],
                 expect="usage"))
    for args in (["--size", "abc"], ["--size", "640x"], ["--serve", "notaport"],
                 ["--serve", "99999"], ["--status-every", "0"], ["--retry", "-1"],
                 ["--max-frames", "0"]):
        add(Case(f"option: live {' '.join(args)}", ["live", "--source", clip, *args],
                 expect="usage"))
    for args in (["--frames", "0"], ["--repeats", "0"], ["--clock", "sundial"]):
        add(Case(f"option: benchmark {' '.join(args)}", ["benchmark", clip, *args],
                 expect="usage"))
    add(Case("option: pipan -h", ["-h"], expect="ok"))
    add(Case("option: pipan recognize -h", ["recognize", "-h"], expect="ok"))
    add(Case("option: an unknown command", ["recognise", clip], expect="usage"))

    # output paths
    add(Case("output: -o the input itself", ["recognize", demo, "-o", demo],
             match="input"))
    add(Case("output: -o the input spelled differently",
             ["recognize", demo, "-o", I / "." / "demo.mp4"], match="input"))
    os.link(demo, O / "hardlink.mp4")
    add(Case("output: -o a hard link to the input",
             ["recognize", demo, "-o", O / "hardlink.mp4"], match="input"))
    os.symlink(demo, O / "symlink.mp4")
    add(Case("output: -o a symlink to the input",
             ["recognize", demo, "-o", O / "symlink.mp4"], match="input"))
    add(Case("output: --frames-json the input",
             ["recognize", demo, "--frames-json", demo], match="input"))
    os.symlink(demo, O / "chart.png")
    add(Case("output: --plot a symlink to the input",
             ["recognize", demo, "--plot", O / "chart.png"], match="input"))
    add(Case("output: -o and --frames-json the same file",
             ["recognize", clip, "-o", O / "same.mp4", "--frames-json", O / "same.mp4"],
             check=absent(O / "same.mp4")))
    add(Case("output: -o unsupported type", ["recognize", clip, "-o", O / "a.gif"],
             check=absent(O / "a.gif")))
    add(Case("output: --plot not an image", ["recognize", clip, "--plot", O / "a.pdf"]))
    add(Case("output: -o a directory", ["recognize", clip, "-o", I / "folder.mp4"],
             expect="either"))
    (O / "file").write_text("a file where a folder should be")
    add(Case("output: -o under a file", ["recognize", clip, "-o", O / "file" / "a.mp4"]))
    add(Case("output: --frames-json under a file",
             ["recognize", clip, "--frames-json", O / "file" / "f.jsonl"]))
    add(Case("output: a failing --plot keeps the old video and frames",
             ["recognize", clip, "-o", O / "keep.mp4", "--frames-json", O / "keep.jsonl",
              "--plot", O / "file" / "t.png"],
             check=_both(kept(O / "keep.mp4", b"old video"),
                         kept(O / "keep.jsonl", b"old frames\n"))))
    add(Case("output: files get the umask's mode (022: 0644)",
             ["recognize", clip, "-o", O / "mode.mp4", "--frames-json", O / "mode.jsonl",
              "--plot", O / "mode.png"], expect="ok", umask=0o022,
             check=_modes([O / "mode.mp4", O / "mode.jsonl", O / "mode.png"], 0o644)))
    add(Case("output: --log under a file",
             ["live", "--source", clip, "--log", O / "file" / "x.log"], expect="usage"))
    add(Case("output: --jsonl under a file",
             ["live", "--source", clip, "--jsonl", O / "file" / "x.jsonl"], expect="usage"))

    # stdout and files that cannot be written
    if Path("/dev/full").exists():
        add(Case("write: info --json > /dev/full",
                 ["info", pr.models / "action.tflite", "--json"], stdout_to="/dev/full",
                 match="standard output"))
        add(Case("write: recognize --json > /dev/full",
                 ["recognize", demo, "--json"], stdout_to="/dev/full"))
        add(Case("write: recognize (timeline) > /dev/full",
                 ["recognize", clip], stdout_to="/dev/full"))
        add(Case("write: live --jsonl /dev/full",
                 ["live", "--source", demo, "--max-frames", "60", "--min-duration", "0",
                  "--jsonl", "/dev/full"], match="/dev/full"))
        add(Case("write: live --log /dev/full",
                 ["live", "--source", demo, "--max-frames", "30", "--log", "/dev/full"]))
    add(Case("write: stdout a closed pipe", ["info", pr.models / "action.tflite", "--json"],
             expect="nonzero", run=_closed_pipe))

    # full disk
    full_skip = None if pr.full else f"cannot mount a tmpfs here ({pr.full_reason})"
    F = pr.full or O
    add(Case("disk full: -o on a 1 MiB disk keeps the old video",
             ["recognize", I / "noise.avi", "-o", F / "disk.mp4"], skip=full_skip,
             check=None if full_skip else kept(F / "disk.mp4", b"old video"),
             match="disk.mp4"))
    add(Case("disk full: --frames-json on a full disk",
             ["recognize", demo, "--frames-json", F / "frames.jsonl"], skip=full_skip,
             run=_fill_then(F), check=None if full_skip else absent(F / "frames.jsonl")))

    # signals
    for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
        name = signal.Signals(sig).name
        add(Case(f"signal: {name} during recognize with outputs",
                 ["recognize", I / "long.avi", "-o", O / f"sig{sig}.mp4", "--frames-json",
                  O / f"sig{sig}.jsonl", "--plot", O / f"sig{sig}.png"],
                 expect=130 if sig == signal.SIGINT else 128 + sig,
                 run=_signal_midway(sig, O),
                 check=_both(kept(O / f"sig{sig}.mp4", b"old video"),
                             absent(O / f"sig{sig}.jsonl", O / f"sig{sig}.png"))))
    add(Case("signal: SIGTERM during live closes cleanly",
             ["live", "--source", I / "long.avi", "--jsonl", O / "live.jsonl"], expect=0,
             run=_signal_live(signal.SIGTERM)))
    add(Case("signal: SIGHUP during live closes cleanly",
             ["live", "--source", I / "long.avi"], expect=0, run=_signal_live(signal.SIGHUP)))

    # the MJPEG server
    add(Case("server: 300 idle connections", ["live", "--source", I / "long.avi"],
             expect=0, run=_server_flood(300)))
    add(Case("server: a port in use", ["live", "--source", clip], run=_port_in_use))
    add(Case("server: a host that is not this machine",
             ["live", "--source", clip, "--serve", "192.0.2.1:8080"]))
    add(Case("server: states its limits in --help", ["live", "--help"], expect="ok",
             match="viewers"))

    # messages
    add(Case("message: people seen but no action long enough",
             ["recognize", demo, "--min-duration", "1000"], expect="ok",
             check=lambda o: "says nobody was detected" if "Nobody" in o.stdout else None))
    add(Case("message: nobody in the video", ["recognize", clip], expect="ok",
             match="Nobody was detected"))

    # datasets, training, conversion (TensorFlow)
    ev = ["training", "action", "evaluate"]
    for name in ("text.npz", "pickled.npz", "nokeys.npz", "nan.npz", "missing.npz"):
        add(Case(f"dataset: evaluate on {name}",
                 [*ev, "--model", pr.models / "action.tflite", "--data", I / name],
                 expect="usage" if name == "missing.npz" else "error", needs_tf=True))
    for name in ("cfg-truncated", "cfg-list", "cfg-string", "cfg-binary", "cfg-nolabels",
                 "cfg-pose", "cfg-unknown", "no-keras"):
        add(Case(f"model folder: evaluate {name}", [*ev, "--model", I / name, "--data",
                                                    I / "d.npz"], needs_tf=True))
    add(Case("model folder: evaluate one whose Lambda layer runs a command",
             [*ev, "--model", I / "evil", "--data", I / "d.npz"], needs_tf=True))
    add(Case("model folder: convert one whose Lambda layer runs a command",
             ["convert", I / "evil", "-c", I / "d.npz", "-o", O / "evil.tflite"],
             needs_tf=True, check=absent(O / "evil.tflite")))
    for name in ("cfg-truncated", "cfg-list", "cfg-pose", "no-keras", "missing"):
        add(Case(f"model folder: convert {name}",
                 ["convert", I / name, "-c", I / "d.npz", "-o", O / "c.tflite"],
                 needs_tf=True, check=absent(O / "c.tflite")))
    add(Case("convert: --out ending in .json",
             ["convert", I / "cfg-truncated", "-c", I / "d.npz", "-o", O / "c.json"],
             needs_tf=True))
    add(Case("train: coordinates of 1e30 (loss NaN) write nothing",
             ["training", "action", "train", "--data", I / "huge.npz", "--out", O / "nan-run",
              "--epochs", "2", "--hidden", "8", "--clusters", "2", "--quiet"],
             needs_tf=True, match="coordinates",
             check=absent(O / "nan-run" / "model.keras", O / "nan-run" / "config.json")))
    (O / "shared-run").mkdir()
    (O / "shared-run" / ".model.tmp.keras").mkdir()
    add(Case("train: another run's temp file in the output folder",
             ["training", "action", "train", "--data", I / "d.npz", "--out", O / "shared-run",
              "--epochs", "1", "--hidden", "8", "--clusters", "2", "--quiet"],
             expect="ok", needs_tf=True,
             check=lambda o: None if (O / "shared-run" / "model.keras").is_file()
             else "no model written"))
    add(Case("train: a text file as data",
             ["training", "action", "train", "--data", I / "text.npz", "--out", O / "t-run"],
             needs_tf=True, check=absent(O / "t-run" / "model.keras")))
    return cases


OUTPUT_OPTIONS = ("-o", "--output", "--out", "--frames-json", "--plot", "--jsonl", "--log")


def writes(case: Case, pr: Probe) -> bool:
    """Whether ``case`` may write files, or needs the machine to itself (signals, server,
    full disk): such cases run one at a time."""
    args = [str(a) for a in case.argv]
    return (case.run is not None or case.stdout_to is not None or case.umask is not None
            or any(a in OUTPUT_OPTIONS for a in args)
            or any(a.startswith(str(pr.out)) for a in args))


def _both(*checks):
    def check(o: Outcome) -> Optional[str]:
        for c in checks:
            problem = c(o)
            if problem:
                return problem
        return None
    return check


def _modes(paths: Sequence[Path], want: int):
    def check(o: Outcome) -> Optional[str]:
        for p in paths:
            if not p.exists():
                return f"{p.name} not written"
            mode = p.stat().st_mode & 0o777
            if mode != want:
                return f"{p.name} has mode {mode:o}, expected {want:o}"
        return None
    return check


def _with_env(pr: Probe, case: Case, **extra) -> Outcome:
    t0 = time.monotonic()
    r = subprocess.run(pr.command(case), cwd=pr.work, env=dict(pr.env(), **extra),
                       capture_output=True, text=True, timeout=case.timeout)
    return Outcome(r.returncode, r.stdout, r.stderr, time.monotonic() - t0)


def _closed_pipe(pr: Probe, case: Case) -> Outcome:
    t0 = time.monotonic()
    r, w = os.pipe()
    os.close(r)  # nobody reads: the first write fails with EPIPE
    p = pr.popen(case, stdout=w, stderr=subprocess.PIPE)
    os.close(w)
    _, se = p.communicate(timeout=case.timeout)
    return Outcome(p.returncode, "", se, time.monotonic() - t0)


def _fill_then(folder: Path):
    """Fill ``folder``'s disk but for a few KiB, run, then free it again."""
    def run(pr: Probe, case: Case) -> Outcome:
        filler = folder / "filler"
        st = os.statvfs(folder)
        with open(filler, "wb") as f:
            f.write(b"\0" * max(0, st.f_bavail * st.f_frsize - 8192))
        try:
            return pr.run_plain(case)
        finally:
            filler.unlink()
    return run


def _wait_for_temp(folder: Path, p: subprocess.Popen, limit: float = 120.0) -> bool:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline and p.poll() is None:
        if any(".tmp" in x.name for x in folder.iterdir()):
            return True
        time.sleep(0.05)
    return False


def _signal_midway(sig: int, folder: Path):
    def run(pr: Probe, case: Case) -> Outcome:
        t0 = time.monotonic()
        p = pr.popen(case, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        started = _wait_for_temp(folder, p)
        time.sleep(0.5)
        p.send_signal(sig)
        so, se = p.communicate(timeout=case.timeout)
        if not started:
            se += "\n(probe: no output was being written when the signal was sent)"
        return Outcome(p.returncode, so, se, time.monotonic() - t0)
    return run


def _wait_for_line(p: subprocess.Popen, text: str, limit: float = 120.0) -> str:
    """Read stderr lines until one contains ``text`` (returns what was read)."""
    seen = ""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        line = p.stderr.readline()
        if not line:
            break
        seen += line
        if text in line:
            break
    return seen


def _signal_live(sig: int):
    def run(pr: Probe, case: Case) -> Outcome:
        t0 = time.monotonic()
        c = Case(case.name, [*case.argv, "--status-every", "0.5"])
        p = pr.popen(c, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        seen = _wait_for_line(p, "FPS")
        p.send_signal(sig)
        so, se = p.communicate(timeout=case.timeout)
        # status lines are the command's own output: keep only the rest for judging
        se = "\n".join(ln for ln in (seen + se).splitlines()
                       if "FPS" not in ln or ln.startswith("Error"))
        return Outcome(p.returncode, so, se, time.monotonic() - t0)
    return run


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _threads(pid: int) -> int:
    try:
        for line in open(f"/proc/{pid}/status"):
            if line.startswith("Threads:"):
                return int(line.split()[1])
    except OSError:
        pass
    return -1


def _server_flood(n: int):
    def run(pr: Probe, case: Case) -> Outcome:
        t0 = time.monotonic()
        port = _free_port()
        c = Case(case.name, [*case.argv, "--serve", f"127.0.0.1:{port}"])
        p = pr.popen(c, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        seen = _wait_for_line(p, "Serving")
        socks, note = [], ""
        try:
            base = _threads(p.pid)
            for _ in range(n):
                try:
                    socks.append(socket.create_connection(("127.0.0.1", port), timeout=2))
                except OSError:
                    break
            time.sleep(1.0)
            held = _threads(p.pid) - base
            if held > 32:
                note = f"\n(probe: idle connections hold {held} threads)"
            time.sleep(12)  # past the idle timeout: the served ones must be dropped
            open_ = 0
            for s in socks:
                s.settimeout(0.01)
                try:
                    if s.recv(1, socket.MSG_PEEK):
                        open_ += 0  # data (a 503) then close: handled
                except socket.timeout:
                    open_ += 1  # still connected, nothing said
                except OSError:
                    pass
            if open_:
                note += f"\n(probe: {open_} idle connections still held after 12 s)"
        finally:
            for s in socks:
                s.close()
        p.send_signal(signal.SIGTERM)
        so, se = p.communicate(timeout=case.timeout)
        se = "\n".join(ln for ln in (seen + se).splitlines()
                       if not ln.startswith(("Serving", "Stopped", "Ended")))
        return Outcome(p.returncode, so, se + note, time.monotonic() - t0)
    return run


def _port_in_use(pr: Probe, case: Case) -> Outcome:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        c = Case(case.name, [*case.argv, "--serve", f"127.0.0.1:{port}"])
        return pr.run_plain(c)


# --- main -------------------------------------------------------------------------------

def main(argv: Optional[Sequence[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tree", type=Path, default=ROOT,
                    help="The pipan checkout to probe (default: this one).")
    ap.add_argument("--python", default=sys.executable,
                    help="The interpreter to run it with (default: this one).")
    ap.add_argument("-k", dest="pattern", default="",
                    help="Only the cases whose name contains this.")
    ap.add_argument("-j", "--jobs", type=int, default=2, help="Cases run at once.")
    ap.add_argument("-v", "--verbose", action="store_true", help="Print every case.")
    args = ap.parse_args(argv)
    tree = args.tree.resolve()
    with tempfile.TemporaryDirectory(prefix="pipan-probe-") as tmp:
        pr = Probe(tree, args.python, Path(tmp), args.verbose)
        pr.mount_full_disk()
        try:
            pr.make_fixtures()
            pr.keep_pristine()
            cases = [c for c in catalogue(pr) if args.pattern in c.name]
            # Cases that watch the machine (signals, server, full disk) run alone; the
            # rest share the pool.
            solo = [c for c in cases if writes(c, pr)]
            pooled = [c for c in cases if c not in solo]
            verdicts: List[Verdict] = []

            def report(v: Verdict) -> None:
                verdicts.append(v)
                if v.skipped:
                    status = f"skipped ({v.skipped})"
                elif v.problems:
                    status = "NOT HANDLED: " + "; ".join(v.problems)
                else:
                    status = "ok"
                if args.verbose or (v.problems and not v.skipped):
                    secs = f" [{v.outcome.seconds:.1f} s]" if v.outcome else ""
                    print(f"{v.case.name}: {status}{secs}", flush=True)
                    if v.problems and v.outcome is not None:
                        tail = v.outcome.stderr.strip().splitlines()[-3:]
                        for line in tail:
                            print(f"    | {line[:160]}", flush=True)

            # Cases that write (or watch the machine) run one at a time, after the
            # read-only ones, so that what one leaves behind is not seen by another.
            with cf.ThreadPoolExecutor(max(1, args.jobs)) as pool:
                for v in pool.map(pr.judge, pooled):
                    report(v)
            for c in solo:
                report(pr.judge(c))
        finally:
            pr.unmount()
    tried = [v for v in verdicts if not v.skipped]
    clean = [v for v in tried if not v.problems]
    skipped = [v for v in verdicts if v.skipped]
    if skipped:
        print(f"({len(skipped)} skipped: "
              + "; ".join(sorted({v.skipped for v in skipped})) + ")")
    print(f"{len(tried)} bad inputs tried, {len(clean)} handled cleanly")
    return 0 if len(clean) == len(tried) else 1


if __name__ == "__main__":
    sys.exit(main())
