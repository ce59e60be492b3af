#!/usr/bin/python3
"""Writes the fuzz targets' seed corpora into tests/fuzz/corpus/<target>/.

Seeds are small and meaningful: valid requests as the tests and examples
send them, plus edge cases. Run from anywhere; it rewrites the files it owns
(files it does not write, e.g. regression inputs, are left alone).
"""
import os
import shutil
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
CORPUS = os.path.join(HERE, "corpus")


def write(target, name, data):
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


# --- v2_json_request: flags byte, 2-byte json length (0xffff: absent), body.
def v2(name, json, binary=b"", flags=1):
    json = json.encode()
    length = 0xFFFF if not binary else len(json)
    write("v2_json_request", name, bytes([flags]) + struct.pack("<H", length) + json + binary)


v2("fp32", '{"id":"r1","inputs":[{"name":"x","shape":[1,3],"datatype":"FP32","data":[1,2.5,-3e2]}]}')
v2("all_inputs", '{"id":"r2","parameters":{"priority":3,"flag":true,"s":"x","d":0.5},"inputs":['
   '{"name":"x","shape":[2,3],"datatype":"FP32","data":[[1,2,3],[4,5,6]]},'
   '{"name":"ids","shape":[2,2],"datatype":"INT64","data":[1,-2,3,9007199254740993]},'
   '{"name":"s","shape":[2,1],"datatype":"BYTES","data":["ab","\\u00e9\\n"]},'
   '{"name":"h","shape":[2,2,2],"datatype":"FP16","data":[1,0.5,-2,65504,0,1e-7,3,4]},'
   '{"name":"flag","shape":[2,1],"datatype":"BOOL","data":[true,false]},'
   '{"name":"u8","shape":[2,1,2],"datatype":"UINT8","data":[0,255,1,2]}],'
   '"outputs":[{"name":"y","parameters":{"binary_data":true}},{"name":"label"}]}', flags=2)
v2("binary", '{"inputs":[{"name":"x","shape":[1,3],"datatype":"FP32","parameters":{"binary_data_size":12}},'
   '{"name":"s","shape":[1,1],"datatype":"BYTES","parameters":{"binary_data_size":7}}],'
   '"parameters":{"binary_data_output":true}}',
   struct.pack("<3f", 1, 2, 3) + struct.pack("<I", 3) + b"abc", flags=1)
v2("binary_copy", '{"inputs":[{"name":"ids","shape":[1,2],"datatype":"INT64","parameters":{"binary_data_size":16}}]}',
   struct.pack("<2q", -1, 1 << 40), flags=0)
v2("types", '{"inputs":[{"name":"a","shape":[2],"datatype":"INT8","data":[-128,127]},'
   '{"name":"b","shape":[2],"datatype":"UINT16","data":[0,65535]},'
   '{"name":"c","shape":[1],"datatype":"UINT64","data":[18446744073709551615]},'
   '{"name":"d","shape":[2],"datatype":"BF16","data":[1.5,-0.0]},'
   '{"name":"e","shape":[1],"datatype":"FP64","data":[1e308]},'
   '{"name":"f","shape":[0],"datatype":"INT32","data":[]}]}')
v2("shared_memory", '{"inputs":[{"name":"x","shape":[1,3],"datatype":"FP32","parameters":'
   '{"shared_memory_region":"r","shared_memory_byte_size":12,"shared_memory_offset":0}}],'
   '"outputs":[{"name":"x","parameters":{"shared_memory_region":"r2","shared_memory_byte_size":12}}]}')
v2("nested_deep", '{"inputs":[{"name":"x","shape":[1,3],"datatype":"FP32","data":[[[[[1]]]],2,3]}]}')
v2("large_shape", '{"inputs":[{"name":"x","shape":[1,16777216],"datatype":"FP64","data":[1]}]}')

# --- telemetry_json: contract byte, messages separated by newlines.
def tele(name, contract, *messages):
    write("telemetry_json", name, bytes([contract]) + "\n".join(messages).encode())


tele("classifier", 0, '{"sensors":{"temp":21.5},"rpm":1500,"load":0.7,"ts":1732540000}',
     '{"sensors":{"temp":90},"load":0.9}', '{"sensors":{"temp":null},"rpm":1.5}')
tele("stateful", 1, *['{"v":%d}' % i for i in range(7)], '{"v":1,"reset":true}', '{"v":2}')
tele("time_window", 2, '{"v":1,"ts":1732540001.5}', '{"v":2,"ts":1732540002}', '{"v":3,"ts":1732540005}',
     '{"v":4,"ts":1732540003}', '{"v":5,"ts":1732540012}')
tele("arrays", 3, '{"meta":{"id":"pump-7"},"t":1732540000,"accel":[1,2]}',
     '{"meta":{"id":"pump-7"},"t":1732540000.5,"accel":[[3],[4]]}',
     '{"meta":{"id":"pump-8"},"accel":[5,6],"r":1}', '{"meta":{"id":"pump-7"},"t":1732540001,"accel":[7,8,9]}',
     '{"meta":{"id":7},"accel":"x"}')

# --- grpc_codec: byte 0 even + ModelInferRequest; odd + timeout \n DATA bytes.
def varint(n):
    n &= (1 << 64) - 1
    out = b""
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out += bytes([b | 0x80])
        else:
            return out + bytes([b])


def field(num, wire, payload):
    key = varint((num << 3) | wire)
    if wire == 0:
        return key + varint(payload)
    if wire == 1:
        return key + payload
    return key + varint(len(payload)) + payload


def s(num, text):
    return field(num, 2, text.encode() if isinstance(text, str) else text)


def packed(num, values, fmt=None):
    body = b"".join(struct.pack(fmt, v) for v in values) if fmt else b"".join(varint(v) for v in values)
    return field(num, 2, body)


def param(key, kind, value):
    if kind == "bool":
        v = field(1, 0, int(value))
    elif kind == "int":
        v = field(2, 0, value)
    elif kind == "string":
        v = s(3, value)
    elif kind == "double":
        v = field(4, 1, struct.pack("<d", value))
    else:
        v = field(5, 0, value)
    return s(1, key) + s(2, v)


def tensor(name, datatype, shape, contents=b"", params=b""):
    body = s(1, name) + s(2, datatype) + packed(3, shape)
    if params:
        body += s(4, params)
    if contents:
        body += s(5, contents)
    return body


def grpc(name, message):
    write("grpc_codec", name, b"\x00" + message)


grpc("typed", s(1, "m") + s(2, "1") + s(3, "req-1") + s(4, param("priority", "int", 3)) +
     s(5, tensor("x", "FP32", [1, 3], packed(6, [1.0, 2.5, -3.0], "<f"))) +
     s(5, tensor("ids", "INT64", [1, 2], packed(3, [1, -2]))) +
     s(5, tensor("s", "BYTES", [1, 1], s(8, b"abc"))) +
     s(5, tensor("flag", "BOOL", [1, 1], packed(1, [1]))) + s(6, s(1, "y") + s(2, param("binary_data", "bool", 1))))
grpc("raw", s(1, "m") + s(5, tensor("x", "FP32", [1, 3])) + s(5, tensor("h", "FP16", [1, 2, 2])) +
     s(5, tensor("u16", "UINT16", [1, 1, 2])) +
     s(7, struct.pack("<3f", 1, 2, 3)) + s(7, struct.pack("<4e", 1, 2, 3, 4)) + s(7, struct.pack("<2H", 0, 65535)))
grpc("params", s(1, "m") + s(2, "") + s(4, param("a", "double", 0.5)) + s(4, param("b", "uint64", 2 ** 64 - 1)) +
     s(4, param("c", "string", "x")) + s(5, tensor("x", "INT8", [2], packed(2, [-128, 127]))))
grpc("shared_memory", s(1, "m") + s(5, tensor("x", "FP32", [1, 3], params=param("shared_memory_region", "string", "r"))) +
     s(5, tensor("ids", "INT64", [1, 1])) + s(7, struct.pack("<q", 5)))
grpc("shared_memory_io", s(1, "m") +
     s(5, tensor("x", "FP32", [1, 3]) + s(4, param("shared_memory_region", "string", "r")) +
       s(4, param("shared_memory_byte_size", "int", 12)) + s(4, param("shared_memory_offset", "int", 16))) +
     s(6, s(1, "x") + s(2, param("shared_memory_region", "string", "r2")) +
       s(2, param("shared_memory_byte_size", "int", 12))))
grpc("uint_types", s(1, "m") + s(5, tensor("a", "UINT8", [2], packed(4, [0, 255]))) +
     s(5, tensor("b", "UINT64", [1], packed(5, [2 ** 64 - 1]))) +
     s(5, tensor("c", "FP64", [1], packed(7, [1e308], "<d"))))
write("grpc_codec", "framing", b"\x01" + b"1S\n" + b"\x00\x00\x00\x00\x03abc" + b"\x00\x00\x00\x00\x00" + b"\x00\x00\x00")
write("grpc_codec", "framing_compressed", b"\x07" + b"20m\n" + b"\x01\x00\x00\x00\x01x")
write("grpc_codec", "framing_too_large", b"\x03" + b"99999999H\n" + b"\x00\x7f\xff\xff\xff")

# --- h2_connection: client bytes, starting with the connection preface.
PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"


def frame(ftype, flags, stream, payload):
    return struct.pack(">I", len(payload))[1:] + bytes([ftype, flags]) + struct.pack(">I", stream) + payload


def hpack(headers):
    out = b""
    for name, value in headers:  # literal without indexing, new name, no Huffman
        out += b"\x00" + bytes([len(name)]) + name.encode() + bytes([len(value)]) + value.encode()
    return out


def call(stream, path, messages, end=True, content_type="application/grpc", extra=()):
    headers = [(":method", "POST"), (":scheme", "http"), (":path", path), (":authority", "x"),
               ("content-type", content_type), ("te", "trailers")] + list(extra)
    out = frame(1, 0x4, stream, hpack(headers))  # HEADERS, END_HEADERS
    data = b"".join(b"\x00" + struct.pack(">I", len(m)) + m for m in messages)
    return out + frame(0, 0x1 if end else 0, stream, data)


SETTINGS = frame(4, 0, 0, b"")
h2 = lambda name, data: write("h2_connection", name, PREFACE + SETTINGS + data)
h2("unary", call(1, "/f.S/Unary", [b"hello"], extra=[("grpc-timeout", "1S")]))
h2("fail", call(1, "/f.S/Fail", [b"x"]))
h2("stream", call(1, "/f.S/Stream", [b"a", b"b", b"c", b"d", b"e"]) + call(3, "/f.S/Unary", [b""]))
h2("unknown_method", call(1, "/f.S/Nope", [b"x"]))
h2("not_grpc", call(1, "/f.S/Unary", [b"x"], content_type="text/plain"))
h2("two_messages_unary", call(1, "/f.S/Unary", [b"a", b"b"]))
h2("cut_message", call(1, "/f.S/Unary", [b"abcdef"])[:-3] + frame(0, 1, 1, b""))
h2("ping_window_rst", frame(6, 0, 0, b"12345678") + frame(8, 0, 0, struct.pack(">I", 1000)) +
   call(1, "/f.S/Stream", [b"x"], end=False) + frame(3, 0, 1, struct.pack(">I", 8)))
h2("goaway", call(1, "/f.S/Unary", [b"x"]) + frame(7, 0, 0, struct.pack(">II", 1, 0)))
h2("bad_frame", frame(0, 0, 0, b"data on stream 0"))
write("h2_connection", "preface_only", PREFACE)

# --- mqtt_payload: "<topic>\0<payload>".
mq = lambda name, topic, payload: write("mqtt_payload", name, topic.encode() + b"\x00" + payload)
mq("default_route", "ig/models/m/infer",
   b'{"id":"r1","inputs":[{"name":"x","shape":[1,3],"datatype":"FP32","data":[1,2,3]}]}')
mq("raw", "plant/p1/l2/raw", struct.pack("<4f", 0.1, 0.2, 0.3, 0.4))
mq("raw16", "plant/p1/raw16", struct.pack("<6h", 1, -2, 3, -4, 5, -6))
mq("v2_route", "site/a/b/c", b'{"inputs":[{"name":"s","shape":[1],"datatype":"BYTES","data":["x"]}]}')
mq("telemetry_route", "tele/pump-7", b'{"v":1.5,"ts":1732540000,"sensors":{"ok":true}}')
mq("default_telemetry", "ig/devices/pump-7/pm", b'{"accel":[0.1,0.2]}')
write("mqtt_payload", "no_topic", b'{"inputs":[]}')

# --- mqtt_topic_pattern: filter \n topic \n template \n topics...
tp = lambda name, *lines: write("mqtt_topic_pattern", name, "\n".join(lines))
tp("captures", "plant/+device/+line/vibration", "plant/p1/l2/vibration", "plant/{device}/{line}/{model}/out",
   "plant/p1/l2/other", "plant//x/vibration")
tp("hash", "site/#rest", "site/a/b/c", "replies/{rest}", "site", "$SYS/site/x")
tp("anonymous", "+/models/+model/#", "ig/models/m/infer", "{model}/result", "$SYS/models/m")
tp("bad", "a/b+c/#/d", "a/b", "{nope}")

# --- model_config_yaml and server_config: the examples' and tests' files.
os.makedirs(os.path.join(CORPUS, "model_config_yaml"), exist_ok=True)
for model in ("vibration_anomaly", "predictive_maintenance"):
    shutil.copy(os.path.join(ROOT, "examples", "models", model, "config.yaml"),
                os.path.join(CORPUS, "model_config_yaml", model + ".yaml"))
# The pipeline tests' contracts (the telemetry_json fuzzer runs these too).
def test_yaml(path, name):
    text = open(os.path.join(ROOT, "tests", "pipeline", path)).read()
    start = text.index("%s = R\"(" % name) + len(name) + 6
    return text[start:text.index(")\"", start)].lstrip("\n")


write("model_config_yaml", "classifier.yaml", test_yaml("contract_fixture.h", "kClassifierYaml"))
write("model_config_yaml", "stateful.yaml", test_yaml("contract_runner_test.cc", "kStatefulYaml"))
write("model_config_yaml", "time_window.yaml", test_yaml("contract_runner_test.cc", "kTimeWindowYaml"))
write("model_config_yaml", "arrays.yaml", """max_batch_size: 4
input: [{name: accel, data_type: INT16, dims: [8]}]
output: [{name: anomaly_score, data_type: FP64, dims: [1]}]
version_policy: {specific: [1, 3]}
dynamic_batching: {preferred_batch_size: [2, 4], max_queue_delay_microseconds: 100}
device:
  id_field: meta.id
  timestamp_field: t
  reset_field: r
  inputs:
    - name: accel
      fields: [{name: accel, length: 2, type: int, missing: {default: 0}}]
  window: {count: 4, hop: 1, max_gap_secs: 1.0}
  result: {output: anomaly_score, kind: score, threshold: 0.1, direction: below, on: always,
           fields: {score: s, device: "", top_k: k}}
""")
write("model_config_yaml", "empty.yaml", "")
write("model_config_yaml", "anchors.yaml", "a: &x [1, 2]\nb: *x\nmax_batch_size: 0\n")

os.makedirs(os.path.join(CORPUS, "server_config"), exist_ok=True)
shutil.copy(os.path.join(ROOT, "examples", "infergate.yaml"), os.path.join(CORPUS, "server_config", "example.yaml"))
write("server_config", "routes.yaml", """model_repository: /models
model_control_mode: explicit
mqtt:
  broker: mqtts://broker.example:8883
  share_group: pool
  routes:
    - {topic: plant/+device/vibration, model: vibration_anomaly, format: raw,
       input: {name: accel, datatype: FP32, shape: [1, 64]}, reply_topic: "plant/{device}/anomaly", qos: 2}
    - {topic: "site/#rest", model: m, format: telemetry, reply_topic: "r/{rest}/{device}"}
grpc: {port: 0, max_message_bytes: 1024}
http: {port: 0, io_threads: 2}
shared_memory: {enabled: true, max_regions: 4}
""")
write("server_config", "minimal.yaml", "model_repository: m\nlog_level: debug\n")

# --- mqtt_packet: an options byte (bit 0: MQTT 5), then a broker's byte stream.
def mqtt_packet(first, body):
    n, length = len(body), b""
    while True:
        b, n = n & 0x7F, n >> 7
        length += bytes([b | (0x80 if n else 0)])
        if not n:
            return bytes([first]) + length + body


def mqtt_str(s):
    return struct.pack(">H", len(s)) + s


def mqtt_props(p):
    return bytes([len(p)]) + p


write("mqtt_packet", "connack_v311", b"\x00" + mqtt_packet(0x20, b"\x00\x00"))
write("mqtt_packet", "connack_v5_limits", b"\x01" + mqtt_packet(0x20, b"\x01\x00" + mqtt_props(
    b"\x21\x00\x14" + b"\x27\x00\x00\x03\xe8" + b"\x24\x01" + b"\x13\x00\x1e" + b"\x12" + mqtt_str(b"auto")
    + b"\x28\x01" + b"\x26" + mqtt_str(b"k") + mqtt_str(b"v"))))
write("mqtt_packet", "publish_v5_qos1", b"\x01" + mqtt_packet(0x32, mqtt_str(b"a/b") + b"\x00\x07" + mqtt_props(
    b"\x08" + mqtt_str(b"r/t") + b"\x09" + mqtt_str(b"\x01\x02") + b"\x02\x00\x00\x00\x1e"
    + b"\x03" + mqtt_str(b"application/json")) + b"{}"))
write("mqtt_packet", "publish_v311_qos2_then_pubrel", b"\x00" + mqtt_packet(0x34, mqtt_str(b"t") + b"\x00\x05abc")
      + mqtt_packet(0x62, b"\x00\x05"))
write("mqtt_packet", "acks_v5", b"\x01" + mqtt_packet(0x40, b"\x00\x01") + mqtt_packet(0x50, b"\x00\x02\x10")
      + mqtt_packet(0x70, b"\x00\x03\x87" + mqtt_props(b"\x1f" + mqtt_str(b"x"))) + mqtt_packet(0xD0, b""))
write("mqtt_packet", "suback_v5", b"\x01" + mqtt_packet(0x90, b"\x00\x01\x00\x01\x80"))
write("mqtt_packet", "disconnect_v5_reason", b"\x01" + mqtt_packet(0xE0, b"\x8b" + mqtt_props(b"\x1f" + mqtt_str(b"ok"))))
write("mqtt_packet", "connect_v5_will", b"\x01" + mqtt_packet(0x10, mqtt_str(b"MQTT") + b"\x05\x2e\x00\x1e"
      + mqtt_props(b"\x11\x00\x00\x0e\x10") + mqtt_str(b"id") + mqtt_props(b"") + mqtt_str(b"infer/state")
      + mqtt_str(b"offline")))
write("mqtt_packet", "bad_varint", b"\x00\x30\xff\xff\xff\xff\x01")

# --- onnx_model_load: the smallest test models.
# --- mqtt_inbox_record: "IGI1", qos, flags (1 correlation, 2 expiry, 4 retain), u32 expiry,
# topic, response topic, correlation data, content type (u32 length + bytes each),
# u32 user property count, the pairs, then the payload.
def inbox_record(qos, flags, expiry, topic, response, correlation, content_type, properties, payload):
    def s(b):
        return struct.pack("<I", len(b)) + b
    out = b"IGI1" + bytes([qos, flags]) + struct.pack("<I", expiry) + s(topic) + s(response) + s(correlation)
    out += s(content_type) + struct.pack("<I", len(properties))
    for k, v in properties:
        out += s(k) + s(v)
    return out + payload


write("mqtt_inbox_record", "v2_request_qos1", inbox_record(1, 0, 0, b"infergate/models/mlp16/infer", b"", b"",
      b"", [], b'{"id":"r1","inputs":[{"name":"input","shape":[1,2],"datatype":"FP32","data":[1,2]}]}'))
write("mqtt_inbox_record", "mqtt5_everything", inbox_record(2, 7, 30, b"plant/d1/vibration", b"replies/d1",
      b"\x00\x01\xff", b"application/json", [(b"k", b"v"), (b"", b"")], b'{"temp": 21.5}'))
write("mqtt_inbox_record", "truncated", inbox_record(1, 0, 0, b"t", b"", b"", b"", [], b"")[:12])

# --- outbox_message: "IGO1", qos, flags (1 correlation, 2 retain), topic, correlation data,
# content type (u32 length + bytes each), u32 user property count, the pairs, then the payload.
def outbox_record(qos, flags, topic, correlation, content_type, properties, payload):
    def s(b):
        return struct.pack("<I", len(b)) + b
    out = b"IGO1" + bytes([qos, flags]) + s(topic) + s(correlation) + s(content_type)
    out += struct.pack("<I", len(properties))
    for k, v in properties:
        out += s(k) + s(v)
    return out + payload


write("outbox_message", "reply_qos1", outbox_record(1, 0, b"replies/d1", b"", b"", [],
      b'{"model_name":"mlp16","outputs":[{"name":"output","shape":[1,2],"datatype":"FP32","data":[1,2]}]}'))
write("outbox_message", "mqtt5_everything", outbox_record(2, 3, b"sites/p3/gw/devices/d1/m/result", b"\x00\x01\xff",
      b"application/json", [(b"k", b"v"), (b"", b"")], b'{"alert": true}'))
write("outbox_message", "truncated", outbox_record(1, 0, b"t", b"", b"", [], b"")[:9])

os.makedirs(os.path.join(CORPUS, "onnx_model_load"), exist_ok=True)
for model in ("identity_fp32", "identity_string", "add_sub", "string_upper", "running_mean", "huge_dims",
              "unsupported_op", "corrupt_not_onnx"):
    shutil.copy(os.path.join(ROOT, "tests", "models", model + ".onnx"),
                os.path.join(CORPUS, "onnx_model_load", model + ".onnx"))


# --- manifest: the fleet manifest an origin serves (docs/fleet-sync.md).
SHA = "a" * 64
write("manifest", "static.json",
      '{"format": 1, "models": [{"name": "m", "files": [{"path": "config.yaml", "size": 12, "sha256": "%s"}], '
      '"versions": [{"version": 3, "files": [{"path": "model.onnx", "size": 4711, "sha256": "%s"}, '
      '{"path": "data/w.bin", "size": 0, "sha256": "%s"}]}]}]}\n' % (SHA, SHA, SHA))
write("manifest", "origin.json",
      '{"format": 1, "files_url": "files/", "models": [{"name": "a", "versions": []}, {"name": "b b%%", "files": [], '
      '"versions": [{"version": 1, "files": [{"path": "model.onnx", "size": 1, "sha256": "%s"}]}, '
      '{"version": 2, "files": [{"path": "model.onnx", "size": 1, "sha256": "%s"}]}]}]}\n' % (SHA, SHA))
write("manifest", "traversal.json",
      '{"models": [{"name": "../x", "versions": [{"version": 1, "files": '
      '[{"path": "../../etc/passwd", "size": 1, "sha256": "x"}]}]}]}')

