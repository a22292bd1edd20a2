"""Keras layers of the human graph network (HGN) and pose-attention network (PAN).

Every layer works on tensors with any number of leading axes before the joint axis, so the
same layer serves the sequence model ``(B, T, N, D)`` and the single-step model
``(B, N, D)``. Equation numbers refer to ``../shared/docs/architecture.md``.
"""
from __future__ import annotations

from typing import Optional, Sequence

import keras
import numpy as np
from keras import ops

from pipan.skeleton import NUM_STAT_VALUES, NUM_STATS, STATS_CHANNELS


def normalized_adjacency(adjacency: np.ndarray) -> np.ndarray:
    """D~^(-1/2) (A + I) D~^(-1/2) of a 0/1 adjacency ``(N, N)`` (eq. 1), float32."""
    a = np.asarray(adjacency, np.float32)
    a_tilde = a + np.eye(a.shape[0], dtype=np.float32)
    d = a_tilde.sum(1)
    inv_sqrt = 1.0 / np.sqrt(d)
    return (a_tilde * inv_sqrt[:, None] * inv_sqrt[None, :]).astype(np.float32)


def without_retired_options(config: dict, layer: str, **defaults) -> dict:
    """``config`` without the options this code no longer builds (``defaults``: option ->
    the value every model had without it). A model saved with such an option at that
    value loads as before; any other value is a one-line ValueError naming it."""
    config = dict(config)
    for key, default in defaults.items():
        value = config.pop(key, default)
        if value != default:
            raise ValueError(f"{layer} option {key}={value!r} is no longer supported "
                             f"(a variant measured and dropped; see CHANGELOG.md)")
    return config


def contract_nodes(left, right, training: Optional[bool] = None):
    """The batched matrix product ``left @ right`` over the node axis, ``(..., M, N)`` x
    ``(..., N, D) -> (..., M, D)``, for two activations, written as a broadcast multiply
    and a sum over N.

    Why not ``matmul``: in int8 TFLite a product of two activations is a BATCH_MATMUL (or
    FULLY_CONNECTED) whose right-hand side is an activation and may hold -128, which the
    int8 kernels of tflite-runtime 2.14 on armv7 get wrong (docs/pi-check.md). The
    converter makes this form an elementwise MUL and a SUM, which have no such case.
    Same function, so trained weights are unaffected. In training (``training=True``)
    it is a plain ``matmul``: the multiply-and-sum makes a training step of the default
    model ~1.4x slower (1.38-1.43x, fwd+bwd, batch 32 x 64 frames), and nothing is converted in that
    mode; exported and converted models call with ``training`` False or None.
    """
    if training:
        return ops.matmul(left, right)
    return ops.sum(ops.expand_dims(left, -1) * ops.expand_dims(right, -3), axis=-2)


@keras.saving.register_keras_serializable(package="pipan")
class JointDense(keras.layers.Layer):
    """A dense layer with its own weights per joint: h'_n = act(x_n W_n + b_n),
    ``(..., N, D) -> (..., N, units)``.

    Graph convolutions share one W over the joints, so a joint is told apart from another
    only by its values; an input embedding per joint gives each its identity before the
    graph (docs/action.md, "Joint identity"). In training it is an einsum; otherwise one matmul of
    the flattened joints by the block-diagonal kernel (an int8 FULLY_CONNECTED with
    constant weights), the same function.
    """

    def __init__(self, units: int, activation: Optional[str] = "relu", **kwargs):
        super().__init__(**kwargs)
        self.units = int(units)
        self.activation = keras.activations.get(activation)

    def build(self, input_shape):
        n, d = int(input_shape[-2]), int(input_shape[-1])
        self.kernel = self.add_weight(name="kernel", shape=(n, d, self.units),
                                      initializer="he_normal")
        self.bias = self.add_weight(name="bias", shape=(n, self.units), initializer="zeros")

    def call(self, x, training=None):
        if training:
            y = ops.einsum("...nd,ndu->...nu", x, self.kernel)
        else:
            # One matmul by a block-diagonal (N*D, N*U) constant: a single int8
            # FULLY_CONNECTED with int32 accumulation (a MUL then SUM would round every
            # product to int8 first).
            n, d = self.kernel.shape[0], self.kernel.shape[1]
            eye = ops.convert_to_tensor(np.eye(n, dtype=np.float32)[:, None, :, None])
            block = ops.expand_dims(self.kernel, 2) * eye  # (n, d, n, u), zero off n == m
            block = ops.reshape(block, (n * d, n * self.units))
            shape = ops.shape(x)
            y = ops.matmul(ops.reshape(x, tuple(shape[:-2]) + (n * d,)), block)
            y = ops.reshape(y, tuple(shape[:-2]) + (n, self.units))
        return self.activation(y + self.bias)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.units,)

    def get_config(self):
        cfg = super().get_config()
        cfg.update(units=self.units, activation=keras.activations.serialize(self.activation))
        return cfg


@keras.saving.register_keras_serializable(package="pipan")
class GraphConv(keras.layers.Layer):
    """Graph convolution H' = act(A_hat H W + b) over the joint axis (eq. 1).

    With a fixed ``adjacency`` (N, N) (the skeleton's limbs), A_hat is its normalised form
    with self loops, a constant. Called as ``layer([h, a])`` with a per-sample adjacency
    ``a`` (..., N, N) (the pooled graph of eq. 5), A_hat is normalised on the fly.
    """

    def __init__(self, units: int, adjacency: Optional[Sequence[Sequence[float]]] = None,
                 activation: Optional[str] = "relu", use_bias: bool = True, **kwargs):
        super().__init__(**kwargs)
        self.units = int(units)
        self.adjacency = None if adjacency is None else np.asarray(adjacency, np.float32)
        self.activation = keras.activations.get(activation)
        self.use_bias = use_bias
        self._a_hat = None if adjacency is None else normalized_adjacency(self.adjacency)

    def build(self, input_shape):
        h_shape = input_shape[0] if isinstance(input_shape, (list, tuple)) and \
            isinstance(input_shape[0], (list, tuple)) else input_shape
        self.kernel = self.add_weight(name="kernel", shape=(int(h_shape[-1]), self.units),
                                      initializer="glorot_uniform")
        self.bias = self.add_weight(name="bias", shape=(self.units,), initializer="zeros") \
            if self.use_bias else None

    def call(self, inputs, training=None):
        if isinstance(inputs, (list, tuple)):
            h, a = inputs
            n = ops.shape(a)[-1]
            a = a + ops.eye(n, dtype=a.dtype)
            inv_sqrt = ops.rsqrt(ops.maximum(ops.sum(a, axis=-1), 1e-6))
            a_hat = a * ops.expand_dims(inv_sqrt, -1) * ops.expand_dims(inv_sqrt, -2)
            # (A_hat H) W, not A_hat (H W): the same product, but the node contraction (an
            # elementwise multiply and sum in int8, see contract_nodes) then runs on the
            # layer's input and the channel mixing stays one FULLY_CONNECTED with constant
            # weights, which accumulates exactly. Measured on a JHMDB model, int8 vs float
            # top-1 agreement per frame: 90.6% this way, 86.7% with A_hat (H W)
            # (docs/pi-check.md).
            x = ops.matmul(contract_nodes(a_hat, h, training), self.kernel)
        else:
            if self._a_hat is None:
                raise ValueError("GraphConv without a fixed adjacency needs [h, adjacency]")
            # A_hat H W with the constant A_hat on the right of a matmul,
            # (A_hat (H W))^T = (H W)^T A_hat^T, so that the int8 converter makes A_hat the
            # FULLY_CONNECTED's constant weights (symmetric int8, never -128) and the
            # activations its input. The einsum form made H W the weights: wrong numbers
            # under tflite-runtime 2.14 on armv7 (docs/pi-check.md).
            a_hat_t = ops.convert_to_tensor(self._a_hat.T, inputs.dtype)
            if training:
                hw = ops.matmul(inputs, self.kernel)  # (..., N, D)
                x = ops.swapaxes(ops.matmul(ops.swapaxes(hw, -1, -2), a_hat_t), -1, -2)
            else:
                # Exported form: (A_hat H) W, the same product, so that the channel mixing
                # comes last and the converter fuses it with the bias and the activation
                # into one FULLY_CONNECTED (A_hat (H W) left a signed H W and a bias ADD
                # to be rounded to int8 on their own).
                ah = ops.swapaxes(ops.matmul(ops.swapaxes(inputs, -1, -2), a_hat_t), -1, -2)
                x = ops.matmul(ah, self.kernel)
        if self.bias is not None:
            x = x + self.bias
        return self.activation(x)

    def compute_output_shape(self, input_shape):
        h_shape = input_shape[0] if isinstance(input_shape, (list, tuple)) and \
            isinstance(input_shape[0], (list, tuple)) else input_shape
        return tuple(h_shape[:-1]) + (self.units,)

    def get_config(self):
        cfg = super().get_config()
        cfg.update(units=self.units, activation=keras.activations.serialize(self.activation),
                   use_bias=self.use_bias,
                   adjacency=None if self.adjacency is None else self.adjacency.tolist())
        return cfg

    @classmethod
    def from_config(cls, config):
        return cls(**without_retired_options(config, cls.__name__, node_bias=False))


@keras.saving.register_keras_serializable(package="pipan")
class SoftAssignPool(keras.layers.Layer):
    """DiffPool-style soft assignment pooling (eqs. 2-5) from N joints to K clusters.

    S = softmax_rows(GCN_pool(A, X)) (N, K); Z = GCN_embed(A, X) (N, F);
    X' = S^T Z (K, F); A' = S^T A S (K, K). Returns ``[X', A']``. The skeleton adjacency is
    fixed, so A' depends on the sample only through S. DiffPool's auxiliary link-prediction
    and entropy losses are left out (the classification losses train S well enough here,
    and the paper does not state them).
    """

    def __init__(self, clusters: int, units: int, adjacency: Sequence[Sequence[float]],
                 activation: str = "relu", **kwargs):
        super().__init__(**kwargs)
        self.clusters = int(clusters)
        self.units = int(units)
        self.adjacency = np.asarray(adjacency, np.float32)
        self.activation = activation
        self.pool_gcn = GraphConv(self.clusters, self.adjacency, activation=None, name="pool")
        self.embed_gcn = GraphConv(self.units, self.adjacency, activation=activation,
                                   name="embed")

    def build(self, input_shape):
        self.pool_gcn.build(input_shape)
        self.embed_gcn.build(input_shape)

    def call(self, x, training=None):
        s = ops.softmax(self.pool_gcn(x), axis=-1)  # (..., N, K): rows sum to 1 (DiffPool)
        z = self.embed_gcn(x)  # (..., N, F)
        st = ops.swapaxes(s, -1, -2)  # (..., K, N)
        # Activation x activation products as multiply-and-sum (see contract_nodes).
        x_pooled = contract_nodes(st, z, training)  # (..., K, F)
        # S^T A with the constant A as a matmul's right-hand side: the converter makes A
        # the constant weights of a FULLY_CONNECTED.
        a = ops.convert_to_tensor(self.adjacency, x.dtype)
        a_pooled = contract_nodes(ops.matmul(st, a), s, training)  # (..., K, K)
        return [x_pooled, a_pooled]

    def compute_output_shape(self, input_shape):
        lead = tuple(input_shape[:-2])
        return [lead + (self.clusters, self.units), lead + (self.clusters, self.clusters)]

    def get_config(self):
        cfg = super().get_config()
        cfg.update(clusters=self.clusters, units=self.units,
                   adjacency=self.adjacency.tolist(), activation=self.activation)
        return cfg

    @classmethod
    def from_config(cls, config):
        return cls(**without_retired_options(config, cls.__name__, node_bias=False,
                                             mean=False))


@keras.saving.register_keras_serializable(package="pipan")
class JointAttention(keras.layers.Layer):
    """Attention over the nodes of one frame (eqs. 13-15): j_k = tanh(W_w h_k + b_w),
    alpha_k = softmax_k(j_k . u_w), s = sum_k alpha_k h_k. ``(..., K, F) -> (..., F)``.

    With ``return_weights=True`` returns ``[s, alpha]`` (alpha ``(..., K)``). With
    ``concat=True`` the weighted nodes alpha_k h_k are concatenated instead of summed,
    ``(..., K, F) -> (..., K * F)``: the same weights, but which node each part of s came
    from is kept (a sum over nodes of shared-weight embeddings loses it)."""

    def __init__(self, units: int, return_weights: bool = False, concat: bool = False,
                 **kwargs):
        super().__init__(**kwargs)
        self.units = int(units)
        self.return_weights = return_weights
        self.concat = bool(concat)

    def build(self, input_shape):
        f = int(input_shape[-1])
        self.w = self.add_weight(name="W_w", shape=(f, self.units), initializer="glorot_uniform")
        self.b = self.add_weight(name="b_w", shape=(self.units,), initializer="zeros")
        self.u = self.add_weight(name="u_w", shape=(self.units,), initializer="glorot_uniform")

    def call(self, h):
        j = ops.tanh(ops.matmul(h, self.w) + self.b)  # (..., K, U)
        alpha = ops.softmax(ops.sum(j * self.u, axis=-1), axis=-1)  # (..., K)
        weighted = h * ops.expand_dims(alpha, -1)
        if self.concat:
            shape = ops.shape(weighted)
            s = ops.reshape(weighted, tuple(shape[:-2]) + (int(h.shape[-2]) * int(h.shape[-1]),))
        else:
            s = ops.sum(weighted, axis=-2)
        return [s, alpha] if self.return_weights else s

    def compute_output_shape(self, input_shape):
        width = input_shape[-1] * input_shape[-2] if self.concat else input_shape[-1]
        out = tuple(input_shape[:-2]) + (width,)
        return [out, tuple(input_shape[:-1])] if self.return_weights else out

    def get_config(self):
        cfg = super().get_config()
        cfg.update(units=self.units, return_weights=self.return_weights, concat=self.concat)
        return cfg


@keras.saving.register_keras_serializable(package="pipan")
class FrameScore(keras.layers.Layer):
    """The frame-attention logit e_t = u_t . u_s with u_t = tanh(W_s h_t + b_s) (eqs. 10-11).

    ``(..., H) -> (..., 1)``. Because u_t is in [-1, 1]^U, |e_t| <= ||u_s||_1: bounded."""

    def __init__(self, units: int, **kwargs):
        super().__init__(**kwargs)
        self.units = int(units)

    def build(self, input_shape):
        hdim = int(input_shape[-1])
        self.w = self.add_weight(name="W_s", shape=(hdim, self.units), initializer="glorot_uniform")
        self.b = self.add_weight(name="b_s", shape=(self.units,), initializer="zeros")
        self.u = self.add_weight(name="u_s", shape=(self.units,), initializer="glorot_uniform")

    def call(self, h):
        u = ops.tanh(ops.matmul(h, self.w) + self.b)
        return ops.sum(u * self.u, axis=-1, keepdims=True)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (1,)

    def get_config(self):
        cfg = super().get_config()
        cfg.update(units=self.units)
        return cfg


@keras.saving.register_keras_serializable(package="pipan")
class CausalFrameAttention(keras.layers.Layer):
    """Causal frame attention (eq. 12 over the frames seen so far).

    Inputs ``[x, e]``: per-frame values x (B, T, F) and logits e (B, T, 1). Output (B, T, F):
    at frame t, v_t = sum_(i<=t) alpha_i^(t) x_i with alpha^(t) = softmax(e_1..e_t).
    Computed as ratio of cumulative sums of exp(e_i - c) x_i and exp(e_i - c), c the
    per-sequence maximum of e (held constant for the gradient; it cancels in the ratio).
    This is safe because e is bounded (FrameScore), so exp(e_i - c) >= exp(-2 ||u_s||_1)
    never underflows in practice. Frames after t never influence v_t, so padding at the
    end of a sequence is harmless.

    x may be the hidden states h_t or, equivalently by linearity, the logits W_c h_t + b_c.
    """

    def call(self, inputs):
        x, e = inputs
        c = ops.stop_gradient(ops.max(e, axis=1, keepdims=True))
        w = ops.exp(e - c)  # (B, T, 1)
        num = ops.cumsum(w * x, axis=1)
        den = ops.cumsum(w, axis=1)
        return num / den

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[0])


@keras.saving.register_keras_serializable(package="pipan")
class RunningStats(keras.layers.Layer):
    """Running mean and standard deviation of each feature over the frames seen so far:
    ``(B, T, 18, 5)`` features -> ``(B, T, 144)``, row t pooling frames 1..t of each
    joint's x, y, vx, vy (:func:`pipan.skeleton.clip_stats`, which the runtime keeps in
    O(1) state per person). Causal, so post-padding never changes a real frame's row.
    The sums run over values shifted by the first frame (the shifted-data algorithm), so
    the float32 difference of squares stays accurate."""

    def call(self, x):
        shape = ops.shape(x)
        v = ops.take(x, list(STATS_CHANNELS), axis=-1)
        v = ops.reshape(v, (shape[0], shape[1], NUM_STAT_VALUES))
        d = v - v[:, :1]
        n = ops.cast(ops.arange(1, shape[1] + 1), x.dtype)[None, :, None]
        mean_d = ops.cumsum(d, axis=1) / n
        var = ops.maximum(ops.cumsum(d * d, axis=1) / n - mean_d * mean_d, 0.0)
        return ops.concatenate([mean_d + v[:, :1], ops.sqrt(var)], axis=-1)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[1], NUM_STATS)
