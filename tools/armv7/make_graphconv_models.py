"""Two-op GraphConv-like int8 models: h W (Dense with bias, so no bias-less FC crash), then the
constant adjacency product as einsum (-> TRANSPOSE + FC with in-graph weights) or as matmul
(-> BATCH_MATMUL). Usage: make_graphconv_models.py OUT_DIR."""
import sys, numpy as np, tensorflow as tf, keras
from keras import ops
out = sys.argv[1]
# Mostly zeros like a normalised skeleton adjacency: its int8 form is full of -128 (zero point).
rng_a = np.random.default_rng(1)
A = (rng_a.random((18, 18)) * (rng_a.random((18, 18)) < 0.2) / 2 + np.eye(18) / 2).astype(np.float32)
B = np.linspace(-0.5, 0.5, 64).astype(np.float32)
def conv(name, fn):
    keras.utils.set_random_seed(0)
    inp = keras.Input(shape=(18, 5), batch_size=1)
    hw = keras.layers.Dense(64, bias_initializer="random_normal")(inp)
    model = keras.Model(inp, ops.relu(fn(hw) + B))
    rng = np.random.default_rng(0)
    def rep():
        for _ in range(8):
            yield [rng.standard_normal((1, 18, 5)).astype(np.float32)]
    c = tf.lite.TFLiteConverter.from_keras_model(model)
    c.optimizations = [tf.lite.Optimize.DEFAULT]
    c.representative_dataset = rep
    c.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    c.inference_input_type = tf.int8; c.inference_output_type = tf.int8
    open(f"{out}/{name}.tflite", "wb").write(c.convert())
conv("gc_einsum", lambda hw: ops.einsum("mn,...nd->...md", ops.convert_to_tensor(A), hw))
conv("gc_matmul", lambda hw: ops.matmul(ops.convert_to_tensor(A[None]), hw))
# The adjacency as the FC's constant weights (symmetric int8, never -128): (A (hW))^T = (hW)^T A^T.
conv("gc_weightsA", lambda hw: ops.transpose(ops.matmul(ops.transpose(hw, (0, 2, 1)), ops.convert_to_tensor(A.T)), (0, 2, 1)))
