"""The action model builder: human graph network + pose-attention GRU (architecture note,
sections 2-3), as a pure function of keyword hyperparameters.

Input ``features`` (B, T, 18, 5) from :func:`pipan.skeleton.clip_features`, post-padded
to a common T. Outputs, per frame t (prediction "till the current frame"):

- ``probs`` (B, T, C): softmax(W_c v_t + b_c), v_t the causal frame attention over
  h_1..h_t (plus the statistics head's logits, with ``stats_head``);
- ``joint_probs`` (B, T, C): the auxiliary per-frame classifier softmax(W_j s_t + b_j) on
  the joint-attended feature (the second term of eq. 16).

Every path through the model is causal (graph layers act per frame, the GRU and the frame
attention look back only), so post-padding never changes the outputs at real frames; the
padded frames are masked out of the loss by zero sample weights (see ``train.py``).

The model is assembled from three blocks (``frame_input``, ``graph_network``,
``sequence_head``) so that the ablations of ``benchmarks/action_jhmdb.py`` can swap one
block for another without the builder carrying a switch for each.
"""
from __future__ import annotations

from typing import Optional

import keras
from keras import layers

from pipan.skeleton import NUM_FEATURES, NUM_JOINTS, adjacency

from .layers import (CausalFrameAttention, FrameScore, GraphConv, JointAttention, JointDense,
                     RunningStats, SoftAssignPool)


#: Builder options of earlier versions, measured and dropped (CHANGELOG.md), with the value
#: that left the network as it is now. A saved config.json holding one of them at that
#: value describes a model this code builds; any other value does not. (``lambda_joints``,
#: once a builder option too, is a training setting now: whatever its value, it leaves
#: the saved network as it is.)
RETIRED_OPTIONS = {"input_norm": True, "joint_norm": False, "input_dropout": 0.0,
                   "node_bias": False, "pool_mean": False, "use_graph": True,
                   "use_joint_attention": True, "frame_attention": True, "lambda_pose": 1.0}


def check_builder_config(builder: dict) -> None:
    """Raise a one-line ValueError when a saved model's builder options describe a
    variant this code no longer builds (``RETIRED_OPTIONS`` at another value)."""
    for key, default in RETIRED_OPTIONS.items():
        if key in builder and builder[key] != default:
            raise ValueError(f"built with {key}={builder[key]!r}, a variant this version no "
                             f"longer builds (measured and dropped: CHANGELOG.md)")


def frame_input(max_frames: Optional[int] = None):
    """The ``features`` input and its learnt per-channel batch normalisation (velocities
    are ~50x smaller than positions): ``(input, normalised)``."""
    x_in = keras.Input((max_frames, NUM_JOINTS, NUM_FEATURES), name="features")
    return x_in, layers.BatchNormalization(axis=-1, momentum=0.9, name="input_norm")(x_in)


def graph_network(x, *, joint_embed: int, gcn_units: int, gcn_layers: int, clusters: int):
    """Per-frame nodes ``(..., K, gcn_units)``: an optional dense layer with its own
    weights per joint (``joint_embed`` units, 0 = none), ``gcn_layers`` graph
    convolutions on the skeleton, soft-assignment pooling to ``clusters`` nodes and one
    graph convolution on the pooled graph."""
    if joint_embed:
        x = JointDense(joint_embed, name="joint_embed")(x)
    adj = adjacency()
    for i in range(gcn_layers):
        x = GraphConv(gcn_units, adj, name=f"gcn{i + 1}")(x)
    x, a_pooled = SoftAssignPool(clusters, gcn_units, adj, name="pool")(x)
    return GraphConv(gcn_units, name="gcn_pooled")([x, a_pooled])


def sequence_head(x_in, s, num_classes: int, *, hidden: int, attention_units: int,
                  dropout: float, stats_head: bool, frame_attention: bool = True) -> keras.Model:
    """The model from the joint-attended per-frame feature ``s`` (B, T, F) on: the
    auxiliary classifier, GRU, causal frame attention over the per-frame logits and the
    optional statistics head. ``frame_attention=False`` (an ablation; such a model has no
    streaming step form) classifies the last hidden state h_t instead."""
    joint_probs = layers.Activation("softmax", name="joint_probs")(
        layers.Dense(num_classes, name="joint_classifier")(s))
    s = layers.Dropout(dropout, name="dropout")(s)
    h = layers.GRU(hidden, return_sequences=True, name="gru")(s)
    h_drop = layers.Dropout(dropout, name="dropout_h")(h)  # identity at inference
    logits = layers.Dense(num_classes, name="classifier")(h_drop)
    if frame_attention:
        e = FrameScore(attention_units, name="frame_score")(h_drop)
        # softmax(W_c v_t + b_c) = softmax(sum alpha_i (W_c h_i + b_c)): attend the logits.
        logits = CausalFrameAttention(name="frame_attention")([logits, e])
    if stats_head:
        head = layers.Dense(num_classes, name="stats_head", trainable=False)
        logits = layers.Add(name="with_stats")([logits, head(RunningStats(name="running_stats")(x_in))])
    probs = layers.Activation("softmax", name="probs")(logits)
    return keras.Model(x_in, {"probs": probs, "joint_probs": joint_probs},
                       name="pose_attention_network")


def build_action_model(num_classes: int, *, hidden: int = 128, gcn_units: int = 64,
                       gcn_layers: int = 2, clusters: int = 5, attention_units: int = 64,
                       dropout: float = 0.3, joint_embed: int = 0, concat_nodes: bool = False,
                       stats_head: bool = False,
                       max_frames: Optional[int] = None) -> keras.Model:
    """Build the (uncompiled) sequence model; see the module docstring for its outputs.

    The defaults are the paper's per-frame network (the bundled model's form); the
    training default (``training.action.train.DEFAULT_BUILDER``) adds ``joint_embed=64``,
    ``concat_nodes=True`` and ``stats_head=True`` (docs/action.md).

    ``hidden``: GRU state size H. ``gcn_units``, ``gcn_layers``, ``clusters``: the graph
    network (see :func:`graph_network`). ``attention_units``: width of the joint and frame
    attention. ``dropout``: on the joint-attended feature s_t and on h_t, in training.
    ``joint_embed`` > 0: a dense layer with its own weights per joint before the graph, so
    that each joint keeps its identity (the graph layers share their weights over joints).
    ``concat_nodes``: the joint attention concatenates the weighted node embeddings
    alpha_k h_k (K x gcn_units wide) instead of summing them (eq. 15), so the GRU still
    knows which body part each came from. ``stats_head``: a linear classifier of the
    running mean and standard deviation of each joint's position and velocity
    (``RunningStats``, :func:`pipan.skeleton.clip_stats`) whose logits are added to the
    network's (a product of the two experts' probabilities); its layer is not trainable:
    ``training.action.stats_head`` fits it after the network. ``max_frames`` only fixes
    the time axis (None = any length).
    """
    if num_classes < 2:
        raise ValueError(f"need at least 2 classes, got {num_classes}")
    x_in, x = frame_input(max_frames)
    nodes = graph_network(x, joint_embed=joint_embed, gcn_units=gcn_units,
                          gcn_layers=gcn_layers, clusters=clusters)
    s = JointAttention(attention_units, concat=concat_nodes, name="joint_attention")(nodes)
    return sequence_head(x_in, s, num_classes, hidden=hidden, attention_units=attention_units,
                         dropout=dropout, stats_head=stats_head)
