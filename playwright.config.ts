import { defineConfig } from '@playwright/test';

// Serves the built site (dist/) and drives Debian's Chromium: no browser download.
// SwiftShader gives headless Chromium a (software) WebGPU adapter with these flags.
const PORT = Number(process.env.GLIMPSE_E2E_PORT ?? 8090);

export default defineConfig({
  testDir: process.env.E2E_DIR ?? 'tests/e2e',
  outputDir: 'tests/e2e/artifacts/results',
  timeout: 300_000,
  expect: { timeout: 120_000 },
  workers: 1,
  retries: 0,
  reporter: [['list']],
  use: {
    baseURL: `http://127.0.0.1:${PORT}/`,
    viewport: { width: 1280, height: 900 },
    launchOptions: {
      executablePath: process.env.CHROMIUM ?? '/usr/lib/chromium/chromium',
      args: [
        '--no-sandbox',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--disable-quic',
        '--enable-unsafe-webgpu',
        '--enable-features=Vulkan',
        '--use-vulkan=swiftshader',
        '--use-angle=swiftshader',
        // A fake camera (a test pattern) that needs no permission prompt, for webcam capture.
        '--use-fake-device-for-media-stream',
        '--use-fake-ui-for-media-stream',
      ],
    },
  },
  webServer: {
    command: `node node_modules/http-server/bin/http-server dist -a 127.0.0.1 -p ${PORT} -c-1 --silent`,
    url: `http://127.0.0.1:${PORT}/`,
    reuseExistingServer: false,
    timeout: 30_000,
  },
});
