// Writes sw.js (from the Trunk post-build hook, post-build.mjs): a Workbox service worker that
// precaches every file of the built site (app shell, JS, wasm, Lite0's weights) under its content
// hash, so the page loads and works offline after the first visit and a new deploy replaces
// exactly the files that changed. The other backbones' weights (11 and 12 MB) are not precached:
// they are fetched when a person chooses one, and kept from then on (cache first).
import { generateSW } from 'workbox-build';

// Weights of the backbones fetched on demand (the page's `Backbone::ships_with_site`).
const OPTIONAL_WEIGHTS_GLOB = 'efficientnet-lite[12].f16.safetensors';
const OPTIONAL_WEIGHTS = /\/efficientnet-lite[12]\.f16\.safetensors$/;

export async function writeServiceWorker(dir) {
  const { count, size, warnings } = await generateSW({
    globDirectory: dir,
    globPatterns: ['**/*.{html,js,wasm,css,svg,png,safetensors,webmanifest}'],
    globIgnores: [OPTIONAL_WEIGHTS_GLOB],
    runtimeCaching: [
      {
        urlPattern: OPTIONAL_WEIGHTS,
        handler: 'CacheFirst',
        options: {
          cacheName: 'glimpse-backbones',
          // Only a whole, good file is kept: a failed or partial download is fetched again.
          cacheableResponse: { statuses: [200] },
        },
      },
    ],
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
