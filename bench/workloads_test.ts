/**
 * The workloads suite: its parsing and verdicts (units), and a smoke subset that boots the
 * workloads image under Domus and QEMU and checks the results against the known values.
 *
 * The smoke subset is what CI runs of the suite: one Lua script that leans on the FPU
 * (n-body) and SQLite building a table with indexes and running PRAGMA integrity_check,
 * under QEMU, under Domus's hypervisor (what `domus run` does by default) and on Domus's
 * bare board. It assembles the image from the committed programs (guests/workloads/prebuilt;
 * needs mke2fs from e2fsprogs, and xz) and takes about a minute.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { test, type TestContext } from 'node:test';
import {
  NOT_BUILT,
  parseFailLine,
  parseNotBuilt,
  parseResultLine,
  PROGRAM_SOURCE,
  selectWorkloads,
  workloadByName,
  WORKLOADS,
  type Workload,
} from './workloads_catalog.ts';
import { ensureWorkloadsImage, workloadsDir } from './workloads_image.ts';
import {
  failures,
  geometricMean,
  median,
  renderTable,
  replaceSection,
  SECTION_END,
  SECTION_START,
  skippedNotes,
  summarize,
} from './workloads_report.ts';
import {
  NEEDS_VIRTIO_NET,
  outcomeFromConsole,
  runWorkload,
  workloadAppend,
  type Emulator,
  type RunOutcome,
} from './workloads_run.ts';

function get(name: string): Workload {
  const w = workloadByName(name);
  assert.ok(w, `workload ${name} is in the catalog`);
  return w;
}

function ok(name: string, seconds: number, check: string): RunOutcome {
  return { kind: 'ok', result: { name, seconds, check, extra: {} } };
}

test('a result line parses into name, seconds, check and extra fields', () => {
  assert.deepEqual(parseResultLine('DOMUS-WORKLOAD name=lua-fib seconds=1.355 check=fib29:514229:1664079'), {
    name: 'lua-fib',
    seconds: 1.355,
    check: 'fib29:514229:1664079',
    extra: {},
  });
  assert.deepEqual(
    parseResultLine('DOMUS-WORKLOAD name=iperf3-up seconds=3.6 check=64.0MBytes mbits=153\r'),
    {
      name: 'iperf3-up',
      seconds: 3.6,
      check: '64.0MBytes',
      extra: { mbits: '153' },
    },
  );
  assert.equal(parseResultLine('DOMUS-WORKLOAD name=x seconds=abc check=1'), undefined);
  assert.equal(parseResultLine('[    1.0] DOMUS-WORKLOAD name=x seconds=1 check=1'), undefined);
  assert.deepEqual(parseFailLine('DOMUS-WORKLOAD-FAIL name=gzip reason=gen'), {
    name: 'gzip',
    reason: 'gen',
  });
});

test('every workload has a unique name, a known value and a runner name', () => {
  const names = WORKLOADS.map((w) => w.name);
  assert.equal(new Set(names).size, names.length);
  for (const w of WORKLOADS) {
    assert.match(w.expect, /^\S+$/, w.name);
    assert.match(w.runnerName, /^[a-z0-9-]+$/, w.name);
  }
});

test('--only picks workloads by name or group and rejects unknown ones', () => {
  assert.equal(selectWorkloads(undefined).length, WORKLOADS.length);
  assert.deepEqual(
    selectWorkloads('sha256sum,lua').map((w) => w.name),
    ['lua-fib', 'lua-nbody', 'lua-spectral', 'lua-strings', 'lua-tables', 'sha256sum'],
  );
  assert.throws(
    () => selectWorkloads('lua-fibb'),
    /--only lua-fibb: no such workload or group; known: lua-fib/,
  );
});

test('the kernel command line mounts the image and runs the workload last', () => {
  assert.equal(
    workloadAppend('iperf3-up', ['5201']),
    'quiet domus.run=mount -r LABEL=domus-wl /mnt&&/mnt/run iperf3-up 5201',
  );
});

test('a run is judged from its console: one result line and a clean exit', () => {
  const w = get('lua-fib');
  const line = `DOMUS-WORKLOAD name=lua-fib seconds=1 check=${w.expect}`;
  assert.equal(outcomeFromConsole(['boot', line, 'DOMUS-RUN-EXIT 0'], 0, w, '').kind, 'ok');
  const none = outcomeFromConsole(['boot'], 0, w, 'tail');
  assert.deepEqual(none, {
    kind: 'failed',
    reason: 'expected one result line for lua-fib, got 0',
    tail: 'tail',
  });
  const twice = outcomeFromConsole([line, line], 0, w, '');
  assert.equal(twice.kind === 'failed' && twice.reason, 'expected one result line for lua-fib, got 2');
  const bad = outcomeFromConsole([line], 3, w, '');
  assert.equal(bad.kind === 'failed' && bad.reason, 'the guest exited with 3');
  const failed = outcomeFromConsole(['DOMUS-WORKLOAD-FAIL name=lua-fib reason=lua-exited-1'], 1, w, '');
  assert.equal(failed.kind === 'failed' && failed.reason, 'the runner reports lua-exited-1');
});

test('summaries take medians, ratios and the geometric mean', () => {
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 3, 2]), 2.5);
  assert.ok(Math.abs(geometricMean([2, 8]) - 4) < 1e-12);
  const w = get('lua-fib');
  const s = summarize({
    workload: w,
    qemu: [ok(w.name, 1, w.expect), ok(w.name, 3, w.expect), ok(w.name, 2, w.expect)],
    domus: [ok(w.name, 20, w.expect), ok(w.name, 10, w.expect), ok(w.name, 30, w.expect)],
  });
  assert.equal(s.qemu, 2);
  assert.equal(s.domus, 20);
  assert.equal(s.ratio, 10);
  assert.deepEqual(failures([s]), []);
  const table = renderTable([s], 3);
  assert.match(table, /\| lua-fib \| 2\.00 \| 20\.0 \| 10\.0 \| identical \|/);
  assert.match(table, /\| geometric mean \(1 workloads\) \| {2}\| {2}\| 10\.0 \| {2}\|/);
});

test('different results between emulators, or from the known value, are failures', () => {
  const w = get('lua-nbody');
  const differ = summarize({ workload: w, qemu: [ok(w.name, 1, w.expect)], domus: [ok(w.name, 9, 'x:y')] });
  assert.equal(differ.mismatches.length, 1);
  assert.match(differ.mismatches[0]!, /lua-nbody: results differ: QEMU -116\.5.*; Domus x:y/);
  assert.match(renderTable([differ], 1), /\*\*MISMATCH\*\*/);
  const unknown = summarize({ workload: w, qemu: [ok(w.name, 1, 'x:y')], domus: [ok(w.name, 9, 'x:y')] });
  assert.match(unknown.mismatches[0] ?? '', /result x:y differs from the known value/);
  const failed = summarize({
    workload: w,
    qemu: [ok(w.name, 1, w.expect)],
    domus: [{ kind: 'failed', reason: 'the guest exited with 1', tail: '' }],
  });
  assert.deepEqual(failures([failed]), ['lua-nbody: Domus run 1 failed: the guest exited with 1']);
});

test('a workload Domus cannot run yet is reported, loudly, not dropped', () => {
  const w = get('ssh-login');
  const s = summarize({
    workload: w,
    qemu: [ok(w.name, 1.84, w.expect)],
    domus: [{ kind: 'skipped', reason: NEEDS_VIRTIO_NET }],
  });
  assert.deepEqual(failures([s]), []);
  assert.equal(s.ratio, undefined);
  assert.match(
    renderTable([s], 1),
    /\| ssh-login \| 1\.84 \| \*\*needs virtio-net \(not yet on Domus\)\*\* \| - \| QEMU only \|/,
  );
  assert.deepEqual(skippedNotes([s]), ['not run on Domus: ssh-login: needs virtio-net (not yet on Domus)']);
});

test('a workload whose program was not built is a row that says so, not a failure', () => {
  const why = "Debian's archive does not serve stress-ng_0.15.06.orig.tar.xz";
  const lua = get('lua-fib');
  const summaries = [
    summarize({ workload: lua, qemu: [ok(lua.name, 1, lua.expect)], domus: [ok(lua.name, 8, lua.expect)] }),
    summarize({ workload: get('stress-cpu'), qemu: [], domus: [], notBuilt: why }),
    summarize({ workload: get('stress-vm'), qemu: [], domus: [], notBuilt: why }),
  ];
  assert.deepEqual(failures(summaries), []);
  const table = renderTable(summaries, 3);
  assert.match(
    table,
    /\| stress-cpu \| - \| - \| - \| \*\*not built: Debian's archive here does not serve the source\*\* \|/,
  );
  assert.match(table, /\| stress-vm \| - \| - \| - \| \*\*not built: /);
  assert.match(table, /\| geometric mean \(1 workloads\) \| {2}\| {2}\| 8\.00 \|/);
  assert.deepEqual(skippedNotes(summaries), [`not built: stress-cpu, stress-vm: ${why}`]);
});

test('the committed programs leave out stress-ng and iperf3, and their VERSIONS says why', () => {
  const versions = readFileSync(`${workloadsDir()}/prebuilt/VERSIONS`, 'utf8');
  const notBuilt = parseNotBuilt(versions);
  assert.deepEqual([...notBuilt.keys()], ['stress-ng', 'iperf3']);
  assert.equal(
    notBuilt.get('stress-ng'),
    "Debian's archive does not serve stress-ng_0.15.06.orig.tar.xz, stress-ng_0.15.06-2.debian.tar.xz",
  );
  assert.equal(notBuilt.get('iperf3'), "Debian's archive does not serve iperf3_3.12.orig.tar.gz");
  const affected = WORKLOADS.filter((w) => notBuilt.has(PROGRAM_SOURCE[w.program] ?? '')).map((w) => w.name);
  assert.deepEqual(affected, ['stress-cpu', 'stress-vm', 'iperf3-up', 'iperf3-down']);
  // Every other program comes from a Debian source package the build names, or is ours.
  for (const w of WORKLOADS) {
    const pkg = PROGRAM_SOURCE[w.program];
    if (pkg === undefined) assert.equal(w.program, 'domus-wl', w.name);
    else if (!notBuilt.has(pkg)) assert.match(versions, new RegExp(`^${pkg} \\(source\\) `, 'm'), w.name);
  }
  assert.equal(NOT_BUILT, "not built: Debian's archive here does not serve the source");
});

test('--write replaces the marked section, or appends it with a heading', () => {
  const doc = `# B\n\ntext\n\n${SECTION_START}\nold\n${SECTION_END}\n\nafter\n`;
  assert.equal(
    replaceSection(doc, 'new', '## H'),
    `# B\n\ntext\n\n${SECTION_START}\nnew\n${SECTION_END}\n\nafter\n`,
  );
  assert.equal(
    replaceSection('# B\n', 'new', '## H'),
    `# B\n\n## H\n\n${SECTION_START}\nnew\n${SECTION_END}\n`,
  );
});

/**
 * The seeded text of `domus-wl gen SEED MIB` (guests/workloads/domus-wl.c), written again
 * here from its description: xorshift64 in 32-bit halves, words from the same list.
 */
function seededText(seed: number, mib: number): Buffer {
  const words = (
    'the domain grant event channel page frame table hart trap vector device queue ring buffer block ' +
    'sector console timer interrupt memory mapping guest host kernel shell process thread signal socket ' +
    'packet route and of to in is for with on a not from by at it as be quick slow small large first last ' +
    'every each virtual physical shared private dirty clean scheduler credit'
  ).split(' ');
  assert.equal(words.length, 64);
  const s0 = ((BigInt(seed) + 1n) * 0x9e3779b97f4a7c15n) & 0xffffffffffffffffn;
  let hi = Number(s0 >> 32n) >>> 0;
  let lo = Number(s0 & 0xffffffffn) >>> 0;
  const next = () => {
    let h = (hi ^ ((hi << 13) | (lo >>> 19))) >>> 0;
    let l = (lo ^ (lo << 13)) >>> 0;
    l = (l ^ ((l >>> 7) | (h << 25))) >>> 0;
    h = (h ^ (h >>> 7)) >>> 0;
    hi = (h ^ ((h << 17) | (l >>> 15))) >>> 0;
    lo = (l ^ (l << 17)) >>> 0;
  };
  for (let i = 0; i < 8; i++) next();
  const out = Buffer.alloc(mib << 20);
  let used = 0;
  let column = 0;
  while (used < out.length) {
    next();
    const w = words[lo & 63]!;
    used += out.write(w, used, 'latin1');
    column += w.length + 1;
    const nl = column > 70 || ((lo >>> 8) & 31) === 0;
    if (nl) column = 0;
    if (used < out.length) out[used++] = nl ? 0x0a : 0x20;
  }
  return out;
}

test('the sha256sum workload hashes the seeded text the host computes the same way', () => {
  const text = seededText(1, 64);
  assert.equal(text.toString('latin1', 0, 26), 'sector buffer frame queue ');
  assert.equal(createHash('sha256').update(text).digest('hex'), get('sha256sum').expect);
});

// --- smoke subset: real guests ------------------------------------------------------------

const SMOKE = ['lua-nbody', 'sqlite-integrity'];

async function smoke(t: TestContext, emulator: Emulator, domusArgs: string[] = []): Promise<void> {
  const image = ensureWorkloadsImage((m) => t.diagnostic(m));
  for (const name of SMOKE) {
    const w = get(name);
    const o = await runWorkload({ workload: w, emulator, image, timeoutMs: 300_000, domusArgs });
    const detail = o.kind === 'failed' ? `${o.reason}\n${o.tail}` : o.kind;
    assert.equal(o.kind, 'ok', `${name} under ${emulator}: ${detail}`);
    if (o.kind !== 'ok') continue;
    assert.equal(o.result.check, w.expect, `${name} under ${emulator} printed a wrong result`);
    assert.ok(o.result.seconds > 0, `${name} under ${emulator} took ${o.result.seconds} s`);
    t.diagnostic(`${name} under ${emulator} ${domusArgs.join(' ')}: ${o.result.seconds} s`);
  }
}

test('smoke: Lua n-body and SQLite integrity under QEMU give the known results', (t) => smoke(t, 'qemu'));

test('smoke: Lua n-body and SQLite integrity under Domus (bare board) give the known results', (t) =>
  smoke(t, 'domus', ['--bare']));

test('smoke: Lua n-body and SQLite integrity under Domus (its hypervisor) give the known results', (t) =>
  smoke(t, 'domus'));
