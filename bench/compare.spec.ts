// The side-by-side benchmark: Glimpse and ONNX Runtime Web, one browser, one run, the same
// EfficientNet-Lite0 weights (scripts/export_onnx.py, checked against Glimpse) and the same input
// tensor (a sample photo as Glimpse preprocesses it). Prints a table with Glimpse/ORT ratios and
// writes bench/results/compare.json.
// Run: scripts/bench.sh   (builds the site and the ONNX model first)
import { expect, test, type Page } from '@playwright/test';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
// @ts-ignore: http-server ships no types
import httpServer from 'http-server';
import { GlimpsePage } from '../tests/e2e/glimpse-page';

const ROOT = path.join(__dirname, '..');
const RUNS = Number(process.env.BENCH_RUNS ?? 30);
const WARMUP = Number(process.env.BENCH_WARMUP ?? 3);
const BACKENDS = (process.env.BENCH_BACKENDS ?? 'cpu,webgpu').split(',') as Backend[];
const ORT_PORT = 8092;
const ORT_FILES = ['ort.webgpu.min.mjs', 'ort-wasm-simd-threaded.asyncify.mjs', 'ort-wasm-simd-threaded.asyncify.wasm',
  'ort.wasm.min.mjs', 'ort-wasm-simd-threaded.mjs', 'ort-wasm-simd-threaded.wasm'];

type Backend = 'cpu' | 'webgpu';
interface Run { timesMs: number[]; logits: number[] }

function quantile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

function maxDiff(a: number[], b: number[]): number {
  return a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);
}

/** A folder with the ORT page, ORT's files from node_modules and the ONNX model. */
function ortSite(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'glimpse-ort-'));
  for (const file of ['index.html', 'ort-bench.mjs']) copyFileSync(path.join(__dirname, 'ort', file), path.join(dir, file));
  for (const file of ORT_FILES) copyFileSync(path.join(ROOT, 'node_modules', 'onnxruntime-web', 'dist', file), path.join(dir, file));
  copyFileSync(path.join(ROOT, 'dist-bench', 'efficientnet-lite0.onnx'), path.join(dir, 'efficientnet-lite0.onnx'));
  return dir;
}

async function glimpseRun(page: Page, backend: Backend, pixels: number[], batch: number): Promise<Run> {
  return page.evaluate(async ({ pixels, batch, runs, warmup }) => {
    const out = await (window as any).glimpseBenchmark(new Float32Array(pixels), batch, runs, warmup);
    return { timesMs: out.timesMs, logits: Array.from(out.logits as Float32Array) };
  }, { pixels, batch, runs: RUNS, warmup: WARMUP });
}

async function ortRun(page: Page, backend: Backend, pixels: number[], batch: number): Promise<Run> {
  return page.evaluate(async ({ backend, pixels, batch, runs, warmup }) =>
    (window as any).ortBenchmark(backend === 'cpu' ? 'wasm' : 'webgpu', new Float32Array(pixels), batch, runs, warmup),
  { backend, pixels, batch, runs: RUNS, warmup: WARMUP });
}

function bytes(file: string) {
  const data = readFileSync(file);
  return { raw: data.length, gzip: gzipSync(data, { level: 9 }).length };
}

test('Glimpse vs ONNX Runtime Web, side by side', async ({ browser }) => {
  test.setTimeout(3_600_000);
  const input = readFileSync(path.join(ROOT, 'target', 'onnx-reference', 'cat.input.f32'));
  const pixels = Array.from(new Float32Array(input.buffer, input.byteOffset, input.length / 4));
  const site = ortSite();
  const server = httpServer.createServer({ root: site, cache: -1, silent: true });
  await new Promise<void>((resolve) => server.listen(ORT_PORT, '127.0.0.1', resolve));
  const rows: any[] = [];
  try {
    for (const backend of BACKENDS) {
      const glimpsePage = await browser.newPage();
      const glimpse = new GlimpsePage(glimpsePage);
      await glimpsePage.goto(`./?backend=${backend}&bench`);
      await glimpse.waitReady();
      const ortPage = await browser.newPage();
      await ortPage.goto(`http://127.0.0.1:${ORT_PORT}/`);
      await ortPage.waitForFunction(() => (window as any).ortReady === true);
      for (const batch of [1, 8]) {
        const g = await glimpseRun(glimpsePage, backend, pixels, batch);
        const o = await ortRun(ortPage, backend, pixels, batch);
        const row = {
          backend, batch, runs: RUNS,
          glimpse: { median: quantile(g.timesMs, 0.5), p90: quantile(g.timesMs, 0.9) },
          ort: { median: quantile(o.timesMs, 0.5), p90: quantile(o.timesMs, 0.9) },
          maxLogitDiff: maxDiff(g.logits, o.logits),
        };
        rows.push(row);
        console.log(`${backend} batch ${batch}: Glimpse ${row.glimpse.median.toFixed(1)} / ${row.glimpse.p90.toFixed(1)} ms, ORT ${row.ort.median.toFixed(1)} / ${row.ort.p90.toFixed(1)} ms, ratio ${(row.glimpse.median / row.ort.median).toFixed(2)}, max |logit diff| ${row.maxLogitDiff.toExponential(1)}`);
        expect(row.maxLogitDiff, 'the two runtimes disagree').toBeLessThan(1e-2);
      }
      glimpse.expectPrivateAndClean();
      await glimpsePage.close();
      await ortPage.close();
    }
  } finally {
    await new Promise<void>((resolve) => server.server.close(() => resolve()));
    rmSync(site, { recursive: true, force: true });
  }

  const dist = path.join(ROOT, 'dist');
  const wasm = (prefix: string) => {
    const name = require('node:fs').readdirSync(dist).find((f: string) => f.startsWith(prefix) && f.endsWith('.wasm'));
    return bytes(path.join(dist, name));
  };
  const shipped = {
    glimpse: { workerWasm: wasm('worker_bg'), appWasm: wasm('app-'), weights: statSync(path.join(dist, 'efficientnet-lite0.f16.safetensors')).size },
    ort: {
      webgpuWasm: bytes(path.join(ROOT, 'node_modules/onnxruntime-web/dist/ort-wasm-simd-threaded.asyncify.wasm')),
      cpuWasm: bytes(path.join(ROOT, 'node_modules/onnxruntime-web/dist/ort-wasm-simd-threaded.wasm')),
      model: statSync(path.join(ROOT, 'dist-bench', 'efficientnet-lite0.onnx')).size,
    },
  };
  console.log('\n| path | batch | Glimpse median / p90 (ms) | ORT-Web median / p90 (ms) | Glimpse / ORT |');
  console.log('|---|---|---|---|---|');
  for (const r of rows) {
    console.log(`| ${r.backend === 'cpu' ? 'CPU (Flex vs ORT wasm)' : 'WebGPU'} | ${r.batch} | ${r.glimpse.median.toFixed(1)} / ${r.glimpse.p90.toFixed(1)} | ${r.ort.median.toFixed(1)} / ${r.ort.p90.toFixed(1)} | ${(r.glimpse.median / r.ort.median).toFixed(2)} |`);
  }
  const mb = (n: number) => (n / 1e6).toFixed(1);
  console.log(`\nbytes: Glimpse worker wasm ${mb(shipped.glimpse.workerWasm.raw)} MB (${mb(shipped.glimpse.workerWasm.gzip)} gzip), app wasm ${mb(shipped.glimpse.appWasm.raw)} MB (${mb(shipped.glimpse.appWasm.gzip)} gzip), weights ${mb(shipped.glimpse.weights)} MB; ` +
    `ORT webgpu wasm ${mb(shipped.ort.webgpuWasm.raw)} MB (${mb(shipped.ort.webgpuWasm.gzip)} gzip), cpu wasm ${mb(shipped.ort.cpuWasm.raw)} MB (${mb(shipped.ort.cpuWasm.gzip)} gzip), model ${mb(shipped.ort.model)} MB`);
  mkdirSync(path.join(__dirname, 'results'), { recursive: true });
  writeFileSync(path.join(__dirname, 'results', 'compare.json'), JSON.stringify({ date: new Date().toISOString(), runs: RUNS, warmup: WARMUP, rows, shipped }, null, 2));
});
