"""Training on a tiny net through the CLI: model directory, resume, evaluation."""
from __future__ import annotations

import json

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
pytest.importorskip("pycocotools")
from click.testing import CliRunner  # noqa: E402
from pose_data import write_coco  # noqa: E402

from training.cli import cli  # noqa: E402

TINY = ["--stages", "1", "--stage-width", "8", "--stage-depth", "1",
        "--backbone-widths", "8,8,8,8,8,8,8,8,8,8,16", "--steps", "2", "--batch", "2"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("pose")
    data = write_coco(root / "data", images=4, crowd=True)
    out = root / "run"
    r = CliRunner().invoke(cli, ["pose", "train", "--data", str(data.parent), "--out",
                                 str(out), "--epochs", "1", *TINY])
    assert r.exit_code == 0, r.output
    return data, out


def test_train_writes_the_model_directory(trained):
    _, out = trained
    config = json.loads((out / "config.json").read_text())
    assert config["kind"] == "pose" and config["builder"]["stages"] == 1
    assert config["command"].startswith("python -m training pose train")
    for name in ("model.keras", "checkpoint.keras", "loss.png", "history.json"):
        assert (out / name).is_file()
    assert np.isfinite(config["metrics"]["loss"])


def test_resume_continues_to_the_next_epoch(trained):
    data, out = trained
    r = CliRunner().invoke(cli, ["pose", "train", "--data", str(data.parent), "--out",
                                 str(out), "--epochs", "2", "--resume", *TINY])
    assert r.exit_code == 0, r.output
    history = json.loads((out / "history.json").read_text())
    assert history["epoch"] == 2 and len(history["history"]["loss"]) == 2


def test_resume_with_other_settings_is_refused(trained, tmp_path):
    data, out = trained
    r = CliRunner().invoke(cli, ["pose", "train", "--data", str(data.parent), "--out",
                                 str(out), "--epochs", "3", "--resume", "--seed", "5", *TINY])
    assert r.exit_code != 0 and "other settings" in r.output


def test_evaluate_prints_pck_and_ap_json(trained):
    data, out = trained
    r = CliRunner().invoke(cli, ["pose", "evaluate", "--model", str(out), "--data",
                                 str(data), "--json"])
    assert r.exit_code == 0, r.output
    res = json.loads(r.output[r.output.index("["):])
    assert 0 <= res[0]["pck"] <= 1 and 0 <= res[0]["ap"] <= 1 and res[0]["joints"] > 0


def test_init_starts_from_a_trained_model(trained, tmp_path):
    import keras
    data, out = trained
    new = tmp_path / "finetune"
    r = CliRunner().invoke(cli, ["pose", "train", "--data", str(data.parent), "--out",
                                 str(new), "--epochs", "0", "--init", str(out), *TINY])
    assert r.exit_code == 0, r.output
    config = json.loads((new / "config.json").read_text())
    assert config["init"] == str(out) and f"--init {out}" in config["command"]
    a = keras.models.load_model(out / "model.keras", compile=False).get_weights()
    b = keras.models.load_model(new / "model.keras", compile=False).get_weights()
    assert all(np.array_equal(x, y) for x, y in zip(a, b))


def test_init_with_another_builder_is_refused(trained, tmp_path):
    data, out = trained
    other = [*TINY]
    other[other.index("--stage-width") + 1] = "16"
    r = CliRunner().invoke(cli, ["pose", "train", "--data", str(data.parent), "--out",
                                 str(tmp_path / "x"), "--epochs", "1", "--init", str(out),
                                 *other])
    assert r.exit_code != 0 and "builder" in r.output


def test_init_may_add_refinement_stages(trained, tmp_path):
    """A one-stage net grows a second stage: backbone and stage 1 copied by name, stage 2
    fresh; fewer stages than the init has is refused."""
    import keras
    data, out = trained
    two = [*TINY]
    two[two.index("--stages") + 1] = "2"
    new = tmp_path / "grown"
    r = CliRunner().invoke(cli, ["pose", "train", "--data", str(data.parent), "--out",
                                 str(new), "--epochs", "0", "--init", str(out), *two])
    assert r.exit_code == 0, r.output
    a = {layer.name: layer for layer in
         keras.models.load_model(out / "model.keras", compile=False).layers}
    b = keras.models.load_model(new / "model.keras", compile=False)
    copied = [layer.name for layer in b.layers if layer.weights and layer.name in a]
    assert "conv1" in copied and any(n.startswith("stage1_") for n in copied)
    assert any(n.startswith("stage2_") for n in (layer.name for layer in b.layers
                                                 if layer.weights))
    for name in copied:
        for x, y in zip(a[name].get_weights(), b.get_layer(name).get_weights()):
            assert np.array_equal(x, y)
    r = CliRunner().invoke(cli, ["pose", "train", "--data", str(data.parent), "--out",
                                 str(tmp_path / "back"), "--epochs", "0", "--init",
                                 str(new), *TINY])
    assert r.exit_code != 0 and "builder" in r.output
