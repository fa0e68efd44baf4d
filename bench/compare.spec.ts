// The side-by-side benchmark: Glimpse and ONNX Runtime Web, one browser, one run, the same
// EfficientNet-Lite0 weights (scripts/export_onnx.py, checked against Glimpse) and the same input
// tensor (a sample photo as Glimpse preprocesses it). Prints a table with Glimpse/ORT ratios and
// writes bench/results/compare.json.
// Run: scripts/bench.sh   (builds the site and the ONNX model first)
import { expect, test, type Page } from '@playwright/test';
import { mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { cpus } from 'node:os';
import { gzipSync } from 'node:zlib';
import { GlimpsePage } from '../tests/e2e/glimpse-page';
import { ROOT, ortSite, serve } from './sites';
import { machine } from './machine';

const RUNS = Number(process.env.BENCH_RUNS ?? 30);
const WARMUP = Number(process.env.BENCH_WARMUP ?? 3);
/** Runs are split into this many rounds, the runtimes taking turns, so drift hits both alike. */
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const BACKENDS = (process.env.BENCH_BACKENDS ?? 'cpu,webgpu').split(',') as Backend[];
const BATCHES = (process.env.BENCH_BATCHES ?? '1,8').split(',').map(Number);
const ORT_PORT = 8092;
/** The same ORT site, cross-origin isolated: its multi-threaded wasm, an informational row. */
const ORT_ISOLATED_PORT = 8095;

type Backend = 'cpu' | 'webgpu';
interface Layer { layer: string; ms: number }
interface Run { timesMs: number[]; logits: number[]; layers?: Layer[] }

function quantile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

function maxDiff(a: number[], b: number[]): number {
  return a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);
}

async function glimpseRun(page: Page, pixels: number[], batch: number, runs: number, warmup: number): Promise<Run> {
  return page.evaluate(async ({ pixels, batch, runs, warmup }) => {
    const out = await (window as any).glimpseBenchmark(new Float32Array(pixels), batch, runs, warmup);
    return { timesMs: out.timesMs, logits: Array.from(out.logits as Float32Array), layers: out.layers };
  }, { pixels, batch, runs, warmup });
}

async function ortRun(page: Page, backend: Backend, pixels: number[], batch: number, runs: number, warmup: number): Promise<Run> {
  return page.evaluate(async ({ backend, pixels, batch, runs, warmup }) =>
    (window as any).ortBenchmark(backend === 'cpu' ? 'wasm' : 'webgpu', new Float32Array(pixels), batch, runs, warmup),
  { backend, pixels, batch, runs, warmup });
}

function bytes(file: string) {
  const data = readFileSync(file);
  return { raw: data.length, gzip: gzipSync(data, { level: 9 }).length };
}

/** Runs `rounds` rounds; each gives every runtime `per` timed runs in turn (A, B, A, B, ...). */
async function interleaved(runners: Array<(runs: number, warmup: number) => Promise<Run>>, rounds: number, per: number): Promise<Run[]> {
  const all: Run[] = runners.map(() => ({ timesMs: [], logits: [] }));
  for (let round = 0; round < rounds; round++) {
    for (const [i, run] of runners.entries()) {
      // Warm-up runs only before a runtime's first round.
      const r = await run(per, round === 0 ? WARMUP : 0);
      all[i].timesMs.push(...r.timesMs);
      all[i].logits = r.logits;
      all[i].layers = r.layers?.length ? r.layers : all[i].layers;
    }
  }
  return all;
}

function stats(times: number[]) {
  return { median: quantile(times, 0.5), p10: quantile(times, 0.1), p90: quantile(times, 0.9), runs: times.length };
}

test('Glimpse vs ONNX Runtime Web, side by side', async ({ browser }) => {
  test.setTimeout(3_600_000);
  const input = readFileSync(path.join(ROOT, 'target', 'onnx-reference', 'cat.input.f32'));
  const pixels = Array.from(new Float32Array(input.buffer, input.byteOffset, input.length / 4));
  const site = ortSite();
  const server = await serve(site.dir, ORT_PORT);
  const isolatedServer = await serve(site.dir, ORT_ISOLATED_PORT, true);
  const threads = Number(process.env.BENCH_ORT_THREADS ?? cpus().length);
  const rows: any[] = [];
  const rounds = Math.max(1, ROUNDS);
  const per = Math.max(1, Math.round(RUNS / rounds));
  try {
    for (const backend of BACKENDS) {
      const glimpsePage = await browser.newPage();
      const glimpse = new GlimpsePage(glimpsePage);
      await glimpsePage.goto(`./?backend=${backend}&bench`);
      await glimpse.waitReady();
      // On WebGPU, Burn's own convolutions in the same build: the fused kernels' before/after.
      const burnPage = backend === 'webgpu' ? await browser.newPage() : null;
      if (burnPage) {
        await burnPage.goto(`./?backend=webgpu&bench&gpu-kernels=off`);
        await new GlimpsePage(burnPage).waitReady();
      }
      const ortPage = await browser.newPage();
      await ortPage.goto(`http://127.0.0.1:${ORT_PORT}/`);
      await ortPage.waitForFunction(() => (window as any).ortReady === true);
      const threadedPage = backend === 'cpu' && threads > 1 ? await browser.newPage() : null;
      if (threadedPage) {
        await threadedPage.goto(`http://127.0.0.1:${ORT_ISOLATED_PORT}/?threads=${threads}`);
        await threadedPage.waitForFunction(() => (window as any).ortReady === true);
        expect(await threadedPage.evaluate(() => crossOriginIsolated), 'the threaded page must be cross-origin isolated').toBe(true);
      }
      for (const batch of BATCHES) {
        const runners = [
          (runs: number, warmup: number) => glimpseRun(glimpsePage, pixels, batch, runs, warmup),
          (runs: number, warmup: number) => ortRun(ortPage, backend, pixels, batch, runs, warmup),
          ...(burnPage ? [(runs: number, warmup: number) => glimpseRun(burnPage, pixels, batch, runs, warmup)] : []),
          ...(threadedPage ? [(runs: number, warmup: number) => ortRun(threadedPage, backend, pixels, batch, runs, warmup)] : []),
        ];
        const measured = await interleaved(runners, rounds, per);
        const [g, o] = measured;
        const b = burnPage ? measured[2] : undefined;
        const t = threadedPage ? measured[2] : undefined;
        const row = {
          backend, batch, runs: g.timesMs.length, rounds,
          glimpse: stats(g.timesMs),
          ort: stats(o.timesMs),
          burnKernels: b ? stats(b.timesMs) : null,
          maxLogitDiff: maxDiff(g.logits, o.logits),
          burnKernelsMaxLogitDiff: b ? maxDiff(g.logits, b.logits) : null,
          ortThreads: t ? { threads, ...stats(t.timesMs) } : null,
          glimpseLayers: g.layers ?? [],
        };
        rows.push(row);
        console.log(`${backend} batch ${batch}: Glimpse ${row.glimpse.median.toFixed(1)} (${row.glimpse.p10.toFixed(1)}-${row.glimpse.p90.toFixed(1)}) ms, ORT ${row.ort.median.toFixed(1)} (${row.ort.p10.toFixed(1)}-${row.ort.p90.toFixed(1)}) ms, ratio ${(row.glimpse.median / row.ort.median).toFixed(2)}` +
          (row.burnKernels ? `, Burn's kernels ${row.burnKernels.median.toFixed(1)} ms` : '') +
          (row.ortThreads ? `, ORT ${threads} threads ${row.ortThreads.median.toFixed(1)} ms` : '') + `, max |logit diff| ${row.maxLogitDiff.toExponential(1)}`);
        expect(row.maxLogitDiff, 'the two runtimes disagree').toBeLessThan(1e-2);
        if (row.burnKernelsMaxLogitDiff !== null) expect(row.burnKernelsMaxLogitDiff, 'fused kernels vs Burn\'s').toBeLessThan(1e-3);
      }
      glimpse.expectPrivateAndClean();
      await glimpsePage.close();
      await burnPage?.close();
      await ortPage.close();
      await threadedPage?.close();
    }
  } finally {
    await server.close();
    await isolatedServer.close();
    site.remove();
  }

  const dist = path.join(ROOT, 'dist');
  const wasm = (prefix: string) => {
    const name = readdirSync(dist).find((f: string) => f.startsWith(prefix) && f.endsWith('.wasm'));
    return bytes(path.join(dist, name));
  };
  const shipped = {
    glimpse: { workerWasm: wasm('worker_bg'), appWasm: wasm('app-'), weights: statSync(path.join(dist, 'efficientnet-lite0.f16.safetensors')).size },
    ort: {
      webgpuWasm: bytes(path.join(ROOT, 'node_modules/onnxruntime-web/dist/ort-wasm-simd-threaded.asyncify.wasm')),
      cpuWasm: bytes(path.join(ROOT, 'node_modules/onnxruntime-web/dist/ort-wasm-simd-threaded.wasm')),
      model: statSync(path.join(ROOT, 'dist-bench', 'efficientnet-lite0.onnx')).size,
      modelF16: statSync(path.join(ROOT, 'dist-bench', 'efficientnet-lite0.f16.onnx')).size,
    },
  };
  for (const r of rows.filter((r) => r.glimpseLayers.length > 0)) {
    const total = r.glimpseLayers.reduce((sum: number, l: Layer) => sum + l.ms, 0);
    const byKind = new Map<string, number>();
    for (const l of r.glimpseLayers as Layer[]) {
      const kind = l.layer.replace(/^block \d+ /, '').replace(/ \(.*$/, '').replace(/ \/2$/, '');
      byKind.set(kind, (byKind.get(kind) ?? 0) + l.ms);
    }
    console.log(`\nGlimpse ${r.backend} batch 1, where the time goes (per-layer medians, sum ${total.toFixed(1)} ms):`);
    for (const [kind, ms] of [...byKind].sort((a, b) => b[1] - a[1])) console.log(`  ${kind.padEnd(28)} ${ms.toFixed(1).padStart(7)} ms  ${(100 * ms / total).toFixed(0).padStart(3)}%`);
    const slowest = [...r.glimpseLayers].sort((a: Layer, b: Layer) => b.ms - a.ms).slice(0, 8);
    for (const l of slowest) console.log(`    ${l.layer.padEnd(44)} ${l.ms.toFixed(2)} ms`);
  }
  const cell = (s: { median: number; p10: number; p90: number }) => `${s.median.toFixed(1)} (${s.p10.toFixed(1)}-${s.p90.toFixed(1)})`;
  console.log('\n| path | batch | Glimpse median (p10-p90), ms | ORT-Web median (p10-p90), ms | Glimpse / ORT | Glimpse with Burn\'s kernels, ms | ORT wasm with threads (isolated page), ms |');
  console.log('|---|---|---|---|---|---|---|');
  for (const r of rows) {
    const threaded = r.ortThreads ? `${cell(r.ortThreads)} (${r.ortThreads.threads} threads)` : '-';
    console.log(`| ${r.backend === 'cpu' ? 'CPU (Glimpse\'s kernels vs ORT wasm)' : 'WebGPU'} | ${r.batch} | ${cell(r.glimpse)} | ${cell(r.ort)} | ${(r.glimpse.median / r.ort.median).toFixed(2)} | ${r.burnKernels ? cell(r.burnKernels) : '-'} | ${threaded} |`);
  }
  const mb = (n: number) => (n / 1e6).toFixed(1);
  console.log(`\nbytes: Glimpse worker wasm ${mb(shipped.glimpse.workerWasm.raw)} MB (${mb(shipped.glimpse.workerWasm.gzip)} gzip), app wasm ${mb(shipped.glimpse.appWasm.raw)} MB (${mb(shipped.glimpse.appWasm.gzip)} gzip), weights ${mb(shipped.glimpse.weights)} MB; ` +
    `ORT webgpu wasm ${mb(shipped.ort.webgpuWasm.raw)} MB (${mb(shipped.ort.webgpuWasm.gzip)} gzip), cpu wasm ${mb(shipped.ort.cpuWasm.raw)} MB (${mb(shipped.ort.cpuWasm.gzip)} gzip), model ${mb(shipped.ort.model)} MB (${mb(shipped.ort.modelF16)} MB with f16 weights)`);
  mkdirSync(path.join(__dirname, 'results'), { recursive: true });
  // A run of some backends only (BENCH_BACKENDS) keeps its own file, beside the full run's.
  const name = process.env.BENCH_BACKENDS ? `compare-${BACKENDS.join('-')}.json` : 'compare.json';
  writeFileSync(path.join(__dirname, 'results', name), JSON.stringify({ ...machine(browser), runs: RUNS, warmup: WARMUP, rounds: ROUNDS, rows, shipped }, null, 2));
});
