/**
 * `npm run bench -- --suite ha`: live migration and Remus, between two Domus hosts on this
 * machine (two hostd processes, each with its own run directory, talking over 127.0.0.1).
 *
 * - Migration: a 256 MiB default-guest domain runs a counter and a loop rewriting 8 MiB of
 *   tmpfs; it is migrated back and forth N times. Reported: downtime (source paused until the
 *   destination runs it), total time, pre-copy rounds — and, measured in the same run, the time
 *   to copy the guest's RAM once (256 MiB pushed through a 127.0.0.1 TCP connection to another
 *   process). Bars: downtime ≤ 100 ms (goal 50), total ≤ 3 × copy-once.
 * - Remus: the guest's CPU benchmark (domus-bench int and fp) in a domain without protection,
 *   then protected with checkpoints every 100 ms and every 25 ms; the overhead is the loop time
 *   ratio. Then failover: the primary's hostd is killed with SIGKILL and the time until the
 *   guest answers on its console at the backup is reported (bar: 1 s).
 *
 * The hosts use the user's cached default guest; nothing here needs QEMU.
 */
import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import { COUNTER_LOOP, freePort, GuestShell, TestHost, until } from '../tests/toolstack_host.ts';
import { median, publishSuite, table } from './report.ts';

const KEY = 'domus-bench-migration-key';
const RAM_MIB = 256;

/** A host that accepts migrations on a free port. */
async function listeningHost(): Promise<{ host: TestHost; at: string }> {
  const port = await freePort();
  const host = new TestHost();
  Object.assign(host.env, {
    DOMUS_MIGRATION_KEY: KEY,
    DOMUS_MIGRATE_LISTEN: `127.0.0.1:${port}`,
  });
  const r = host.domus(['list']);
  if (r.status !== 0) throw new Error(`hostd did not start: ${r.stderr}`);
  return { host, at: `127.0.0.1:${port}` };
}

/** Milliseconds to push `bytes` through a 127.0.0.1 TCP connection into another process. */
async function copyOnceMs(bytes: number): Promise<number> {
  const port = await freePort();
  const sink = spawn(
    process.execPath,
    [
      '-e',
      `const s=require('net').createServer(c=>{let n=0;c.on('data',b=>{n+=b.length;if(n>=${bytes}){c.end('x');s.close();}})});s.listen(${port},'127.0.0.1',()=>process.send('up'));`,
    ],
    { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] },
  );
  await new Promise((r) => sink.once('message', r));
  const chunk = Buffer.alloc(4 << 20, 0x5a);
  const t0 = performance.now();
  const sock = connect(port, '127.0.0.1');
  await new Promise((r) => sock.once('connect', r));
  for (let sent = 0; sent < bytes; sent += chunk.length) {
    if (!sock.write(chunk)) await new Promise((r) => sock.once('drain', r));
  }
  await new Promise((r) => sock.once('data', r));
  const ms = performance.now() - t0;
  sock.destroy();
  sink.kill();
  return ms;
}

interface Migration {
  downtimeMs: number;
  totalMs: number;
  rounds: number;
  pages: number;
  phases: { pause: number; send: number; ready: number; done: number };
}

async function migrationRuns(runs: number): Promise<{ moves: Migration[]; copyMs: number }> {
  const a = await listeningHost();
  const b = await listeningHost();
  try {
    a.host.createGuest('mig', { memoryMiB: RAM_MIB });
    const sh = new GuestShell(a.host, 'mig');
    await sh.waitFor(/DOMUS-GUEST-READY/, 120_000, 'the ready marker');
    await sh.run(
      `${COUNTER_LOOP} ` +
        'dd if=/dev/urandom of=/tmp/seed bs=64k count=128 2>/dev/null; ' +
        '(while true; do cat /tmp/seed >/tmp/dirty; done) & true',
    );
    await new Promise((r) => setTimeout(r, 2000));
    const moves: Migration[] = [];
    let [from, to] = [a, b];
    for (let i = 0; i < runs; i++) {
      process.stderr.write(`bench: migration ${i + 1}/${runs}… `);
      const r = from.host.domus(['migrate', 'mig', to.at]);
      if (r.status !== 0) throw new Error(`domus migrate: ${r.stderr}`);
      const m = JSON.parse(r.stdout) as Migration;
      const p = m.phases;
      process.stderr.write(
        `downtime ${m.downtimeMs.toFixed(0)} ms (pause ${p.pause.toFixed(0)}, send ${p.send.toFixed(0)}, ` +
          `build ${p.ready.toFixed(0)}, start ${p.done.toFixed(0)}), total ${m.totalMs.toFixed(0)} ms, ${m.rounds} rounds\n`,
      );
      moves.push(m);
      // The guest carries on at the destination before the next move.
      const there = new GuestShell(to.host, 'mig');
      const count = Number((await there.run('cat /tmp/count')).trim());
      if (!(count > 0)) throw new Error('the guest lost its counter in the move');
      await new Promise((res) => setTimeout(res, 1000));
      [from, to] = [to, from];
    }
    const copyMs = median([await copyOnceMs(RAM_MIB << 20), await copyOnceMs(RAM_MIB << 20)]);
    return { moves, copyMs };
  } finally {
    await a.host.stop();
    await b.host.stop();
  }
}

/** domus-bench loop times (ns) as the guest measured them, for a domain with or without Remus. */
async function remusRun(intervalMs: number | null, scale: number): Promise<{ int: number; fp: number }> {
  const primary = new TestHost();
  primary.env['DOMUS_MIGRATION_KEY'] = KEY;
  const backup = intervalMs === null ? null : await listeningHost();
  try {
    primary.createGuest('ha', { memoryMiB: 128 });
    const sh = new GuestShell(primary, 'ha');
    await sh.waitFor(/DOMUS-GUEST-READY/, 120_000, 'the ready marker');
    if (backup && intervalMs !== null) {
      const r = primary.domus(['remus', '-i', String(intervalMs), 'ha', backup.at]);
      if (r.status !== 0) throw new Error(`domus remus: ${r.stderr}`);
    }
    const out = await sh.run(`domus-bench -s ${scale} int fp`, 600_000);
    const ns = (name: string) => {
      const m = new RegExp(`DOMUS-BENCH name=${name} iters=\\d+ ns=(\\d+)`).exec(out);
      if (!m) throw new Error(`no ${name} result in:\n${out}`);
      return Number(m[1]);
    };
    return { int: ns('int'), fp: ns('fp') };
  } finally {
    await primary.stop();
    await backup?.host.stop();
  }
}

/** Milliseconds from SIGKILL of the primary's hostd until the guest answers on the backup's console. */
async function failoverRun(): Promise<number> {
  const primary = new TestHost();
  primary.env['DOMUS_MIGRATION_KEY'] = KEY;
  const backup = await listeningHost();
  try {
    primary.createGuest('ha', { memoryMiB: 128 });
    const sh = new GuestShell(primary, 'ha');
    await sh.waitFor(/DOMUS-GUEST-READY/, 120_000, 'the ready marker');
    const r = primary.domus(['remus', '-i', '50', 'ha', backup.at]);
    if (r.status !== 0) throw new Error(`domus remus: ${r.stderr}`);
    await new Promise((res) => setTimeout(res, 2000));
    const c = await backup.host.connect();
    const killedAt = performance.now();
    process.kill(primary.pid('hostd'), 'SIGKILL');
    let k = 0;
    const answered = await until(
      async () => {
        k++;
        await c
          .call('console.input', {
            dom: 'ha',
            data: Buffer.from(`echo FO-$((${k}+1000))\n`).toString('base64'),
          })
          .catch(() => {});
        const text = await backup.host.console('ha').catch(() => '');
        return /FO-1\d{3}\r?\n/.test(text) ? performance.now() : undefined;
      },
      30_000,
      'the guest on the backup',
    );
    c.close();
    return answered - killedAt;
  } finally {
    await primary.stop();
    await backup.host.stop();
  }
}

export async function runHaSuite(o: { runs: number; scale: number; write: boolean }): Promise<number> {
  const { moves, copyMs } = await migrationRuns(Math.max(o.runs, 1));
  const down = median(moves.map((m) => m.downtimeMs));
  const total = median(moves.map((m) => m.totalMs));
  const scale = Math.max(10, Math.round(o.scale / 4));
  // Unprotected, 100 ms and 25 ms alternately, medians of `runs` each.
  const runsOf: Record<string, { int: number; fp: number }[]> = { off: [], r100: [], r25: [] };
  for (let i = 0; i < Math.max(o.runs, 1); i++) {
    process.stderr.write(`bench: Remus ${i + 1}/${o.runs}: off… `);
    runsOf['off']!.push(await remusRun(null, scale));
    process.stderr.write('100 ms… ');
    runsOf['r100']!.push(await remusRun(100, scale));
    process.stderr.write('25 ms…\n');
    runsOf['r25']!.push(await remusRun(25, scale));
  }
  const med = (k: string) => ({
    int: median(runsOf[k]!.map((r) => r.int)),
    fp: median(runsOf[k]!.map((r) => r.fp)),
  });
  const [off, r100, r25] = [med('off'), med('r100'), med('r25')];
  process.stderr.write('bench: failover…\n');
  const failovers = [await failoverRun(), await failoverRun()];

  const migTable = table(
    ['live migration, 256 MiB guest dirtying memory', `median of ${moves.length}`, 'bar'],
    [
      ['downtime (ms)', down.toFixed(0), '≤ 100 (goal 50)'],
      ['total time (ms)', total.toFixed(0), ''],
      ['copy guest RAM once over 127.0.0.1 TCP (ms)', copyMs.toFixed(0), ''],
      ['total / copy once', (total / copyMs).toFixed(2), '≤ 3'],
      ['pre-copy rounds (incl. the last, paused)', String(median(moves.map((m) => m.rounds))), ''],
    ],
  );
  const ratio = (x: { int: number; fp: number }, k: 'int' | 'fp') => (x[k] / off[k]).toFixed(3);
  const remusTable = table(
    [
      `Remus, domus-bench -s ${scale}, median of ${Math.max(o.runs, 1)}`,
      'int loop (s)',
      'fp loop (s)',
      'int / unprotected',
      'fp / unprotected',
    ],
    [
      ['unprotected', (off.int / 1e9).toFixed(2), (off.fp / 1e9).toFixed(2), '1', '1'],
      [
        'checkpoint every 100 ms',
        (r100.int / 1e9).toFixed(2),
        (r100.fp / 1e9).toFixed(2),
        ratio(r100, 'int'),
        ratio(r100, 'fp'),
      ],
      [
        'checkpoint every 25 ms',
        (r25.int / 1e9).toFixed(2),
        (r25.fp / 1e9).toFixed(2),
        ratio(r25, 'int'),
        ratio(r25, 'fp'),
      ],
    ],
  );
  const failTable = table(
    ['failover (SIGKILL of the primary to the guest answering on the backup)', 'ms', 'bar'],
    failovers.map((ms, i) => [`run ${i + 1}`, ms.toFixed(0), '≤ 1000']),
  );
  const report = `${migTable}\n\n${remusTable}\n\n${failTable}`;
  publishSuite('ha', o.runs, report, o.write);
  return 0;
}
