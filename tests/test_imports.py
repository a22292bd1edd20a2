"""The Pi runtime must never import TensorFlow, Keras, training/ or converters/."""
import subprocess
import sys

from conftest import ROOT


def test_runtime_imports_no_workstation_packages():
    code = ("import sys, pipan, pipan.cli, pipan.skeleton, pipan.dataset, pipan.runtime\n"
            "import pkgutil, importlib\n"
            "for m in pkgutil.walk_packages(pipan.__path__, 'pipan.'):\n"
            "    if not m.name.endswith('__main__'): importlib.import_module(m.name)\n"
            "bad = [m for m in sys.modules if m.split('.')[0] in "
            "('tensorflow', 'keras', 'training', 'converters')]\n"
            "assert not bad, bad\n"
            "print('clean')")
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "clean" in r.stdout


def test_pipan_sources_do_not_mention_workstation_imports():
    for path in (ROOT / "pipan").rglob("*.py"):
        text = path.read_text()
        for pkg in ("tensorflow", "keras", "training", "converters"):
            assert f"import {pkg}" not in text and f"from {pkg}" not in text, (path, pkg)
