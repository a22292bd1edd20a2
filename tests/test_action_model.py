"""The action model's layers, builder and single-step export: equations, causality, and
the streaming runtime reproducing the offline model at every frame (float and int8)."""
from __future__ import annotations

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
import keras  # noqa: E402

from pipan.action import StreamingAction  # noqa: E402
from pipan.dataset import load  # noqa: E402
from pipan.runtime import TFLiteModel  # noqa: E402
from pipan.skeleton import adjacency, clip_features, clip_stats  # noqa: E402
from training.action.export import keras_step_fn, step_from_sequence_model  # noqa: E402
from training.action.layers import (GraphConv, JointAttention, JointDense, RunningStats,  # noqa: E402
                                    SoftAssignPool, normalized_adjacency)
from training.action.model import build_action_model  # noqa: E402
from converters.action_int8 import calibration_samples, step_to_int8  # noqa: E402

TINY = dict(hidden=16, gcn_units=8, attention_units=8, clusters=3)


def random_clips(n, rng, lo=6, hi=20):
    clips = []
    for _ in range(n):
        T = int(rng.integers(lo, hi))
        kp = np.zeros((T, 18, 3), np.float32)
        kp[..., :2] = rng.uniform(0, 300, (1, 18, 2)) + np.cumsum(rng.normal(0, 4, (T, 18, 2)), 0)
        kp[..., 2] = rng.uniform(0.3, 1, (T, 18)) * (rng.random((T, 18)) > 0.1)
        clips.append(kp)
    return clips


def perturbed(model, seed=0):
    """Give every weight a random value so nothing is trivially zero (e.g. biases)."""
    rng = np.random.default_rng(seed)
    for w in model.weights:
        v = rng.normal(0, 0.4, w.shape).astype(np.float32)
        if "variance" in w.path:  # batch-norm statistics must stay positive
            v = np.abs(v) + 0.5
        w.assign(v)
    return model


def test_graph_conv_is_eq_1():
    rng = np.random.default_rng(0)
    a = adjacency()
    layer = GraphConv(4, a, activation=None)
    x = rng.normal(size=(2, 18, 3)).astype(np.float32)
    y = np.asarray(layer(x))
    a_t = a + np.eye(18)
    d = np.diag(1 / np.sqrt(a_t.sum(1)))
    w, b = [np.asarray(v) for v in layer.weights]
    np.testing.assert_allclose(y, d @ a_t @ d @ x @ w + b, atol=1e-5)
    np.testing.assert_allclose(normalized_adjacency(a), d @ a_t @ d, atol=1e-6)
    # With a per-sample adjacency input, the same normalisation on the fly.
    y2 = np.asarray(layer([x, np.broadcast_to(a, (2, 18, 18))]))
    np.testing.assert_allclose(y2, y, atol=1e-5)


def test_soft_assign_pool_is_diffpool():
    rng = np.random.default_rng(1)
    a = adjacency()
    pool = SoftAssignPool(5, 7, a)
    x = rng.normal(size=(3, 18, 4)).astype(np.float32)
    xp, ap = [np.asarray(t) for t in pool(x)]
    assert xp.shape == (3, 5, 7) and ap.shape == (3, 5, 5)
    s = keras.ops.softmax(pool.pool_gcn(x), axis=-1).numpy()
    z = np.asarray(pool.embed_gcn(x))
    np.testing.assert_allclose(s.sum(-1), 1, atol=1e-5)
    np.testing.assert_allclose(xp, np.swapaxes(s, 1, 2) @ z, atol=1e-4)
    np.testing.assert_allclose(ap, np.swapaxes(s, 1, 2) @ a @ s, atol=1e-4)
    np.testing.assert_allclose(ap, np.swapaxes(ap, 1, 2), atol=1e-5)


def test_int8_friendly_forms_equal_the_previous_formulas():
    """GraphConv and SoftAssignPool compute their node products in forms that keep
    activations off an int8 matmul's weights side (armv7, docs/pi-check.md). Same weights,
    same function as the plain formulas they replaced: einsum with A_hat, matmul(S^T, Z),
    matmul(S^T A, S), matmul(A_hat, H W)."""
    rng = np.random.default_rng(11)
    a = adjacency()
    a_hat = normalized_adjacency(a)
    x = rng.normal(size=(2, 3, 18, 6)).astype(np.float32)  # (B, T, N, D)
    gc = GraphConv(8, a)
    y = np.asarray(gc(x))
    w, b = [np.asarray(v) for v in gc.weights]
    np.testing.assert_allclose(
        y, np.maximum(np.einsum("mn,btnd->btmd", a_hat, x @ w) + b, 0), atol=1e-5)
    # Exported, (A_hat H) W; in training, A_hat (H W): the same numbers.
    np.testing.assert_allclose(np.asarray(gc(x, training=True)), y, atol=1e-5)
    pool = SoftAssignPool(5, 7, a)
    xp, ap = [np.asarray(t) for t in pool(x)]
    s = np.asarray(keras.ops.softmax(pool.pool_gcn(x), axis=-1))
    z = np.asarray(pool.embed_gcn(x))
    st = np.swapaxes(s, -1, -2)
    np.testing.assert_allclose(xp, st @ z, atol=1e-5)
    np.testing.assert_allclose(ap, (st @ a) @ s, atol=1e-5)
    gp = GraphConv(4)
    yp = np.asarray(gp([xp, ap]))
    at = ap + np.eye(5, dtype=np.float32)
    inv = 1 / np.sqrt(at.sum(-1))
    ahp = at * inv[..., :, None] * inv[..., None, :]
    wp, bp = [np.asarray(v) for v in gp.weights]
    np.testing.assert_allclose(yp, np.maximum(ahp @ (xp @ wp) + bp, 0), atol=1e-5)
    # Training takes plain matmuls (faster); same numbers.
    for got, want in zip(pool(x, training=True), (xp, ap)):
        np.testing.assert_allclose(np.asarray(got), want, atol=1e-5)
    np.testing.assert_allclose(np.asarray(gp([xp, ap], training=True)), yp, atol=1e-5)


def _matmul_weights_are_constant(model: bytes):
    """(BATCH_MATMUL count, FULLY_CONNECTED count, FCs whose weights are not constant,
    FCs without a bias) of a TFLite model."""
    from tensorflow.lite.python import schema_py_generated as sch
    m = sch.ModelT.InitFromObj(sch.Model.GetRootAsModel(bytearray(model), 0))
    bmm = fc = nonconst = nobias = 0
    for g in m.subgraphs:
        for op in g.operators:
            code = m.operatorCodes[op.opcodeIndex]
            kind = max(code.builtinCode, code.deprecatedBuiltinCode)
            if kind == sch.BuiltinOperator.BATCH_MATMUL:
                bmm += 1
            if kind != sch.BuiltinOperator.FULLY_CONNECTED:
                continue
            fc += 1
            ins = list(op.inputs)
            buf = m.buffers[g.tensors[ins[1]].buffer]
            nonconst += int(buf.data is None or len(buf.data) == 0)
            nobias += int(len(ins) < 3 or ins[2] < 0)
    return bmm, fc, nonconst, nobias


def test_int8_step_has_no_activation_on_a_matmul_weights_side():
    """What tflite-runtime 2.14 on armv7 needs (docs/pi-check.md): no BATCH_MATMUL, every
    FULLY_CONNECTED with constant weights (never -128) and a bias tensor."""
    rng = np.random.default_rng(12)
    model = perturbed(build_action_model(5, **TINY), seed=13)
    step = step_from_sequence_model(model)
    data = step_to_int8(step, calibration_samples(step, random_clips(3, rng), limit=50))
    bmm, fc, nonconst, nobias = _matmul_weights_are_constant(data)
    assert fc > 0
    assert (bmm, nonconst, nobias) == (0, 0, 0)


def test_step_to_int8_range_percentile_overrides_the_default():
    """step_to_int8 uses the converter's percentile ranges for action models unless told
    otherwise: min/max (100) gives every activation a range at least as wide, some wider."""
    rng = np.random.default_rng(16)
    step = step_from_sequence_model(perturbed(build_action_model(5, **TINY), seed=17))
    samples = calibration_samples(step, random_clips(4, rng), limit=60)

    def scales(data):
        details = TFLiteModel(data, threads=1).interpreter.get_tensor_details()
        return {d["name"]: d["quantization"][0] for d in details if d["quantization"][0] > 0}

    default, minmax = scales(step_to_int8(step, samples)), scales(
        step_to_int8(step, samples, range_percentile=100.0))
    common = set(default) & set(minmax)
    assert len(common) > 10
    assert all(default[k] <= minmax[k] * (1 + 1e-6) for k in common)
    assert sum(default[k] < 0.9 * minmax[k] for k in common) >= 3


def _op_names(model: bytes) -> list:
    from tensorflow.lite.python import schema_py_generated as sch
    m = sch.ModelT.InitFromObj(sch.Model.GetRootAsModel(bytearray(model), 0))
    names = {v: k for k, v in vars(sch.BuiltinOperator).items() if not k.startswith("_")}
    codes = [max(c.builtinCode, c.deprecatedBuiltinCode) for c in m.operatorCodes]
    return [names[codes[op.opcodeIndex]] for op in m.subgraphs[0].operators]


def test_int8_step_rounds_no_norm_and_no_separate_graph_bias():
    """The exported step folds the input batch norm into the joint embedding and fuses
    each skeleton graph convolution's bias and ReLU into its last FULLY_CONNECTED (fewer
    int8 roundings; docs/action.md): the quantised input goes straight into a
    FULLY_CONNECTED, and no ADD follows a FULLY_CONNECTED before the pooling's softmax."""
    rng = np.random.default_rng(14)
    model = perturbed(build_action_model(5, **TINY, joint_embed=8), seed=15)
    step = step_from_sequence_model(model)
    ops = _op_names(step_to_int8(step, calibration_samples(step, random_clips(3, rng),
                                                           limit=50)))
    first = next(op for op in ops if op not in ("QUANTIZE", "RESHAPE"))
    assert first == "FULLY_CONNECTED", ops
    graph = ops[:ops.index("SOFTMAX")]
    assert graph.count("FULLY_CONNECTED") >= 6 and "ADD" not in graph and "MUL" not in graph, ops


def test_joint_attention_is_a_convex_combination():
    rng = np.random.default_rng(2)
    att = JointAttention(6, return_weights=True)
    h = rng.normal(size=(4, 5, 3)).astype(np.float32)
    s, alpha = [np.asarray(t) for t in att(h)]
    np.testing.assert_allclose(alpha.sum(-1), 1, atol=1e-5)
    np.testing.assert_allclose(s, (alpha[..., None] * h).sum(1), atol=1e-5)


def test_joint_dense_has_its_own_weights_per_joint():
    rng = np.random.default_rng(11)
    layer = JointDense(4, activation=None)
    x = rng.normal(size=(2, 3, 18, 5)).astype(np.float32)
    y = np.asarray(layer(x))
    kernel, bias = [np.asarray(w) for w in layer.get_weights()]
    assert kernel.shape == (18, 5, 4) and bias.shape == (18, 4)
    np.testing.assert_allclose(y, np.einsum("btnd,ndu->btnu", x, kernel) + bias, atol=1e-5)
    # the training form (einsum) and the inference form (block-diagonal matmul) agree
    np.testing.assert_allclose(np.asarray(layer(x, training=True)), y, atol=1e-5)
    x2 = x.copy()
    x2[..., 7, :] += 1.0  # one joint's input moves only that joint's output
    moved = np.abs(np.asarray(layer(x2)) - y).max(axis=(0, 1, 3)) > 1e-6
    assert moved.tolist() == [n == 7 for n in range(18)]


def test_concatenating_joint_attention_keeps_the_nodes_apart():
    rng = np.random.default_rng(2)
    summed = JointAttention(6, return_weights=True)
    h = rng.normal(size=(2, 4, 5, 3)).astype(np.float32)
    s_sum, alpha = [np.asarray(t) for t in summed(h)]
    cat = JointAttention(6, return_weights=True, concat=True)
    cat.build(h.shape)
    cat.set_weights(summed.get_weights())
    s_cat, alpha_cat = [np.asarray(t) for t in cat(h)]
    np.testing.assert_allclose(alpha_cat, alpha, atol=1e-6)
    assert s_cat.shape == (2, 4, 15)
    # node k's weighted embedding sits in its own slice; the slices sum to the summed form
    np.testing.assert_allclose(s_cat.reshape(2, 4, 5, 3), alpha[..., None] * h, atol=1e-5)
    np.testing.assert_allclose(s_cat.reshape(2, 4, 5, 3).sum(2), s_sum, atol=1e-5)
    assert cat.compute_output_shape((None, None, 5, 3)) == [(None, None, 15), (None, None, 5)]


@pytest.mark.parametrize("kwargs", [{}, {"concat_nodes": True}, {"joint_embed": 8},
                                    {"stats_head": True},
                                    {"joint_embed": 8, "concat_nodes": True, "stats_head": True}])
def test_outputs_are_causal_and_padding_is_harmless(kwargs):
    rng = np.random.default_rng(3)
    model = perturbed(build_action_model(5, **TINY, **kwargs))
    x = rng.normal(size=(2, 12, 18, 5)).astype(np.float32)
    y = model(x)
    x2 = x.copy()
    x2[:, 7:] = rng.normal(size=x2[:, 7:].shape)  # change the future only
    y2 = model(x2)
    for k in ("probs", "joint_probs"):
        np.testing.assert_allclose(np.asarray(y[k])[:, :7], np.asarray(y2[k])[:, :7], atol=1e-5)
        assert not np.allclose(np.asarray(y[k])[:, 7:], np.asarray(y2[k])[:, 7:])
        np.testing.assert_allclose(np.asarray(y[k]).sum(-1), 1, atol=1e-5)


def test_default_model_is_small_and_saves(tmp_path):
    model = build_action_model(14)
    assert model.count_params() < 500_000
    tiny = perturbed(build_action_model(4, **TINY))
    tiny.save(tmp_path / "m.keras")
    back = keras.models.load_model(tmp_path / "m.keras")
    x = np.random.default_rng(4).normal(size=(1, 9, 18, 5)).astype(np.float32)
    np.testing.assert_allclose(np.asarray(back(x)["probs"]), np.asarray(tiny(x)["probs"]),
                               atol=1e-6)


@pytest.mark.parametrize("kwargs", [{"joint_embed": 8, "concat_nodes": True}])
def test_training_default_form_saves_and_reloads(tmp_path, kwargs):
    model = perturbed(build_action_model(4, **TINY, **kwargs))
    model.save(tmp_path / "m.keras")
    back = keras.models.load_model(tmp_path / "m.keras", safe_mode=False)
    x = np.random.default_rng(4).normal(size=(1, 9, 18, 5)).astype(np.float32)
    np.testing.assert_allclose(np.asarray(back(x)["probs"]), np.asarray(model(x)["probs"]),
                               atol=1e-6)
    step = step_from_sequence_model(back)  # the reloaded model still has a step form
    assert {i.name for i in step.inputs} == {"features", "h_prev"}


def test_a_model_file_that_cannot_be_loaded_is_a_one_line_error(tmp_path):
    from pipan.errors import ModelError
    from training.action.export import load_model_dir

    (tmp_path / "config.json").write_text('{"kind": "action", "labels": ["a", "b"]}')
    (tmp_path / "model.keras").write_bytes(b"not a keras archive")
    with pytest.raises(ModelError, match="cannot load the model") as err:
        load_model_dir(tmp_path)
    assert "\n" not in str(err.value)


def test_layers_saved_with_retired_options_at_their_defaults_load():
    """A model.keras of an earlier version records GraphConv/SoftAssignPool options since
    removed: at the values of today's layers it loads; another value is a clear error."""
    a = adjacency()
    gc = GraphConv.from_config(dict(GraphConv(4, a).get_config(), node_bias=False))
    assert gc.units == 4
    pool = SoftAssignPool.from_config(dict(SoftAssignPool(3, 4, a).get_config(),
                                           node_bias=False, mean=False))
    assert pool.clusters == 3
    with pytest.raises(ValueError, match="option mean=True is no longer supported"):
        SoftAssignPool.from_config(dict(SoftAssignPool(3, 4, a).get_config(), mean=True))


def test_an_ablation_without_frame_attention_has_no_step_form():
    from pipan.errors import ModelError
    from training.action.model import frame_input, graph_network, sequence_head

    x_in, x = frame_input()
    nodes = graph_network(x, joint_embed=0, gcn_units=8, gcn_layers=1, clusters=3)
    model = sequence_head(x_in, JointAttention(8, name="joint_attention")(nodes), 4, hidden=8,
                          attention_units=8, dropout=0.0, stats_head=False,
                          frame_attention=False)
    with pytest.raises(ModelError, match="no streaming step form"):
        step_from_sequence_model(model)


def stream_vs_offline(model, clips, step_fn, hidden, num_classes):
    """Largest |streaming - offline| probability over every frame of every clip."""
    rec = StreamingAction(step_fn, [str(i) for i in range(num_classes)], hidden)
    worst = 0.0
    for kp in clips:
        offline = np.asarray(model(clip_features(kp)[None])["probs"])[0]
        online = rec.run_clip(kp)
        worst = max(worst, float(np.abs(online - offline).max()))
    return worst


def test_running_stats_layer_is_clip_stats():
    rng = np.random.default_rng(12)
    clips = [clip_features(kp) for kp in random_clips(2, rng, lo=12, hi=13)]
    x = np.stack(clips)
    x[:, :, :, :2] += 3.0  # far from zero: the float32 shifted sums must stay accurate
    y = np.asarray(RunningStats()(x))
    assert y.shape == (2, 12, 144)
    for i in range(2):
        np.testing.assert_allclose(y[i], clip_stats(x[i]), atol=2e-5)


def test_stats_head_step_contract_and_logits():
    model = perturbed(build_action_model(6, **TINY, stats_head=True))
    assert not model.get_layer("stats_head").trainable
    step = step_from_sequence_model(model)
    assert {i.name: tuple(i.shape) for i in step.inputs} == \
        {"features": (1, 18, 5), "h_prev": (1, 16), "stats": (1, 144)}
    stats = np.random.default_rng(13).normal(size=(1, 144)).astype(np.float32)
    out = step({"features": np.zeros((1, 18, 5), np.float32),
                "h_prev": np.zeros((1, 16), np.float32), "stats": stats})
    kernel, bias = model.get_layer("stats_head").get_weights()
    np.testing.assert_allclose(np.asarray(out["stats_logits"]), stats @ kernel + bias, atol=1e-4)
    assert set(out) == {"h", "score", "logits", "stats_logits"}


def test_step_model_contract():
    step = step_from_sequence_model(build_action_model(6, **TINY))
    assert {i.name: tuple(i.shape) for i in step.inputs} == \
        {"features": (1, 18, 5), "h_prev": (1, 16)}
    out = step({"features": np.zeros((1, 18, 5), np.float32),
                "h_prev": np.zeros((1, 16), np.float32)})
    assert {k: tuple(v.shape) for k, v in out.items()} == \
        {"h": (1, 16), "score": (1, 1), "logits": (1, 6)}


@pytest.mark.parametrize("kwargs", [{}, {"concat_nodes": True},
                                    {"joint_embed": 8, "concat_nodes": True},
                                    {"joint_embed": 8, "concat_nodes": True, "stats_head": True}])
def test_streaming_equals_offline_on_random_clips(kwargs):
    rng = np.random.default_rng(5)
    model = perturbed(build_action_model(6, **TINY, **kwargs), seed=6)
    step = step_from_sequence_model(model)
    worst = stream_vs_offline(model, random_clips(4, rng), keras_step_fn(step), 16, 6)
    assert worst < 1e-5


def test_streaming_equals_offline_on_real_clips(shared):
    ds = load(shared / "data/jhmdb14/jhmdb14_split1.npz").to_coco18()
    clips = [ds.clip(i) for i in (0, 100, 300, 600)]
    for kwargs in ({}, {"joint_embed": 8, "concat_nodes": True, "stats_head": True}):
        model = perturbed(build_action_model(14, **TINY, **kwargs), seed=7)
        step = step_from_sequence_model(model)
        assert stream_vs_offline(model, clips, keras_step_fn(step), 16, 14) < 1e-5


@pytest.mark.parametrize("kwargs", [{}, {"joint_embed": 8, "concat_nodes": True},
                                    {"joint_embed": 8, "concat_nodes": True, "stats_head": True}])
def test_int8_step_tracks_the_float_model(kwargs):
    """Full-int8 step in the streaming loop vs the float offline model. Stated tolerance,
    for a tiny model with random weights (sharper and harder to quantise than a trained
    one): at most 0.12 in any probability at any frame, 0.02 on average, and the same
    top class on more than 90% of frames."""
    rng = np.random.default_rng(8)
    model = perturbed(build_action_model(5, **TINY, **kwargs), seed=9)
    if kwargs.get("stats_head"):
        # A head of a fitted one's scale (logits of a few units, like the network's): with
        # perturbed()'s weights, 144 inputs give logits of ~15 that swamp the network.
        head = model.get_layer("stats_head")
        head.set_weights([rng.normal(0, 0.05, (144, 5)).astype(np.float32),
                          rng.normal(0, 0.5, 5).astype(np.float32)])
    step = step_from_sequence_model(model)
    clips = random_clips(12, rng)
    data = step_to_int8(step, calibration_samples(step, clips[:8], limit=200))
    tfl = TFLiteModel(data, threads=1)
    assert tfl.input_details["features"]["dtype"] == np.int8
    rec = StreamingAction(tfl, list("abcde"), 16)
    worst, agree, total, diffs = 0.0, 0, 0, []
    for kp in clips[8:]:
        offline = np.asarray(model(clip_features(kp)[None])["probs"])[0]
        online = rec.run_clip(kp)
        worst = max(worst, float(np.abs(online - offline).max()))
        diffs.append(np.abs(online - offline).ravel())
        agree += int((online.argmax(1) == offline.argmax(1)).sum())
        total += len(kp)
    assert worst < 0.12, worst
    assert np.concatenate(diffs).mean() < 0.02
    assert agree / total > 0.9

