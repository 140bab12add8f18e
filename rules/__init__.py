"""onnxlint's knowledge base: one doc page per rule under docs/ (shipped as onnxlint.rules)."""
