"""The one conversion the armv7 bisection scripts share: a tiny Keras model with one input
of ``shape`` (batch 1) -> full-int8 TFLite (int8 in and out, builtin int8 ops), calibrated
on 8 seeded standard-normal inputs. ``per_channel=False`` quantises Dense weights per
tensor."""
import numpy as np
import tensorflow as tf


def save_int8(path, model, shape, per_channel=True):
    rng = np.random.default_rng(0)

    def rep():
        for _ in range(8):
            yield [rng.standard_normal((1,) + tuple(shape)).astype(np.float32)]

    c = tf.lite.TFLiteConverter.from_keras_model(model)
    c.optimizations = [tf.lite.Optimize.DEFAULT]
    c.representative_dataset = rep
    c.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    c.inference_input_type = tf.int8
    c.inference_output_type = tf.int8
    if not per_channel:
        c._experimental_disable_per_channel_quantization_for_dense_layers = True
    open(path, "wb").write(c.convert())
