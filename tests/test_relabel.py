"""`python -m training action relabel`: a dataset's labels onto the bundled vocabulary."""
import numpy as np
from click.testing import CliRunner

from pipan.dataset import SkeletonDataset, load, save
from pipan.skeleton import COCO18
from training.action.cli import group


def dataset(labels):
    n = len(labels)
    kp = np.random.default_rng(0).random((3 * n, 18, 3)).astype(np.float32)
    return SkeletonDataset(kp, np.full(n, 3), np.asarray(labels), tuple(COCO18),
                           np.int8([0, 1] * (n // 2) + [0] * (n % 2)))


def test_relabel_maps_jhmdb_names_and_keeps_everything_else(tmp_path):
    src = dataset(["sit", "stand", "golf", "walk"])
    save(src, tmp_path / "in.npz")
    r = CliRunner().invoke(group, ["relabel", str(tmp_path / "in.npz"), "--map", "jhmdb",
                                   "--out", str(tmp_path / "out.npz")])
    assert r.exit_code == 0, r.output
    out = load(tmp_path / "out.npz")
    assert list(out.labels) == ["sit_down", "stand_up", "unknown", "walk"]
    np.testing.assert_array_equal(out.keypoints, src.keypoints)
    np.testing.assert_array_equal(out.test, src.test)


def test_a_label_the_map_lacks_is_a_one_line_error_and_nothing_is_written(tmp_path):
    save(dataset(["walk", "brush_teeth"]), tmp_path / "in.npz")
    r = CliRunner().invoke(group, ["relabel", str(tmp_path / "in.npz"), "--map", "jhmdb",
                                   "--out", str(tmp_path / "out.npz")])
    assert r.exit_code != 0 and "brush_teeth" in r.output
    assert not (tmp_path / "out.npz").exists()
