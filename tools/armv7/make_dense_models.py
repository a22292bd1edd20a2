"""One-op int8 Dense models (per-channel or per-tensor, with or without a bias) for the armv7 bisection."""
import sys, keras
from int8_model import save_int8
out = sys.argv[1]
def conv(name, shape, layer_fn, per_channel=True):
    keras.utils.set_random_seed(0)
    inp = keras.Input(shape=shape, batch_size=1)
    save_int8(f"{out}/{name}.tflite", keras.Model(inp, layer_fn(inp)), shape, per_channel)
D = keras.layers.Dense
conv("fc_r18_d5_nobias", (18, 5), lambda x: D(64, use_bias=False)(x))
conv("fc_r18_d5_bias", (18, 5), lambda x: D(64, use_bias=True)(x))
conv("fc_r1_d5_nobias", (5,), lambda x: D(64, use_bias=False)(x))
conv("fc_r1_d5_bias", (5,), lambda x: D(64, use_bias=True)(x))
conv("fc_r18_d8_nobias", (18, 8), lambda x: D(64, use_bias=False)(x))
conv("fc_r18_d64_nobias", (18, 64), lambda x: D(64, use_bias=False)(x))
conv("fc_r18_d64_bias", (18, 64), lambda x: D(64, use_bias=True)(x))
conv("fc_r1_d64_nobias", (64,), lambda x: D(64, use_bias=False)(x))
conv("fc_r18_d5_nobias_pt", (18, 5), lambda x: D(64, use_bias=False)(x), per_channel=False)
conv("fc_r18_d5_bias_pt", (18, 5), lambda x: D(64, use_bias=True)(x), per_channel=False)
