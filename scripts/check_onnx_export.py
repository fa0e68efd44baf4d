#!/usr/bin/env python3
"""Checks an ONNX file exported by Glimpse with onnxruntime (CPU), for tests/onnx_export.rs.

    python scripts/check_onnx_export.py DIR

DIR holds model.onnx, classes.json (the class names Glimpse trained, in order), backbone.txt (the
backbone it was trained on: lite0, lite1 or lite2) and, per photo, NAME.input.f32 (the
[1, 3, S, S] tensor Glimpse feeds its model, S the backbone's input size) and
NAME.probabilities.f32 (Glimpse's own probabilities for it). Fails unless the model's metadata
names the same classes and backbone, and every photo gets the same top-1 class with every
probability within 1e-3.
"""

import json
import pathlib
import sys

import numpy as np
import onnxruntime

TOLERANCE = 1e-3


def main():
    folder = pathlib.Path(sys.argv[1])
    session = onnxruntime.InferenceSession(str(folder / "model.onnx"), providers=["CPUExecutionProvider"])
    metadata = session.get_modelmeta().custom_metadata_map
    classes = json.loads((folder / "classes.json").read_text())
    if json.loads(metadata["classes"]) != classes:
        sys.exit(f"metadata classes {metadata['classes']} are not {classes}")
    backbone = (folder / "backbone.txt").read_text().strip()
    if metadata.get("backbone") != backbone:
        sys.exit(f"metadata backbone {metadata.get('backbone')} is not {backbone}")
    [model_input] = session.get_inputs()
    side = model_input.shape[-1]
    [output] = session.get_outputs()
    if output.name != "probabilities":
        sys.exit(f"the output is {output.name}, not probabilities")
    inputs = sorted(folder.glob("*.input.f32"))
    if not inputs:
        sys.exit(f"no inputs in {folder}")
    worst = 0.0
    for file in inputs:
        stem = file.name.removesuffix(".input.f32")
        x = np.fromfile(file, "<f4").reshape(1, 3, side, side)
        expected = np.fromfile(folder / f"{stem}.probabilities.f32", "<f4")
        # A batch of two: the batch size is free.
        (probabilities,) = session.run(["probabilities"], {"input": np.concatenate([x, x])})
        diff = float(np.abs(probabilities - expected).max())
        worst = max(worst, diff)
        same_top = all(int(p.argmax()) == int(expected.argmax()) for p in probabilities)
        print(f"{stem}: top-1 {classes[int(probabilities[0].argmax())]}, max |difference| {diff:.2e}")
        if diff > TOLERANCE or not same_top:
            sys.exit(f"{stem}: onnxruntime disagrees with Glimpse")
    print(f"onnxruntime agrees with Glimpse on {len(inputs)} photos of {backbone} at {side} px (max |difference| {worst:.2e})")


if __name__ == "__main__":
    main()
