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
