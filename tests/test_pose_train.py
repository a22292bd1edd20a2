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


def test_either_side_loss_forgives_a_person_labelled_the_other_way_round():
    """Per image: a prediction with left and right swapped costs nothing with
    ``either_side`` and the full mismatch without it; a hedge (the same map in both
    channels of each pair) costs something either way."""
    from pipan.skeleton import FLIP, NUM_JOINTS
    from training.pose.targets import heatmap_targets, paf_targets
    from training.pose.train import _loss_fn
    rng = np.random.default_rng(0)
    person = np.concatenate([rng.uniform(40, 180, (1, NUM_JOINTS, 2)),
                             np.ones((1, NUM_JOINTS, 1))], -1).astype(np.float32)
    mirrored = person[:, list(FLIP)]
    plain, either = _loss_fn(False), _loss_fn(True)
    for make in (lambda p: heatmap_targets(p, sigma=1.5),
                 lambda p: paf_targets(p, limb_width=1.5)):
        target, swapped = make(person), make(mirrored)
        hedge = (target + swapped) / 2
        y = np.stack([np.concatenate([target, np.ones_like(target[..., :1])], -1)] * 3)
        pred = np.stack([target, swapped, hedge])
        a = np.asarray(plain(tf.constant(y), tf.constant(pred)))
        b = np.asarray(either(tf.constant(y), tf.constant(pred)))
        assert a[0] == 0 and a[1] > 0 and a[2] > 0
        assert b[0] == 0 and b[1] == 0 and 0 < b[2] < a[1]


def test_either_side_is_a_setting_of_the_run(trained, tmp_path):
    data, out = trained
    new = tmp_path / "either"
    run = ["pose", "train", "--data", str(data.parent), "--out", str(new), *TINY]
    r = CliRunner().invoke(cli, [*run, "--epochs", "1", "--either-side"])
    assert r.exit_code == 0, r.output
    assert json.loads((new / "history.json").read_text())["settings"]["either_side"]
    # the recorded command runs as it is: a flag is written without a value
    command = json.loads((new / "config.json").read_text())["command"].split()
    after = command[command.index("--either-side") + 1:]
    assert not after or after[0].startswith("--"), after[:1]
    # resuming without it would change the loss half way: refused
    r = CliRunner().invoke(cli, [*run, "--epochs", "2", "--resume"])
    assert r.exit_code != 0 and "other settings" in r.output


def test_per_group_either_side_forgives_arms_read_the_other_way_alone():
    """Arms swapped, legs and face not: the whole-person choice must pay for one or the
    other; the per-group choice pays nothing for the joints, and for the limbs only the
    two from ear to shoulder (which then cross the body: no channel swap draws them). A
    fully swapped person costs nothing with both, and a hedge costs the same."""
    from pipan.skeleton import FLIP, JOINT_INDEX, NUM_JOINTS
    from training.pose.targets import heatmap_targets, paf_targets
    from training.pose.train import _loss_fn
    rng = np.random.default_rng(1)
    person = np.concatenate([rng.uniform(40, 180, (1, NUM_JOINTS, 2)),
                             np.ones((1, NUM_JOINTS, 1))], -1).astype(np.float32)
    arms_only = person.copy()
    for j in ("shoulder", "elbow", "wrist"):
        r, l_ = JOINT_INDEX[f"right_{j}"], JOINT_INDEX[f"left_{j}"]
        arms_only[:, [r, l_]] = person[:, [l_, r]]
    whole, groups = _loss_fn(True), _loss_fn(True, per_group=True)
    for make, left in ((lambda p: heatmap_targets(p, sigma=1.5), 0.0),
                       (lambda p: paf_targets(p, limb_width=1.5), 0.15)):
        target = make(person)
        preds = [make(arms_only), make(person[:, list(FLIP)]),
                 (target + make(person[:, list(FLIP)])) / 2]
        y = np.stack([np.concatenate([target, np.ones_like(target[..., :1])], -1)] * 3)
        a = np.asarray(whole(tf.constant(y), tf.constant(np.stack(preds))))
        b = np.asarray(groups(tf.constant(y), tf.constant(np.stack(preds))))
        assert a[0] > 0 and b[0] <= left * a[0] + 1e-6, (a[0], b[0])
        assert a[1] == pytest.approx(0, abs=1e-6) and b[1] == pytest.approx(0, abs=1e-6)
        assert b[2] == pytest.approx(a[2], rel=1e-5)


def test_side_groups_are_closed_under_the_swap():
    from training.pose.targets import (HEATMAP_CHANNEL_GROUPS, PAF_CHANNEL_GROUPS,
                                       SWAPPED_HEATMAP_CHANNELS, SWAPPED_PAF_CHANNELS)
    for groups, order in ((HEATMAP_CHANNEL_GROUPS, SWAPPED_HEATMAP_CHANNELS),
                          (PAF_CHANNEL_GROUPS, SWAPPED_PAF_CHANNELS)):
        assert len(groups) == len(order)
        assert all(groups[c] == groups[order[c]] for c in range(len(order)))
        assert all(groups[c] == -1 for c in range(len(order)) if order[c] == c)
    assert sorted(set(HEATMAP_CHANNEL_GROUPS)) == [-1, 0, 1, 2]


def test_either_side_for_the_legs_only_forgives_legs_not_arms():
    """``groups=("legs",)``: legs read the other way round cost nothing, arms read the
    other way round cost what the plain loss charges; an unknown group is refused."""
    from pipan.skeleton import JOINT_INDEX, NUM_JOINTS
    from training.pose.targets import heatmap_targets
    from training.pose.train import _loss_fn
    rng = np.random.default_rng(2)
    person = np.concatenate([rng.uniform(40, 180, (1, NUM_JOINTS, 2)),
                             np.ones((1, NUM_JOINTS, 1))], -1).astype(np.float32)

    def swapped(parts):
        out = person.copy()
        for j in parts:
            r, l_ = JOINT_INDEX[f"right_{j}"], JOINT_INDEX[f"left_{j}"]
            out[:, [r, l_]] = person[:, [l_, r]]
        return out
    target = heatmap_targets(person, sigma=1.5)
    preds = np.stack([heatmap_targets(swapped(("hip", "knee", "ankle")), sigma=1.5),
                      heatmap_targets(swapped(("shoulder", "elbow", "wrist")), sigma=1.5)])
    y = np.stack([np.concatenate([target, np.ones_like(target[..., :1])], -1)] * 2)
    plain = np.asarray(_loss_fn(False)(tf.constant(y), tf.constant(preds)))
    legs = np.asarray(_loss_fn(groups=("legs",))(tf.constant(y), tf.constant(preds)))
    assert plain[0] > 0 and legs[0] == pytest.approx(0, abs=1e-6)
    assert legs[1] == pytest.approx(plain[1], rel=1e-5) and plain[1] > 0
    with pytest.raises(ValueError, match="side groups"):
        _loss_fn(groups=("tail",))


def test_either_side_group_is_a_setting_of_the_run(trained, tmp_path):
    data, _ = trained
    new = tmp_path / "legs"
    r = CliRunner().invoke(cli, ["pose", "train", "--data", str(data.parent), "--out",
                                 str(new), *TINY, "--epochs", "1",
                                 "--either-side-group", "legs"])
    assert r.exit_code == 0, r.output
    settings = json.loads((new / "history.json").read_text())["settings"]
    assert settings["either_side_groups"] == ["legs"] and settings["either_side_per_group"]
    command = json.loads((new / "config.json").read_text())["command"]
    assert "--either-side-group legs" in command
