"""Graph-conv-like one-op int8 models: constant adjacency times input (einsum / matmul forms)."""
import sys, numpy as np, tensorflow as tf, keras
from keras import ops
out = sys.argv[1]
A = np.random.default_rng(1).random((18, 18)).astype(np.float32) / 4
def conv(name, shape, fn):
    keras.utils.set_random_seed(0)
    inp = keras.Input(shape=shape, batch_size=1)
    model = keras.Model(inp, fn(inp))
    rng = np.random.default_rng(0)
    def rep():
        for _ in range(8):
            yield [rng.standard_normal((1,) + shape).astype(np.float32)]
    c = tf.lite.TFLiteConverter.from_keras_model(model)
    c.optimizations = [tf.lite.Optimize.DEFAULT]
    c.representative_dataset = rep
    c.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    c.inference_input_type = tf.int8; c.inference_output_type = tf.int8
    open(f"{out}/{name}.tflite", "wb").write(c.convert())
b = np.linspace(-0.5, 0.5, 64).astype(np.float32)
conv("einsum_const_a", (18, 64), lambda h: ops.einsum("mn,...nd->...md", ops.convert_to_tensor(A), h) + b)
conv("einsum_const_a_nobias", (18, 64), lambda h: ops.einsum("mn,...nd->...md", ops.convert_to_tensor(A), h))
conv("bmm_const_a", (18, 64), lambda h: ops.matmul(ops.convert_to_tensor(A[None]), h) + b)
