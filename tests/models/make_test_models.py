#!/usr/bin/python3
"""Generates the small ONNX models used by infergate's tests.

Run from anywhere with Debian's python3-onnx and python3-numpy installed:

    /usr/bin/python3 tests/models/make_test_models.py

The output is deterministic (fixed seeds, fixed construction order), so a
re-run rewrites byte-identical files. See README.md next to this script for
what each model is for.
"""

import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

SCRIPT_VERSION = "1"
PRODUCER_NAME = "infergate-testdata"
IR_VERSION = 8
OPSET = 17

OUT_DIR = os.path.dirname(os.path.abspath(__file__))

# Name used in file names -> ONNX element type. The names follow the
# datatype spelling of the KServe v2 protocol in lower case.
IDENTITY_TYPES = [
    ("bool", TensorProto.BOOL),
    ("uint8", TensorProto.UINT8),
    ("uint16", TensorProto.UINT16),
    ("uint32", TensorProto.UINT32),
    ("uint64", TensorProto.UINT64),
    ("int8", TensorProto.INT8),
    ("int16", TensorProto.INT16),
    ("int32", TensorProto.INT32),
    ("int64", TensorProto.INT64),
    ("fp16", TensorProto.FLOAT16),
    ("bf16", TensorProto.BFLOAT16),
    ("fp32", TensorProto.FLOAT),
    ("fp64", TensorProto.DOUBLE),
    ("string", TensorProto.STRING),
]


def make_model(graph, doc, opsets=None):
    if opsets is None:
        opsets = [helper.make_opsetid("", OPSET)]
    model = helper.make_model(graph, opset_imports=opsets,
                              producer_name=PRODUCER_NAME)
    model.ir_version = IR_VERSION
    model.producer_version = SCRIPT_VERSION
    model.doc_string = doc
    return model


def save_checked(model, filename):
    onnx.checker.check_model(model, full_check=True)
    path = os.path.join(OUT_DIR, filename)
    onnx.save(model, path)
    # Read back and check again, so the file on disk is known to be valid.
    onnx.checker.check_model(onnx.load(path), full_check=True)
    return path


def save_unchecked(model, filename):
    path = os.path.join(OUT_DIR, filename)
    with open(path, "wb") as f:
        f.write(model.SerializeToString())
    return path


def identity_model(type_name, elem_type):
    x = helper.make_tensor_value_info("INPUT0", elem_type, ["batch", "n"])
    y = helper.make_tensor_value_info("OUTPUT0", elem_type, ["batch", "n"])
    node = helper.make_node("Identity", ["INPUT0"], ["OUTPUT0"], name="identity")
    graph = helper.make_graph([node], "identity_" + type_name, [x], [y])
    return make_model(graph, f"Identity over a {type_name} tensor [batch, n]: OUTPUT0 = INPUT0.")


def mlp16_weights():
    rng = np.random.default_rng(16)
    w1 = (rng.standard_normal((16, 32)) / np.sqrt(16)).astype(np.float32)
    b1 = (rng.standard_normal(32) * 0.1).astype(np.float32)
    w2 = (rng.standard_normal((32, 4)) / np.sqrt(32)).astype(np.float32)
    b2 = (rng.standard_normal(4) * 0.1).astype(np.float32)
    return w1, b1, w2, b2


def mlp16_model(batch_dim):
    w1, b1, w2, b2 = mlp16_weights()
    inits = [
        numpy_helper.from_array(w1, "fc1.weight"),
        numpy_helper.from_array(b1, "fc1.bias"),
        numpy_helper.from_array(w2, "fc2.weight"),
        numpy_helper.from_array(b2, "fc2.bias"),
    ]
    nodes = [
        helper.make_node("Gemm", ["input", "fc1.weight", "fc1.bias"], ["fc1"], name="fc1"),
        helper.make_node("Relu", ["fc1"], ["relu1"], name="relu1"),
        helper.make_node("Gemm", ["relu1", "fc2.weight", "fc2.bias"], ["logits"], name="fc2"),
        helper.make_node("Softmax", ["logits"], ["probabilities"], name="softmax", axis=-1),
    ]
    x = helper.make_tensor_value_info("input", TensorProto.FLOAT, [batch_dim, 16])
    y = helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, [batch_dim, 4])
    fixed = batch_dim == 1
    graph = helper.make_graph(
        nodes, "mlp16_fixed" if fixed else "mlp16", [x], [y], initializer=inits,
        doc_string=("Gemm(16->32), Relu, Gemm(32->4), Softmax over the last axis; "
                    "random weights (numpy seed 16)."))
    if fixed:
        doc = "16-feature MLP with a fixed [1, 16] input: a model that cannot batch."
    else:
        doc = "16-feature MLP with a dynamic batch dimension."
    model = make_model(graph, doc)
    if not fixed:
        helper.set_model_props(model, {
            "author": "infergate tests",
            "description": "16-feature MLP with a dynamic batch dimension",
        })
    return model


def mlp16_reference(x):
    """numpy evaluation of mlp16, for checking the graph by hand."""
    w1, b1, w2, b2 = mlp16_weights()
    h = np.maximum(x @ w1 + b1, 0)
    z = h @ w2 + b2
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def mlp16_heavy_model():
    """mlp16's interface with ~8 M multiply-adds per row: a model whose
    capacity the CPU bounds (not the broker), for overload tests. Its weights
    are ConstantOfShape nodes, so the file stays small."""
    sizes = [16, 2048, 2048, 16]
    nodes = []
    prev = "input"
    for i in range(len(sizes) - 1):
        shape = numpy_helper.from_array(np.array(sizes[i:i + 2], dtype=np.int64), f"w{i}.shape")
        value = helper.make_tensor("value", TensorProto.FLOAT, [1], [1.0 / sizes[i]])
        nodes.append(helper.make_node("Constant", [], [f"w{i}.shape"], name=f"w{i}.shape", value=shape))
        nodes.append(helper.make_node("ConstantOfShape", [f"w{i}.shape"], [f"w{i}"], name=f"w{i}", value=value))
        out = "output" if i == len(sizes) - 2 else f"h{i}"
        mm = f"mm{i}" if out != "output" else "output"
        nodes.append(helper.make_node("MatMul", [prev, f"w{i}"], [mm], name=f"mm{i}"))
        if out != "output":
            nodes.append(helper.make_node("Relu", [mm], [out], name=f"relu{i}"))
        prev = out
    x = helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch", 16])
    y = helper.make_tensor_value_info("output", TensorProto.FLOAT, ["batch", 16])
    graph = helper.make_graph(nodes, "mlp16_heavy", [x], [y],
                              doc_string="MatMul(16->2048), Relu, MatMul(2048->2048), Relu, "
                                         "MatMul(2048->16); every weight 1/fan-in.")
    return make_model(graph, "16-feature MLP with 2048-wide hidden layers: CPU-bound inference.")


def add_sub_model():
    a = helper.make_tensor_value_info("INPUT0", TensorProto.FLOAT, ["batch", 4])
    b = helper.make_tensor_value_info("INPUT1", TensorProto.FLOAT, ["batch", 4])
    s = helper.make_tensor_value_info("OUTPUT0", TensorProto.FLOAT, ["batch", 4])
    d = helper.make_tensor_value_info("OUTPUT1", TensorProto.FLOAT, ["batch", 4])
    nodes = [
        helper.make_node("Add", ["INPUT0", "INPUT1"], ["OUTPUT0"], name="add"),
        helper.make_node("Sub", ["INPUT0", "INPUT1"], ["OUTPUT1"], name="sub"),
    ]
    graph = helper.make_graph(nodes, "add_sub", [a, b], [s, d])
    return make_model(graph, "Two inputs, two outputs: OUTPUT0 = INPUT0 + INPUT1, "
                             "OUTPUT1 = INPUT0 - INPUT1 (FP32 [batch, 4]).")


def string_upper_model():
    x = helper.make_tensor_value_info("text", TensorProto.STRING, ["n"])
    y = helper.make_tensor_value_info("upper", TensorProto.STRING, ["n"])
    # ONNX Runtime's default locale on Linux is en_US.UTF-8, which slim
    # systems and containers often lack (the session then fails to load);
    # glibc's built-in C.UTF-8 is always there.
    node = helper.make_node("StringNormalizer", ["text"], ["upper"], name="upper",
                            case_change_action="UPPER", locale="C.UTF-8")
    graph = helper.make_graph([node], "string_upper", [x], [y])
    return make_model(graph, "Upper-cases a 1-D string tensor (StringNormalizer, "
                             "locale C.UTF-8).")


def running_mean_model():
    """A stateful model for device contracts: the mean of every reading a
    device has sent, carried in a state tensor h = [sum, count]."""
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 4])
    h_in = helper.make_tensor_value_info("h_in", TensorProto.FLOAT, ["batch", 2])
    mean = helper.make_tensor_value_info("mean", TensorProto.FLOAT, ["batch", 1])
    h_out = helper.make_tensor_value_info("h_out", TensorProto.FLOAT, ["batch", 2])
    inits = [
        numpy_helper.from_array(np.array([1], dtype=np.int64), "axis1"),
        numpy_helper.from_array(np.array([0], dtype=np.int64), "zero_i"),
        numpy_helper.from_array(np.array([2], dtype=np.int64), "two_i"),
        numpy_helper.from_array(np.array(0.0, dtype=np.float32), "zero"),
        numpy_helper.from_array(np.array(4.0, dtype=np.float32), "four"),
    ]
    nodes = [
        helper.make_node("ReduceSum", ["x", "axis1"], ["sum"], name="window_sum", keepdims=1),
        helper.make_node("Mul", ["sum", "zero"], ["zeros"], name="zeros"),
        helper.make_node("Add", ["zeros", "four"], ["count"], name="window_count"),
        helper.make_node("Concat", ["sum", "count"], ["delta"], name="delta", axis=1),
        helper.make_node("Add", ["h_in", "delta"], ["h_out"], name="accumulate"),
        helper.make_node("Slice", ["h_out", "zero_i", "axis1", "axis1"], ["total"], name="total"),
        helper.make_node("Slice", ["h_out", "axis1", "two_i", "axis1"], ["n"], name="n"),
        helper.make_node("Div", ["total", "n"], ["mean"], name="mean"),
    ]
    graph = helper.make_graph(nodes, "running_mean", [x, h_in], [mean, h_out], initializer=inits)
    return make_model(graph, "Stateful: h_out = h_in + [sum(x), 4]; mean = h_out[0] / h_out[1], "
                             "the mean of every window seen (FP32 x [batch, 4], h [batch, 2]).")


def running_mean_reference(x, h):
    h_out = h + np.stack([x.sum(axis=1), np.full(x.shape[0], 4.0, dtype=np.float32)], axis=1)
    return h_out[:, 0:1] / h_out[:, 1:2], h_out


def vad_like_model():
    """Silero VAD's interface in miniature: a chunk of audio, the sample rate
    as a scalar INT64 input and a recurrent state. state_n = state +
    sum(input) * sr / 16000 (every element); output = state_n[0, 0, 0]: with
    sr = 16000, the sum of every sample the device has sent."""
    audio = helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 4])
    sr = helper.make_tensor_value_info("sr", TensorProto.INT64, [])
    state = helper.make_tensor_value_info("state", TensorProto.FLOAT, [2, 1, 2])
    output = helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, 1])
    state_n = helper.make_tensor_value_info("stateN", TensorProto.FLOAT, [2, 1, 2])
    inits = [
        numpy_helper.from_array(np.array(16000.0, dtype=np.float32), "rate"),
        numpy_helper.from_array(np.array([1], dtype=np.int64), "axis1"),
        numpy_helper.from_array(np.array([0, 0, 0], dtype=np.int64), "zeros3"),
        numpy_helper.from_array(np.array([1, 1, 1], dtype=np.int64), "ones3"),
        numpy_helper.from_array(np.array([1, 1], dtype=np.int64), "shape11"),
    ]
    nodes = [
        helper.make_node("Cast", ["sr"], ["srf"], name="sr_float", to=TensorProto.FLOAT),
        helper.make_node("Div", ["srf", "rate"], ["scale"], name="scale"),
        helper.make_node("ReduceSum", ["input", "axis1"], ["chunk_sum"], name="chunk_sum", keepdims=1),
        helper.make_node("Mul", ["chunk_sum", "scale"], ["scaled"], name="scaled"),
        helper.make_node("Add", ["state", "scaled"], ["stateN"], name="accumulate"),
        helper.make_node("Slice", ["stateN", "zeros3", "ones3"], ["first"], name="first"),
        helper.make_node("Reshape", ["first", "shape11"], ["output"], name="output"),
    ]
    graph = helper.make_graph(nodes, "vad_like", [audio, sr, state], [output, state_n],
                              initializer=inits)
    return make_model(graph, "Silero-VAD-shaped stateful model: input FP32 [1, 4], sr INT64 [], "
                             "state FP32 [2, 1, 2]; stateN = state + sum(input) * sr / 16000, "
                             "output = stateN[0, 0, 0] as [1, 1].")


def unsupported_op_model():
    x = helper.make_tensor_value_info("INPUT0", TensorProto.FLOAT, ["batch", 4])
    y = helper.make_tensor_value_info("OUTPUT0", TensorProto.FLOAT, ["batch", 4])
    node = helper.make_node("NoSuchOperator", ["INPUT0"], ["OUTPUT0"], name="nosuch")
    graph = helper.make_graph([node], "unsupported_op", [x], [y])
    return make_model(graph, "Well-formed protobuf whose only node uses an operator that "
                             "does not exist (NoSuchOperator); loading must fail cleanly.")


def huge_dims_model():
    # Built by hand: helper.make_tensor would refuse dims that disagree with
    # the data. The declared size is 4e15 bytes; only 16 bytes are present.
    w = TensorProto()
    w.name = "huge"
    w.data_type = TensorProto.FLOAT
    w.dims.extend([1000000000, 1000000])
    w.raw_data = np.arange(4, dtype="<f4").tobytes()
    x = helper.make_tensor_value_info("INPUT0", TensorProto.FLOAT, [1])
    y = helper.make_tensor_value_info("OUTPUT0", TensorProto.FLOAT, [1000000000, 1000000])
    node = helper.make_node("Add", ["INPUT0", "huge"], ["OUTPUT0"], name="add")
    graph = helper.make_graph([node], "huge_dims", [x], [y], initializer=[w])
    return make_model(graph, "Initializer declaring dims [1000000000, 1000000] FP32 but "
                             "carrying only 16 bytes of raw_data; loading must fail "
                             "without trying to allocate it.")


def self_test():
    """Numeric checks of the graphs that compute something, in numpy."""
    x = np.random.default_rng(0).standard_normal((3, 16)).astype(np.float32)
    p = mlp16_reference(x)
    assert p.shape == (3, 4) and np.allclose(p.sum(axis=1), 1, atol=1e-6)


def main():
    written = []
    for type_name, elem_type in IDENTITY_TYPES:
        written.append(save_checked(identity_model(type_name, elem_type),
                                    f"identity_{type_name}.onnx"))

    mlp16_path = save_checked(mlp16_model("batch"), "mlp16.onnx")
    written.append(mlp16_path)
    written.append(save_checked(mlp16_model(1), "mlp16_fixed.onnx"))
    written.append(save_checked(mlp16_heavy_model(), "mlp16_heavy.onnx"))
    written.append(save_checked(add_sub_model(), "add_sub.onnx"))
    written.append(save_checked(string_upper_model(), "string_upper.onnx"))
    written.append(save_checked(running_mean_model(), "running_mean.onnx"))
    written.append(save_checked(vad_like_model(), "vad_like.onnx"))

    # Files that must be rejected.
    with open(mlp16_path, "rb") as f:
        mlp16_bytes = f.read()
    path = os.path.join(OUT_DIR, "corrupt_truncated.onnx")
    with open(path, "wb") as f:
        f.write(mlp16_bytes[:len(mlp16_bytes) * 60 // 100])
    written.append(path)

    path = os.path.join(OUT_DIR, "corrupt_not_onnx.onnx")
    with open(path, "wb") as f:
        f.write(b"this is not an ONNX model\n")
    written.append(path)

    written.append(save_unchecked(unsupported_op_model(), "unsupported_op.onnx"))
    written.append(save_unchecked(huge_dims_model(), "huge_dims.onnx"))

    self_test()
    for p in written:
        size = os.path.getsize(p)
        assert size < 200 * 1024, p
        print(f"{os.path.relpath(p, OUT_DIR):28s} {size:7d} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
