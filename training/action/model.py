"""The action model builder: human graph network + pose-attention GRU (architecture note,
sections 2-3), as a pure function of keyword hyperparameters.

Input ``features`` (B, T, 18, 5) from :func:`pipan.skeleton.clip_features`, post-padded
to a common T. Outputs, per frame t (prediction "till the current frame"):

- ``probs`` (B, T, C): softmax(W_c v_t + b_c), v_t the causal frame attention over
  h_1..h_t (or softmax(W_c h_t + b_c) with ``frame_attention=False``);
- ``joint_probs`` (B, T, C): the auxiliary per-frame classifier softmax(W_j s_t + b_j) on
  the joint-attended feature (the second term of eq. 16).

Every path through the model is causal (graph layers act per frame, the GRU and the frame
attention look back only), so post-padding never changes the outputs at real frames; the
padded frames are masked out of the loss by zero sample weights (see ``train.py``).
"""
from __future__ import annotations

from typing import Optional

import keras
from keras import layers

from pipan.skeleton import NUM_FEATURES, NUM_JOINTS, adjacency

from .layers import (CausalFrameAttention, FrameScore, GraphConv, JointAttention, JointDense,
                     NodeMean, RunningStats, SoftAssignPool)


def build_action_model(num_classes: int, *, hidden: int = 128, gcn_units: int = 64,
                       gcn_layers: int = 2, clusters: int = 5, attention_units: int = 64,
                       dropout: float = 0.3, input_dropout: float = 0.0, input_norm: bool = True,
                       joint_norm: bool = False, node_bias: bool = False,
                       concat_nodes: bool = False, joint_embed: int = 0,
                       pool_mean: bool = False, stats_head: bool = False,
                       use_graph: bool = True,
                       use_joint_attention: bool = True, frame_attention: bool = True,
                       lambda_pose: float = 1.0, lambda_joints: float = 0.3,
                       max_frames: Optional[int] = None) -> keras.Model:
    """Build the (uncompiled) sequence model; see the module docstring for its outputs.

    ``use_graph=False`` replaces graph convolutions and pooling with per-joint dense layers
    (no mixing between joints; attention then runs over the 18 joints), the "without graph
    network" ablation. ``use_joint_attention=False`` averages the nodes instead of
    attending. ``frame_attention=False`` classifies the last hidden state h_t.
    ``lambda_pose`` and ``lambda_joints`` weight the two loss terms (eq. 16); they are
    kept here so that the builder's kwargs in config.json describe the whole recipe.
    ``dropout`` applies to the joint-attended feature s_t and the hidden state h_t in
    training. ``input_norm`` learns a per-channel scale and offset of the features (batch
    normalisation; velocities are ~50x smaller than positions). ``joint_norm`` makes that
    scale and offset per joint and channel (ST-GCN's data batch norm): the graph layers
    share their weights over joints, and structurally alike joints (a wrist and an ankle
    are both two limbs from the neck) are otherwise told apart only by their values.
    ``node_bias`` gives the graph convolutions on the skeleton (and the pooling's) a bias per
    joint instead of a shared one, for the same reason. ``concat_nodes`` makes the joint
    attention concatenate the weighted node embeddings alpha_k h_k (K x gcn_units wide)
    instead of summing them, so the GRU still knows which body part each came from.
    ``joint_embed`` > 0 puts a dense layer with its own weights per joint (that many
    units) before the graph network: an input embedding that keeps each joint's identity.
    ``pool_mean`` makes each pooled cluster a weighted mean of joints, not a sum (smaller
    values, a finer int8 scale). ``input_dropout`` drops whole
    joints (all 5 channels) per frame in training, after the input normalisation.
    ``stats_head`` adds a linear classifier of the running mean and standard deviation of
    each joint's position and velocity over the frames seen so far (``RunningStats``,
    :func:`pipan.skeleton.clip_stats`) whose logits are added to the network's before the
    softmax: a product of the two experts' probabilities. Its layer ("stats_head") is
    not trainable: ``training.action.stats_head`` fits it as a logistic regression after
    the network has trained (docs/action.md, session 7).
    ``max_frames`` only fixes the time axis (None = any length).
    """
    if num_classes < 2:
        raise ValueError(f"need at least 2 classes, got {num_classes}")
    adj = adjacency()
    x_in = keras.Input((max_frames, NUM_JOINTS, NUM_FEATURES), name="features")
    x = x_in
    if input_norm and joint_norm:
        x = layers.Reshape((-1, NUM_JOINTS * NUM_FEATURES))(x)
        x = layers.BatchNormalization(axis=-1, momentum=0.9, name="input_norm")(x)
        x = layers.Reshape((-1, NUM_JOINTS, NUM_FEATURES))(x)
    elif input_norm:
        x = layers.BatchNormalization(axis=-1, momentum=0.9, name="input_norm")(x)
    if input_dropout:
        # Identity at inference, so the step model (export.py) need not replay it.
        x = layers.Dropout(input_dropout, noise_shape=(None, None, NUM_JOINTS, 1),
                           name="input_dropout")(x)
    if joint_embed:
        x = JointDense(joint_embed, name="joint_embed")(x)
    if use_graph:
        for i in range(gcn_layers):
            x = GraphConv(gcn_units, adj, node_bias=node_bias, name=f"gcn{i + 1}")(x)
        x, a_pooled = SoftAssignPool(clusters, gcn_units, adj, node_bias=node_bias,
                                     mean=pool_mean, name="pool")(x)
        x = GraphConv(gcn_units, name="gcn_pooled")([x, a_pooled])
    else:
        for i in range(gcn_layers + 1):
            x = layers.Dense(gcn_units, activation="relu", name=f"joint_dense{i + 1}")(x)
    if use_joint_attention:
        s = JointAttention(attention_units, concat=concat_nodes, name="joint_attention")(x)
    else:
        s = NodeMean(name="node_mean")(x)
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
