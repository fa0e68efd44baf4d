// The page's Content-Security-Policy: set (a <meta>, written by scripts/post-build.mjs), strict
// (own scripts and wasm only, no eval, nothing remote), and nothing the page does trips it while a
// photo is classified and explained. Other specs assert no request leaves the origin in their flows.
import { expect, test } from '@playwright/test';
import { GlimpsePage, photo } from './glimpse-page';

test('content security policy: strict, enforced, and never violated by the page', async ({ page }) => {
  await page.addInitScript(() => {
    (window as any).cspViolations = [];
    document.addEventListener('securitypolicyviolation', (event) => {
      (window as any).cspViolations.push(`${event.violatedDirective}: ${event.blockedURI}`);
    });
  });
  const glimpse = new GlimpsePage(page);
  await glimpse.open('cpu');
  const policy = await page.locator('meta[http-equiv="Content-Security-Policy"]').getAttribute('content');
  const directives = new Map((policy ?? '').split(';').map((d) => d.trim().split(/\s+/)).map(([name, ...values]) => [name, values]));
  expect(directives.get('default-src')).toEqual(["'self'"]);
  const scripts = directives.get('script-src') ?? [];
  expect(scripts).toContain("'wasm-unsafe-eval'");
  expect(scripts.filter((s) => !s.startsWith("'sha256-"))).toEqual(["'self'", "'wasm-unsafe-eval'"]);
  expect(directives.get('connect-src')).toEqual(["'self'"]);
  expect(directives.get('object-src')).toEqual(["'none'"]);

  await glimpse.waitReady();
  await glimpse.drop([photo('coyote.jpg')]);
  const card = page.getByTestId('result').first();
  await expect(card).toHaveAttribute('data-state', 'done');
  await expect(card.getByTestId('saliency')).toHaveAttribute('data-elapsed-ms', /\d/);

  // The policy is enforced: a script injected into the page does not run, a string is not run
  // as code, a script from elsewhere is not loaded. (DevTools' own evaluation is exempt from CSP,
  // so each probe only plants something that the page itself would then have to run.)
  const ran = await page.evaluate(async () => {
    const w = window as any;
    const inline = document.createElement('script');
    inline.textContent = 'window.inlineRan = true';
    document.head.append(inline);
    (setTimeout as any)('window.stringRan = true', 0);
    const remote = document.createElement('script');
    remote.src = 'http://127.0.0.1:9/remote.js';
    const refused = new Promise((resolve) => { remote.onerror = () => resolve('refused'); remote.onload = () => resolve('loaded'); });
    document.head.append(remote);
    const outcome = await refused;
    await new Promise((resolve) => setTimeout(resolve, 100));
    return { inline: w.inlineRan === true, string: w.stringRan === true, remote: outcome };
  });
  expect(ran).toEqual({ inline: false, string: false, remote: 'refused' });
  const violations: string[] = await page.evaluate(() => (window as any).cspViolations);
  expect(violations.some((v) => v.includes('inline')), 'the injected script was reported').toBe(true);
  expect(violations.some((v) => v.includes('eval')), 'the string timer was reported').toBe(true);
  expect(violations.some((v) => v.includes('127.0.0.1:9')), 'the remote script was reported').toBe(true);
  // Nothing else: the page itself never trips the policy.
  expect(violations.filter((v) => !/inline|eval|127\.0\.0\.1:9/.test(v)), 'what the page itself tried').toEqual([]);
  expect(glimpse.consoleErrors.filter((e) => !/Content Security Policy|127\.0\.0\.1:9/.test(e))).toEqual([]);
  // The probe's own attempt shows as a request that CSP then refused (it never loaded, above).
  expect(glimpse.foreignRequests.filter((url) => url !== 'http://127.0.0.1:9/remote.js')).toEqual([]);
});

// The engine's worker is not under the page's policy: a <meta> policy binds only its document, and
// a worker's own policy would come with its script's response headers, which static hosts do not
// send. What keeps the photos in is then that the engine asks for nothing but the site's files:
// the worker's requests are seen (it fetched the weights) and all of them stayed on the site.
test("the engine's worker, outside the page's policy, asks only the site for anything", async ({ page }) => {
  const workers: string[] = [];
  page.on('worker', (worker) => workers.push(worker.url()));
  const asked: string[] = [];
  page.context().on('request', (request) => asked.push(request.url()));
  const glimpse = new GlimpsePage(page);
  await glimpse.open('cpu');
  await glimpse.waitReady();
  await glimpse.drop([photo('coyote.jpg')]);
  await expect(page.getByTestId('result').first().getByTestId('saliency')).toHaveAttribute('data-elapsed-ms', /\d/);
  expect(workers.map((url) => new URL(url).pathname)).toEqual(['/worker_loader.js']);
  // The weights are the worker's own download: its requests are among those seen.
  expect(asked.some((url) => url.endsWith('.safetensors'))).toBe(true);
  glimpse.expectPrivateAndClean();
});

// No analytics, no CDN: the built site names no other host to load anything from. Every file
// the service worker precaches is the site's own (relative URLs), and the page's HTML, the web
// app manifest and the service worker carry no absolute URL at all.
test('the built site loads nothing from anywhere else: no CDN, no analytics', async () => {
  const { readFileSync, readdirSync } = await import('node:fs');
  const path = await import('node:path');
  const dist = path.join(__dirname, '..', '..', 'dist');
  const files = readdirSync(dist);
  for (const name of ['index.html', 'sw.js', 'manifest.webmanifest']) {
    const text = readFileSync(path.join(dist, name), 'utf8');
    // Workbox's runtime names a help page in one of its console warnings; it is never fetched.
    const urls = (text.match(/(?:https?:)?\/\/[a-z0-9.-]+\.[a-z]{2,}[^\s"'`)]*/gi) ?? []).filter((u) => u !== 'https://bit.ly/wb-precache');
    expect(urls, name).toEqual([]);
  }
  const precached = [...readFileSync(path.join(dist, 'sw.js'), 'utf8').matchAll(/url:\s*"([^"]+)"/g)].map((m) => m[1]);
  expect(precached.length).toBeGreaterThan(5);
  for (const url of precached) expect(files, url).toContain(url.replace(/^\.\//, '').split('?')[0]);
  // The JavaScript the page runs: no trackers or CDNs named anywhere in it (as words: the
  // bindings call webkitGetAsEntry, whose letters hold "sEntry").
  for (const name of files.filter((f) => f.endsWith('.js'))) {
    const text = readFileSync(path.join(dist, name), 'utf8');
    expect(text, name).not.toMatch(/google-analytics|googletagmanager|gtag\(|plausible|segment\.io|\bsentry\b|cdn\.jsdelivr|unpkg\.com|cdnjs|fonts\.googleapis/i);
  }
});
