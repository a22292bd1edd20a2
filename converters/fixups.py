"""Edits of a converted int8 TFLite model that make it run correctly on more runtimes.

``add_zero_biases``: TensorFlow's converter drops an all-zero or absent bias from an int8
FULLY_CONNECTED (a Keras ``matmul`` with no ``+ b``, e.g. GraphConv's ``H W``). With
per-channel weights and no bias tensor, tflite-runtime 2.14's armv7 (32-bit Raspberry Pi
OS) kernel crashes (SIGSEGV) as soon as the input has more than one row
(docs/pi-check.md, "armv7"). An explicit all-zero int32 bias, quantised as the int8 spec
asks (scale = input scale x weight scale per output channel, zero point 0), takes the
kernel's ordinary path and computes exactly the same numbers everywhere else (0 int8
steps of difference under ai-edge-litert and tflite-runtime on x86, measured).
"""
from __future__ import annotations

from typing import Tuple

import numpy as np

from .metadata import _read, _schema, _serialise


def _name(tensor) -> str:
    name = tensor.name
    return name.decode() if isinstance(name, bytes) else str(name or "")


def add_zero_biases(model: bytes) -> Tuple[bytes, int]:
    """``model`` with an explicit all-zero int32 bias on every int8 FULLY_CONNECTED that
    has none; returns (model bytes, number of biases added). A model with none to add is
    returned unchanged (same bytes). Metadata, signatures and every other tensor are kept.
    """
    schema = _schema()
    obj = _read(model)
    obj.buffers = list(obj.buffers or [])
    added = 0
    for graph in obj.subgraphs or []:
        graph.tensors = list(graph.tensors or [])
        for op in graph.operators or []:
            code = obj.operatorCodes[op.opcodeIndex]
            if max(code.builtinCode, code.deprecatedBuiltinCode) != \
                    schema.BuiltinOperator.FULLY_CONNECTED:
                continue
            ins = [int(i) for i in op.inputs]
            if len(ins) > 2 and ins[2] >= 0:
                continue  # has a bias
            x, w = graph.tensors[ins[0]], graph.tensors[ins[1]]
            if x.type != schema.TensorType.INT8 or w.type != schema.TensorType.INT8:
                continue
            if x.quantization is None or w.quantization is None or \
                    x.quantization.scale is None or w.quantization.scale is None:
                continue
            units = int(w.shape[0])  # FC weights are (units, depth)
            w_scale = np.broadcast_to(np.asarray(w.quantization.scale, np.float32), (units,))
            buf = schema.BufferT()
            buf.data = np.zeros(units, np.int32).view(np.uint8)
            obj.buffers.append(buf)
            quant = schema.QuantizationParametersT()
            quant.scale = (w_scale * np.float32(x.quantization.scale[0])).astype(np.float32)
            quant.zeroPoint = np.zeros(units, np.int64)
            quant.quantizedDimension = 0
            bias = schema.TensorT()
            bias.shape = np.array([units], np.int32)
            bias.type = schema.TensorType.INT32
            bias.buffer = len(obj.buffers) - 1
            bias.name = _name(w) + "/zero_bias"
            bias.quantization = quant
            graph.tensors.append(bias)
            op.inputs = np.array(ins[:2] + [len(graph.tensors) - 1], np.int32)
            added += 1
    if not added:
        return model, 0
    return _serialise(obj), added
