"""Emulated root (tflite-runtime) or host: invoke a model once on seeded random inputs, builtin
kernels (`invoke_once.py M`) or with XNNPACK (`invoke_once.py M xnn`); prints the outputs."""
import sys, numpy as np
from tflite_runtime.interpreter import Interpreter
path = sys.argv[1]
xnn = len(sys.argv) > 2 and sys.argv[2] == "xnn"
kw = {} if xnn else {"experimental_op_resolver_type": __import__("tflite_runtime.interpreter", fromlist=["x"]).OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES}
it = Interpreter(model_path=path, num_threads=1, **kw)
it.allocate_tensors()
rng = np.random.default_rng(0)
for d in it.get_input_details():
    dt = d["dtype"]
    if dt == np.int8:
        x = rng.integers(-128, 128, d["shape"], dtype=np.int8)
    else:
        x = rng.standard_normal(d["shape"]).astype(dt)
    it.set_tensor(d["index"], x)
print("invoking", path, flush=True)
it.invoke()
for d in it.get_output_details():
    o = it.get_tensor(d["index"])
    print("OK", path, d["name"], o.shape, o.ravel()[:4], flush=True)
