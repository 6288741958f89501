/**
 * Errors that a user can meet.
 *
 * A `UserError` carries one sentence that names the thing that is wrong and the fix, e.g.
 * `kernel /tmp/Image is not a RISC-V image (bad magic 0x00000000); pass a riscv64 Linux Image`.
 * The CLI prints its message alone (no stack trace) and exits with `exitCode` (2 by default).
 * Anything else that escapes is an internal fault and is reported loudly, with its stack.
 */
export class UserError extends Error {
  override readonly name = 'UserError';
  readonly exitCode: number;

  constructor(message: string, exitCode = 2) {
    super(message);
    this.exitCode = exitCode;
  }
}

/** Narrows an unknown thrown value to a Node.js system error with a `code`, such as ENOENT. */
export function isErrnoError(e: unknown): e is Error & { code: string; path?: string } {
  return e instanceof Error && typeof (e as { code?: unknown }).code === 'string';
}
