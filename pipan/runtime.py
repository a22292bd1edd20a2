"""Running TFLite models without TensorFlow: interpreter loading, signature runners with
int8 (de)quantisation read from the model, and pipan's metadata embedded in the model.

The interpreter comes from ``ai-edge-litert`` (LiteRT, XNNPACK on), falling back to
``tflite-runtime`` (32-bit Raspberry Pi OS, where LiteRT has no wheel).

Metadata: a pipan model carries a JSON object in the TFLite flatbuffer's ``metadata``
list under the name ``"pipan"`` (written by ``converters.metadata``). It is parsed here
with a few lines of flatbuffer reading, so the Pi needs no extra package.
"""
from __future__ import annotations

import json
import os
import struct
from pathlib import Path
from typing import Any, Dict, Mapping, Optional, Tuple, Union

import numpy as np

from .errors import MissingDependencyError, ModelError
from .logs import quiet_native_stderr

METADATA_NAME = "pipan"
PathLike = Union[str, os.PathLike]


def default_threads() -> int:
    """Interpreter threads when none are given: ``PIPAN_THREADS`` if set, else the number of
    cores this process may use, at most 4 (a Pi 4/5 has 4; more rarely helps small nets)."""
    env = os.environ.get("PIPAN_THREADS")
    if env:
        try:
            n = int(env)
        except ValueError:
            raise ModelError(f"PIPAN_THREADS must be a whole number, got {env!r}") from None
        if n < 1:
            raise ModelError(f"PIPAN_THREADS must be at least 1, got {n}")
        return n
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cores = os.cpu_count() or 1
    return max(1, min(4, cores))


def interpreter_class():
    """The Interpreter class of the best runtime installed."""
    try:
        from ai_edge_litert.interpreter import Interpreter  # type: ignore
        return Interpreter
    except ImportError:
        pass
    try:
        from tflite_runtime.interpreter import Interpreter  # type: ignore
        return Interpreter
    except ImportError:
        raise MissingDependencyError(
            "no TFLite interpreter: pip install ai-edge-litert "
            "(32-bit Raspberry Pi OS: pip install -r requirements-pi-armv7.txt)") from None


def runtime_name() -> str:
    """'ai-edge-litert X.Y.Z' or 'tflite-runtime X.Y.Z', whichever interpreter_class uses."""
    cls = interpreter_class()
    from importlib import metadata as md
    for dist in ("ai-edge-litert", "tflite-runtime"):
        if cls.__module__.startswith(dist.replace("-", "_")):
            try:
                return f"{dist} {md.version(dist)}"
            except md.PackageNotFoundError:
                return dist
    return cls.__module__


# --- metadata ---------------------------------------------------------------------------

def _u32(buf: bytes, pos: int) -> int:
    return struct.unpack_from("<I", buf, pos)[0]


def _field(buf: bytes, table: int, index: int) -> Optional[int]:
    """Absolute position of field ``index`` of the flatbuffer table at ``table``, or None."""
    vtable = table - struct.unpack_from("<i", buf, table)[0]
    vsize = struct.unpack_from("<H", buf, vtable)[0]
    slot = 4 + 2 * index
    if slot >= vsize:
        return None
    off = struct.unpack_from("<H", buf, vtable + slot)[0]
    return table + off if off else None


def _deref(buf: bytes, pos: int) -> int:
    return pos + _u32(buf, pos)


def read_metadata_bytes(model: bytes) -> Optional[Dict[str, Any]]:
    """pipan's metadata dict from a TFLite model's bytes; None if it has none.

    TFLite schema: Model.buffers is field 4 (Buffer.data field 0, or offset/size fields
    1-2 for models over 2 GB), Model.metadata is field 6 (Metadata.name field 0,
    Metadata.buffer field 1).
    """
    buf = bytes(model)
    try:
        if len(buf) < 8 or buf[4:8] != b"TFL3":
            raise ModelError("not a TFLite model (no TFL3 identifier)")
        root = _u32(buf, 0)
        meta_f, bufs_f = _field(buf, root, 6), _field(buf, root, 4)
        if meta_f is None or bufs_f is None:
            return None
        metas, bufs = _deref(buf, meta_f), _deref(buf, bufs_f)
        for i in range(_u32(buf, metas)):
            entry = _deref(buf, metas + 4 + 4 * i)
            name_f = _field(buf, entry, 0)
            if name_f is None:
                continue
            s = _deref(buf, name_f)
            name = buf[s + 4:s + 4 + _u32(buf, s)].decode("utf-8", "replace")
            if name != METADATA_NAME:
                continue
            bidx_f = _field(buf, entry, 1)
            bidx = _u32(buf, bidx_f) if bidx_f is not None else 0
            b = _deref(buf, bufs + 4 + 4 * bidx)
            data_f = _field(buf, b, 0)
            if data_f is not None:
                v = _deref(buf, data_f)
                raw = buf[v + 4:v + 4 + _u32(buf, v)]
            else:
                off_f, size_f = _field(buf, b, 1), _field(buf, b, 2)
                if off_f is None or size_f is None:
                    return None
                off, size = struct.unpack_from("<Q", buf, off_f)[0], \
                    struct.unpack_from("<Q", buf, size_f)[0]
                raw = buf[off:off + size]
            return json.loads(raw.decode("utf-8"))
    except ModelError:
        raise
    except (struct.error, IndexError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ModelError(f"corrupt TFLite model or metadata ({type(e).__name__}: {e})") \
            from None
    return None


# --- the model's own checksum -----------------------------------------------------------
# A model written by `pipan convert` records in its metadata the SHA-256 of its own file,
# computed with that value replaced by 64 zeros (the value cannot hash itself). The key and
# value sit in the metadata JSON, compact with sorted keys, as '"model_sha256":"<hex>"';
# being 64 hex digits, that byte string occurs nowhere else in a real model.

MODEL_HASH_KEY = "model_sha256"
HASH_PLACEHOLDER = "0" * 64


def _hash_field(value: str) -> bytes:
    return f'"{MODEL_HASH_KEY}":"{value}"'.encode("ascii")


def model_digest(model: bytes, recorded: str) -> str:
    """The SHA-256 (hex) of ``model`` with its recorded hash ``recorded`` blanked to the
    placeholder. ModelError unless the recorded field occurs exactly once."""
    import hashlib
    field = _hash_field(recorded)
    if model.count(field) != 1:
        raise ModelError("corrupt TFLite model (its recorded checksum is not where the "
                         "metadata says)")
    return hashlib.sha256(model.replace(field, _hash_field(HASH_PLACEHOLDER))).hexdigest()


def seal_model_bytes(model: bytes) -> bytes:
    """``model`` (whose metadata holds ``model_sha256`` = the placeholder) with the
    placeholder replaced by the file's digest (same length: nothing else moves)."""
    digest = model_digest(model, HASH_PLACEHOLDER)
    return model.replace(_hash_field(HASH_PLACEHOLDER), _hash_field(digest))


def check_model_digest(model: bytes, metadata: Mapping[str, Any]) -> None:
    """ModelError if ``metadata`` records a checksum that ``model`` does not match."""
    recorded = metadata.get(MODEL_HASH_KEY)
    if recorded is None:
        return
    if not (isinstance(recorded, str) and len(recorded) == 64
            and all(c in "0123456789abcdef" for c in recorded)):
        raise ModelError(f"corrupt TFLite model (its recorded checksum {recorded!r} is "
                         f"not a SHA-256)")
    if model_digest(model, recorded) != recorded:
        raise ModelError("damaged or altered: the file does not match the SHA-256 its "
                         "metadata records")


def read_metadata(path: PathLike) -> Optional[Dict[str, Any]]:
    """pipan's metadata of the model file at ``path`` (None if it carries none)."""
    return read_metadata_bytes(_read_model_file(path))


def _read_model_file(path: PathLike) -> bytes:
    p = Path(path)
    if p.is_dir():
        raise ModelError(f"{p}: is a directory, not a model file (.tflite)")
    if not p.is_file():
        raise ModelError(f"{p}: no such model file")
    try:
        return p.read_bytes()
    except OSError as e:
        raise ModelError(f"{p}: cannot read ({e.strerror})") from None


# --- running ----------------------------------------------------------------------------

def _first_line(e: BaseException) -> str:
    text = str(e).strip()
    return text.splitlines()[0] if text else type(e).__name__


def _a(word: str) -> str:
    """'a pose', 'an action'."""
    return f"{'an' if str(word)[:1] in 'aeiou' else 'a'} {word}"


class TFLiteModel:
    """A TFLite model run through one named signature, with float inputs and outputs.

    Inputs are quantised with the scale and zero point the model states for each tensor,
    outputs dequantised likewise; float tensors pass through. ``expected_kind`` makes
    loading fail (ModelError) unless the model's pipan metadata says that kind.
    """

    def __init__(self, model: Union[PathLike, bytes], threads: Optional[int] = None,
                 expected_kind: Optional[str] = None, signature: Optional[str] = None):
        if isinstance(model, (bytes, bytearray)):
            data, self.name = bytes(model), "<bytes>"
        else:
            data, self.name = _read_model_file(model), str(model)
        try:
            self.metadata: Dict[str, Any] = read_metadata_bytes(data) or {}
            check_model_digest(data, self.metadata)
        except ModelError as e:  # say which file: a command may load several models
            raise ModelError(f"{self.name}: {e}") from None
        if expected_kind is not None:
            kind = self.metadata.get("kind")
            if kind is None:
                raise ModelError(f"{self.name}: not a pipan model (no pipan metadata); "
                                 f"expected {_a(expected_kind)} model")
            if kind != expected_kind:
                raise ModelError(f"{self.name}: is {_a(kind)} model, expected "
                                 f"{_a(expected_kind)} model")
        Interpreter = interpreter_class()
        self.threads = threads or default_threads()
        # Creating the interpreter and its first run print native chatter (the XNNPACK
        # delegate's INFO line) on fd 2: hidden unless verbose (pipan.logs).
        with quiet_native_stderr():
            try:
                self.interpreter = Interpreter(model_content=data, num_threads=self.threads)
            except Exception as e:  # the interpreter raises ValueError/RuntimeError
                raise ModelError(f"{self.name}: the interpreter cannot load it "
                                 f"({_first_line(e)})") from None
            self._open_signature(signature)
            self._run_once()

    def _open_signature(self, signature: Optional[str]) -> None:
        sigs = self.interpreter.get_signature_list()
        if not sigs:
            raise ModelError(f"{self.name}: the model has no signature to run")
        if signature is None:
            signature = next(iter(sigs))
        elif signature not in sigs:
            raise ModelError(f"{self.name}: no signature {signature!r} (has {', '.join(sigs)})")
        self.signature = signature
        try:
            self.runner = self.interpreter.get_signature_runner(signature)
            self.input_details = self.runner.get_input_details()
            self.output_details = self.runner.get_output_details()
        except Exception as e:
            raise ModelError(f"{self.name}: the interpreter cannot prepare it "
                             f"({_first_line(e)})") from None
        # (dtype, scale, zero point) per tensor, read once: re-reading the details on
        # every call cost more than running a small model (the action step, per person).
        self._qin = {k: _qtuple(d) for k, d in self.input_details.items()}
        self._qout = {k: _qtuple(d) for k, d in self.output_details.items()}

    def _run_once(self) -> None:
        """Allocate and run the model once on zeros, so a damaged model fails here, as a
        ModelError, rather than at the first frame."""
        zeros = {k: np.zeros([int(d) for d in det["shape"]], np.dtype(det["dtype"]))
                 for k, det in self.input_details.items()}
        try:
            self.runner(**zeros)
        except Exception as e:
            raise ModelError(f"{self.name}: the model does not run ({_first_line(e)})") \
                from None

    @property
    def input_names(self) -> tuple:
        return tuple(sorted(self.input_details))

    @property
    def output_names(self) -> tuple:
        return tuple(sorted(self.output_details))

    def input_quantization(self, name: str) -> Tuple[np.dtype, float, int]:
        """(dtype, scale, zero point) of input ``name``; scale 0.0 when not quantised.
        An input given in that dtype is fed as it is."""
        return self._qin[name]

    def input_shape(self, name: str) -> tuple:
        return tuple(int(d) for d in self.input_details[name]["shape"])

    def __call__(self, **inputs: np.ndarray) -> Dict[str, np.ndarray]:
        missing = set(self.input_details) - set(inputs)
        if missing:
            raise ModelError(f"{self.name}: missing input(s) {', '.join(sorted(missing))}")
        feed = {k: _quantize(v, *self._qin[k]) for k, v in inputs.items()}
        try:
            out = self.runner(**feed)
        except (RuntimeError, ValueError) as e:
            raise ModelError(f"{self.name}: the model failed to run ({_first_line(e)})") \
                from None
        return {k: _dequantize(v, *self._qout[k]) for k, v in out.items()}


def _qtuple(detail: Mapping[str, Any]):
    """(dtype, scale, zero point) of a tensor; scale 0.0 when it is not quantised."""
    scales, zps = _qparams(detail)
    scale = float(scales[0]) if scales.size else 0.0
    zp = int(zps[0]) if zps.size else 0
    return np.dtype(detail["dtype"]), scale, zp


def _quantize(x: np.ndarray, dtype: np.dtype, scale: float, zp: int) -> np.ndarray:
    """``quantize`` with the tensor's parameters already read."""
    x = np.asarray(x)
    if dtype.kind == "f":
        return x.astype(dtype, copy=False)
    if x.dtype == dtype:
        return x
    if scale == 0:
        return x.astype(dtype)
    info = np.iinfo(dtype)
    q = np.round(x.astype(np.float32) / np.float32(scale)) + zp
    return np.clip(q, info.min, info.max).astype(dtype)


def _dequantize(x: np.ndarray, dtype: np.dtype, scale: float, zp: int) -> np.ndarray:
    """``dequantize`` with the tensor's parameters already read."""
    x = np.asarray(x)
    if x.dtype.kind == "f":
        return x.astype(np.float32, copy=False)
    if scale == 0:
        return x.astype(np.float32)
    return ((x.astype(np.float32) - np.float32(zp)) * np.float32(scale)).astype(np.float32)


def _qparams(detail: Mapping[str, Any]):
    q = detail.get("quantization_parameters") or {}
    scales = np.asarray(q.get("scales", []), np.float32)
    zps = np.asarray(q.get("zero_points", []), np.int64)
    if scales.size == 0:
        scale, zp = detail.get("quantization", (0.0, 0))
        scales, zps = np.float32([scale]), np.int64([zp])
    return scales, zps


def quantize(x: np.ndarray, detail: Mapping[str, Any]) -> np.ndarray:
    """Float array -> the tensor's dtype, using its own scale and zero point."""
    dtype = np.dtype(detail["dtype"])
    x = np.asarray(x)
    if dtype.kind == "f":
        return x.astype(dtype, copy=False)
    if x.dtype == dtype:
        return x
    scales, zps = _qparams(detail)
    if scales.size == 0 or scales[0] == 0:
        return x.astype(dtype)
    info = np.iinfo(dtype)
    q = np.round(x.astype(np.float32) / scales[0]) + zps[0]
    return np.clip(q, info.min, info.max).astype(dtype)


def dequantize(x: np.ndarray, detail: Mapping[str, Any]) -> np.ndarray:
    """Tensor values -> float32, using the tensor's own scale and zero point."""
    x = np.asarray(x)
    if x.dtype.kind == "f":
        return x.astype(np.float32, copy=False)
    scales, zps = _qparams(detail)
    if scales.size == 0 or scales[0] == 0:
        return x.astype(np.float32)
    return ((x.astype(np.float32) - zps[0]) * scales[0]).astype(np.float32)
