/**
 * The dispatcher: one small wasm function that runs translated regions back to back without
 * returning to JavaScript, so that control flow between regions (calls, returns, jumps to
 * other pages, indirect jumps) stays in wasm.
 *
 * `run(base, budget, fetchSet, loadSet, storeSet, first) -> status` calls region `first`
 * (an index into the Jit's function table) with the hart's state block at `base` and its TLB
 * sets at the machine-memory addresses `fetchSet`, `loadSet` and `storeSet` (inside that block;
 * base + set index * 4), and then, while the region said "dispatch" and
 * budget is left, looks the new pc up: the fetch TLB (the same tag compare as the
 * interpreter's fetch fast path) gives the host offset of the instruction, and the hart's jump
 * cache (layout.ts, JC_*) maps that host offset to the table index of the region entered
 * there. A miss in either returns to JavaScript, which interprets, translates and fills the
 * jump cache (jit.ts). The status is a region's: (count << 1) | interp, count summed over the
 * regions run; with interp = 1 the instruction at pc is the interpreter's to run (it may be on
 * another page than `first`'s).
 *
 * Nothing here depends on the privilege or translation regime: the TLB sets are parameters,
 * and translated code changes neither them nor the TLB entries it relies on (its slow-path
 * helpers only fill entries, and a trap, which may change the sets, returns with STOP), so
 * they hold for the whole call.
 * The jump cache is keyed by host (machine) offsets, so entries stay valid across address
 * spaces; jit.ts clears a page's entries when the page's translations are dropped.
 *
 * The module also holds the memory helpers every region calls for its loads and stores
 * (translate_mem.ts) and the tag a trapping load throws; `run` keeps the hart's state block
 * and TLB sets in globals for them. Regions import both from this module's instance.
 */
import { HS, JC_BYTE_OFFSET, JC_MASK, TLB_MASK } from '../hart/layout.ts';
import { REGION_PARAMS, REGION_RESULTS } from './translate.ts';
import { emitMemHelpers } from './translate_mem.ts';
import { ModuleBuilder, T, W } from './wasm.ts';

/** The JavaScript slow paths the memory helpers call (jit.ts; translate_mem.ts says what they return). */
export interface SlowPaths {
  ld: (vaLo: number, vaHi: number, size: number) => number;
  st: (vaLo: number, vaHi: number, size: number, lo: number, hi: number) => number;
}

export type DispatchFn = (
  base: number,
  budget: number,
  fetchSet: number,
  loadSet: number,
  storeSet: number,
  first: number,
) => number;

const PC_BYTE = HS.PC_LO * 4;

/**
 * Builds the dispatcher module (imports env.memory, shared, env.table and the slow paths env.ld
 * and env.st; exports run, the memory helpers and the tag `leave`).
 */
export function buildDispatchModule(memoryPages: number, tableSize: number): Uint8Array<ArrayBuffer> {
  const mb = new ModuleBuilder();
  const jsLoad = mb.importFunc('env', 'ld', [T.I32, T.I32, T.I32], [T.I32]);
  const jsStore = mb.importFunc('env', 'st', [T.I32, T.I32, T.I32, T.I32, T.I32], [T.I32]);
  const tag = mb.tag([]);
  mb.exportTag('leave', tag);
  const gBase = mb.global(T.I32, true);
  const gLoad = mb.global(T.I32, true);
  const gStore = mb.global(T.I32, true);
  mb.importMemory({
    module: 'env',
    name: 'memory',
    minPages: memoryPages,
    maxPages: memoryPages,
    shared: true,
  });
  mb.importTable('env', 'table', tableSize);
  const regionType = mb.type(REGION_PARAMS, REGION_RESULTS);
  const f = mb.func([T.I32, T.I32, T.I32, T.I32, T.I32, T.I32], [T.I32]);
  const [BASE, BUDGET, FETCH, LOAD, STORE, FIRST] = [0, 1, 2, 3, 4, 5];
  const c = f.code;
  const n = c.local(T.I32);
  const r = c.local(T.I32);
  const idx = c.local(T.I32);
  const t = c.local(T.I32);
  const host = c.local(T.I32);
  const pc = c.local(T.I64);
  c.get(BASE).globalSet(gBase).get(LOAD).globalSet(gLoad).get(STORE).globalSet(gStore);
  c.get(FIRST).set(idx);
  c.loop();
  // r = table[idx](base, budget - n, loadSet, storeSet); n += r >>> 2
  c.get(BASE).get(BUDGET).get(n).op(W.I32_SUB).get(LOAD).get(STORE).get(idx).callIndirect(regionType).set(r);
  c.get(n).get(r).i32Const(2).op(W.I32_SHR_U).op(W.I32_ADD).set(n);
  // Leave on a flag (INTERP, STOP), or at the end of the budget.
  c.get(r).i32Const(3).op(W.I32_AND).get(n).get(BUDGET).op(W.I32_GE_U).op(W.I32_OR);
  c.if().get(n).i32Const(2).op(W.I32_SHL).get(r).i32Const(3).op(W.I32_AND).op(W.I32_OR).op(W.RETURN).end();
  // Fetch TLB: t = fetchSet + ((pc >>> 12) & TLB_MASK) * 16; hit if tag == pc & ~0xfff.
  c.get(BASE).mem(W.I64_LOAD, 3, PC_BYTE).set(pc);
  c.get(FETCH);
  c.get(pc).op(W.I32_WRAP_I64).i32Const(12).op(W.I32_SHR_U).i32Const(TLB_MASK).op(W.I32_AND);
  c.i32Const(4).op(W.I32_SHL).op(W.I32_ADD).set(t);
  c.get(t).mem(W.I64_LOAD, 2, 0).get(pc).i64ConstHalves(-4096, -1).op(W.I64_AND).op(W.I64_NE);
  c.if().get(n).i32Const(2).op(W.I32_SHL).op(W.RETURN).end();
  c.get(t)
    .mem(W.I32_LOAD, 2, 8)
    .get(pc)
    .op(W.I32_WRAP_I64)
    .i32Const(4095)
    .op(W.I32_AND)
    .op(W.I32_ADD)
    .set(host);
  // Jump cache: t = base + JC + ((host >>> 1) & JC_MASK) * 8; hit if its key is host.
  c.get(BASE).get(host).i32Const(1).op(W.I32_SHR_U).i32Const(JC_MASK).op(W.I32_AND);
  c.i32Const(3).op(W.I32_SHL).op(W.I32_ADD).set(t);
  c.get(t).mem(W.I32_LOAD, 2, JC_BYTE_OFFSET).get(host).op(W.I32_NE);
  c.if().get(n).i32Const(2).op(W.I32_SHL).op(W.RETURN).end();
  c.get(t)
    .mem(W.I32_LOAD, 2, JC_BYTE_OFFSET + 4)
    .set(idx);
  c.br(0);
  c.end();
  c.op(W.UNREACHABLE);
  mb.export('run', f.index);
  emitMemHelpers(mb, { base: gBase, loadSet: gLoad, storeSet: gStore, jsLoad, jsStore, tag });
  return mb.build();
}

/**
 * Compiles the dispatcher against the machine memory, the Jit's function table and its slow
 * paths; returns `run` and the instance's exports (what regions import as `mem`).
 */
export function compileDispatcher(
  memory: WebAssembly.Memory,
  table: WebAssembly.Table,
  slow: SlowPaths,
): { run: DispatchFn; exports: WebAssembly.Exports } {
  const pages = memory.buffer.byteLength / 65536;
  const mod = new WebAssembly.Module(buildDispatchModule(pages, 1));
  const inst = new WebAssembly.Instance(mod, { env: { memory, table, ld: slow.ld, st: slow.st } });
  return { run: inst.exports['run'] as DispatchFn, exports: inst.exports };
}
