"""The pose net: a separable-conv backbone and OpenPose-style two-branch refinement stages.

Architecture (``../shared/docs/architecture.md`` section 1):

- input 224x224x3 RGB in [0, 1];
- layer 1: standard 3x3 convolution, ``stem_filters`` (24) filters, stride 2 (112x112);
- layers 2-12: eleven 3x3 depthwise separable convolutions (depthwise + BN + ReLU,
  pointwise 1x1 + BN + ReLU), two of them stride 2, so the backbone output is 28x28 (stride
  8) with ``backbone_widths[-1]`` (384) channels;
- stages 1..``stages``: two branches each, S (19 maps: 18 joints + background) and L (38
  maps: 19 limbs x (dx, dy)), every convolution a 3x3 depthwise separable one. Stage 1 reads
  the backbone features, stage k > 1 the backbone features concatenated with stage k-1's S
  and L. A branch is ``stage_depth`` separable convolutions of ``stage_width`` channels with
  BN + ReLU, then a separable convolution to the output maps with a bias and no activation
  (the maps are regressed with L2).

Channel order of the maps: ``pipan.skeleton.COCO18`` joints then background; limb i of
``pipan.skeleton.LIMBS`` owns PAF channels 2i (unit dx) and 2i+1 (unit dy).

Every depthwise kernel starts from ``he_normal``: Keras' default (glorot uniform over a
3x3x1 fan) gives depthwise outputs so much smaller than the pointwise ones that int8
calibration loses them.
"""
from __future__ import annotations

from typing import List, Sequence

from pipan.skeleton import NUM_JOINTS, NUM_LIMBS

HEATMAP_CHANNELS = NUM_JOINTS + 1  # 18 joints + background
PAF_CHANNELS = 2 * NUM_LIMBS  # 19 limbs x (dx, dy)
STRIDE = 8  # input pixels per map cell

#: Layers 2-12 (widths and strides) of the full-size backbone.
BACKBONE_WIDTHS = (48, 64, 64, 128, 128, 256, 256, 384, 384, 384, 384)
BACKBONE_STRIDES = (1, 2, 1, 2, 1, 1, 1, 1, 1, 1, 1)


def _sep_conv(x, filters: int, *, stride: int = 1, name: str, activate: bool = True):
    """3x3 depthwise (+BN+ReLU) then 1x1 pointwise (+BN+ReLU, or bias only when
    ``activate`` is False, for the output maps)."""
    import keras
    L = keras.layers
    x = L.DepthwiseConv2D(3, strides=stride, padding="same", use_bias=False,
                          depthwise_initializer="he_normal", name=f"{name}_dw")(x)
    x = L.BatchNormalization(name=f"{name}_dw_bn")(x)
    x = L.ReLU(name=f"{name}_dw_relu")(x)
    if not activate:
        # small initial maps: the targets are mostly 0, and glorot-sized outputs would
        # spend the first hundreds of steps just shrinking
        return L.Conv2D(filters, 1, padding="same", use_bias=True,
                        kernel_initializer=keras.initializers.RandomNormal(stddev=0.01),
                        name=f"{name}_pw")(x)
    x = L.Conv2D(filters, 1, padding="same", use_bias=False,
                 kernel_initializer="he_normal", name=f"{name}_pw")(x)
    x = L.BatchNormalization(name=f"{name}_pw_bn")(x)
    return L.ReLU(name=f"{name}_pw_relu")(x)


def _branch(x, *, out_channels: int, width: int, depth: int, name: str):
    for i in range(depth):
        x = _sep_conv(x, width, name=f"{name}_{i + 1}")
    return _sep_conv(x, out_channels, name=f"{name}_out", activate=False)


def build_pose_net(*, stages: int = 2, input_size: int = 224, stem_filters: int = 24,
                   backbone_widths: Sequence[int] = BACKBONE_WIDTHS,
                   backbone_strides: Sequence[int] = BACKBONE_STRIDES,
                   stage_width: int = 128, stage_depth: int = 4,
                   batch_size: int | None = None, inference: bool = False,
                   seed: int | None = None):
    """Build the pose net (a pure function of its keyword arguments).

    Training form (``inference=False``): input ``image``; outputs, in order,
    ``stage1_heatmaps``, ``stage1_pafs``, ..., ``stage{stages}_pafs`` (every stage, for
    intermediate supervision), each (B, 28, 28, 19) / (B, 28, 28, 38) at 224 input.
    Inference form (``inference=True``): only the last stage's maps, as outputs named
    ``heatmaps`` and ``pafs``. Layer names do not depend on ``stages`` or ``inference``, so
    weights move between the forms by name. ``seed`` fixes the initial weights.
    """
    import keras
    L = keras.layers
    if len(backbone_widths) != 11 or len(backbone_strides) != 11:
        raise ValueError("the backbone has 11 separable layers (2-12): give 11 widths and "
                         "11 strides")
    if stages < 1:
        raise ValueError(f"stages must be at least 1, got {stages}")
    total_stride = 2
    for s in backbone_strides:
        total_stride *= s
    if total_stride != STRIDE:
        raise ValueError(f"the backbone's total stride must be {STRIDE}, got {total_stride}")
    if seed is not None:
        keras.utils.set_random_seed(seed)

    image = keras.Input((input_size, input_size, 3), batch_size=batch_size, name="image")
    x = L.Conv2D(stem_filters, 3, strides=2, padding="same", use_bias=False,
                 kernel_initializer="he_normal", name="conv1")(image)
    x = L.BatchNormalization(name="conv1_bn")(x)
    x = L.ReLU(name="conv1_relu")(x)
    for i, (w, s) in enumerate(zip(backbone_widths, backbone_strides)):
        x = _sep_conv(x, int(w), stride=int(s), name=f"conv{i + 2}")
    features = x

    outputs: List = []
    inp = features
    for k in range(1, stages + 1):
        s_map = _branch(inp, out_channels=HEATMAP_CHANNELS, width=stage_width,
                        depth=stage_depth, name=f"stage{k}_S")
        l_map = _branch(inp, out_channels=PAF_CHANNELS, width=stage_width,
                        depth=stage_depth, name=f"stage{k}_L")
        outputs += [s_map, l_map]
        if k < stages:
            inp = L.Concatenate(name=f"stage{k + 1}_input")([features, s_map, l_map])

    if inference:
        heat = L.Activation("linear", name="heatmaps")(outputs[-2])
        paf = L.Activation("linear", name="pafs")(outputs[-1])
        return keras.Model(image, {"heatmaps": heat, "pafs": paf}, name="pose_net")
    named = []
    for k in range(1, stages + 1):
        named.append(L.Activation("linear", name=f"stage{k}_heatmaps")(outputs[2 * k - 2]))
        named.append(L.Activation("linear", name=f"stage{k}_pafs")(outputs[2 * k - 1]))
    return keras.Model(image, named, name="pose_net")
