// Trunk post-build hook, run on the staging folder before it becomes dist/:
//  1. strips the wasm files' debug names (a third of their bytes; panics still carry their
//     messages) with Binaryen's wasm-opt, and updates the page's integrity hashes to match;
//  2. sets the page's Content-Security-Policy (a <meta>, as static hosts send no headers): only
//     this site's own scripts (plus Trunk's inline loader, by hash) and wasm, no eval, no remote
//     anything;
//  3. writes sw.js, the offline copy of the site (see service-worker.mjs).
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { writeServiceWorker } from './service-worker.mjs';

const dir = process.env.TRUNK_STAGING_DIR ?? process.argv[2] ?? 'dist';
const wasmOpt = path.join(path.dirname(createRequire(import.meta.url).resolve('binaryen')), 'bin', 'wasm-opt');
const sri = (bytes) => `sha384-${createHash('sha384').update(bytes).digest('base64')}`;

const indexFile = path.join(dir, 'index.html');
let index = readFileSync(indexFile, 'utf8');
for (const name of readdirSync(dir).filter((f) => f.endsWith('.wasm'))) {
  const file = path.join(dir, name);
  const before = readFileSync(file);
  execFileSync(process.execPath, [wasmOpt, file, '-o', file, '--strip-debug', '--strip-producers'], { stdio: 'inherit' });
  const after = readFileSync(file);
  index = index.replaceAll(sri(before), sri(after));
  console.log(`wasm: ${name} ${(before.length / 1e6).toFixed(1)} MB -> ${(after.length / 1e6).toFixed(1)} MB`);
}
writeFileSync(indexFile, contentSecurityPolicy(index));

await writeServiceWorker(dir);

function contentSecurityPolicy(html) {
  const inline = [...html.matchAll(/<script(?![^>]*\bsrc=)[^>]*>([\s\S]*?)<\/script>/g)]
    .map(([, body]) => `'sha256-${createHash('sha256').update(body).digest('base64')}'`);
  const policy = [
    "default-src 'self'",
    `script-src 'self' 'wasm-unsafe-eval' ${inline.join(' ')}`,
    // Leptos sets inline style attributes (bars, overlay opacity); no inline <style> is used.
    "style-src 'self' 'unsafe-inline'",
    // Thumbnails, photos and overlays are blob: or data: URLs made on the page.
    "img-src 'self' blob: data:",
    "media-src 'self' blob:",
    "connect-src 'self'",
    "worker-src 'self'",
    "manifest-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'none'",
  ].join('; ');
  const meta = `<meta http-equiv="Content-Security-Policy" content="${policy}" />`;
  return html.replace(/(<meta charset="utf-8"\s*\/?>)/i, `$1\n    ${meta}`);
}
