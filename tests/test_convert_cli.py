"""`pipan convert` and `pipan info` through click's CliRunner."""
import json
import sys

import pytest
from click.testing import CliRunner

from pipan.cli import cli


def test_convert_without_tensorflow_says_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "tensorflow", None)  # import tensorflow -> ImportError
    out = tmp_path / "m.tflite"
    r = CliRunner().invoke(cli, ["convert", str(tmp_path), "--calibration", str(tmp_path),
                                 "--out", str(out)])
    assert r.exit_code == 3
    assert 'pip install -e ".[train]"' in r.output and "TensorFlow" in r.output
    assert r.output.count("\n") == 1 and not out.exists()


def test_info_of_a_file_that_is_not_a_model(tmp_path):
    bad = tmp_path / "x.tflite"
    bad.write_bytes(b"hello, not a model at all")
    r = CliRunner().invoke(cli, ["info", str(bad)])
    assert r.exit_code == 1 and r.output.startswith("Error: ") and r.output.count("\n") == 1
    r = CliRunner().invoke(cli, ["info", str(tmp_path / "missing.tflite")])
    assert r.exit_code == 1 and "no such model file" in r.output


@pytest.fixture(scope="module")
def action_dir(tmp_path_factory):
    pytest.importorskip("tensorflow")
    from convert_fixtures import make_action_dataset, make_action_dir
    d = tmp_path_factory.mktemp("cli")
    data = make_action_dataset(d / "skeletons.npz")
    return d, make_action_dir(d / "model", data, epochs=5)


def _convert(d, model, *extra):
    return CliRunner().invoke(cli, ["convert", str(model), "--calibration",
                                    str(d / "skeletons.npz"), *extra])


def test_convert_and_info(action_dir, tmp_path):
    d, model = action_dir
    out = tmp_path / "out" / "action.tflite"
    r = _convert(d, model, "--out", str(out), "--max-drop", "100", "--seed", "1", "--io", "int8",
                 "--range-percentile", "99.5")
    assert r.exit_code == 0, r.output
    assert out.is_file() and (tmp_path / "out" / "action.json").is_file()
    assert "clip top-1 accuracy" in r.output and "latency" in r.output
    report = json.loads((tmp_path / "out" / "action.json").read_text())
    assert report["size_bytes"]["int8"] == out.stat().st_size
    assert report["calibration"]["seed"] == 1 and report["kind"] == "action"
    assert report["calibration"]["range_percentile"] == 99.5
    assert sorted(p.name for p in out.parent.iterdir()) == ["action.json", "action.tflite"]

    r = CliRunner().invoke(cli, ["info", str(out)])
    assert r.exit_code == 0, r.output
    assert "pipan action model" in r.output and "labels: raise, sway, still" in r.output
    assert "h_prev: int8 (1, 8), scale" in r.output and "logits: int8 (1, 3)" in r.output
    r = CliRunner().invoke(cli, ["info", str(out), "--json"])
    info = json.loads(r.output)
    assert info["metadata"]["kind"] == "action" and info["metadata"]["state_size"] == 8
    assert info["inputs"]["features"]["dtype"] == "int8"
    assert isinstance(info["inputs"]["features"]["scale"], float)


def test_range_percentile_help_states_the_converter_defaults():
    from converters import convert as conv
    text = " ".join(CliRunner().invoke(cli, ["convert", "--help"]).output.split())
    for kind, value in conv.DEFAULT_RANGE_PERCENTILE.items():
        assert f"{kind} {value:g}" in text


def test_range_percentile_out_of_bounds_is_a_usage_error(action_dir, tmp_path):
    d, model = action_dir
    out = tmp_path / "a.tflite"
    for bad in ("40", "100.5"):
        r = _convert(d, model, "--out", str(out), "--range-percentile", bad)
        assert r.exit_code == 2 and "--range-percentile" in r.output and not out.exists()


def test_failures_write_nothing_and_keep_the_old_file(action_dir, tmp_path):
    d, model = action_dir
    out = tmp_path / "action.tflite"
    out.write_bytes(b"the old model")
    cases = [
        (["--out", str(out)], "calibrates on a skeleton dataset", tmp_path),  # images dir
        (["--out", str(out)], "no such model directory", None),
        (["--out", str(tmp_path / "x.json")], "must not end in .json", None),
    ]
    for extra, message, calibration in cases:
        args = ["convert", str(model if "model directory" not in message else tmp_path / "no"),
                "--calibration", str(calibration or d / "skeletons.npz"), *extra]
        r = CliRunner().invoke(cli, args)
        assert r.exit_code == 1, r.output
        assert message in r.output
        assert r.output.startswith("Error: ") and r.output.count("\n") == 1
    assert out.read_bytes() == b"the old model"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["action.tflite"]  # no temp files


def test_drop_gate_fails_without_writing(action_dir, tmp_path, monkeypatch):
    """A conversion refused for its accuracy drop exits non-zero and writes nothing."""
    from converters import convert as C
    d, model = action_dir
    real = C._validate_action

    def worse(*args, **kwargs):
        out = real(*args, **kwargs)
        metric, f, _ = out["_accuracy"]
        out["_accuracy"] = (metric, f, f - 50.0)
        return out
    monkeypatch.setattr(C, "_validate_action", worse)
    out = tmp_path / "a.tflite"
    r = _convert(d, model, "--out", str(out))
    assert r.exit_code == 1 and "drops 50.00 points" in r.output and not out.exists()
    assert list(tmp_path.iterdir()) == []
    r = _convert(d, model, "--out", str(out), "--force")
    assert r.exit_code == 0 and "FORCED" in r.output and out.is_file()
