"""The Pi install files and the service example stay consistent with the code: no
TensorFlow in any Pi requirements file, the 32-bit and camera pins that keep numpy 1.x,
and a systemd unit whose command line `pipan live` accepts."""
from __future__ import annotations

import re
import shlex

import pytest

from conftest import ROOT

REQUIREMENTS = ["requirements-pi.txt", "requirements-pi-armv7.txt", "requirements-pi-camera.txt"]


def _requirements(name: str) -> dict:
    """{project name: specifier} of a requirements file, following `-r` includes."""
    out = {}
    for line in (ROOT / name).read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        if line.startswith("-r "):
            out.update(_requirements(line[3:].strip()))
            continue
        m = re.match(r"([A-Za-z0-9_.\-]+)\s*(.*)", line)
        assert m, (name, line)
        key = m.group(1).lower().replace("_", "-")
        out[key] = ",".join(filter(None, [out.get(key, ""), m.group(2).replace(" ", "")]))
    return out


@pytest.mark.parametrize("name", REQUIREMENTS)
def test_pi_requirements_never_pull_tensorflow(name):
    reqs = _requirements(name)
    assert not [r for r in reqs if r.startswith(("tensorflow", "tf-", "keras", "tb-"))]
    assert "click" in reqs


def test_64bit_uses_litert_and_32bit_uses_tflite_runtime_with_numpy_1():
    assert "ai-edge-litert" in _requirements("requirements-pi.txt")
    armv7 = _requirements("requirements-pi-armv7.txt")
    assert "ai-edge-litert" not in armv7
    assert armv7["tflite-runtime"] == "==2.14.0"
    assert "<2" in armv7["numpy"].split(",")


def test_camera_requirements_keep_numpy_1_and_a_matching_opencv():
    cam = _requirements("requirements-pi-camera.txt")
    assert "ai-edge-litert" in cam
    assert "<2" in cam["numpy"].split(",")
    assert "<4.12" in cam["opencv-python-headless"].split(",")


def _unit() -> dict:
    """{section: {key: [values]}} of deploy/pipan-live.service (keys may repeat, as
    Environment= does)."""
    keys, section = {}, None
    for line in (ROOT / "deploy" / "pipan-live.service").read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("["):
            section = line.strip("[]")
            continue
        k, v = line.split("=", 1)
        keys.setdefault(section, {}).setdefault(k, []).append(v)
    return keys


def _exec_start() -> list:
    return shlex.split(_unit()["Service"]["ExecStart"][-1])


def test_service_unit_runs_pipan_live_unattended():
    unit = _unit()
    svc = {k: v[-1] for k, v in unit["Service"].items()}
    argv = _exec_start()
    assert argv[0].endswith("/bin/pipan") and argv[1] == "live"
    assert svc["Restart"] == "on-failure"
    assert svc["User"] not in ("root", "0")
    assert "video" in svc["SupplementaryGroups"].split()
    env = dict(e.split("=", 1) for v in unit["Service"]["Environment"] for e in shlex.split(v))
    assert int(env["PIPAN_THREADS"]) >= 1
    assert unit["Install"]["WantedBy"] == ["multi-user.target"]


def test_logrotate_rotates_the_file_the_service_appends_to():
    argv = _exec_start()
    jsonl = argv[argv.index("--jsonl") + 1]
    text = (ROOT / "deploy" / "pipan-live.logrotate").read_text()
    assert re.search(rf"^{re.escape(jsonl)}\s*{{", text, re.M)
    # pipan keeps the file open: rotation must copy and truncate, not move it away.
    assert re.search(r"^\s*copytruncate\s*$", text, re.M)


def test_service_command_line_is_accepted_by_pipan_live():
    from pipan.cli import cli

    live = cli.commands.get("live")
    if live is None:
        pytest.skip("`pipan live` is not on this checkout")
    argv = _exec_start()
    ctx = live.make_context("live", argv[2:])  # parses (UsageError on an unknown option)
    assert ctx.params["camera"] == "0"
