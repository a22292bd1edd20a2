import numpy as np
import pytest

from pipan import dataset as ds
from pipan.errors import DatasetError
from pipan.skeleton import COCO18, JHMDB15


def _arrays(T=(3, 4), J=15, C=2):
    rng = np.random.default_rng(0)
    return dict(keypoints=rng.normal(size=(sum(T), J, C)).astype(np.float32),
                lengths=np.array(T, np.int32), labels=np.array(["wave", "walk"][:len(T)]),
                joints=np.array(JHMDB15[:J]), test=np.array([0, 1][:len(T)], np.int8))


def _write(tmp_path, **arrays):
    p = tmp_path / "d.npz"
    np.savez(p, **arrays)
    return p


def test_roundtrip_and_deterministic_bytes(tmp_path):
    d = ds.load(_write(tmp_path, **_arrays()))
    assert len(d) == 2 and d.clip(1).shape == (4, 15, 2) and d.classes == ["walk", "wave"]
    ds.save(d, tmp_path / "a.npz")
    ds.save(d, tmp_path / "b.npz")
    assert (tmp_path / "a.npz").read_bytes() == (tmp_path / "b.npz").read_bytes()
    again = ds.load(tmp_path / "a.npz")
    np.testing.assert_array_equal(again.keypoints, d.keypoints)
    assert list(again.test) == [0, 1]


def test_to_coco18_and_subset(tmp_path):
    d = ds.load(_write(tmp_path, **_arrays())).to_coco18()
    assert d.joints == COCO18 and d.keypoints.shape == (7, 18, 3)
    s = d.subset(np.array([False, True]))
    assert len(s) == 1 and s.keypoints.shape[0] == 4 and list(s.labels) == ["walk"]


@pytest.mark.parametrize("change, message", [
    (dict(lengths=np.array([3, 5], np.int32)), "sum to 8"),
    (dict(joints=np.array(["neck"] * 14 + ["elbow"])), "unknown joint"),
    (dict(lengths=np.array([], np.int32), labels=np.array([], str)), "empty"),
    (dict(test=np.array([0, 2], np.int8)), "0 or 1"),
    (dict(labels=np.array(["a"])), "labels"),
])
def test_malformed_files_refused(tmp_path, change, message):
    arrays = _arrays()
    arrays.update(change)
    with pytest.raises(DatasetError, match=message):
        ds.load(_write(tmp_path, **arrays))


def test_nan_refused(tmp_path):
    arrays = _arrays()
    arrays["keypoints"][5, 2, 0] = np.nan
    with pytest.raises(DatasetError, match="NaN.*frame 5"):
        ds.load(_write(tmp_path, **arrays))


def test_not_an_npz(tmp_path):
    p = tmp_path / "x.npz"
    p.write_text("hello")
    with pytest.raises(DatasetError, match="not a readable"):
        ds.load(p)
    with pytest.raises(DatasetError, match="no such file"):
        ds.load(tmp_path / "nope.npz")


def test_atomic_save_leaves_old_file_on_failure(tmp_path, monkeypatch):
    d = ds.load(_write(tmp_path, **_arrays()))
    out = tmp_path / "out.npz"
    out.write_bytes(b"old")

    def boom(f, arrays):
        f.write(b"partial")
        raise RuntimeError("disk full")
    monkeypatch.setattr(ds, "write_npz", boom)
    with pytest.raises(RuntimeError):
        ds.save(d, out)
    assert out.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_loads_real_jhmdb(shared):
    d = ds.load(shared / "data/jhmdb14/jhmdb14_split1.npz")
    assert len(d) == 609 and int(d.test.sum()) == 176 and len(d.classes) == 14
    c = d.to_coco18()
    assert c.keypoints.shape == (d.keypoints.shape[0], 18, 3)
