// The bad-input corpus of the end-to-end tests, generated here from the sample photos (the page's
// canvas decodes and re-encodes them; pngjs, gifenc and piexifjs write what a canvas cannot), so
// that every kind of awkward file a person may drop is a real file of that kind. Only the CMYK
// JPEG is a kept file (tests/fixtures/bad-input/README.md says why). Each item says what Glimpse
// must answer: the right class, or a clear message naming what is wrong.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { deflateSync, createDeflate } from 'node:zlib';
import type { Page } from '@playwright/test';
import { PNG } from 'pngjs';
// @ts-ignore: gifenc ships no types
import { GIFEncoder, quantize, applyPalette } from 'gifenc';
// @ts-ignore: piexifjs ships no types
import piexif from 'piexifjs';
import { PHOTOS, type DroppedFile } from './glimpse-page';

const BAD_INPUT = path.join(__dirname, '..', 'fixtures', 'bad-input');

export type Outcome =
  | { top1: string; portrait?: [number, number] }
  | { error: RegExp }
  | { anyClass: true };

export interface CorpusItem extends DroppedFile {
  outcome: Outcome;
  /** What the item stands for, in the test's report. */
  kind: string;
}

interface Pixels {
  width: number;
  height: number;
  rgba: Buffer;
}

/** Decodes a sample photo in the page, scaled to `width`, and returns its pixels and encodings. */
async function render(page: Page, file: string, width: number) {
  const data = readFileSync(path.join(PHOTOS, file)).toString('base64');
  return page.evaluate(async ({ data, width }) => {
    const image = new Image();
    image.src = `data:image/jpeg;base64,${data}`;
    await image.decode();
    const height = Math.round((image.naturalHeight * width) / image.naturalWidth);
    const canvas = new OffscreenCanvas(width, height);
    const context = canvas.getContext('2d')!;
    context.drawImage(image, 0, 0, width, height);
    const rgba = context.getImageData(0, 0, width, height).data;
    const b64 = async (blob: Blob) => {
      const bytes = new Uint8Array(await blob.arrayBuffer());
      let s = '';
      for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
      return btoa(s);
    };
    // The photo turned a quarter anticlockwise: with EXIF orientation 6 ("rotate 90 clockwise to
    // display") it shows upright again.
    const turned = new OffscreenCanvas(height, width);
    const t = turned.getContext('2d')!;
    t.translate(0, width);
    t.rotate(-Math.PI / 2);
    t.drawImage(image, 0, 0, width, height);
    // Transparent margins around the middle: composited over white, the model's crop is intact.
    const clear = new OffscreenCanvas(width, height);
    const c = clear.getContext('2d')!;
    const side = Math.min(width, height);
    c.drawImage(image, 0, 0, width, height);
    c.clearRect(0, 0, width, (height - side) / 2);
    c.clearRect(0, (height + side) / 2, width, height);
    let s = '';
    for (let i = 0; i < rgba.length; i += 0x8000) s += String.fromCharCode(...rgba.subarray(i, i + 0x8000));
    return {
      width,
      height,
      rgba: btoa(s),
      turnedJpeg: await b64(await turned.convertToBlob({ type: 'image/jpeg', quality: 0.92 })),
      webp: await b64(await canvas.convertToBlob({ type: 'image/webp', quality: 0.9 })),
      alphaPng: await b64(await clear.convertToBlob({ type: 'image/png' })),
    };
  }, { data, width });
}

function png(pixels: Pixels, colorType: 0 | 2 | 4 | 6, bitDepth: 8 | 16): Buffer {
  const image = new PNG({ width: pixels.width, height: pixels.height });
  if (bitDepth === 16) {
    const deep = new Uint16Array(pixels.rgba.length);
    for (let i = 0; i < deep.length; i++) deep[i] = pixels.rgba[i] * 257;
    image.data = Buffer.from(deep.buffer);
  } else {
    image.data = pixels.rgba;
  }
  return PNG.sync.write(image, { colorType, bitDepth, inputColorType: 6, inputHasAlpha: true });
}

/** A two-frame animated GIF: the first frame is what Glimpse must classify. */
function animatedGif(first: Pixels, second: Pixels): Buffer {
  const gif = GIFEncoder();
  for (const frame of [first, second]) {
    const data = new Uint8Array(frame.rgba);
    const palette = quantize(data, 256);
    gif.writeFrame(applyPalette(data, palette), frame.width, frame.height, { palette, delay: 500 });
  }
  gif.finish();
  return Buffer.from(gif.bytes());
}

function crc32(bytes: Buffer): number {
  let crc = ~0;
  for (const b of bytes) {
    crc ^= b;
    for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ 0xedb88320 : crc >>> 1;
  }
  return ~crc >>> 0;
}

function chunk(type: string, data: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'ascii');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])), 0);
  return Buffer.concat([head, data, crc]);
}

function pngOf(width: number, height: number, idat: Buffer): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 2, 0, 0, 0], 8); // 8-bit RGB
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', idat),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/**
 * A decompression bomb: a PNG of `side` x `side` black RGB pixels whose compressed data is all
 * there (a few hundred kB) but would inflate to side * (3 * side + 1) bytes.
 */
async function pngBomb(side: number): Promise<Buffer> {
  const deflate = createDeflate({ level: 9 });
  const parts: Buffer[] = [];
  deflate.on('data', (part: Buffer) => parts.push(part));
  const done = new Promise((resolve) => deflate.on('end', resolve));
  const row = Buffer.alloc(3 * side + 1);
  for (let y = 0; y < side; y++) {
    if (!deflate.write(row)) await new Promise((resolve) => deflate.once('drain', resolve));
  }
  deflate.end();
  await done;
  return pngOf(side, side, Buffer.concat(parts));
}

const MINIMAL_PDF = `%PDF-1.4
1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj
2 0 obj << /Type /Pages /Kids [3 0 R] /Count 1 >> endobj
3 0 obj << /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] >> endobj
trailer << /Root 1 0 R >>
%%EOF
`;

export const NOT_AN_IMAGE = /not an image in a format Glimpse reads/;

/** Builds the corpus; `page` must be open (any Glimpse page: only its canvas is used). */
export async function badInputCorpus(page: Page): Promise<CorpusItem[]> {
  const flamingo = await render(page, 'flamingo.jpg', 320);
  const coyote = await render(page, 'coyote.jpg', 320);
  const pixels = (r: typeof flamingo): Pixels => ({ width: r.width, height: r.height, rgba: Buffer.from(r.rgba, 'base64') });
  const flamingoJpeg = readFileSync(path.join(PHOTOS, 'flamingo.jpg'));
  const flamingoPng = png(pixels(flamingo), 2, 8);
  const turned = Buffer.from(flamingo.turnedJpeg, 'base64').toString('binary');
  const exif = piexif.dump({ '0th': { [piexif.ImageIFD.Orientation]: 6 } });
  const rotated = Buffer.from(piexif.insert(exif, turned), 'binary');
  const onePixel = new PNG({ width: 1, height: 1 });
  onePixel.data = Buffer.from([200, 120, 40, 255]);
  const file = (name: string, bytes: Buffer, type: string, kind: string, outcome: Outcome): CorpusItem => ({ name, bytes, type, kind, outcome });
  return [
    file('notes.txt', Buffer.from('Shopping list: milk, eggs, flour.\n'), 'text/plain', 'text file', { error: NOT_AN_IMAGE }),
    file('report.pdf', Buffer.from(MINIMAL_PDF), 'application/pdf', 'PDF', { error: NOT_AN_IMAGE }),
    file('empty.jpg', Buffer.alloc(0), 'image/jpeg', 'zero bytes', { error: /the file is empty/ }),
    file('cut-short.jpg', flamingoJpeg.subarray(0, 600), 'image/jpeg', 'truncated JPEG', { error: /could not be decoded/ }),
    file('cut-short.png', flamingoPng.subarray(0, Math.floor(flamingoPng.length / 2)), 'image/png', 'truncated PNG', { error: /could not be decoded/ }),
    file('huge-20000.png', pngOf(20000, 20000, deflateSync(Buffer.alloc(3 * 20000 + 1))), 'image/png', '20000 x 20000 PNG', { error: /20000x20000 pixels, more than the 100 megapixels/ }),
    file('bomb.png', await pngBomb(15000), 'image/png', 'decompression bomb (675 MB of pixels in a small file)', { error: /15000x15000 pixels, more than the 100 megapixels/ }),
    file('flamingo-cmyk.jpg', readFileSync(path.join(BAD_INPUT, 'flamingo-cmyk.jpg')), 'image/jpeg', 'CMYK JPEG', { top1: 'flamingo' }),
    file('flamingo-16bit.png', png(pixels(flamingo), 2, 16), 'image/png', '16-bit PNG', { top1: 'flamingo' }),
    file('coyote-gray.png', png(pixels(coyote), 0, 8), 'image/png', 'grayscale PNG', { top1: 'coyote' }),
    file('coyote-gray-alpha.png', png(pixels(coyote), 4, 8), 'image/png', 'grayscale + alpha PNG', { top1: 'coyote' }),
    file('flamingo-alpha.png', Buffer.from(flamingo.alphaPng, 'base64'), 'image/png', 'PNG with transparency', { top1: 'flamingo' }),
    file('flamingo-then-coyote.gif', animatedGif(pixels(flamingo), pixels(coyote)), 'image/gif', 'animated GIF (first frame)', { top1: 'flamingo' }),
    file('flamingo.webp', Buffer.from(flamingo.webp, 'base64'), 'image/webp', 'WebP', { top1: 'flamingo' }),
    file('flamingo-exif-rotated.jpg', rotated, 'image/jpeg', 'EXIF-rotated JPEG (orientation 6)', { top1: 'flamingo', portrait: [flamingo.width, flamingo.height] }),
    file('one-pixel.png', PNG.sync.write(onePixel), 'image/png', '1 x 1 px photo', { anyClass: true }),
    file('flamingo — ünïcödé 🦩 "quoted" <b>&amp; 100%.jpg', flamingoJpeg, 'image/jpeg', 'file name with odd characters', { top1: 'flamingo' }),
    file('../../etc/passwd', flamingoJpeg, 'image/jpeg', 'file name like a path, no extension', { top1: 'flamingo' }),
    file('twice.jpg', flamingoJpeg, 'image/jpeg', 'the same photo twice (1)', { top1: 'flamingo' }),
    file('twice.jpg', flamingoJpeg, 'image/jpeg', 'the same photo twice (2)', { top1: 'flamingo' }),
  ];
}
