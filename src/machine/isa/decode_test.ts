/**
 * The decoder checked against the GNU assembler (Debian's binutils-riscv64-linux-gnu):
 * decoded instructions are disassembled, re-assembled by `as` as 32-bit instructions, and
 * must decode to the same operation, operands and immediate. This covers every compressed
 * encoding (checked against its expansion) and a large seeded sample of 32-bit words.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { disassemble, EXACT } from './disasm.ts';
import { decode16, decode32, decoded, PACK_COMPRESSED } from './decode.ts';
import { Op } from './op.ts';
import { CTABLE, ROW_OF_OP, TABLE } from './table.ts';

test('the table lists every operation once, in Op order', () => {
  for (let op = Op.LUI; op < Op.COUNT; op++) assert.ok(ROW_OF_OP[op], `no table row for op ${op}`);
  assert.equal(TABLE.length, Op.COUNT - Op.LUI);
  TABLE.forEach((r, i) => assert.equal(r.op, Op.LUI + i, `row ${r.name} is out of order`));
  for (const c of CTABLE) assert.ok(ROW_OF_OP[c.op], `${c.name} expands to an op without a row`);
});

test("every row's match pattern decodes to that row", () => {
  for (const r of TABLE) {
    decode32(r.match | 0);
    assert.equal(decoded.word & 511, r.op, `${r.name} (0x${r.match.toString(16)})`);
  }
});

/** Assembles lines (with .option norvc) and returns the 32-bit words. */
function assemble(lines: string[]): Int32Array {
  const dir = mkdtempSync(join(tmpdir(), 'domus-as-'));
  try {
    const src = join(dir, 'a.s');
    writeFileSync(src, ['.option norvc', '.text', ...lines, ''].join('\n'));
    execFileSync('riscv64-linux-gnu-as', ['-march=rv64gc_h', '-o', join(dir, 'a.o'), src]);
    execFileSync('riscv64-linux-gnu-objcopy', [
      '-O',
      'binary',
      '-j',
      '.text',
      join(dir, 'a.o'),
      join(dir, 'a.bin'),
    ]);
    const b = readFileSync(join(dir, 'a.bin'));
    return new Int32Array(b.buffer, b.byteOffset, b.length / 4);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Branch and jump offsets are relative: give `as` absolute labels by position instead. */
function relocatable(line: string, index: number): string {
  return (
    line
      .replace(/^(j\w*|b\w+) (.*),(-?\d+)$/, (_, m: string, ops: string, off: string) => {
        return `${m} ${ops},. + ${off}`;
      })
      .replace(/^(jal) (x\d+),(-?\d+)$/, (_, m: string, rd: string, off: string) => `${m} ${rd},. + ${off}`) +
    ` # ${index}`
  );
}

test('every compressed encoding decodes to what the assembler makes of its expansion', () => {
  const words: number[] = [];
  const lines: string[] = [];
  for (let insn = 0; insn < 0x10000; insn++) {
    if ((insn & 3) === 3) continue;
    decode16(insn);
    if ((decoded.word & 511) === Op.ILLEGAL) continue;
    words.push(insn);
    lines.push(relocatable(disassemble(insn), lines.length));
  }
  assert.ok(words.length > 40000, `only ${words.length} legal compressed encodings`);
  const re = assemble(lines);
  assert.equal(re.length, words.length);
  for (let i = 0; i < words.length; i++) {
    decode16(words[i]!);
    const expect = [decoded.word & ~PACK_COMPRESSED, decoded.imm];
    decode32(re[i]!);
    assert.deepEqual([decoded.word, decoded.imm], expect, `0x${words[i]!.toString(16)}: ${lines[i]}`);
  }
});

test('a seeded sample of 32-bit words round-trips through the assembler', () => {
  let seed = 0x2545f491;
  const rand = () => {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return seed >>> 0;
  };
  const words: number[] = [];
  const lines: string[] = [];
  // Random operand fields under each row's fixed bits, plus fully random words.
  for (let i = 0; i < 40000; i++) {
    const r = TABLE[i % TABLE.length]!;
    const w = i % 4 === 3 ? rand() | 3 : ((rand() & ~r.mask) | r.match) >>> 0;
    decode32(w | 0);
    const op = decoded.word & 511;
    if (op === Op.ILLEGAL) continue;
    const row = ROW_OF_OP[op]!;
    // Reserved rounding modes are not assemblable; the interpreter rejects them at run time.
    if ((row.format === 'RM' || row.format === 'R4') && (decoded.imm === 5 || decoded.imm === 6)) continue;
    words.push(w | 0);
    lines.push(relocatable(disassemble(w), lines.length));
  }
  const re = assemble(lines);
  assert.equal(re.length, words.length);
  for (let i = 0; i < words.length; i++) {
    decode32(words[i]!);
    // fence's fm/pred/succ (kept in imm for PAUSE) are not printed: the assembler's fence is iorw,iorw.
    const exact = EXACT.has((decoded.word & 511) as Op) || (decoded.word & 511) === Op.FENCE;
    const expect = [decoded.word, exact ? 0 : decoded.imm];
    decode32(re[i]!);
    assert.deepEqual(
      [decoded.word, exact ? 0 : decoded.imm],
      expect,
      `0x${(words[i]! >>> 0).toString(16)}: ${lines[i]}`,
    );
  }
});
