// Writes sw.js (from the Trunk post-build hook, post-build.mjs): a Workbox service worker that
// precaches every file of the built site (app shell, JS, wasm, weights) under its content hash,
// so the page loads and works offline after the first visit and a new deploy replaces exactly
// the files that changed.
import { generateSW } from 'workbox-build';

export async function writeServiceWorker(dir) {
  const { count, size, warnings } = await generateSW({
    globDirectory: dir,
    globPatterns: ['**/*.{html,js,wasm,css,svg,png,safetensors,webmanifest}'],
    swDest: `${dir}/sw.js`,
    // One self-contained file: nothing is fetched from a CDN.
    inlineWorkboxRuntime: true,
    mode: 'production',
    sourcemap: false,
    // The worker's wasm is the largest file.
    maximumFileSizeToCacheInBytes: 256 * 1024 * 1024,
    // Trunk's hashed names need no cache-busting query.
    dontCacheBustURLsMatching: /-[0-9a-f]{16}(_bg)?\.[a-z]+$/,
    // `./?backend=cpu` is still index.html.
    ignoreURLParametersMatching: [/.*/],
    directoryIndex: 'index.html',
    cleanupOutdatedCaches: true,
    // A new version waits until the person reloads into it (the page asks them).
    skipWaiting: false,
    clientsClaim: true,
  });
  for (const warning of warnings) console.warn(`service worker: ${warning}`);
  console.log(`service worker: precaches ${count} files, ${(size / 1e6).toFixed(1)} MB`);
}
