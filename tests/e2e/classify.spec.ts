import { expect, test } from '@playwright/test';
import { EXPECTED_TOP1, GlimpsePage, exportedResults, photo, saliencyStats } from './glimpse-page';

test.describe('classify photos', () => {
  test('CPU backend: dropped sample photos get their known top-1 class, a bad file its own error', async ({ page }, testInfo) => {
    const glimpse = new GlimpsePage(page);
    await glimpse.open('cpu');
    await expect(glimpse.status()).toHaveAttribute('data-state', /loading|ready/);
    await glimpse.waitReady();
    await expect(glimpse.backend()).toContainText('CPU');

    const notAnImage = { name: 'notes (draft) #1.txt', bytes: Buffer.from('just some text, not a photo'), type: 'text/plain' };
    await glimpse.drop([...Object.keys(EXPECTED_TOP1).map((name) => photo(name)), notAnImage]);

    for (const [file, label] of Object.entries(EXPECTED_TOP1)) {
      const ranking = await glimpse.ranking(file);
      expect(ranking).toHaveLength(5);
      expect(ranking[0][0], file).toBe(label);
      const confidences = ranking.map(([, c]) => c);
      expect(confidences).toEqual([...confidences].sort((a, b) => b - a));
      expect(confidences[0]).toBeGreaterThan(0.2);
      expect(confidences[0]).toBeLessThanOrEqual(1);
      await expect(glimpse.predictions(file).first()).toContainText('%');
    }
    const error = glimpse.result(notAnImage.name).getByTestId('error');
    await expect(error).toContainText('not an image');
    await expect(glimpse.result(notAnImage.name).getByTestId('prediction')).toHaveCount(0);

    // The results table: one row per card, each with the card's ranking and the model, or its reason.
    const rows = await exportedResults(page, 'results-cpu.csv');
    expect(rows.map((r) => r.file).sort()).toEqual([...Object.keys(EXPECTED_TOP1), notAnImage.name].sort());
    for (const file of Object.keys(EXPECTED_TOP1)) {
      const row = rows.find((r) => r.file === file)!;
      expect([row.state, row.model], file).toEqual(['done', 'ImageNet (EfficientNet-Lite0)']);
      for (const [i, [label, confidence]] of (await glimpse.ranking(file)).entries()) {
        expect(row[`label_${i + 1}`], file).toBe(label);
        expect(Math.abs(Number(row[`confidence_${i + 1}`]) - confidence), file).toBeLessThan(1e-4);
      }
    }
    const failed = rows.find((r) => r.file === notAnImage.name)!;
    expect([failed.state, failed.label_1]).toEqual(['failed', '']);
    expect(failed.error).toContain('not an image');

    await glimpse.screenshot(testInfo, 'classify-cpu');
    await page.setViewportSize({ width: 375, height: 800 });
    await glimpse.screenshot(testInfo, 'classify-cpu-375px');
    glimpse.expectPrivateAndClean();
  });

  test('CPU backend: a pasted image is classified', async ({ page }) => {
    const glimpse = new GlimpsePage(page);
    await glimpse.open('cpu');
    await glimpse.waitReady();
    await glimpse.paste(photo('torch.jpg', 'pasted.jpg'));
    expect((await glimpse.ranking('pasted.jpg'))[0][0]).toBe('torch');
    glimpse.expectPrivateAndClean();
  });

  test('CPU backend: 40 photos picked at once all get answers, the same from every worker of the pool', async ({ page }) => {
    const glimpse = new GlimpsePage(page);
    await glimpse.open('cpu', 'bench&workers=2');
    const names = Object.keys(EXPECTED_TOP1);
    const files = Array.from({ length: 40 }, (_, i) => photo(names[i % names.length], `copy-${i}-${names[i % names.length]}`));
    // Picked before the model is ready: they wait in the queue, then all go through, shared by
    // the engine and the helper the pool starts for them.
    await glimpse.pick(files);
    await expect(page.getByTestId('result')).toHaveCount(40);
    await expect(glimpse.backend()).toHaveAttribute('data-workers', '2', { timeout: 240_000 });
    const rankings = new Map<string, Array<[string, number]>>();
    for (const file of files) {
      const ranking = await glimpse.ranking(file.name, 240_000);
      const original = file.name.replace(/^copy-\d+-/, '');
      expect(ranking[0][0], file.name).toBe(EXPECTED_TOP1[original]);
      // Every copy of a photo gets the same answer, whichever worker gave it.
      const first = rankings.get(original) ?? ranking;
      rankings.set(original, first);
      expect(ranking, file.name).toEqual(first);
    }
    // Both workers answered: the engine (0) and the helper (1), and each photo once.
    const [answers, by] = await page.evaluate(() => [(window as any).glimpseAnswers, (window as any).glimpseAnsweredBy]);
    expect(Object.values(answers)).toEqual(Array(40).fill(1));
    expect(new Set(Object.values(by))).toEqual(new Set([0, 1]));
    glimpse.expectPrivateAndClean();
  });

  test('WebGPU backend (SwiftShader here): a photo gets its known class', async ({ page }, testInfo) => {
    const glimpse = new GlimpsePage(page);
    await glimpse.open('webgpu');
    await glimpse.waitReady();
    await expect(glimpse.backend()).toContainText('WebGPU');
    await expect(glimpse.backend()).toContainText('software');
    await glimpse.drop([photo('flamingo.jpg'), photo('coyote.jpg')]);
    expect((await glimpse.ranking('flamingo.jpg', 240_000))[0][0]).toBe('flamingo');
    expect((await glimpse.ranking('coyote.jpg', 240_000))[0][0]).toBe('coyote');
    // The overlay is computed on the same device.
    await expect(glimpse.result('flamingo.jpg').getByTestId('saliency')).toHaveAttribute('data-method', 'grad-cam');
    expect((await saliencyStats(glimpse.result('flamingo.jpg'))).variance).toBeGreaterThan(100);
    await glimpse.screenshot(testInfo, 'classify-webgpu');
    glimpse.expectPrivateAndClean();
  });
});
