"""Embedding pipan's metadata (a JSON object) into a TFLite model, and listing its ops.

The JSON goes into the flatbuffer's ``metadata`` list under the name ``"pipan"``, its UTF-8
bytes in a new buffer (docs/design.md). ``pipan.runtime.read_metadata_bytes`` reads it back
on the Pi without TensorFlow. The edit goes through TensorFlow's own flatbuffer object API
(``schema_py_generated``), which re-serialises the whole model; every buffer's data is
placed on a 16-byte boundary (the schema's ``force_align: 16`` for ``Buffer.data``, which the
generated Python code ignores and the converter's own output does not always honour), so
kernels that read weights in place see them aligned.
"""
from __future__ import annotations

import json
from typing import Any, Dict, List, Mapping, NamedTuple, Sequence

import numpy as np

from pipan.errors import ModelError
from pipan.runtime import METADATA_NAME

BUFFER_ALIGN = 16  # bytes; the TFLite schema's force_align for Buffer.data


def _schema():
    from tensorflow.lite.python import schema_py_generated as schema  # heavy: lazy
    return schema


def metadata_json(metadata: Mapping[str, Any]) -> bytes:
    """The canonical bytes stored for ``metadata``: sorted keys, compact, UTF-8."""
    try:
        text = json.dumps(dict(metadata), sort_keys=True, separators=(",", ":"),
                          ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as e:
        raise ModelError(f"metadata is not plain JSON ({e})") from None
    return text.encode("utf-8")


def _pack_aligned(builder, data: np.ndarray) -> int:
    """A [ubyte] vector whose first byte sits on a BUFFER_ALIGN boundary of the file."""
    data = np.ascontiguousarray(data, np.uint8).reshape(-1)
    # A flatbuffer is built back to front and finished with the 4-byte root offset and the
    # 4-byte file identifier, both multiples of the alignment we ask for here, so aligning
    # the vector's data in the builder aligns it in the file.
    builder.StartVector(1, len(data), BUFFER_ALIGN)
    builder.head = builder.head - len(data)
    builder.Bytes[builder.head:builder.head + len(data)] = data.tobytes()
    return builder.EndVector()


def _serialise(model_obj) -> bytes:
    import flatbuffers
    schema = _schema()

    class AlignedBuffer(schema.BufferT):
        def Pack(self, builder):  # noqa: N802 (flatbuffers' name)
            data = None
            if self.data is not None:
                data = _pack_aligned(builder, np.asarray(self.data, np.uint8))
            schema.BufferStart(builder)
            if data is not None:
                schema.BufferAddData(builder, data)
            schema.BufferAddOffset(builder, self.offset)
            schema.BufferAddSize(builder, self.size)
            return schema.BufferEnd(builder)

    for i, b in enumerate(model_obj.buffers or []):
        nb = AlignedBuffer()
        nb.data, nb.offset, nb.size = b.data, b.offset, b.size
        model_obj.buffers[i] = nb
    builder = flatbuffers.Builder(1024)
    builder.Finish(model_obj.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def _read(model: bytes):
    schema = _schema()
    buf = bytearray(model)
    if len(buf) < 8 or buf[4:8] != b"TFL3":
        raise ModelError("not a TFLite model (no TFL3 identifier)")
    obj = schema.ModelT.InitFromObj(schema.Model.GetRootAsModel(buf, 0))
    for b in obj.buffers or []:
        if b.offset:  # a model over 2 GB keeps buffers after the flatbuffer: bring them in
            b.data = np.frombuffer(bytes(buf[b.offset:b.offset + b.size]), np.uint8)
            b.offset = b.size = 0
    return obj


def embed_metadata(model: bytes, metadata: Mapping[str, Any]) -> bytes:
    """``model`` (TFLite bytes) with ``metadata`` stored as JSON under the name "pipan".

    An existing "pipan" entry is replaced (its buffer reused); every other metadata entry,
    buffer, subgraph and signature is kept. Deterministic: same inputs, same bytes.
    """
    schema = _schema()
    obj = _read(model)
    payload = np.frombuffer(metadata_json(metadata), np.uint8)
    obj.buffers = list(obj.buffers or [])
    obj.metadata = list(obj.metadata or [])
    entry = next((m for m in obj.metadata
                  if (m.name.decode() if isinstance(m.name, bytes) else m.name)
                  == METADATA_NAME), None)
    if entry is None:
        buffer = schema.BufferT()
        obj.buffers.append(buffer)
        entry = schema.MetadataT()
        entry.name, entry.buffer = METADATA_NAME, len(obj.buffers) - 1
        obj.metadata.append(entry)
    buffer = obj.buffers[entry.buffer]
    buffer.data, buffer.offset, buffer.size = payload, 0, 0
    return _serialise(obj)


class OpInfo(NamedTuple):
    """One operator of a TFLite model: its name and the dtypes of its tensors."""

    subgraph: int
    index: int
    op: str
    input_types: tuple
    output_types: tuple


_FLOAT_TYPES = {"FLOAT32", "FLOAT16", "FLOAT64", "BFLOAT16"}


def list_ops(model: bytes) -> List[OpInfo]:
    """Every operator of ``model`` with its input and output tensor dtypes (names)."""
    schema = _schema()
    obj = _read(model)
    op_names = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
    type_names = {v: k for k, v in vars(schema.TensorType).items() if not k.startswith("_")}
    out = []
    for s, sg in enumerate(obj.subgraphs or []):
        for i, op in enumerate(sg.operators or []):
            code = obj.operatorCodes[op.opcodeIndex]
            builtin = max(code.builtinCode, code.deprecatedBuiltinCode)
            name = op_names.get(builtin, str(builtin))
            if name == "CUSTOM":
                name = f"CUSTOM:{code.customCode.decode() if code.customCode else '?'}"

            def types(idx):
                return tuple(type_names.get(sg.tensors[t].type, str(sg.tensors[t].type))
                             for t in (idx if idx is not None else []) if t >= 0)
            out.append(OpInfo(s, i, name, types(op.inputs), types(op.outputs)))
    return out


def float_ops(model: bytes) -> List[OpInfo]:
    """Operators that compute in floating point.

    The boundary conversions of a float-I/O model (QUANTIZE from float at the inputs,
    DEQUANTIZE to float at the outputs) move data in and out of int8 and are not counted.
    """
    found = []
    for op in list_ops(model):
        if op.op == "QUANTIZE" and not (set(op.output_types) & _FLOAT_TYPES):
            continue
        if op.op == "DEQUANTIZE" and not (set(op.input_types) & _FLOAT_TYPES):
            continue
        if (set(op.input_types) | set(op.output_types)) & _FLOAT_TYPES:
            found.append(op)
    return found


def summarise_ops(ops: Sequence[OpInfo]) -> Dict[str, int]:
    """{op name: count}, sorted by name."""
    counts: Dict[str, int] = {}
    for op in ops:
        counts[op.op] = counts.get(op.op, 0) + 1
    return dict(sorted(counts.items()))
