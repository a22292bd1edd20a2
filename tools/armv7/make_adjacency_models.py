"""Graph-conv-like one-op int8 models: constant adjacency times input (einsum / matmul forms)."""
import sys, numpy as np, keras
from keras import ops
from int8_model import save_int8
out = sys.argv[1]
A = np.random.default_rng(1).random((18, 18)).astype(np.float32) / 4
def conv(name, shape, fn):
    keras.utils.set_random_seed(0)
    inp = keras.Input(shape=shape, batch_size=1)
    save_int8(f"{out}/{name}.tflite", keras.Model(inp, fn(inp)), shape)
b = np.linspace(-0.5, 0.5, 64).astype(np.float32)
conv("einsum_const_a", (18, 64), lambda h: ops.einsum("mn,...nd->...md", ops.convert_to_tensor(A), h) + b)
conv("einsum_const_a_nobias", (18, 64), lambda h: ops.einsum("mn,...nd->...md", ops.convert_to_tensor(A), h))
conv("bmm_const_a", (18, 64), lambda h: ops.matmul(ops.convert_to_tensor(A[None]), h) + b)
