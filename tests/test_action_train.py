"""Training data pipeline (augmentations, weights, split) and the train/evaluate commands
end to end on a tiny, easy dataset."""
from __future__ import annotations

import json

import numpy as np
import pytest

from pipan.dataset import SkeletonDataset, save
from pipan.skeleton import COCO18, FLIP, clip_features
from training.action.data import (NO_AUGMENT, Augment, augment_clip, change_speed,
                                  frame_weights, split)


def moving_clip(rng, direction, T=12):
    """A standing skeleton drifting up (direction -1) or down (+1), with jitter."""
    base = np.stack([np.linspace(-20, 20, 18), np.linspace(-60, 60, 18)], -1)
    kp = np.zeros((T, 18, 3), np.float32)
    kp[..., :2] = 200 + base + rng.normal(0, 1, (T, 18, 2))
    kp[..., 1] += direction * 6 * np.arange(T)[:, None]
    kp[..., 2] = 1.0
    return kp


def easy_dataset(rng, n=40, with_test=True):
    clips, labels = [], []
    for i in range(n):
        up = i % 2 == 0
        clips.append(moving_clip(rng, -1 if up else 1, T=int(rng.integers(8, 14))))
        labels.append("up" if up else "down")
    test = (np.arange(n) >= n * 3 // 4).astype(np.int8) if with_test else None
    return SkeletonDataset(np.concatenate(clips), np.array([len(c) for c in clips]),
                           np.array(labels), COCO18, test)


def test_augment_keeps_shape_and_missing_joints():
    rng = np.random.default_rng(0)
    kp = moving_clip(rng, 1, 20)
    kp[:, 3] = 0  # a joint never seen
    out = augment_clip(kp, rng, Augment(speed=0.0, mirror=0.0))
    assert out.shape == kp.shape
    assert (out[:, 3] == 0).all()
    assert not np.allclose(out[..., :2], kp[..., :2])
    same = augment_clip(kp, rng, NO_AUGMENT)
    # Without augmentation only the translation changes, and features ignore that.
    np.testing.assert_allclose(clip_features(same)[..., :3], clip_features(kp)[..., :3],
                               atol=1e-4)


def test_side_swap_swaps_labels_and_keeps_every_joint_where_it_was():
    rng = np.random.default_rng(2)
    kp = moving_clip(rng, 1, 6)
    kp[..., 0] += rng.normal(0, 10, kp.shape[:2])  # left and right joints apart
    s = augment_clip(kp, rng, Augment(0, 0, 0, 0, 0, 0, 0, side_swap=1.0))
    f, fs = clip_features(kp), clip_features(s)
    np.testing.assert_allclose(fs, f[:, list(FLIP)], atol=1e-4)
    assert not np.allclose(fs, f, atol=1e-2)
    kept = augment_clip(kp, rng, Augment(0, 0, 0, 0, 0, 0, 0, side_swap=0.0))
    np.testing.assert_allclose(clip_features(kept), f, atol=1e-4)


def test_mirror_swaps_sides_and_flips_velocity():
    rng = np.random.default_rng(1)
    kp = moving_clip(rng, 1, 6)
    kp[..., 0] += 5 * np.arange(6)[:, None]  # walking right
    m = augment_clip(kp, rng, Augment(0, 0, 1.0, 0, 0, 0, 0))
    f, fm = clip_features(kp), clip_features(m)
    np.testing.assert_allclose(fm[:, :, 0], -f[:, list(FLIP), 0], atol=1e-4)
    np.testing.assert_allclose(fm[:, :, 3], -f[:, list(FLIP), 3], atol=1e-4)


def test_change_speed():
    kp = np.zeros((20, 18, 3), np.float32)
    kp[..., 0] = np.arange(20)[:, None]
    kp[..., 2] = 1
    fast = change_speed(kp, 2.0)
    assert len(fast) == 10
    np.testing.assert_allclose(fast[[0, -1], 0, 0], [0, 19])
    assert (np.diff(fast[:, 0, 0]) > 0).all()
    assert len(change_speed(kp, 0.5)) == 40


def test_frame_weights_and_split():
    w = frame_weights(5, 8, 2.0)
    assert (w[5:] == 0).all() and (np.diff(w[:5]) > 0).all()
    assert w.sum() == pytest.approx(8)
    ds = easy_dataset(np.random.default_rng(2), with_test=False)
    a, b = split(ds, 3), split(ds, 3)
    assert (a == b).all() and a.sum() == 8  # 20% of each class, seeded
    assert split(easy_dataset(np.random.default_rng(2)), 3).sum() == 10  # the test column


def test_train_and_evaluate_commands(tmp_path):
    pytest.importorskip("tensorflow")
    from click.testing import CliRunner

    from training.cli import cli

    data = tmp_path / "easy.npz"
    save(easy_dataset(np.random.default_rng(3)), data)
    out = tmp_path / "model"
    runner = CliRunner()
    r = runner.invoke(cli, ["action", "train", "--data", str(data), "--out", str(out),
                            "--epochs", "25", "--hidden", "16", "--seed", "1",
                            "--concat-nodes", "--joint-embed", "4", "--lambda-joints", "0.5",
                            "--side-swap", "0.5", "--quiet"])
    assert r.exit_code == 0, r.output
    config = json.loads((out / "config.json").read_text())
    assert config["kind"] == "action" and config["labels"] == ["down", "up"]
    assert config["builder"]["hidden"] == 16 and config["seed"] == 1
    assert config["builder"]["concat_nodes"] is True and config["builder"]["joint_embed"] == 4
    assert config["training"]["lambda_joints"] == 0.5
    assert config["training"]["augment"]["side_swap"] == 0.5
    assert config["builder"]["stats_head"] is True  # the training default
    assert config["command"].startswith("python -m training action train")
    for f in ("model.keras", "curves.png", "confusion.png"):
        assert (out / f).stat().st_size > 0
    r = runner.invoke(cli, ["action", "evaluate", "--model", str(out), "--data", str(data),
                            "--json"])
    assert r.exit_code == 0, r.output
    scores = json.loads(r.output)
    assert scores["clips"] == 10 and set(scores["per_class"]) == {"down", "up"}
    assert scores["accuracy"] >= 0.9  # trivially separable: it must have learnt
    assert scores["accuracy"] == config["metrics"]["accuracy"]
    # The streaming step model agrees with the offline evaluation.
    from training.action.export import streaming_from_model_dir
    from pipan.dataset import load
    ds = load(data)
    rec = streaming_from_model_dir(out)
    p = rec.run_clip(ds.clip(35))
    assert rec.labels[int(np.argmax(p[-1]))] == "down"


def test_logistic_regression_learns_and_the_stats_head_folds_its_standardisation():
    from training.action.stats_head import (MIN_STD, clip_head_inputs, fit_logistic,
                                            fit_stats_head)

    rng = np.random.default_rng(7)
    x = rng.normal(size=(60, 3))
    y = (x[:, 0] + 0.5 * x[:, 1] > 0).astype(int)
    w, b = fit_logistic(x, y, 2, l2=1e-3)
    assert ((x @ w + b).argmax(1) == y).mean() > 0.95
    # a stronger penalty shrinks the weights
    w2, _ = fit_logistic(x, y, 2, l2=1.0)
    assert np.abs(w2).sum() < np.abs(w).sum()

    ds = easy_dataset(rng).to_coco18()
    clips = [c.copy() for c in ds.clips()]
    for c in clips:
        c[:, 14] = 0  # a joint the data never has (JHMDB has no eyes)
    labels = (ds.labels == "up").astype(int)
    kernel, bias = fit_stats_head(clips, labels, 2)
    assert kernel.shape == (144, 2) and bias.shape == (2,)
    raw = clip_head_inputs(clips)
    # the same function as the regression on standardised statistics
    mean, std = raw.mean(0), np.maximum(raw.std(0), MIN_STD)
    w, b = fit_logistic((raw - mean) / std, labels, 2)
    np.testing.assert_allclose(raw @ kernel + bias, (raw - mean) / std @ w + b, atol=1e-3)
    assert ((raw @ kernel + bias).argmax(1) == labels).mean() > 0.9  # up and down told apart
    # joints the data never has (constant statistics) get zero weight
    absent = np.flatnonzero(raw.std(0) == 0)
    assert len(absent) and np.all(kernel[absent] == 0)


def test_no_stats_head_trains_the_network_alone(tmp_path):
    pytest.importorskip("tensorflow")
    from training.action.export import load_model_dir
    from training.action.train import train

    data = easy_dataset(np.random.default_rng(8))
    train(data, tmp_path / "m", epochs=1, builder=dict(hidden=8, stats_head=False),
          verbose=0, log=lambda s: None)
    model, config = load_model_dir(tmp_path / "m")
    assert config["builder"]["stats_head"] is False
    assert "stats_head" not in {layer.name for layer in model.layers}


def test_bad_inputs_are_one_line_errors(tmp_path):
    pytest.importorskip("tensorflow")
    from click.testing import CliRunner

    from training.cli import cli

    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"nope")
    r = CliRunner().invoke(cli, ["action", "train", "--data", str(bad), "--out",
                                 str(tmp_path / "m")])
    assert r.exit_code != 0 and "Error:" in r.output and "Traceback" not in r.output
    one = tmp_path / "one.npz"
    ds = easy_dataset(np.random.default_rng(4))
    save(SkeletonDataset(ds.keypoints, ds.lengths, np.array(["up"] * len(ds)), COCO18,
                         ds.test), one)
    r = CliRunner().invoke(cli, ["action", "train", "--data", str(one), "--out",
                                 str(tmp_path / "m")])
    assert r.exit_code != 0 and "at least 2 actions" in r.output
    r = CliRunner().invoke(cli, ["action", "evaluate", "--model", str(tmp_path), "--data",
                                 str(one)])
    assert r.exit_code != 0 and "not a trained model directory" in r.output


def test_validation_split_leaves_the_test_clips_out(tmp_path):
    """val_fraction: evaluation on a seeded 20% of the test=0 clips, test=1 clips unused."""
    pytest.importorskip("tensorflow")
    from training.action.train import train

    ds = easy_dataset(np.random.default_rng(4))  # 30 training clips, 10 test clips
    m = train(ds, tmp_path / "m", epochs=2, seed=0, val_fraction=0.2,
              builder=dict(hidden=8, gcn_units=8, attention_units=8),
              verbose=0, log=lambda s: None)
    assert m["train_clips"] == 24 and m["clips"] == 6
    config = json.loads((tmp_path / "m" / "config.json").read_text())
    assert config["training"]["val_fraction"] == 0.2
    # the training default keeps each joint's identity (docs/action.md)
    assert config["builder"]["joint_embed"] == 64 and config["builder"]["concat_nodes"] is True


@pytest.mark.parametrize("cli_flag", ["--node-bias", "--pool-mean", "--joint-norm",
                                      "--no-graph", "--no-joint-attention",
                                      "--no-frame-attention"])
def test_dropped_variants_are_not_training_options(cli_flag):
    """Variants measured and dropped, and the ablations (benchmarks/action_jhmdb.py), are
    not options of the training command."""
    from click.testing import CliRunner

    from training.cli import cli

    r = CliRunner().invoke(cli, ["action", "train", "--data", __file__, "--out", "x", cli_flag])
    assert r.exit_code == 2 and "No such option" in r.output


def _saved_model_dir(tmp_path, **builder_extra):
    """A tiny trained action model directory whose config.json also holds
    ``builder_extra`` (options of an earlier version)."""
    from training.action.train import train

    d = tmp_path / "m"
    train(easy_dataset(np.random.default_rng(9)), d, epochs=1,
          builder=dict(hidden=8, gcn_units=8, attention_units=8, stats_head=False),
          verbose=0, log=lambda s: None)
    config = json.loads((d / "config.json").read_text())
    config["builder"].update(builder_extra)
    (d / "config.json").write_text(json.dumps(config))
    return d


def test_a_config_with_retired_options_at_their_defaults_loads(tmp_path):
    """config.json of an earlier version lists options since removed: at the values that
    describe today's network, the model loads and streams as before."""
    pytest.importorskip("tensorflow")
    from training.action.export import load_model_dir, streaming_from_model_dir

    d = _saved_model_dir(tmp_path, input_norm=True, joint_norm=False, input_dropout=0.0,
                         node_bias=False, pool_mean=False, use_graph=True,
                         use_joint_attention=True, frame_attention=True, lambda_pose=1.0,
                         lambda_joints=0.3)
    model, config = load_model_dir(d)
    assert config["builder"]["node_bias"] is False
    assert streaming_from_model_dir(d).run_clip(easy_dataset(np.random.default_rng(1)).clip(0)
                                                ).shape[1] == 2


@pytest.mark.parametrize("option", [{"node_bias": True}, {"pool_mean": True},
                                    {"joint_norm": True}, {"use_graph": False},
                                    {"frame_attention": False}, {"input_dropout": 0.1}])
def test_a_config_with_a_retired_variant_is_a_one_line_error(tmp_path, option):
    pytest.importorskip("tensorflow")
    from pipan.errors import ModelError
    from training.action.export import load_model_dir

    d = _saved_model_dir(tmp_path, **option)
    key, value = next(iter(option.items()))
    with pytest.raises(ModelError, match=f"built with {key}={value!r}, a variant") as err:
        load_model_dir(d)
    assert "\n" not in str(err.value)


def test_rate_augmentation_keeps_every_kth_frame_at_the_matching_rate():
    from training.action.data import subsample
    rng = np.random.default_rng(0)
    kp = np.random.default_rng(1).normal(size=(30, 18, 3)).astype(np.float32)
    same, fps = subsample(kp, rng, Augment())  # off by default
    assert same is kp and fps == 30.0
    seen = set()
    for _ in range(40):
        sub, fps = subsample(kp, rng, Augment(rate=1.0, rate_max_step=3))
        k = int(round(30.0 / fps))
        assert k in (2, 3)
        start = next(s for s in range(k) if np.array_equal(sub, kp[s::k]))
        seen.add((k, start))
    assert {k for k, _ in seen} == {2, 3} and len(seen) >= 4  # both steps, several phases
    short = kp[:3]
    assert subsample(short, rng, Augment(rate=1.0, rate_max_step=3))[1] in (30.0, 15.0, 10.0)
