"""A yolov5-shaped Detect head in ONNX text: small enough for rule tests and doc examples.

Each level is a strided Conv straight from the image (standing in for backbone + head conv), then
Detect's Reshape -> Transpose -> Sigmoid -> box decode (wh squared times the anchor grid). `outputs`
picks what the model returns: "decoded" (an inference export), "training" (a training-mode export:
the permuted raw logits) or "cut" (the head convolutions, as a model cut for an NPU).
"""

from __future__ import annotations

from collections.abc import Sequence


def mini_yolo(
    nc: int, anchors: Sequence[Sequence[float]], strides=(8, 16, 32), image: int = 64, outputs: str = "decoded"
) -> str:
    na = len(anchors[0]) // 2
    no = 5 + nc
    inits, body, decoded, boxes = (
        [f"int64[3] split = {{2, 2, {nc + 1}}}", "float two = {2.0}", f"int64[3] flat = {{1, -1, {no}}}"],
        [],
        [],
        0,
    )
    for stride, level in zip(strides, anchors):
        grid = image // stride
        boxes += na * grid * grid
        pairs = ", ".join(f"{v:.1f}" for v in level)
        inits += [
            f"int64[4] wshape{stride} = {{{na * no}, 3, {stride}, {stride}}}",
            f"int64[5] shape{stride} = {{1, {na}, {no}, {grid}, {grid}}}",
            f"float[1, {na}, 1, 1, 2] anchors{stride} = {{{pairs}}}",
        ]
        body += [
            f"w{stride} = ConstantOfShape <value = float[1] {{0.01}}> (wshape{stride})",
            f"c{stride} = Conv <strides = [{stride}, {stride}]> (images, w{stride})",
        ]
        if outputs == "cut":
            continue
        body += [
            f"r{stride} = Reshape(c{stride}, shape{stride})",
            f"t{stride} = Transpose <perm = [0, 1, 3, 4, 2]> (r{stride})",
        ]
        if outputs == "decoded":
            body += [
                f"s{stride} = Sigmoid(t{stride})",
                f"xy{stride}, wh{stride}, conf{stride} = Split <axis = 4> (s{stride}, split)",
                f"d{stride} = Mul(wh{stride}, two)",
                f"p{stride} = Pow(d{stride}, two)",
                f"a{stride} = Mul(p{stride}, anchors{stride})",
                f"b{stride} = Concat <axis = 4> (xy{stride}, a{stride}, conf{stride})",
                f"o{stride} = Reshape(b{stride}, flat)",
            ]
            decoded.append(f"o{stride}")
    if outputs == "decoded":
        signature = f"float[1, {boxes}, {no}] output0"
        body.append(f"output0 = Concat <axis = 1> ({', '.join(decoded)})")
    elif outputs == "training":
        signature = ", ".join(f"float[1, {na}, {image // s}, {image // s}, {no}] t{s}" for s in strides)
        inits = [line for line in inits if line.startswith(("int64[4] wshape", "int64[5] shape"))]
    else:
        signature = ", ".join(f"float[1, {na * no}, {image // s}, {image // s}] c{s}" for s in strides)
        inits = [line for line in inits if line.startswith("int64[4] wshape")]
    return "\n".join(
        [
            '<ir_version: 8, opset_import: ["" : 13]>',
            f"detector (float[1, 3, {image}, {image}] images) => ({signature})",
            "<" + ", ".join(inits) + ">",
            "{",
            *(f"  {line}" for line in body),
            "}",
        ]
    )


COCO = [[10, 13, 16, 30, 33, 23], [30, 61, 62, 45, 59, 119], [116, 90, 156, 198, 373, 326]]
