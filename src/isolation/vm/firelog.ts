/**
 * `logs/firecracker.log`: a human-readable line per microVM event in the original guide's
 * format, whichever backend ran. It carries connector names, times and outcomes only: never
 * inputs, secrets or results.
 */
import { appendFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { projectRoot } from '../sandbox/paths.js';

export function defaultFirelogPath(): string {
  return path.join(projectRoot(), 'logs', 'firecracker.log');
}

export class Firelog {
  constructor(private readonly file: string | null = defaultFirelogPath()) {}

  line(text: string): void {
    if (!this.file) return;
    try {
      mkdirSync(path.dirname(this.file), { recursive: true });
      appendFileSync(this.file, `[${new Date().toISOString()}] ${text}\n`);
    } catch {
      // The event log is a convenience; the structured log and the audit trail are not.
    }
  }
}
