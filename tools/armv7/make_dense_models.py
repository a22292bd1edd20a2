"""One-op int8 Dense models (per-channel or per-tensor, with or without a bias) for the armv7 bisection."""
import sys, numpy as np, tensorflow as tf, keras
out = sys.argv[1]
def conv(name, shape, layer_fn, per_channel=True):
    keras.utils.set_random_seed(0)
    inp = keras.Input(shape=shape, batch_size=1)
    model = keras.Model(inp, layer_fn(inp))
    rng = np.random.default_rng(0)
    def rep():
        for _ in range(8):
            yield [rng.standard_normal((1,) + shape).astype(np.float32)]
    c = tf.lite.TFLiteConverter.from_keras_model(model)
    c.optimizations = [tf.lite.Optimize.DEFAULT]
    c.representative_dataset = rep
    c.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    c.inference_input_type = tf.int8; c.inference_output_type = tf.int8
    if not per_channel:
        c._experimental_disable_per_channel_quantization_for_dense_layers = True
    open(f"{out}/{name}.tflite", "wb").write(c.convert())
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
