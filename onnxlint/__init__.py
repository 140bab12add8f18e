"""onnxlint: a static analyzer for ONNX graphs bound for edge NPUs.

Kept import-light on purpose: `onnxlint --version` must not pull in onnxruntime.
"""

__version__ = "0.1.0"
