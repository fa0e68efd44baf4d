// A static server for the benchmarks' sites, run as a process of its own (bench/sites.ts): the
// http-server package's library with an hour of HTTP caching, as a static host would serve; with
// --isolated, the COOP/COEP headers that make a page cross-origin isolated, which ONNX Runtime's
// multi-threaded wasm needs (SharedArrayBuffer).
//   node bench/serve.cjs DIR PORT [--isolated]
const { createServer } = require('http-server');

const [root, port, flag] = process.argv.slice(2);
const headers = flag === '--isolated'
  ? { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' }
  : {};
createServer({ root, cache: 3600, headers, showDir: false }).listen(Number(port), '127.0.0.1');
