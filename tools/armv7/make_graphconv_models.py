"""Two-op GraphConv-like int8 models: h W (Dense with bias, so no bias-less FC crash), then the
constant adjacency product as einsum (-> TRANSPOSE + FC with in-graph weights) or as matmul
(-> BATCH_MATMUL). Usage: make_graphconv_models.py OUT_DIR."""
import sys, numpy as np, keras
from keras import ops
from int8_model import save_int8
out = sys.argv[1]
# Mostly zeros like a normalised skeleton adjacency: its int8 form is full of -128 (zero point).
rng_a = np.random.default_rng(1)
A = (rng_a.random((18, 18)) * (rng_a.random((18, 18)) < 0.2) / 2 + np.eye(18) / 2).astype(np.float32)
B = np.linspace(-0.5, 0.5, 64).astype(np.float32)
def conv(name, fn):
    keras.utils.set_random_seed(0)
    inp = keras.Input(shape=(18, 5), batch_size=1)
    hw = keras.layers.Dense(64, bias_initializer="random_normal")(inp)
    save_int8(f"{out}/{name}.tflite", keras.Model(inp, ops.relu(fn(hw) + B)), (18, 5))
conv("gc_einsum", lambda hw: ops.einsum("mn,...nd->...md", ops.convert_to_tensor(A), hw))
conv("gc_matmul", lambda hw: ops.matmul(ops.convert_to_tensor(A[None]), hw))
# The adjacency as the FC's constant weights (symmetric int8, never -128): (A (hW))^T = (hW)^T A^T.
conv("gc_weightsA", lambda hw: ops.transpose(ops.matmul(ops.transpose(hw, (0, 2, 1)), ops.convert_to_tensor(A.T)), (0, 2, 1)))
