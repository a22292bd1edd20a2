"""Host (TensorFlow): keep ops [A, B) of a .tflite as a model of its own (`sub_graph.py M A B OUT`);
its inputs are the non-constant tensors those ops read and nothing among them makes."""
import sys, numpy as np, flatbuffers
from tensorflow.lite.python import schema_py_generated as s
m = s.ModelT.InitFromObj(s.Model.GetRootAsModel(open(sys.argv[1], "rb").read(), 0))
g = m.subgraphs[0]; a, b = int(sys.argv[2]), int(sys.argv[3])
ops = g.operators[a:b]
produced = {t for op in ops for t in op.outputs}
ins = []
for op in ops:
    for t in op.inputs:
        if t >= 0 and t not in produced and m.buffers[g.tensors[t].buffer].data is None and t not in ins:
            ins.append(t)
g.operators = ops; g.inputs = np.array(ins, np.int32); g.outputs = np.array(list(ops[-1].outputs), np.int32)
bb = flatbuffers.Builder(0); bb.Finish(m.Pack(bb), file_identifier=b"TFL3")
open(sys.argv[4], "wb").write(bb.Output()); print("inputs", ins)
