"""Output formats: one module per format, chosen from FORMATS. The engine never formats."""

from onnxlint.output import json_format, text

FORMATS = {"text": text, "json": json_format}
