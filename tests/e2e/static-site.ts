import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
// @ts-ignore: http-server ships no types
import httpServer from 'http-server';

export const DIST = path.join(__dirname, '..', '..', 'dist');

/**
 * A copy of the built site served from a sub-path (e.g. /tools/glimpse/) of its own static
 * server, as a person would deploy it; the copy can be changed to play a new deploy.
 */
export class StaticSite {
  readonly root = mkdtempSync(path.join(tmpdir(), 'glimpse-site-'));
  readonly dir: string;
  private server: any;

  constructor(readonly subPath: string, readonly port: number) {
    this.dir = path.join(this.root, subPath);
    cpSync(DIST, this.dir, { recursive: true });
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}/${this.subPath}/`;
  }

  async start() {
    this.server = httpServer.createServer({ root: this.root, cache: -1, showDir: false, silent: true });
    await new Promise<void>((resolve) => this.server.listen(this.port, '127.0.0.1', resolve));
  }

  async stop() {
    await new Promise<void>((resolve) => this.server.server.close(() => resolve()));
    rmSync(this.root, { recursive: true, force: true });
  }
}
