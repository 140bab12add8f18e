"""onnxlint: a static analyzer for ONNX graphs bound for edge NPUs.

Kept import-light on purpose: `onnxlint --version` must not pull in onnxruntime. The Python API,
`onnxlint.lint()` and `onnxlint.inspect()` (see onnxlint.api), is imported on first use.
"""

from typing import Any

__version__ = "0.1.0"
__all__ = ["__version__", "inspect", "lint"]


def __getattr__(name: str) -> Any:
    if name in ("lint", "inspect"):
        from onnxlint import api

        return getattr(api, name)
    raise AttributeError(f"module 'onnxlint' has no attribute {name!r}")
