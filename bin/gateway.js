#!/usr/bin/env node
import { main } from '../dist/cli/main.js';

// A reader that went away (`gateway replay --json x.wav | head`) is not a failure.
process.stdout.on('error', (err) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});

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
