"""onnxlint: a static analyzer for ONNX graphs bound for edge NPUs.

Kept import-light on purpose: `onnxlint --version` must not pull in onnxruntime. The public names below (the Python
API of onnxlint.api, and what a plugin rule needs) are imported on first use; their modules may move, these names
stay.
"""

from importlib import import_module
from typing import Any

__version__ = "0.1.0"

_PUBLIC = {
    "lint": "onnxlint.api",
    "inspect": "onnxlint.api",
    "ModelLoadError": "onnxlint.core.model",
    "Rule": "onnxlint.core.registry",
    "ModelContext": "onnxlint.core.registry",
    "Finding": "onnxlint.core.finding",
    "Location": "onnxlint.core.finding",
    "Severity": "onnxlint.core.finding",
}
__all__ = ["__version__", *_PUBLIC]


def __getattr__(name: str) -> Any:
    if name in _PUBLIC:
        return getattr(import_module(_PUBLIC[name]), name)
    raise AttributeError(f"module 'onnxlint' has no attribute {name!r}")
