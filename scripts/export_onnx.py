#!/usr/bin/env python3
"""Writes Glimpse's EfficientNet-Lite0 as an ONNX model, from the project's own weight file, for the
side-by-side benchmark against ONNX Runtime Web: same weights (f16 widened to f32, batch-norm
already folded), same padding (TensorFlow "SAME", written as explicit pads because the input size
is fixed), same preprocessing (the input is the tensor Glimpse builds).

    python scripts/export_onnx.py WEIGHTS OUT.onnx [--f16 OUT16.onnx] [--check REFERENCE_DIR]

--f16 also writes the model with its weights stored as float16 (as Glimpse ships them), each
widened by a Cast node: half the download, the same float32 arithmetic and logits once ONNX
Runtime folds the casts at load.

--check runs the ONNX model with onnxruntime (CPU) on the inputs written by
`cargo run --release --example reference_outputs` and fails unless every logit matches Glimpse's
native output within 1e-3 (and the top-1 class is the same).
"""

import argparse
import json
import pathlib
import struct
import sys

import numpy as np
import onnx
from onnx import TensorProto
from onnx import helper as h
from onnx import numpy_helper as nh

INPUT_SIZE = 224
# (repeats, kernel, stride, expand ratio, channels in, channels out): EfficientNet-Lite0.
STAGES = [
    (1, 3, 1, 1, 32, 16),
    (2, 3, 2, 6, 16, 24),
    (2, 5, 2, 6, 24, 40),
    (3, 3, 2, 6, 40, 80),
    (3, 5, 1, 6, 80, 112),
    (4, 5, 2, 6, 112, 192),
    (1, 3, 1, 6, 192, 320),
]
# ONNX Runtime 1.30/1.31 read IR versions up to 13; opset 17 needs IR 8.
OPSET = 17


def load_safetensors(path):
    data = pathlib.Path(path).read_bytes()
    (length,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + length])
    body = data[8 + length :]
    dtypes = {"F16": np.float16, "F32": np.float32}
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        start, end = info["data_offsets"]
        values = np.frombuffer(body[start:end], dtypes[info["dtype"]])
        tensors[name] = values.reshape(info["shape"]).astype(np.float32)
    return tensors


def same_pads(size, kernel, stride):
    """TensorFlow SAME padding as ONNX pads [top, left, bottom, right] (extra at the end)."""
    out = -(-size // stride)
    total = max((out - 1) * stride + kernel - size, 0)
    begin = total // 2
    return [begin, begin, total - begin, total - begin], out


class Graph:
    def __init__(self, weights, f16=False):
        self.weights = weights
        self.f16 = f16
        self.nodes = []
        self.initializers = []
        self.constant("relu6_min", np.array(0, np.float32))
        self.constant("relu6_max", np.array(6, np.float32))

    def constant(self, name, array):
        self.initializers.append(nh.from_array(np.ascontiguousarray(array, np.float32), name))
        return name

    def weight(self, name):
        """A weight or bias of the network: float32, or float16 widened by a Cast (--f16)."""
        array = self.weights[name]
        if not self.f16:
            return self.constant(name, array)
        # The weights came from float16, so the round trip is exact.
        self.initializers.append(nh.from_array(np.ascontiguousarray(array, np.float16), f"{name}.f16"))
        self.nodes.append(h.make_node("Cast", [f"{name}.f16"], [name], to=TensorProto.FLOAT))
        return name

    def conv(self, x, prefix, kernel, stride, size, group=1, relu6=True):
        pads, out = same_pads(size, kernel, stride)
        weight = self.weight(f"{prefix}.weight")
        bias = self.weight(f"{prefix}.bias")
        y = f"{prefix}.out"
        self.nodes.append(
            h.make_node(
                "Conv",
                [x, weight, bias],
                [y],
                kernel_shape=[kernel, kernel],
                strides=[stride, stride],
                pads=pads,
                group=group,
                dilations=[1, 1],
            )
        )
        if relu6:
            self.nodes.append(h.make_node("Clip", [y, "relu6_min", "relu6_max"], [f"{y}.relu6"]))
            y = f"{y}.relu6"
        return y, out

    def build(self):
        x, size = self.conv("input", "stem", 3, 2, INPUT_SIZE)
        index = 0
        for repeats, kernel, stride, expand, channels_in, channels_out in STAGES:
            for r in range(repeats):
                block_stride = stride if r == 0 else 1
                block_in = channels_in if r == 0 else channels_out
                prefix = f"blocks.{index}"
                t = x
                if expand != 1:
                    t, _ = self.conv(t, f"{prefix}.expand", 1, 1, size)
                t, next_size = self.conv(
                    t, f"{prefix}.depthwise", kernel, block_stride, size, group=block_in * expand
                )
                t, _ = self.conv(t, f"{prefix}.project", 1, 1, next_size, relu6=False)
                if block_stride == 1 and block_in == channels_out:
                    self.nodes.append(h.make_node("Add", [t, x], [f"{prefix}.residual"]))
                    t = f"{prefix}.residual"
                x, size, index = t, next_size, index + 1
        x, _ = self.conv(x, "head_conv", 1, 1, size)
        weight = self.weight("classifier.weight")
        bias = self.weight("classifier.bias")
        self.nodes += [
            h.make_node("GlobalAveragePool", [x], ["pooled"]),
            h.make_node("Flatten", ["pooled"], ["embedding"], axis=1),
            # classifier.weight is [1280, classes], input-major: Gemm's B as it is.
            h.make_node("Gemm", ["embedding", weight, bias], ["logits"]),
        ]
        classes = self.weights["classifier.bias"].shape[0]
        graph = h.make_graph(
            self.nodes,
            "efficientnet_lite0",
            [h.make_tensor_value_info("input", TensorProto.FLOAT, ["batch", 3, INPUT_SIZE, INPUT_SIZE])],
            [h.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", classes])],
            self.initializers,
        )
        model = h.make_model_gen_version(graph, opset_imports=[h.make_opsetid("", OPSET)])
        model.producer_name = "glimpse scripts/export_onnx.py"
        onnx.checker.check_model(model, full_check=True)
        return model


def check(path, reference):
    import onnxruntime

    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    inputs = sorted(pathlib.Path(reference).glob("*.input.f32"))
    if not inputs:
        sys.exit(f"no reference inputs in {reference}: run the reference_outputs example first")
    worst = 0.0
    for file in inputs:
        stem = file.name.removesuffix(".input.f32")
        x = np.fromfile(file, "<f4").reshape(1, 3, INPUT_SIZE, INPUT_SIZE)
        expected = np.fromfile(file.with_name(f"{stem}.logits.f32"), "<f4")
        (logits,) = session.run(["logits"], {"input": x})
        diff = float(np.abs(logits[0] - expected).max())
        worst = max(worst, diff)
        same_top = int(logits[0].argmax()) == int(expected.argmax())
        print(f"{stem}: max |logit difference| {diff:.2e}, same top-1: {same_top}")
        if diff > 1e-3 or not same_top:
            sys.exit(f"{stem}: the ONNX model disagrees with Glimpse")
    print(f"ONNX model matches Glimpse on {len(inputs)} photos (max |logit difference| {worst:.2e})")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("weights")
    parser.add_argument("out")
    parser.add_argument("--f16", metavar="OUT16")
    parser.add_argument("--check", metavar="REFERENCE_DIR")
    args = parser.parse_args()
    weights = load_safetensors(args.weights)
    outputs = [(args.out, False)] + ([(args.f16, True)] if args.f16 else [])
    for out, f16 in outputs:
        model = Graph(weights, f16).build()
        onnx.save(model, out)
        print(f"wrote {out} ({pathlib.Path(out).stat().st_size / 1e6:.1f} MB, opset {OPSET}, IR {model.ir_version})")
        if args.check:
            check(out, args.check)


if __name__ == "__main__":
    main()
