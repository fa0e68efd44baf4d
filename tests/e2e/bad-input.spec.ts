// Whatever a person drops, each file gets the right answer or a clear message of its own, and the
// other files in the same drop are unaffected: on the main drop zone and on a class bucket.
import { expect, test, type Page } from '@playwright/test';
import { GlimpsePage } from './glimpse-page';
import { badInputCorpus, type CorpusItem } from './bad-inputs';

interface CardSeen {
  name: string;
  state: string;
  top1: string | null;
  error: string | null;
  frame: string | null;
}

async function cardsSeen(page: Page): Promise<CardSeen[]> {
  return page.getByTestId('result').evaluateAll((cards) =>
    cards.map((card) => ({
      name: card.getAttribute('data-file-name') ?? '',
      state: card.getAttribute('data-state') ?? '',
      top1: card.querySelector('[data-testid="prediction"]')?.getAttribute('data-label') ?? null,
      error: card.querySelector('[data-testid="error"]')?.textContent ?? null,
      frame: (card.querySelector('.photo') as HTMLElement | null)?.getAttribute('style') ?? null,
    })),
  );
}

/** Checks every card against its corpus item (matched by name; repeated names in order). */
function checkCards(corpus: CorpusItem[], seen: CardSeen[]) {
  expect(seen).toHaveLength(corpus.length);
  const left = [...seen];
  for (const item of corpus) {
    const index = left.findIndex((card) => card.name === item.name);
    expect(index, `a card for ${item.kind}`).toBeGreaterThanOrEqual(0);
    const [card] = left.splice(index, 1);
    const outcome = item.outcome;
    if ('error' in outcome) {
      expect(card.state, item.kind).toBe('error');
      expect(card.error, item.kind).toMatch(outcome.error);
      expect(card.error, item.kind).toMatch(/^Can't use this file: /);
    } else {
      expect(card.state, `${item.kind}: ${card.error}`).toBe('done');
      if ('top1' in outcome) expect(card.top1, item.kind).toBe(outcome.top1);
      else expect(card.top1, item.kind).toBeTruthy();
      if ('top1' in outcome && outcome.portrait) {
        // Upright: the photo is drawn at its displayed (portrait) aspect.
        const [w, h] = outcome.portrait;
        expect(card.frame, item.kind).toContain(`aspect-ratio: ${w} / ${h}`);
      }
    }
  }
}

test.describe('bad input', () => {
  test('CPU: every kind of awkward file in one drop gets its right class or its own message', async ({ page }, testInfo) => {
    const glimpse = new GlimpsePage(page);
    await page.goto('./?backend=cpu&bench');
    await glimpse.waitReady();
    const corpus = await badInputCorpus(page);
    await glimpse.drop(corpus);
    await expect(page.getByTestId('result')).toHaveCount(corpus.length);
    await expect(page.locator('[data-testid="result"]:is([data-state="queued"], [data-state="working"])')).toHaveCount(0, { timeout: 240_000 });
    const seen = await cardsSeen(page);
    for (const card of seen) console.log(`${card.name}: ${card.state} ${card.top1 ?? card.error}`);
    checkCards(corpus, seen);
    // The bomb and the 20000 x 20000 PNG were refused before decoding: the engine's memory is
    // nowhere near the 675 MB / 1.2 GB their pixels would take.
    const wasm = await page.evaluate(() => (window as any).glimpseMemory());
    console.log(`engine wasm memory after the corpus: ${(wasm / 1e6).toFixed(1)} MB`);
    expect(wasm).toBeLessThan(256e6);
    // The photos that worked have their overlays.
    await expect(glimpse.result('flamingo.webp').getByTestId('saliency')).toHaveAttribute('data-method', 'grad-cam');
    await glimpse.screenshot(testInfo, 'bad-input-cpu');
    glimpse.expectPrivateAndClean();
  });

  test('CPU: the same files dropped on a class bucket: good ones are learnt, bad ones listed with their reason', async ({ page }, testInfo) => {
    const glimpse = new GlimpsePage(page);
    await glimpse.open('cpu');
    await glimpse.waitReady();
    const corpus = await badInputCorpus(page);
    const bucket = page.getByTestId('class').first();
    await glimpse.dropOn(bucket, corpus);
    const bad = corpus.filter((item) => 'error' in item.outcome);
    const good = corpus.length - bad.length;
    await expect(bucket.locator('.class-photo[data-state="ready"]')).toHaveCount(good, { timeout: 240_000 });
    await expect(bucket.getByTestId('class-count')).toHaveAttribute('data-value', String(good));
    const errors = bucket.getByTestId('class-photo-error');
    await expect(errors).toHaveCount(bad.length);
    for (const item of bad) {
      const error = errors.filter({ hasText: `Can't use ${item.name}: ` });
      await expect(error, item.kind).toHaveCount(1);
      await expect(error, item.kind).toHaveAttribute('data-file-name', item.name);
      await expect(error, item.kind).toContainText((item.outcome as { error: RegExp }).error);
    }
    await glimpse.screenshot(testInfo, 'bad-input-bucket');
    // A listed failure can be dismissed.
    await errors.first().getByRole('button', { name: 'Dismiss' }).click();
    await expect(errors).toHaveCount(bad.length - 1);
    glimpse.expectPrivateAndClean();
  });

  test('WebGPU (SwiftShader): a bomb and a text file beside a good photo', async ({ page }) => {
    const glimpse = new GlimpsePage(page);
    await glimpse.open('webgpu');
    await glimpse.waitReady();
    const corpus = (await badInputCorpus(page)).filter((item) => ['notes.txt', 'bomb.png', 'flamingo.webp'].includes(item.name));
    await glimpse.drop(corpus);
    await expect(page.locator('[data-testid="result"]:is([data-state="queued"], [data-state="working"])')).toHaveCount(0, { timeout: 240_000 });
    checkCards(corpus, await cardsSeen(page));
    glimpse.expectPrivateAndClean();
  });
});
