// The three backbones in the page, side by side on each backend: ImageNet latency at batch 1 and
// 8 through the page's benchmark hook (upload, network, logits read back, in the engine's worker),
// the backbones taking turns round by round (Lite0, Lite1, Lite2, Lite0, ...) so that drift on a
// shared machine hits them alike, and the bytes each one costs to download. Writes
// bench/results/backbones-page.json.
// Run: E2E_DIR=bench npx playwright test backbones   (after trunk build --release)
import { expect, test } from '@playwright/test';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { GlimpsePage, switchBackbone } from '../tests/e2e/glimpse-page';
import { ROOT } from './sites';
import { machine } from './machine';

type Backend = 'cpu' | 'webgpu';
const BACKENDS = (process.env.BENCH_BACKENDS ?? 'cpu,webgpu').split(',') as Backend[];
const BATCHES = (process.env.BENCH_BATCHES ?? '1,8').split(',').map(Number);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
/** Timed runs per round: SwiftShader (software WebGPU) takes seconds a pass, so fewer there. */
const PER_ROUND: Record<Backend, number> = {
  cpu: Number(process.env.BENCH_CPU_PER_ROUND ?? 5),
  webgpu: Number(process.env.BENCH_GPU_PER_ROUND ?? 1),
};
const BACKBONES = [
  { id: 'lite0', side: 224, file: 'efficientnet-lite0.f16.safetensors' },
  { id: 'lite1', side: 240, file: 'efficientnet-lite1.f16.safetensors' },
  { id: 'lite2', side: 260, file: 'efficientnet-lite2.f16.safetensors' },
];

function quantile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

/** A model input of `side` px: the values a normalised photo has; the time does not depend on them. */
function input(side: number): number[] {
  return Array.from({ length: 3 * side * side }, (_, i) => Math.sin(i * 0.01) * 2);
}

test('the three backbones in the page: latency per backend, side by side, and bytes', async ({ browser }) => {
  test.setTimeout(3_600_000);
  const rows: Array<{ backend: Backend; backbone: string; batch: number; median: number; p10: number; p90: number; runs: number; ratioToLite0: number }> = [];
  for (const backend of BACKENDS) {
    const page = await browser.newPage();
    const glimpse = new GlimpsePage(page);
    await glimpse.open(backend, 'bench');
    await glimpse.waitReady();
    await expect(glimpse.backend()).toHaveAttribute('data-kind', backend);
    const times: Record<string, Record<number, number[]>> = {};
    for (const b of BACKBONES) times[b.id] = Object.fromEntries(BATCHES.map((n) => [n, []]));
    for (let round = 0; round < ROUNDS; round++) {
      for (const b of BACKBONES) {
        await switchBackbone(page, b.id);
        for (const batch of BATCHES) {
          // One untimed pass before each backbone's timed ones: its first after the switch.
          const out = await page.evaluate(async ({ pixels, batch, runs }) => {
            const r = await (window as any).glimpseBenchmark(new Float32Array(pixels), batch, runs, 1);
            return { timesMs: r.timesMs as number[], logits: (r.logits as Float32Array).length };
          }, { pixels: input(b.side), batch, runs: PER_ROUND[backend] });
          expect(out.logits).toBe(1000);
          times[b.id][batch].push(...out.timesMs);
          console.log(`${backend} ${b.id} batch ${batch} round ${round + 1}: ${out.timesMs.map((t) => t.toFixed(1)).join(', ')} ms`);
        }
      }
    }
    for (const batch of BATCHES) {
      const lite0 = quantile(times.lite0[batch], 0.5);
      for (const b of BACKBONES) {
        const t = times[b.id][batch];
        rows.push({ backend, backbone: b.id, batch, median: quantile(t, 0.5), p10: quantile(t, 0.1), p90: quantile(t, 0.9), runs: t.length, ratioToLite0: quantile(t, 0.5) / lite0 });
      }
    }
    glimpse.expectPrivateAndClean();
    await page.close();
  }
  const bytes = BACKBONES.map((b) => {
    const data = readFileSync(path.join(ROOT, 'dist', b.file));
    return { backbone: b.id, side: b.side, raw: data.length, gzip: gzipSync(data, { level: 9 }).length };
  });
  console.log('\n| backend | backbone | batch | median ms | p10-p90 | runs | vs Lite0 |');
  console.log('|---|---|---|---|---|---|---|');
  for (const r of rows) {
    console.log(`| ${r.backend} | ${r.backbone} | ${r.batch} | ${r.median.toFixed(1)} | ${r.p10.toFixed(1)}-${r.p90.toFixed(1)} | ${r.runs} | ${r.ratioToLite0.toFixed(2)}x |`);
  }
  for (const b of bytes) console.log(`${b.backbone}: ${(b.raw / 1e6).toFixed(1)} MB (${(b.gzip / 1e6).toFixed(1)} MB gzip)`);
  mkdirSync(path.join(ROOT, 'bench', 'results'), { recursive: true });
  writeFileSync(path.join(ROOT, 'bench', 'results', 'backbones-page.json'),
    JSON.stringify({ ...machine(browser), adapterNote: 'webgpu here is SwiftShader (software)', rounds: ROUNDS, latency: rows, bytes }, null, 2) + '\n');
});
