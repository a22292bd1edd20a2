"""Run each model named on the command line on 3 seeded int8 inputs (builtin kernels); save outputs.

    run_models.py [--m128] OUT.npz MODEL.tflite ...

--m128: a third of each input is -128 (the value int8 weights never take)."""
import sys, numpy as np
try:
    from tflite_runtime import interpreter as I
except ImportError:
    from ai_edge_litert import interpreter as I
args = sys.argv[1:]
m128 = args[0] == "--m128"
if m128:
    args = args[1:]
out = args[0]; res = {}
for p in args[1:]:
    it = I.Interpreter(model_path=p, num_threads=1, experimental_op_resolver_type=I.OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES); it.allocate_tensors()
    d = it.get_input_details()[0]
    for case in range(3):
        x = (np.arange(np.prod(d["shape"])) * (37 + case) % 256 - 128).astype(np.int8)
        if m128:
            x[np.arange(x.size) % 3 == 0] = -128
        it.set_tensor(d["index"], x.reshape(d["shape"])); it.invoke()
        res[f"{p.split('/')[-1]}_{case}"] = it.get_tensor(it.get_output_details()[0]["index"]).copy()
np.savez(out, **res)
