// The two sites the benchmarks drive: Glimpse's dist/ and a folder with the ONNX Runtime Web page,
// ORT's files from node_modules and the ONNX export of Glimpse's weights.
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
// @ts-ignore: http-server ships no types
import httpServer from 'http-server';

export const ROOT = path.join(__dirname, '..');
const ORT_FILES = ['ort.webgpu.min.mjs', 'ort-wasm-simd-threaded.asyncify.mjs', 'ort-wasm-simd-threaded.asyncify.wasm',
  'ort.wasm.min.mjs', 'ort-wasm-simd-threaded.mjs', 'ort-wasm-simd-threaded.wasm'];

export function ortSite(): { dir: string; remove: () => void } {
  const dir = mkdtempSync(path.join(tmpdir(), 'glimpse-ort-'));
  for (const file of ['index.html', 'ort-bench.mjs']) copyFileSync(path.join(__dirname, 'ort', file), path.join(dir, file));
  copyFileSync(path.join(ROOT, 'www', 'gpu-work.js'), path.join(dir, 'gpu-work.js'));
  for (const file of ORT_FILES) copyFileSync(path.join(ROOT, 'node_modules', 'onnxruntime-web', 'dist', file), path.join(dir, file));
  copyFileSync(path.join(ROOT, 'dist-bench', 'efficientnet-lite0.onnx'), path.join(dir, 'efficientnet-lite0.onnx'));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Serves `dir` on 127.0.0.1:`port` with an hour of HTTP caching, as a static host would. */
export async function serve(dir: string, port: number): Promise<{ close: () => Promise<void> }> {
  const server = httpServer.createServer({ root: dir, cache: 3600, silent: true });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return { close: () => new Promise<void>((resolve) => server.server.close(() => resolve())) };
}
