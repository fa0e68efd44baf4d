// What every benchmark result records about its run, so that each figure in the README can be
// traced to a date, a commit, a machine and a browser.
import { execSync } from 'node:child_process';
import os from 'node:os';
import type { Browser } from '@playwright/test';

export function machine(browser: Browser) {
  const git = (args: string) => {
    try {
      return execSync(`git ${args}`, { encoding: 'utf8' }).trim();
    } catch {
      return 'unknown';
    }
  };
  return {
    date: new Date().toISOString(),
    commit: git('rev-parse HEAD'),
    dirty: git('status --porcelain') !== '',
    machine: { cpus: os.cpus().length, cpu: os.cpus()[0]?.model ?? 'unknown', memoryGb: Math.round(os.totalmem() / 2 ** 30), platform: `${os.platform()} ${os.release()}` },
    browser: `Chromium ${browser.version()}`,
  };
}
