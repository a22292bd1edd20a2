"""The pooled-statistics teacher behind ``--distill``: its statistics, its logistic
regression, that its probabilities for a clip never come from a fit that saw the clip, and
that distilled training runs end to end."""
from __future__ import annotations

import json

import numpy as np
import pytest

from training.action.teacher import (fit_logistic, logistic_logits, out_of_fold_probs,
                                     pooled_statistics, soft_targets)


def test_pooled_statistics_are_mean_and_std_of_positions_and_velocities():
    rng = np.random.default_rng(0)
    f = rng.normal(size=(7, 18, 5))
    s = pooled_statistics(f)
    assert s.shape == (144,)
    np.testing.assert_allclose(s[:36], f[:, :, :2].reshape(7, -1).mean(0))
    np.testing.assert_allclose(s[36:72], f[:, :, :2].reshape(7, -1).std(0))
    np.testing.assert_allclose(s[72:108], f[:, :, 3:5].reshape(7, -1).mean(0))
    np.testing.assert_allclose(s[108:], f[:, :, 3:5].reshape(7, -1).std(0))
    with pytest.raises(ValueError, match="expected features"):
        pooled_statistics(np.zeros((0, 18, 5)))


def test_logistic_regression_learns_separable_classes():
    rng = np.random.default_rng(1)
    y = np.repeat(np.arange(3), 30)
    x = rng.normal(size=(90, 6)) + 4.0 * np.eye(3, 6)[y] + 100.0  # far from 0: standardised
    model = fit_logistic(x, y, 3)
    assert (logistic_logits(model, x).argmax(1) == y).mean() == 1.0
    with pytest.raises(ValueError, match="labels"):
        fit_logistic(x, y + 1, 3)


def test_out_of_fold_probabilities_never_see_their_own_label():
    """Labels that are pure noise: a fit on all rows memorises them (high accuracy on
    those rows), the out-of-fold probabilities stay near chance."""
    rng = np.random.default_rng(2)
    x = rng.normal(size=(120, 60))
    y = rng.integers(0, 4, 120)
    inside = (logistic_logits(fit_logistic(x, y, 4, l2=0.0, steps=3000), x).argmax(1) == y)
    assert inside.mean() > 0.9
    p = out_of_fold_probs(x, y, 4, l2=0.0, steps=3000)
    assert p.shape == (120, 4)
    np.testing.assert_allclose(p.sum(1), 1.0, atol=1e-5)
    assert (p.argmax(1) == y).mean() < 0.45
    # seeded: the same folds, the same probabilities
    np.testing.assert_array_equal(p, out_of_fold_probs(x, y, 4, l2=0.0, steps=3000))


def test_soft_targets_mix_one_hot_and_teacher():
    rng = np.random.default_rng(3)
    y = np.repeat(np.arange(2), 10)
    feats = [rng.normal(size=(5, 18, 5)) + 3.0 * c for c in y]
    hard = soft_targets(feats, y, 2, 0.0)
    np.testing.assert_array_equal(hard, np.eye(2)[y])
    teacher = soft_targets(feats, y, 2, 1.0)
    half = soft_targets(feats, y, 2, 0.5)
    np.testing.assert_allclose(half, 0.5 * hard + 0.5 * teacher, atol=1e-6)
    np.testing.assert_allclose(half.sum(1), 1.0, atol=1e-5)
    assert (teacher.argmax(1) == y).all()  # an easy problem: the teacher knows it
    assert not np.allclose(teacher, hard)
    warm = soft_targets(feats, y, 2, 1.0, temperature=5.0)
    assert warm.max(1).mean() < teacher.max(1).mean()  # a higher temperature softens
    with pytest.raises(ValueError, match="weight"):
        soft_targets(feats, y, 2, 1.5)


def test_distilled_training_learns_and_records_the_setting(tmp_path):
    pytest.importorskip("tensorflow")
    from click.testing import CliRunner

    from pipan.dataset import save
    from training.cli import cli

    from test_action_train import easy_dataset

    data = tmp_path / "easy.npz"
    save(easy_dataset(np.random.default_rng(5)), data)
    out = tmp_path / "model"
    r = CliRunner().invoke(cli, ["action", "train", "--data", str(data), "--out", str(out),
                                 "--epochs", "25", "--hidden", "16", "--joint-embed", "4",
                                 "--seed", "1", "--distill", "0.5",
                                 "--distill-temperature", "2", "--quiet"])
    assert r.exit_code == 0, r.output
    config = json.loads((out / "config.json").read_text())
    assert config["training"]["distill"] == 0.5
    assert config["training"]["distill_temperature"] == 2.0
    assert config["metrics"]["accuracy"] >= 0.9  # trivially separable: it must have learnt
    assert "probs_acc" in config["metrics"]["history"]
    r = CliRunner().invoke(cli, ["action", "train", "--data", str(data), "--out",
                                 str(tmp_path / "bad"), "--distill", "1.5"])
    assert r.exit_code == 2 and "distill" in r.output and not (tmp_path / "bad").exists()
