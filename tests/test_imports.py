"""What a fresh interpreter loads: the Pi runtime never imports TensorFlow, Keras, training/
or converters/, whether it imports pipan's modules or runs its commands; ``pipan convert``
on a runtime-only install says what to install; and training never imports converters
(converters import training's exporters, not the other way)."""
import subprocess
import sys

import pytest

from conftest import ROOT

WORKSTATION = ("tensorflow", "keras", "training", "converters")


def python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                          text=True)


def assert_loads_no_workstation_package(code: str) -> None:
    """Run ``code`` in a fresh interpreter, then check what it loaded."""
    r = python(code + "import sys\n"
               f"bad = sorted(m for m in sys.modules if m.split('.')[0] in {WORKSTATION!r})\n"
               "assert not bad, bad\n"
               "print('clean')\n")
    assert r.returncode == 0, r.stderr
    assert "clean" in r.stdout


def test_every_runtime_module_imports_without_workstation_packages():
    assert_loads_no_workstation_package(
        "import pkgutil, pipan\n"
        "for m in pkgutil.walk_packages(pipan.__path__, 'pipan.'):\n"
        "    if not m.name.endswith('__main__'): __import__(m.name)\n")


def test_runtime_commands_run_without_workstation_packages(tmp_path):
    """The commands import what they need inside their functions: run them (the bundled
    models on a short video), then look at what got loaded."""
    video = tmp_path / "clip.avi"
    assert_loads_no_workstation_package(
        "import cv2, numpy as np\n"
        "import pipan.cli\n"
        "from click.testing import CliRunner\n"
        f"w = cv2.VideoWriter({str(video)!r}, cv2.VideoWriter_fourcc(*'MJPG'), 30, (96, 64))\n"
        "for i in range(6): w.write(np.full((64, 96, 3), 40 * i, np.uint8))\n"
        "w.release()\n"
        "run = CliRunner().invoke\n"
        "for args in (['--help'], ['convert', '--help'],\n"
        "             ['info', 'pipan/models/action.tflite'],\n"
        f"             ['recognize', {str(video)!r}, '--json'],\n"
        f"             ['benchmark', {str(video)!r}, '--repeats', '1', '--draw']):\n"
        "    res = run(pipan.cli.cli, args)\n"
        "    assert res.exit_code == 0, (args, res.output, res.exception)\n")


def test_convert_on_a_runtime_install_says_what_to_install(tmp_path):
    """A Pi has neither TensorFlow nor the workstation packages: ``pipan convert`` gives
    one line naming the install command and exits 3 (a missing package)."""
    r = python("import sys\n"
               f"for m in {WORKSTATION!r}: sys.modules[m] = None  # as if not installed\n"
               "import pipan.cli\n"
               "from click.testing import CliRunner\n"
               f"res = CliRunner().invoke(pipan.cli.cli, ['convert', {str(tmp_path)!r}, "
               f"'-c', {str(tmp_path)!r}, '--out', {str(tmp_path / 'm.tflite')!r}])\n"
               "print(res.exit_code)\n"
               "print(res.output)\n")  # all the user saw: nothing on stdout, then stderr
    assert r.returncode == 0, r.stderr
    code, *lines = r.stdout.strip().splitlines()
    assert code == "3" and len(lines) == 1, r.stdout
    assert lines[0].startswith("Error: pipan convert needs TensorFlow") and \
        'pip install -e ".[train]"' in lines[0], lines[0]


def test_training_never_imports_converters():
    pytest.importorskip("tensorflow")  # training's model modules import Keras
    r = python("import sys, pkgutil, training\n"
               "for m in pkgutil.walk_packages(training.__path__, 'training.'):\n"
               "    if not m.name.endswith('__main__'): __import__(m.name)\n"
               "bad = sorted(m for m in sys.modules if m.split('.')[0] == 'converters')\n"
               "assert not bad, bad\n"
               "print('clean')\n")
    assert r.returncode == 0, r.stderr
    assert "clean" in r.stdout
