"""A learned action head (``pipan learn``): a linear classifier on the base action model's
per-person descriptor, stored in its own file and run on top of the base model.

The descriptor (``pipan.action.StreamingAction.descriptor``) is the base model's attended
hidden state v (what its own classifier reads) and the running mean and standard deviation
of each joint's position and velocity. The head standardises it, z = (x - mean) / std, and
gives

- ``p_head = softmax(z W + b)`` over the taught labels;
- an open-set gate ``g``: the distance from z to the nearest taught class's centroid c_k
  (the mean of its standardised examples), measured where the head tells classes apart,
  its logits (``dist = min_k |(z - c_k) W| / sqrt(K)``; the raw descriptor's hundreds of
  dimensions mostly measure noise), against the head's threshold t:
  ``g = sigmoid((t - dist) / (GATE_WIDTH t))``, near 1 well inside the threshold and near
  0 well outside it (no threshold: g = 1).

Its probabilities over its labels are, without ``keep``, ``g p_head`` for the taught labels
and ``1 - g`` for ``"unknown"``; with ``keep``, the base model's labels take the place of
"unknown": ``(1 - g) p_base`` for the base labels and ``g p_head`` for the taught ones (a
label in both gets the sum). Either way they sum to 1, and what the head does not know is
left to the base model (or called unknown).

File format: a ``.npz`` (read with ``allow_pickle=False``, never unpickled) holding the
arrays ``mean``, ``std`` (D,), ``weights`` (D, K), ``bias`` (K,), ``centroids`` (K, D) and
``pipan_head``, a JSON string: ``format``, ``kind`` ("action-head"), ``labels``, ``keep``,
``threshold``, ``base`` ({``path``: null for the bundled model, else the path given to
``pipan learn``; ``sha256``; ``labels``}) and ``taught`` ({``counts`` per label, ``date``,
``sources``, ``cv_accuracy``}).
"""
from __future__ import annotations

import json
import os
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Hashable, Optional, Sequence, Tuple, Union

import numpy as np

from .action import stream_clip
from .errors import ModelError, PipanError
from .fileio import atomic_write, file_sha256, write_npz
from .vocabulary import UNKNOWN

PathLike = Union[str, os.PathLike]

HEAD_KIND = "action-head"
HEAD_FORMAT = 1
#: Width of the open-set gate's transition, as a fraction of the threshold: at 5% past the
#: threshold the gate is 1/(1+e) ~ 0.27, at 20% past it 0.02.
GATE_WIDTH = 0.05
_ARRAYS = ("mean", "std", "weights", "bias", "centroids")


@dataclass(frozen=True)
class Head:
    """A fitted head. ``labels``: the taught labels (K); arrays as in the module docstring;
    ``threshold``: the open-set distance (None: never "unknown"); ``keep``: add the taught
    labels to the base model's instead of replacing them; ``info``: the rest of the JSON
    (``base``, ``taught``)."""

    labels: Tuple[str, ...]
    mean: np.ndarray
    std: np.ndarray
    weights: np.ndarray
    bias: np.ndarray
    centroids: np.ndarray
    threshold: Optional[float]
    keep: bool = False
    info: Dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        K, D = len(self.labels), self.mean.shape[0]
        shapes = {"mean": (D,), "std": (D,), "weights": (D, K), "bias": (K,),
                  "centroids": (K, D)}
        for name, shape in shapes.items():
            a = getattr(self, name)
            if a.shape != shape:
                raise ModelError(f"head array {name!r} has shape {a.shape}, expected {shape}")
            if not np.isfinite(a).all():
                raise ModelError(f"head array {name!r} holds NaN or infinity")
        if (self.std <= 0).any():
            raise ModelError("head array 'std' must be positive")
        if self.threshold is not None and not self.threshold > 0:
            raise ModelError(f"the head's threshold must be positive, got {self.threshold}")
        if K < 2 or len(set(self.labels)) != K:
            raise ModelError("a head needs two or more distinct labels")

    @property
    def dim(self) -> int:
        return int(self.mean.shape[0])

    def standardise(self, x: np.ndarray) -> np.ndarray:
        return (np.asarray(x, np.float64) - self.mean) / self.std

    def head_probabilities(self, x: np.ndarray) -> np.ndarray:
        """``(..., K)`` softmax over the taught labels of descriptors ``x (..., D)``."""
        z = self.standardise(x) @ self.weights + self.bias
        z = np.exp(z - z.max(-1, keepdims=True))
        return z / z.sum(-1, keepdims=True)

    def distance(self, x: np.ndarray) -> np.ndarray:
        """``(...)`` distance of descriptors to the nearest taught class centroid, measured
        in the head's logit space (root mean square over the K logits)."""
        z = self.standardise(x) @ self.weights
        c = self.centroids @ self.weights
        d = np.sqrt(((z[..., None, :] - c) ** 2).mean(-1))
        return d.min(-1)

    def gate(self, x: np.ndarray) -> np.ndarray:
        """``(...)`` in (0, 1]: how far inside the threshold the descriptors lie."""
        if self.threshold is None:
            return np.ones(np.shape(x)[:-1])
        t = self.threshold
        arg = np.clip((t - self.distance(x)) / (GATE_WIDTH * t), -60.0, 60.0)
        return 1.0 / (1.0 + np.exp(-arg))

    def output_labels(self, base_labels: Sequence[str]) -> Tuple[str, ...]:
        """Labels of :meth:`probabilities`: base labels then new taught ones (``keep``),
        else the taught labels then "unknown"."""
        if self.keep:
            base = tuple(map(str, base_labels))
            return base + tuple(s for s in self.labels if s not in base)
        return self.labels + (UNKNOWN,)

    def probabilities(self, x: np.ndarray, base_probs: Optional[np.ndarray] = None,
                      base_labels: Sequence[str] = ()) -> np.ndarray:
        """Probabilities over :meth:`output_labels` for one descriptor ``x (D,)`` (and,
        with ``keep``, the base model's probabilities ``(C,)`` over ``base_labels``)."""
        p = self.head_probabilities(x)
        g = float(self.gate(x))
        if not self.keep:
            return np.append(g * p, 1.0 - g).astype(np.float32)
        out_labels = self.output_labels(base_labels)
        out = np.zeros(len(out_labels), np.float64)
        out[:len(base_labels)] = (1.0 - g) * np.asarray(base_probs, np.float64)
        index = {s: i for i, s in enumerate(out_labels)}
        for k, s in enumerate(self.labels):
            out[index[s]] += g * p[k]
        return out.astype(np.float32)

    def metadata(self) -> Dict[str, Any]:
        return dict(self.info, format=HEAD_FORMAT, kind=HEAD_KIND, labels=list(self.labels),
                    keep=self.keep, threshold=self.threshold)


# --- the file ----------------------------------------------------------------------------

def is_head_file(path: PathLike) -> bool:
    """Whether ``path`` is a zip archive (an .npz) with a ``pipan_head`` member: told by
    the file's content, not its name."""
    p = Path(path)
    try:
        with open(p, "rb") as f:
            if f.read(4) != b"PK\x03\x04":
                return False
        with zipfile.ZipFile(p) as z:
            return "pipan_head.npy" in z.namelist()
    except (OSError, zipfile.BadZipFile):
        return False


def save_head(head: Head, path: PathLike) -> None:
    """Write ``head`` atomically (temp file, then rename)."""
    arrays = {name: np.asarray(getattr(head, name), np.float64) for name in _ARRAYS}
    arrays["pipan_head"] = np.array(json.dumps(head.metadata(), sort_keys=True))
    atomic_write(path, lambda f: write_npz(f, arrays))


def load_head(path: PathLike) -> Head:
    """Read a head file, refusing (ModelError, naming the file) anything malformed."""
    p = Path(path)
    try:
        with np.load(p, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
        meta = json.loads(str(arrays.pop("pipan_head")))
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as e:
        raise ModelError(f"{p}: not a readable pipan head ({type(e).__name__}: {e})") from None
    try:
        if meta.get("kind") != HEAD_KIND:
            raise ModelError(f"is not an action head (kind {meta.get('kind')!r})")
        if meta.get("format") != HEAD_FORMAT:
            raise ModelError(f"head format {meta.get('format')!r} is not supported "
                             f"(this pipan reads format {HEAD_FORMAT})")
        missing = [k for k in _ARRAYS if k not in arrays]
        if missing:
            raise ModelError(f"missing array(s) {', '.join(missing)}")
        info = {k: v for k, v in meta.items()
                if k not in ("format", "kind", "labels", "keep", "threshold")}
        threshold = meta.get("threshold")
        return Head(labels=tuple(str(s) for s in meta.get("labels") or ()),
                    **{k: np.asarray(arrays[k], np.float64) for k in _ARRAYS},
                    threshold=None if threshold is None else float(threshold),
                    keep=bool(meta.get("keep", False)), info=info)
    except ModelError as e:
        raise ModelError(f"{p}: {e}") from None
    except (TypeError, AttributeError, ValueError) as e:
        raise ModelError(f"{p}: malformed head metadata ({e})") from None


def base_model_path(head: Head, head_path: PathLike) -> Path:
    """Where the head's base model is: the bundled model, or the path it names (relative
    to the head file's folder when relative)."""
    from .action import DEFAULT_MODEL

    named = (head.info.get("base") or {}).get("path")
    if named is None:
        return DEFAULT_MODEL
    p = Path(named)
    return p if p.is_absolute() else Path(head_path).resolve().parent / p


def check_base(head: Head, head_path: PathLike, base_path: PathLike) -> None:
    """Refuse (ModelError) a base model whose checksum is not the one the head was taught
    on: its descriptor would mean something else."""
    want = (head.info.get("base") or {}).get("sha256")
    if not Path(base_path).is_file():
        raise ModelError(f"{head_path}: its base model {base_path} is missing")
    have = file_sha256(base_path)
    if want != have:
        raise ModelError(f"{head_path}: taught on a base model with checksum "
                         f"{str(want)[:12]}, but {base_path} has {have[:12]}; teach it "
                         f"again with `pipan learn` on this base model")


# --- running -----------------------------------------------------------------------------

class HeadRecognizer:
    """The runtime action API (``labels``, ``update``, ``forget``, ``reset``, ``run_clip``)
    of a learned head over its base recognizer (a StreamingAction made with
    ``embed=True``)."""

    def __init__(self, head: Head, base):
        if not getattr(base, "embed", False):
            raise PipanError("the base recognizer must be made with embed=True")
        self.head = head
        self.base = base
        self.labels: Tuple[str, ...] = head.output_labels(base.labels)

    @property
    def num_classes(self) -> int:
        return len(self.labels)

    def update(self, track_id: Hashable, keypoints: np.ndarray,
               time: Optional[float] = None) -> np.ndarray:
        p_base = self.base.update(track_id, keypoints, time=time)
        x = self.base.descriptor(track_id)
        if x.shape != (self.head.dim,):
            raise ModelError(f"the head reads {self.head.dim} numbers per person but the "
                             f"base model gives {x.shape[0]}")
        return self.head.probabilities(x, p_base, self.base.labels)

    def forget(self, track_id: Hashable) -> None:
        self.base.forget(track_id)

    def reset(self) -> None:
        self.base.reset()

    @property
    def tracks(self):
        return self.base.tracks

    def run_clip(self, keypoints: np.ndarray, track_id: Hashable = "__clip__") -> np.ndarray:
        """Stream a clip ``(T, 18, 3)`` as one fresh person: ``(T, len(labels))``."""
        return stream_clip(self, keypoints, track_id)


def load_head_recognizer(path: PathLike, threads: Optional[int] = None,
                         decay: float = 1.0) -> HeadRecognizer:
    """A head file and its base model (checked by checksum), ready to run."""
    from .action import ActionRecognizer

    head = load_head(path)
    base_path = base_model_path(head, path)
    check_base(head, path, base_path)
    base = ActionRecognizer(base_path, threads=threads, decay=decay, embed=True)
    return HeadRecognizer(head, base)


def describe(head: Head) -> str:
    """What ``pipan info`` prints about a head: what it was taught from."""
    taught, base = head.info.get("taught") or {}, head.info.get("base") or {}
    counts = taught.get("counts") or {}
    cv = taught.get("cv_accuracy") or {}
    lines = [f"labels: {', '.join(head.labels)}"
             + (" (added to the base model's)" if head.keep else " (replace the base "
                                                                 "model's; plus 'unknown')"),
             f"taught: {taught.get('date', '?')}, "
             f"{sum(counts.values())} examples from {', '.join(taught.get('sources') or [])}"]
    for s in head.labels:
        acc = cv.get(s)
        n = counts.get(s, "?")
        lines.append(f"  {s}: {n} example{'' if n == 1 else 's'}"
                     + (f", cross-validated accuracy {acc:.2f}" if acc is not None else ""))
    if "mirrored" in taught:
        lines.append(f"mirrored examples: {'taught' if taught['mirrored'] else 'not taught'}"
                     f" ({taught.get('mirror_choice', '?')})")
    lines.append("threshold: " + ("none (never 'unknown')" if head.threshold is None
                                  else f"{head.threshold:.4g}"))
    lines.append(f"base model: {base.get('path') or 'the bundled action model'} "
                 f"(sha256 {base.get('sha256')})")
    if base.get("labels"):
        lines.append(f"base labels: {', '.join(base['labels'])}")
    return "\n".join(lines)


def head_json(head: Head) -> Dict[str, Any]:
    """``pipan info --json`` of a head."""
    return {"metadata": head.metadata(), "descriptor_size": head.dim}


__all__ = ["GATE_WIDTH", "Head", "HeadRecognizer", "UNKNOWN", "base_model_path",
           "check_base", "describe", "head_json", "is_head_file", "load_head",
           "load_head_recognizer", "save_head"]
