"""Quantization risk: int8 accuracy predicted in onnxruntime before the toolkit build (`onnxlint quant`)."""
