#!/usr/bin/env node
import { main } from '../dist/cli/main.js';

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
    // Everything is closed by now; should a library leave a handle open, do not hang.
    setTimeout(() => process.exit(code), 2_000).unref();
  },
  (err) => {
    process.stderr.write(`gateway: unexpected failure: ${err && err.message ? err.message : err}\n`);
    process.exit(70);
  },
);
