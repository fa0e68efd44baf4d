import { expect, test } from '@playwright/test';
import { GlimpsePage, download, dropCrops, exportedResults, nameClasses, onnxSummary, photo, teachTextures } from './glimpse-page';

const NAMES = ['brick', 'grass', 'gravel'];

test('teach on CPU: three classes of ten photos, held-out accuracy, personal predictions, back to ImageNet', async ({ page }, testInfo) => {
  const glimpse = new GlimpsePage(page);
  await glimpse.open('cpu');
  await glimpse.waitReady();
  await expect(page.getByTestId('train-progress')).toHaveAttribute('data-state', 'idle');
  await expect(page.getByTestId('train')).toBeDisabled();
  await nameClasses(page, NAMES);

  for (const [i, name] of NAMES.entries()) {
    await dropCrops(page, `[data-testid="class"][data-class-name="${name}"]`, name, 0, 10, 17 + i, `${name}-train`);
  }
  for (const name of NAMES) {
    await expect(page.locator(`[data-testid="class"][data-class-name="${name}"] [data-testid="class-count"]`)).toHaveAttribute('data-value', '10');
  }
  await expect(page.locator('.class-photo[data-state="ready"]')).toHaveCount(30, { timeout: 120_000 });

  await page.getByTestId('train').click();
  const progress = page.getByTestId('train-progress');
  await expect(progress).toHaveAttribute('data-state', 'done', { timeout: 240_000 });
  expect(Number(await progress.getAttribute('data-epoch'))).toBeGreaterThan(0);
  const accuracy = Number(await page.getByTestId('metric-accuracy').getAttribute('data-value'));
  console.log(`held-out accuracy in the page: ${accuracy}`);
  expect(accuracy).toBeGreaterThanOrEqual(0.9);
  // The charts read as words: a legend entry per line, axes with numbers and titles, the epoch
  // whose model was kept marked.
  const chart = page.getByTestId('training-chart');
  await expect(chart).toBeVisible();
  await expect(chart.getByTestId('chart-legend-item')).toHaveText(
    ['training loss', 'validation loss', 'training accuracy', 'validation accuracy', 'the epoch whose model was kept']);
  await expect(chart.locator('.axis-title')).toHaveText(['epoch', 'loss', 'accuracy']);
  const epochs = Number(await chart.getAttribute('data-epochs'));
  const epochTicks = (await chart.getByTestId('epoch-tick').allTextContents()).map(Number);
  expect(epochTicks.length).toBeGreaterThanOrEqual(2);
  expect(epochTicks.every((t) => Number.isInteger(t) && t >= 1 && t <= epochs)).toBe(true);
  const best = Number(await chart.getByTestId('best-epoch').getAttribute('data-epoch'));
  expect(best).toBeGreaterThanOrEqual(1);
  expect(best).toBeLessThanOrEqual(epochs);
  await expect(chart.getByTestId('best-epoch')).toContainText(`best: ${best}`);
  const roc = page.getByTestId('roc-chart');
  await expect(roc.getByTestId('chart-legend-item')).toHaveText([...NAMES, 'a guess']);
  await expect(roc.locator('.axis-title')).toHaveText(['false positive rate', 'true positive rate']);
  // The accuracy comes with its 95% interval (Wilson, over the photos the confusion matrix
  // counts) and how many photos it rests on: 6 of 30 held out is too few to go by.
  const matrix = page.getByTestId('confusion-matrix');
  const cells = await matrix.getByTestId('confusion-cell').evaluateAll((all) => all.map((c) =>
    [c.getAttribute('data-actual'), c.getAttribute('data-predicted'), Number(c.getAttribute('data-count'))] as const));
  const heldOut = cells.reduce((sum, [, , n]) => sum + n, 0);
  const correct = cells.filter(([a, p]) => a === p).reduce((sum, [, , n]) => sum + n, 0);
  const z = 1.959964, phat = correct / heldOut, z2n = (z * z) / heldOut;
  const centre = (phat + z2n / 2) / (1 + z2n);
  const half = (z / (1 + z2n)) * Math.sqrt((phat * (1 - phat)) / heldOut + z2n / (4 * heldOut));
  const metric = page.getByTestId('metric-accuracy');
  const [low, high] = [Number(await metric.getAttribute('data-low')), Number(await metric.getAttribute('data-high'))];
  expect(heldOut).toBe(6);
  expect(low).toBeCloseTo(Math.max(0, centre - half), 4);
  expect(high).toBeCloseTo(Math.min(1, centre + half), 4);
  await expect(metric).toHaveText(`${Math.round(accuracy * 100)}% (${Math.round(low * 100)}-${Math.round(high * 100)}%, 6 photos)`);
  await expect(page.getByTestId('accuracy-advice')).toContainText(`anywhere from ${Math.round(low * 100)}% to ${Math.round(high * 100)}%`);
  const perClass = Number((await page.getByTestId('accuracy-advice').textContent())!.match(/About (\d+) photos per class/)![1]);
  expect(perClass).toBeGreaterThan(10);
  // Precision and recall show the photos they count.
  await expect(page.locator('[data-testid="class-scores"][data-class-name="brick"] td').nth(1)).toHaveText(/^\d+% \(\d+\/2\)$/);
  // A confusion-matrix cell shows the photos that landed in it.
  await expect(matrix.getByTestId('confusion-cell')).toHaveCount(9);
  const diagonal = matrix.locator('[data-testid="confusion-cell"][data-actual="0"][data-predicted="0"]');
  const count = Number(await diagonal.getAttribute('data-count'));
  await diagonal.locator('button').click();
  await expect(page.getByTestId('confusion-photos').locator('img')).toHaveCount(count);
  await expect(page.getByTestId('model-select')).toHaveValue('personal');
  // Confidence that means what it says: the reliability diagram, and the calibration error
  // before and after temperature scaling.
  const reliability = page.getByTestId('reliability-diagram');
  await expect(reliability.locator('.axis-title')).toHaveText(['confidence', 'accuracy']);
  await expect(reliability.getByTestId('chart-legend-item')).toHaveText(
    ['before scaling', /^after \(temperature \d+\.\d\d\)$/, 'says exactly how often it is right']);
  expect(Number(await reliability.getAttribute('data-bins'))).toBeGreaterThanOrEqual(1);
  const ece = page.getByTestId('metric-ece');
  const [eceBefore, eceAfter] = [Number(await ece.getAttribute('data-before')), Number(await ece.getAttribute('data-value'))];
  console.log(`calibration error in the page: ${eceBefore} before, ${eceAfter} after`);
  for (const v of [eceBefore, eceAfter]) expect(v >= 0 && v <= 1, `${v}`).toBe(true);
  await expect(ece).toContainText(`${(eceBefore * 100).toFixed(1)}% before, ${(eceAfter * 100).toFixed(1)}% after`);
  // How "none of your classes" is decided: 95% of the person's photos clear the bar.
  const rule = page.getByTestId('known-rule');
  const [passed, judged] = [Number(await rule.getAttribute('data-passed')), Number(await rule.getAttribute('data-photos'))];
  expect(judged).toBe(30);
  expect(passed / judged).toBeGreaterThanOrEqual(0.95);
  await expect(rule).toContainText(`${passed} of ${judged} do`);

  // Unseen crops from the other half of each texture, classified with the personal classes.
  for (const [i, name] of NAMES.entries()) {
    await dropCrops(page, '[data-testid="drop-zone"]', name, 1, 2, 91 + i, `${name}-unseen`);
  }
  for (const name of NAMES) {
    for (let i = 0; i < 2; i++) {
      const ranking = await glimpse.ranking(`${name}-unseen-${i}.png`);
      expect(ranking.map(([label]) => label).sort()).toEqual([...NAMES].sort());
      expect(ranking[0][0], `${name}-unseen-${i}`).toBe(name);
    }
  }
  await expect(glimpse.result('brick-unseen-0.png').getByTestId('saliency')).toHaveAttribute('data-method', 'grad-cam');
  // "None of your classes": photos of something else entirely are told apart from new crops of
  // the textures, which pass as one of them.
  for (const [i, name] of NAMES.entries()) {
    await dropCrops(page, '[data-testid="drop-zone"]', name, 0, 2, 71 + i, `${name}-new`);
  }
  const strangers = ['cat.jpg', 'bridge.jpg', 'coyote.jpg'];
  await glimpse.drop(strangers.map((s) => photo(s)));
  for (const name of NAMES) {
    for (let i = 0; i < 2; i++) {
      expect((await glimpse.ranking(`${name}-new-${i}.png`))[0][0]).toBe(name);
      await expect(glimpse.result(`${name}-new-${i}.png`)).toHaveAttribute('data-known', 'true');
      await expect(glimpse.result(`${name}-new-${i}.png`).getByTestId('not-known')).toHaveCount(0);
    }
  }
  for (const stranger of strangers) {
    await glimpse.ranking(stranger);
    const card = glimpse.result(stranger);
    await expect(card, stranger).toHaveAttribute('data-known', 'false');
    await expect(card.getByTestId('not-known')).toHaveText(/^None of your classes \(closest: (brick|grass|gravel), \d+%\)$/);
  }
  // Photos worth labelling: the answers it was least sure of come first, the strangers before all.
  const worth = page.locator('[data-testid="worth-labelling-item"][data-kind="answer"]');
  await expect(worth).toHaveCount(6);
  expect((await worth.evaluateAll((all) => all.slice(0, 3).map((e) => e.getAttribute('data-file-name')))).sort()).toEqual([...strangers].sort());
  await expect(page.getByTestId('retrain-suggestion')).toHaveCount(0);
  // "This is brick": an answered photo becomes a training photo of that class; a quick retrain
  // (the head only) learns from it.
  const brickClass = page.locator('[data-testid="class"][data-class-name="brick"]');
  const brickKey = await glimpse.result('brick-unseen-1.png').getByTestId('add-to-class').locator('option', { hasText: /^brick$/ }).getAttribute('value');
  await glimpse.result('brick-unseen-1.png').getByTestId('add-to-class').selectOption(brickKey!);
  await expect(glimpse.result('brick-unseen-1.png').getByTestId('added-to')).toHaveText('Added to "brick"');
  await expect(brickClass.getByTestId('class-count')).toHaveAttribute('data-value', '11');
  await expect(page.locator('.class-photo[data-state="ready"]')).toHaveCount(31, { timeout: 60_000 });
  await expect(page.getByTestId('retrain-suggestion')).toContainText('1 photo added from answers');
  const retrainStarted = Date.now();
  await page.getByTestId('retrain').click();
  await expect(progress).toHaveAttribute('data-state', 'done', { timeout: 120_000 });
  console.log(`retrain (head only, 31 photos) took ${Date.now() - retrainStarted} ms in the page`);
  await expect(page.locator('[data-testid="class-scores"][data-class-name="brick"]')).toHaveAttribute('data-trained', '11');
  await expect(page.getByTestId('retrain-suggestion')).toHaveCount(0);
  // The personal model as ONNX, as the page offers it: onnxruntime reads its classes and runs it.
  const onnx = onnxSummary(await download(page, 'export-onnx', 'teach.onnx'));
  expect(onnx).toEqual({ classes: NAMES, output: 'probabilities', shape: [2, 3], sums: [1, 1], backbone: 'lite0', side: 224 });
  await glimpse.screenshot(testInfo, 'teach-cpu');

  // Back to the ImageNet model.
  await page.getByTestId('model-select').selectOption('imagenet');
  await expect(page.getByTestId('model-select')).toHaveValue('imagenet');
  await glimpse.drop([photo('flamingo.jpg')]);
  expect((await glimpse.ranking('flamingo.jpg'))[0][0]).toBe('flamingo');
  // Under the ImageNet model no card says whether it is one of the person's classes.
  await expect(glimpse.result('flamingo.jpg')).not.toHaveAttribute('data-known', /.*/);

  // The results table names the model that gave each answer: the personal one, dated, for the crops.
  const rows = await exportedResults(page, 'results-teach.csv');
  expect(rows).toHaveLength(16);
  for (const row of rows.filter((r) => r.file.includes('-unseen-'))) {
    expect(row.model, row.file).toMatch(/^personal model trained \d{4}-\d\d-\d\dT\d\d:\d\d/);
    expect(row.label_1, row.file).toBe(row.file.split('-')[0]);
    expect(row.label_4, row.file).toBe('');
  }
  for (const stranger of strangers) expect(rows.find((r) => r.file === stranger)!.known, stranger).toBe('false');
  expect(rows.find((r) => r.file === 'brick-new-0.png')!.known).toBe('true');
  expect(rows.find((r) => r.file === 'flamingo.jpg')!.model).toBe('ImageNet (EfficientNet-Lite0)');
  expect(rows.find((r) => r.file === 'flamingo.jpg')!.known).toBe('');

  // "This is … a new class": the photo starts a class of its own.
  await glimpse.result('flamingo.jpg').getByTestId('add-to-class').selectOption('new');
  await expect(page.getByTestId('class')).toHaveCount(4);
  const added = page.getByTestId('class').nth(3);
  await expect(added.getByTestId('class-count')).toHaveAttribute('data-value', '1');
  await expect(glimpse.result('flamingo.jpg').getByTestId('added-to')).toHaveText(`Added to "${await added.getAttribute('data-class-name')}"`);
  glimpse.expectPrivateAndClean();
});

test('Train pressed while photos are still embedding waits for every one of them', async ({ page }) => {
  const glimpse = new GlimpsePage(page);
  await glimpse.open('cpu');
  await glimpse.waitReady();
  const names = ['brick', 'grass', 'gravel'];
  await nameClasses(page, names);
  for (const [i, name] of names.entries()) {
    await dropCrops(page, `[data-testid="class"][data-class-name="${name}"]`, name, 0, 12, 41 + i, `${name}-early`);
  }
  // As a person does: Train as soon as it can be pressed, with photos still being embedded.
  const train = page.getByTestId('train');
  await expect(train).toBeEnabled();
  const notReady = await page.locator('.class-photo[data-state="embedding"]').count();
  expect(notReady, 'photos still embedding when Train is pressed').toBeGreaterThan(0);
  await train.click();
  const progress = page.getByTestId('train-progress');
  await expect(progress).toHaveAttribute('data-state', 'waiting');
  await expect(progress).toContainText(/Waiting for \d+ photos? to be embedded/);
  await expect(train).toBeDisabled();
  await expect(progress).toHaveAttribute('data-state', 'done', { timeout: 240_000 });
  // The run learnt from all 36: every class's row says 12.
  for (const name of names) {
    await expect(page.locator(`[data-testid="class-scores"][data-class-name="${name}"]`)).toHaveAttribute('data-trained', '12');
  }
  expect(await page.locator('.class-photo[data-state="ready"]').count()).toBe(36);

  // The person may choose to start on what is ready: then the report says how many that was.
  await dropCrops(page, '[data-testid="class"][data-class-name="brick"]', 'brick', 1, 12, 77, 'brick-more');
  const brickCount = page.locator('[data-testid="class"][data-class-name="brick"] [data-testid="class-count"]');
  await expect(brickCount).toHaveAttribute('data-value', '24');
  await expect(brickCount).toContainText('embedding');
  await train.click();
  await expect(progress).toHaveAttribute('data-state', 'waiting');
  await page.getByTestId('train-ready-now').click();
  await expect(progress).toHaveAttribute('data-state', 'done', { timeout: 240_000 });
  const brickTrained = Number(await page.locator('[data-testid="class-scores"][data-class-name="brick"]').getAttribute('data-trained'));
  expect(brickTrained).toBeGreaterThanOrEqual(12);
  expect(brickTrained).toBeLessThan(24);
  for (const name of ['grass', 'gravel']) {
    await expect(page.locator(`[data-testid="class-scores"][data-class-name="${name}"]`)).toHaveAttribute('data-trained', '12');
  }
  glimpse.expectPrivateAndClean();
});

test('teach on WebGPU (SwiftShader): a short run with two small classes, and a warning', async ({ page }) => {
  const glimpse = new GlimpsePage(page);
  await glimpse.open('webgpu');
  await glimpse.waitReady();
  await nameClasses(page, ['brick', 'grass']);
  await dropCrops(page, '[data-testid="class"][data-class-name="brick"]', 'brick', 0, 4, 5, 'b');
  await dropCrops(page, '[data-testid="class"][data-class-name="grass"]', 'grass', 0, 4, 6, 'g');
  await expect(page.locator('.class-photo[data-state="ready"]')).toHaveCount(8, { timeout: 240_000 });
  await page.locator('.settings summary').click();
  await page.getByTestId('train-epochs').fill('10');
  await page.getByTestId('train-epochs').dispatchEvent('change');
  await page.getByTestId('train').click();
  await expect(page.getByTestId('train-progress')).toHaveAttribute('data-state', 'done', { timeout: 240_000 });
  const accuracy = Number(await page.getByTestId('metric-accuracy').getAttribute('data-value'));
  expect(accuracy).toBeGreaterThanOrEqual(0.75);
  await expect(page.getByTestId('training-warning').first()).toContainText('only 4 photos');
  glimpse.expectPrivateAndClean();
});

test('photos picked with a class\'s own file input are learnt by that class', async ({ page }) => {
  const glimpse = new GlimpsePage(page);
  await glimpse.open('cpu');
  await glimpse.waitReady();
  await nameClasses(page, ['animals', 'places']);
  const animals = page.locator('[data-testid="class"][data-class-name="animals"]');
  const places = page.locator('[data-testid="class"][data-class-name="places"]');
  const pick = (bucket: typeof animals, names: string[]) => bucket.getByTestId('class-file-input').setInputFiles(
    names.map((name) => ({ name, mimeType: 'image/jpeg', buffer: photo(name).bytes })));
  await pick(animals, ['cat.jpg', 'coyote.jpg', 'flamingo.jpg']);
  await pick(places, ['bridge.jpg', 'torch.jpg']);
  await expect(animals.getByTestId('class-count')).toHaveAttribute('data-value', '3');
  await expect(places.getByTestId('class-count')).toHaveAttribute('data-value', '2');
  await expect(animals.locator('.class-photo[data-state="ready"]')).toHaveCount(3, { timeout: 60_000 });
  await expect(places.locator('.class-photo[data-state="ready"]')).toHaveCount(2, { timeout: 60_000 });
  const titles = await animals.locator('.class-photo').evaluateAll((items) => items.map((i) => i.getAttribute('title')));
  expect(titles.sort()).toEqual(['cat.jpg', 'coyote.jpg', 'flamingo.jpg']);
  await page.getByTestId('train').click();
  await expect(page.getByTestId('train-progress')).toHaveAttribute('data-state', 'done', { timeout: 120_000 });
  await expect(page.locator('[data-testid="class-scores"][data-class-name="animals"]')).toHaveAttribute('data-trained', '3');
  await expect(page.locator('[data-testid="class-scores"][data-class-name="places"]')).toHaveAttribute('data-trained', '2');
  glimpse.expectPrivateAndClean();
});

test('a class of 70 photos shows its first 60, the rest on Show more; counts follow removals and moves', async ({ page }) => {
  const glimpse = new GlimpsePage(page);
  await glimpse.open('cpu');
  await glimpse.waitReady();
  await nameClasses(page, ['brick', 'grass']);
  const brick = page.locator('[data-testid="class"][data-class-name="brick"]');
  const grass = page.locator('[data-testid="class"][data-class-name="grass"]');
  await dropCrops(page, '[data-testid="class"][data-class-name="brick"]', 'brick', 0, 70, 3, 'many');
  const count = brick.getByTestId('class-count');
  await expect(count).toHaveAttribute('data-value', '70');
  await expect(brick.locator('.class-photo')).toHaveCount(60);
  const more = brick.getByTestId('class-show-more');
  await expect(more).toHaveAttribute('data-hidden', '10');
  await expect(count).toHaveAttribute('data-ready', '70', { timeout: 240_000 });
  await expect(count).not.toContainText('embedding');
  // Taken out and moved: the counts and the photos shown follow.
  await brick.locator('.class-photo').first().getByRole('button', { name: 'Remove this photo' }).click();
  await expect(count).toHaveAttribute('data-value', '69');
  await expect(more).toHaveAttribute('data-hidden', '9');
  await brick.locator('.class-photo').first().locator('select.move').selectOption({ label: 'grass' });
  await expect(count).toHaveAttribute('data-value', '68');
  await expect(grass.getByTestId('class-count')).toHaveAttribute('data-ready', '1');
  await expect(brick.locator('.class-photo')).toHaveCount(60);
  await more.click();
  await expect(brick.locator('.class-photo[data-state="ready"]')).toHaveCount(68);
  await expect(more).toHaveCount(0);
  glimpse.expectPrivateAndClean();
});

test('webcam capture adds frames to a class (Chromium fake camera)', async ({ page }) => {
  const glimpse = new GlimpsePage(page);
  await glimpse.open('cpu');
  await glimpse.waitReady();
  const bucket = page.getByTestId('class').first();
  await bucket.getByTestId('webcam').click();
  const preview = bucket.getByTestId('webcam-preview');
  await expect.poll(() => preview.evaluate((v: HTMLVideoElement) => v.readyState)).toBeGreaterThanOrEqual(2);
  for (let i = 0; i < 3; i++) {
    await bucket.getByTestId('webcam-capture').click();
    await expect(bucket.getByTestId('class-count')).toHaveAttribute('data-value', String(i + 1));
  }
  await expect(bucket.locator('.class-photo[data-state="ready"]')).toHaveCount(3, { timeout: 60_000 });
  glimpse.expectPrivateAndClean();
});

test('Auto searches the head\'s settings: 24 trials by k-fold, the winner marked and no worse than the start', async ({ page }) => {
  const glimpse = new GlimpsePage(page);
  await glimpse.open('cpu');
  await glimpse.waitReady();
  await page.locator('.settings summary').click();
  await page.getByTestId('train-auto').check();
  const started = Date.now();
  await teachTextures(page, ['brick', 'grass', 'gravel'], 6);
  console.log(`Auto run on 18 photos (embedding included) took ${Date.now() - started} ms`);
  const trials = page.getByTestId('search-trial');
  await expect(trials).toHaveCount(24);
  const rows = await trials.evaluateAll((all) => all.map((r) => [r.getAttribute('data-winner'), Number(r.getAttribute('data-accuracy'))] as const));
  const winners = rows.filter(([w]) => w === 'true');
  expect(winners).toHaveLength(1);
  expect(winners[0][1]).toBeGreaterThanOrEqual(rows[0][1]);
  expect(Math.max(...rows.map(([, a]) => a))).toBe(winners[0][1]);
  expect(Number(await page.getByTestId('metric-accuracy').getAttribute('data-value'))).toBeGreaterThanOrEqual(0.8);
  // The choice is kept with the settings.
  await page.reload();
  await glimpse.waitReady();
  await page.locator('.settings summary').click();
  await expect(page.getByTestId('train-auto')).toBeChecked();
  await expect(page.getByTestId('search-trials').getByTestId('search-trial')).toHaveCount(24);
  glimpse.expectPrivateAndClean();
});
