"""Host (TensorFlow): list the ops of a .tflite (`slice_ops.py M list`), or keep the first K ops
(`slice_ops.py M K OUT`, outputs = the last kept op's outputs). For the armv7 bisection, docs/pi-check.md."""
import sys
from tensorflow.lite.python import schema_py_generated as s
import flatbuffers
buf = open(sys.argv[1], "rb").read()
m = s.ModelT.InitFromObj(s.Model.GetRootAsModel(buf, 0))
g = m.subgraphs[0]
names = {v: k for k, v in s.BuiltinOperator.__dict__.items() if not k.startswith("_")}
def opname(op):
    oc = m.operatorCodes[op.opcodeIndex]
    return names.get(max(oc.builtinCode, oc.deprecatedBuiltinCode))
if sys.argv[2] == "list":
    for i, op in enumerate(g.operators):
        ins = [(t, g.tensors[t].shape.tolist() if t >= 0 and g.tensors[t].shape is not None else None) for t in op.inputs]
        outs = [(t, g.tensors[t].shape.tolist()) for t in op.outputs]
        print(i, opname(op), ins, "->", outs)
    print("inputs", g.inputs, "outputs", g.outputs, "subgraphs", len(m.subgraphs))
    sys.exit()
k = int(sys.argv[2])
g.operators = g.operators[:k]
g.outputs = list(g.operators[-1].outputs)
b = flatbuffers.Builder(0)
b.Finish(m.Pack(b), file_identifier=b"TFL3")
open(sys.argv[3], "wb").write(b.Output())
