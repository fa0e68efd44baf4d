// The two sites the benchmarks drive: Glimpse's dist/ and a folder with the ONNX Runtime Web page,
// ORT's files from node_modules and the ONNX exports of Glimpse's weights (float32, and float16
// weights widened at load).
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';

export const ROOT = path.join(__dirname, '..');
const ORT_FILES = ['ort.webgpu.min.mjs', 'ort-wasm-simd-threaded.asyncify.mjs', 'ort-wasm-simd-threaded.asyncify.wasm',
  'ort.wasm.min.mjs', 'ort-wasm-simd-threaded.mjs', 'ort-wasm-simd-threaded.wasm'];

export function ortSite(): { dir: string; remove: () => void } {
  const dir = mkdtempSync(path.join(tmpdir(), 'glimpse-ort-'));
  for (const file of ['index.html', 'ort-bench.mjs', 'ort-worker.mjs']) copyFileSync(path.join(__dirname, 'ort', file), path.join(dir, file));
  copyFileSync(path.join(ROOT, 'www', 'gpu-work.js'), path.join(dir, 'gpu-work.js'));
  for (const file of ORT_FILES) copyFileSync(path.join(ROOT, 'node_modules', 'onnxruntime-web', 'dist', file), path.join(dir, file));
  for (const model of ['efficientnet-lite0.onnx', 'efficientnet-lite0.f16.onnx']) copyFileSync(path.join(ROOT, 'dist-bench', model), path.join(dir, model));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * Serves `dir` on 127.0.0.1:`port` with an hour of HTTP caching, as a static host would, from a
 * process of its own (not the one driving the browser, whose work would slow the serving);
 * `isolated` adds the cross-origin isolation headers (bench/serve.cjs).
 */
export async function serve(dir: string, port: number, isolated = false): Promise<{ close: () => Promise<void> }> {
  const server = spawn(process.execPath, [path.join(__dirname, 'serve.cjs'), dir, String(port), ...(isolated ? ['--isolated'] : [])],
    { stdio: 'ignore' });
  for (let tries = 0; ; tries++) {
    try {
      await fetch(`http://127.0.0.1:${port}/`);
      break;
    } catch (error) {
      if (tries > 100) throw new Error(`the server for ${dir} did not start: ${error}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  return {
    close: () => new Promise<void>((resolve) => {
      server.once('exit', () => resolve());
      server.kill();
    }),
  };
}
