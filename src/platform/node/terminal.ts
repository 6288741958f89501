/**
 * The host terminal as a guest console: raw mode while attached, and QEMU-style escape
 * sequences on input. `Ctrl-a x` quits, `Ctrl-a a` sends a literal Ctrl-a, `Ctrl-a h` prints
 * help; any other byte after Ctrl-a is sent as is (with the Ctrl-a).
 */
export const ESCAPE_HELP = 'Ctrl-a x  quit\r\nCtrl-a a  send Ctrl-a\r\nCtrl-a h  this help\r\n';

export interface ConsoleAttachment {
  detach(): void;
}

/**
 * Attaches stdin/stdout to a guest console. `send` receives the guest-bound bytes; `quit` is
 * called on Ctrl-a x (or end of input, when `quitOnEof`). Raw mode is set only when stdin is
 * a TTY and is always restored by `detach()` (also on process exit).
 */
export function attachConsole(opts: {
  send(bytes: Uint8Array): void;
  quit(): void;
  quitOnEof?: boolean;
}): ConsoleAttachment {
  const stdin = process.stdin;
  const isTty = stdin.isTTY === true;
  if (isTty) stdin.setRawMode(true);
  let escaped = false;
  const onData = (chunk: Buffer) => {
    const out: number[] = [];
    for (const byte of chunk) {
      if (escaped) {
        escaped = false;
        if (byte === 0x78 /* x */) {
          if (out.length) opts.send(Uint8Array.from(out));
          opts.quit();
          return;
        }
        if (byte === 0x61 /* a */ || byte === 0x01) out.push(0x01);
        else if (byte === 0x68 /* h */) process.stderr.write('\r\n' + ESCAPE_HELP);
        else out.push(0x01, byte);
        continue;
      }
      if (byte === 0x01) escaped = true;
      else out.push(byte);
    }
    if (out.length) opts.send(Uint8Array.from(out));
  };
  const onEnd = () => {
    if (opts.quitOnEof) opts.quit();
  };
  const restore = () => {
    if (isTty && stdin.isTTY) stdin.setRawMode(false);
  };
  stdin.on('data', onData);
  stdin.on('end', onEnd);
  process.on('exit', restore);
  stdin.resume();
  return {
    detach() {
      stdin.off('data', onData);
      stdin.off('end', onEnd);
      process.off('exit', restore);
      restore();
      stdin.pause();
    },
  };
}

/** xl console's detach key: Ctrl-] (0x1d), as in `xl console` and telnet. */
export const XL_DETACH_BYTE = 0x1d;

/**
 * Attaches stdin to a domain console the way `xl console` does: every byte goes to the guest
 * except Ctrl-], which calls `detach` and leaves the domain running. Raw mode as above.
 */
export function attachConsoleXl(opts: { send(bytes: Uint8Array): void; detach(): void }): ConsoleAttachment {
  const stdin = process.stdin;
  const isTty = stdin.isTTY === true;
  if (isTty) stdin.setRawMode(true);
  const onData = (chunk: Buffer) => {
    const at = chunk.indexOf(XL_DETACH_BYTE);
    const part = at >= 0 ? chunk.subarray(0, at) : chunk;
    if (part.length) opts.send(Uint8Array.from(part));
    if (at >= 0) opts.detach();
  };
  const restore = () => {
    if (isTty && stdin.isTTY) stdin.setRawMode(false);
  };
  stdin.on('data', onData);
  process.on('exit', restore);
  stdin.resume();
  return {
    detach() {
      stdin.off('data', onData);
      process.off('exit', restore);
      restore();
      stdin.pause();
      // A paused socket (piped stdin, ssh) would still keep the process alive.
      stdin.unref?.();
    },
  };
}
