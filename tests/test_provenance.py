"""Where a model comes from: the commit (flagged dirty), command lines with paths relative to
the checkout, the converter's metadata built from them, and the bundled-model scripts'
refusal to run from a dirty checkout."""
import shutil
import subprocess

import pytest

from conftest import ROOT
from converters.convert import build_metadata
from training.provenance import REPO_ROOT, git_commit, portable_command, repo_relative

SCRIPTS = ("training/action/make_bundled.sh", "training/pose/make_bundled.sh")


def git(cwd, *args):
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True)


@pytest.fixture
def repo(tmp_path):
    """A git checkout holding the bundled-model scripts, committed."""
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    for script in SCRIPTS + ("training/clean_checkout.sh",):
        (tmp_path / script).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / script, tmp_path / script)
    (tmp_path / "code.py").write_text("x = 1\n")
    git(tmp_path, "init", "-q")
    git(tmp_path, "add", ".")
    git(tmp_path, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "first")
    return tmp_path


def test_commit_is_flagged_dirty_by_uncommitted_changes_to_tracked_files(repo,
                                                                        tmp_path_factory):
    sha = git_commit(repo)
    assert sha is not None and len(sha) == 40
    (repo / "notes.txt").write_text("untracked files are not the code\n")
    assert git_commit(repo) == sha
    (repo / "code.py").write_text("x = 2\n")
    assert git_commit(repo) == sha + "+dirty"
    assert git_commit(tmp_path_factory.mktemp("no-checkout")) is None


def test_paths_inside_the_checkout_become_relative():
    root = REPO_ROOT
    cmd = (f"python -m training pose train --data {root}/runs/synth-train --data runs/teacher "
           f"--init={root}/runs/pose-bundled --out /tmp/elsewhere --note 'two words'")
    assert portable_command(cmd, root) == (
        "python -m training pose train --data runs/synth-train --data runs/teacher "
        "--init=runs/pose-bundled --out /tmp/elsewhere --note 'two words'")
    assert repo_relative(str(root), root) == "."
    assert repo_relative(f"{root}2/x", root) == f"{root}2/x"  # a sibling, not inside
    assert portable_command(None) is None and portable_command("") == ""


def test_metadata_records_the_command_relative_to_the_checkout():
    config = {"kind": "action", "labels": ["a", "b"], "commit": "abc+dirty",
              "command": f"python -m training action train --data {REPO_ROOT}/runs/x.npz"}
    meta = build_metadata("action", config, {"state_size": 8}, stages=None, sha256=None,
                          io="float")
    assert meta["command"] == "python -m training action train --data runs/x.npz"
    assert meta["commit"] == "abc+dirty"


@pytest.mark.parametrize("script", SCRIPTS)
def test_bundled_model_scripts_refuse_a_dirty_checkout(repo, script):
    (repo / "code.py").write_text("x = 2\n")
    env = {"PATH": "/usr/bin:/bin", "PY": "false", "RUNS": "runs", "SHARED": str(repo)}
    r = subprocess.run(["bash", script], cwd=repo, env=env, capture_output=True, text=True)
    assert r.returncode == 1 and "clean commits" in r.stderr and "PIPAN_ALLOW_DIRTY" in r.stderr
    assert not (repo / "runs").exists()  # stopped before doing anything
    # told to, it goes on (and here stops at its first step: PY is `false`)
    r = subprocess.run(["bash", str(repo / script)], cwd=repo / "training",
                       env=dict(env, PIPAN_ALLOW_DIRTY="1"), capture_output=True, text=True)
    assert r.returncode != 0 and "clean commits" not in r.stderr
    assert (repo / "runs").is_dir()  # at the checkout's root, wherever it was started from
