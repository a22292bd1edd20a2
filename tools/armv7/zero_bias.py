"""Give every int8 FULLY_CONNECTED without a bias an explicit all-zero int32 bias."""
import sys, numpy as np, flatbuffers
from tensorflow.lite.python import schema_py_generated as s
m = s.ModelT.InitFromObj(s.Model.GetRootAsModel(open(sys.argv[1], "rb").read(), 0))
n = 0
for g in m.subgraphs:
    for op in g.operators:
        oc = m.operatorCodes[op.opcodeIndex]
        if max(oc.builtinCode, oc.deprecatedBuiltinCode) != s.BuiltinOperator.FULLY_CONNECTED:
            continue
        ins = list(op.inputs)
        if len(ins) > 2 and ins[2] >= 0:
            continue
        x, w = g.tensors[ins[0]], g.tensors[ins[1]]
        if x.type != s.TensorType.INT8 or w.type != s.TensorType.INT8:
            continue
        units = int(w.shape[0])
        buf = s.BufferT(); buf.data = np.zeros(units, np.int32).view(np.uint8)
        m.buffers.append(buf)
        t = s.TensorT(); t.shape = np.array([units], np.int32); t.type = s.TensorType.INT32
        t.buffer = len(m.buffers) - 1; t.name = (w.name.decode() if isinstance(w.name, bytes) else w.name) + "/zero_bias"
        q = s.QuantizationParametersT()
        ws = np.asarray(w.quantization.scale, np.float32)
        q.scale = (np.broadcast_to(ws, (units,)) * np.float32(x.quantization.scale[0])).astype(np.float32)
        q.zeroPoint = np.zeros(units, np.int64); q.quantizedDimension = 0
        t.quantization = q
        g.tensors.append(t)
        op.inputs = np.array(ins[:2] + [len(g.tensors) - 1], np.int32)
        n += 1
b = flatbuffers.Builder(0); b.Finish(m.Pack(b), file_identifier=b"TFL3")
open(sys.argv[2], "wb").write(b.Output()); print("zero biases added:", n)
