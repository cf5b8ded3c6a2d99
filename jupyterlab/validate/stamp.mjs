// Writes labextension/source.sha256: what this build was made from (the files below, in order).
// tests/test_lab_validate.py recomputes it, so a source edited without a rebuild is caught.
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';

export const SOURCES = ['package.json', 'src/index.ts', 'style/index.css', 'style/index.js'];

const hash = createHash('sha256');
for (const file of SOURCES) {
  hash.update(`${file}\n`);
  hash.update(readFileSync(file));
}
writeFileSync('labextension/source.sha256', `${hash.digest('hex')}\n`);
