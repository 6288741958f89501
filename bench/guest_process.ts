/**
 * A guest running in a child process (QEMU or `domus run`) with its console on piped stdio.
 *
 * Used by tests and benchmarks: it records the console output with the time each line
 * arrived (milliseconds since launch), waits for markers with a timeout, types input, and
 * reports how the process ended. On a timeout the error shows the tail of the console, so a
 * failing golden run says where the guest got to.
 */
import { spawn, type ChildProcess } from 'node:child_process';

export interface GuestExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Milliseconds from launch to exit. */
  ms: number;
}

export interface ConsoleLine {
  ms: number;
  text: string;
}

export class GuestProcess {
  readonly child: ChildProcess;
  readonly startedAt: number;
  /** Everything the guest printed, stdout and stderr interleaved as they arrived. */
  output = '';
  readonly lines: ConsoleLine[] = [];
  readonly exited: Promise<GuestExit>;
  private partial = '';
  private waiters: Array<() => void> = [];

  constructor(command: string, args: readonly string[], env?: NodeJS.ProcessEnv) {
    this.startedAt = performance.now();
    this.child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'], env: env ?? process.env });
    const onData = (chunk: Buffer) => this.onOutput(chunk.toString('latin1'));
    this.child.stdout?.on('data', onData);
    this.child.stderr?.on('data', onData);
    this.exited = new Promise((resolve, reject) => {
      this.child.on('error', reject);
      this.child.on('close', (code, signal) => {
        this.flushPartial();
        this.notify();
        resolve({ code, signal, ms: this.elapsedMs() });
      });
    });
    // Keep an unhandled rejection (e.g. ENOENT) from escaping when nobody awaits `exited`.
    this.exited.catch(() => {});
  }

  elapsedMs(): number {
    return performance.now() - this.startedAt;
  }

  private onOutput(text: string): void {
    this.output += text;
    const now = this.elapsedMs();
    const parts = (this.partial + text).split('\n');
    this.partial = parts.pop() ?? '';
    for (const p of parts) this.lines.push({ ms: now, text: p.replace(/\r$/, '') });
    this.notify();
  }

  private flushPartial(): void {
    if (this.partial) this.lines.push({ ms: this.elapsedMs(), text: this.partial });
    this.partial = '';
  }

  private notify(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  /** The last `n` lines of console output, for error messages. */
  tail(n = 25): string {
    const all = (this.output.endsWith('\n') ? this.output.slice(0, -1) : this.output).split('\n');
    return all.slice(-n).join('\n');
  }

  /**
   * Resolves with the first complete console line matching `pattern` (searching from line
   * `from`), and the time it arrived; rejects after `timeoutMs` or if the guest exits first.
   */
  waitForLine(pattern: RegExp, timeoutMs: number, from = 0): Promise<ConsoleLine & { index: number }> {
    return this.waitFor(pattern, timeoutMs, from, false);
  }

  /** Like `waitForLine`, but also matches the unfinished last line (a shell prompt). */
  waitForPrompt(pattern: RegExp, timeoutMs: number, from = 0): Promise<ConsoleLine & { index: number }> {
    return this.waitFor(pattern, timeoutMs, from, true);
  }

  private async waitFor(
    pattern: RegExp,
    timeoutMs: number,
    from: number,
    partialToo: boolean,
  ): Promise<ConsoleLine & { index: number }> {
    const deadline = this.startedAt + this.elapsedMs() + timeoutMs;
    let exited = false;
    void this.exited.then(
      () => (exited = true),
      () => (exited = true),
    );
    for (;;) {
      for (let i = from; i < this.lines.length; i++) {
        const line = this.lines[i];
        if (line && pattern.test(line.text)) return { ...line, index: i };
      }
      if (partialToo && this.partial && pattern.test(this.partial)) {
        return { ms: this.elapsedMs(), text: this.partial, index: this.lines.length };
      }
      if (exited) {
        throw new Error(`guest exited before printing ${pattern}; console tail:\n${this.tail()}`);
      }
      const left = deadline - performance.now();
      if (left <= 0) {
        throw new Error(
          `timed out after ${timeoutMs} ms waiting for ${pattern}; console tail:\n${this.tail()}`,
        );
      }
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** Types `text` on the guest console. */
  type(text: string): void {
    this.child.stdin?.write(text);
  }

  /** Waits for the process to end; kills it and rejects after `timeoutMs`. */
  async wait(timeoutMs: number): Promise<GuestExit> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        this.kill();
        reject(new Error(`guest did not exit within ${timeoutMs} ms; console tail:\n${this.tail()}`));
      }, timeoutMs);
    });
    try {
      return await Promise.race([this.exited, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  kill(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
  }
}
