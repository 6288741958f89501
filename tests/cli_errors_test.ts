/**
 * Bad input to `domus run` / `domus run-test`: one clear sentence naming the thing and the
 * fix, exit status 2, no stack trace, and nothing booted.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const DOMUS = fileURLToPath(new URL('../bin/domus.mjs', import.meta.url));

function domus(...args: string[]) {
  const r = spawnSync(process.execPath, [DOMUS, ...args], { encoding: 'utf8', timeout: 60_000, input: '' });
  return { status: r.status, stderr: r.stderr, stdout: r.stdout };
}

/** Asserts exit 2 and exactly one line on stderr matching `pattern`. */
function refused(r: ReturnType<typeof domus>, pattern: RegExp): void {
  assert.equal(r.status, 2, r.stderr);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, `expected one line, got:\n${r.stderr}`);
  assert.match(lines[0]!, pattern);
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
}

const dir = mkdtempSync(join(tmpdir(), 'domus-cli-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));

test('missing files are named with the fix', () => {
  refused(
    domus('run', '--kernel', '/nonexistent/Image'),
    /^domus: kernel \/nonexistent\/Image does not exist; pass an existing file$/,
  );
  refused(
    domus('run', '--bare', '--firmware', join(dir, 'nope.bin')),
    /^domus: firmware .*nope\.bin does not exist; pass an existing file$/,
  );
  refused(
    domus('run', '--firmware', process.execPath),
    /^domus: --firmware only applies to the bare board; add --bare/,
  );
  refused(domus('run-test', '/nonexistent/test.elf'), /^domus: test \/nonexistent\/test\.elf does not exist/);
});

test('a kernel or firmware that is not RISC-V is refused', () => {
  refused(
    domus('run', '--kernel', process.execPath),
    /^domus: kernel .* is an ELF file for machine 62, not RISC-V \(243\); pass a riscv64 Linux Image$/,
  );
  const gz = join(dir, 'Image.gz');
  writeFileSync(gz, gzipSync(Buffer.alloc(4096)));
  refused(
    domus('run', '--kernel', gz),
    /^domus: kernel .*Image\.gz is gzip-compressed; decompress it first; pass a riscv64 Linux Image$/,
  );
  const text = join(dir, 'notes.txt');
  writeFileSync(text, 'hello, this is not a kernel at all\n'.repeat(10));
  refused(domus('run', '--kernel', text), /^domus: kernel .*notes\.txt is not a RISC-V Linux Image/);
  refused(
    domus('run', '--bare', '--firmware', process.execPath),
    /^domus: firmware .* is an ELF file for machine 62, not RISC-V/,
  );
});

test('memory too small or too large, bad vCPU counts and unknown options', () => {
  refused(
    domus('run', '--memory', '4'),
    /^domus: --memory 4 MiB is too small for this guest; pass --memory 16 or more$/,
  );
  refused(
    domus('run', '--memory', '5000000'),
    /^domus: --memory 5000000 MiB is more than a Domus board can address/,
  );
  refused(domus('run', '--memory', 'lots'), /^domus: --memory lots is not a whole number of MiB/);
  refused(domus('run', '--vcpus', '0'), /^domus: --vcpus 0 is not a number from 1 to 8$/);
  refused(domus('run', '--bogus'), /^domus: Unknown option '--bogus'.*; see domus help run$/);
  refused(domus('frobnicate'), /^domus: unknown command 'frobnicate'; run domus --help for the list$/);
});

test('disk problems are refused before the guest starts', () => {
  refused(domus('run', '--disk', join(dir, 'missing.img')), /missing\.img does not exist/);
  const img = join(dir, 'disk.img');
  writeFileSync(img, Buffer.alloc(1 << 20));
  refused(
    domus('run', '--disk', `${img},rx`),
    /^domus: --disk .*disk\.img,rx: unknown flag 'rx'; use F, F,ro or F,rw$/,
  );
  // An image that a live process holds read-write is in use.
  writeFileSync(`${img}.lock`, `${process.pid}\n`);
  refused(domus('run', '--disk', img), /disk\.img is in use/);
  rmSync(`${img}.lock`);
  const odd = join(dir, 'odd.img');
  writeFileSync(odd, Buffer.alloc(1000));
  refused(domus('run', '--disk', odd), /odd\.img/);
});
