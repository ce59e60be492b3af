// A KServe v2 HTTP server on onnxruntime-node: the server a user could put up
// in an afternoon instead of infergate, and the peer infergate is compared
// with in docs/benchmarks.md.
//
//   node server.js --model NAME=FILE.onnx [--model ...] [--port 0] [--host 127.0.0.1]
//                  [--intra-op-threads N]
//
// Routes: GET /v2/health/ready, GET /v2/models/{m}, POST /v2/models/{m}/infer
// (JSON tensors: inputs[].{name,shape,datatype,data}; data flat or nested).
// Prints "node-peer: listening on ADDR:PORT" once it accepts connections.
'use strict';

const http = require('http');
const ort = require('onnxruntime-node');

const kTypes = {
  FP32: ['float32', Float32Array], FP64: ['float64', Float64Array],
  INT8: ['int8', Int8Array], UINT8: ['uint8', Uint8Array],
  INT16: ['int16', Int16Array], UINT16: ['uint16', Uint16Array],
  INT32: ['int32', Int32Array], UINT32: ['uint32', Uint32Array],
  INT64: ['int64', BigInt64Array], UINT64: ['uint64', BigUint64Array],
  BOOL: ['bool', Uint8Array],
};
const kV2Names = Object.fromEntries(Object.entries(kTypes).map(([k, v]) => [v[0], k]));

function parseArgs(argv) {
  const args = { models: {}, port: 0, host: '127.0.0.1', intraOpThreads: 0 };
  for (let i = 2; i < argv.length; i++) {
    const value = argv[i + 1];
    switch (argv[i]) {
      case '--model': {
        const eq = value.indexOf('=');
        if (eq <= 0) throw new Error(`--model takes NAME=FILE, got '${value}'`);
        args.models[value.slice(0, eq)] = value.slice(eq + 1);
        i++;
        break;
      }
      case '--port': args.port = Number(value); i++; break;
      case '--host': args.host = value; i++; break;
      case '--intra-op-threads': args.intraOpThreads = Number(value); i++; break;
      default: throw new Error(`unknown argument '${argv[i]}'`);
    }
  }
  if (Object.keys(args.models).length === 0) throw new Error('give at least one --model NAME=FILE');
  return args;
}

class BadRequest extends Error {}

function toTensor(input) {
  if (!input || typeof input.name !== 'string') throw new BadRequest('an input has no name');
  const type = kTypes[input.datatype];
  if (!type) throw new BadRequest(`input '${input.name}': unsupported datatype '${input.datatype}'`);
  if (!Array.isArray(input.shape)) throw new BadRequest(`input '${input.name}': no shape`);
  if (!Array.isArray(input.data)) throw new BadRequest(`input '${input.name}': no data`);
  const flat = input.data.flat(Infinity);
  const count = input.shape.reduce((a, b) => a * b, 1);
  if (flat.length !== count) {
    throw new BadRequest(`input '${input.name}': shape [${input.shape}] needs ${count} values, got ${flat.length}`);
  }
  const [ortType, Array_] = type;
  const values = Array_ === BigInt64Array || Array_ === BigUint64Array
    ? Array_.from(flat, (v) => BigInt(v)) : Array_.from(flat, (v) => Number(v));
  return new ort.Tensor(ortType, values, input.shape);
}

function fromTensor(name, tensor) {
  const data = tensor.type === 'int64' || tensor.type === 'uint64'
    ? Array.from(tensor.data, (v) => Number(v)) : Array.from(tensor.data);
  return { name, datatype: kV2Names[tensor.type] || tensor.type, shape: tensor.dims, data };
}

function reply(res, status, body) {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

async function infer(session, modelName, body) {
  let request;
  try {
    request = JSON.parse(body);
  } catch (e) {
    throw new BadRequest(`the body is not JSON: ${e.message}`);
  }
  if (!request || !Array.isArray(request.inputs)) throw new BadRequest("the request has no 'inputs' array");
  const feeds = {};
  for (const input of request.inputs) feeds[input.name] = toTensor(input);
  const results = await session.run(feeds);
  const outputs = Object.entries(results).map(([name, t]) => fromTensor(name, t));
  const response = { model_name: modelName, outputs };
  if (request.id !== undefined) response.id = request.id;
  return response;
}

function handle(sessions, req, res) {
  const url = req.url.split('?')[0];
  if (req.method === 'GET' && url === '/v2/health/ready') return reply(res, 200, { ready: true });
  const m = /^\/v2\/models\/([^/]+)(\/infer)?$/.exec(url);
  if (!m) return reply(res, 404, { error: `no route ${req.method} ${url}` });
  const session = sessions[m[1]];
  if (!session) return reply(res, 404, { error: `unknown model '${m[1]}'` });
  if (!m[2]) {
    if (req.method !== 'GET') return reply(res, 405, { error: 'use GET' });
    return reply(res, 200, { name: m[1], platform: 'onnxruntime_onnx', inputs: session.inputNames, outputs: session.outputNames });
  }
  if (req.method !== 'POST') return reply(res, 405, { error: 'use POST' });
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    infer(session, m[1], Buffer.concat(chunks).toString('utf8'))
      .then((out) => reply(res, 200, out))
      .catch((e) => reply(res, e instanceof BadRequest ? 400 : 500, { error: e.message }));
  });
}

async function main() {
  const args = parseArgs(process.argv);
  const options = args.intraOpThreads > 0 ? { intraOpNumThreads: args.intraOpThreads } : {};
  const sessions = {};
  for (const [name, file] of Object.entries(args.models)) {
    sessions[name] = await ort.InferenceSession.create(file, options);
  }
  const server = http.createServer((req, res) => handle(sessions, req, res));
  server.keepAliveTimeout = 60000;
  server.listen(args.port, args.host, () => {
    const a = server.address();
    console.log(`node-peer: listening on ${a.address}:${a.port}`);
  });
  const stop = () => server.close(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((e) => {
  console.error(`node-peer: ${e.message}`);
  process.exit(1);
});
