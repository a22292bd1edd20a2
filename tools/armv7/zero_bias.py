"""Give every int8 FULLY_CONNECTED without a bias an explicit all-zero int32 bias
(converters.fixups.add_zero_biases, which `pipan convert` applies itself; this is for
models converted before it). Usage: zero_bias.py IN.tflite OUT.tflite (needs TensorFlow)."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from converters.fixups import add_zero_biases  # noqa: E402
from pipan.fileio import atomic_write_bytes  # noqa: E402

data, n = add_zero_biases(Path(sys.argv[1]).read_bytes())
atomic_write_bytes(sys.argv[2], data)
print("zero biases added:", n)
