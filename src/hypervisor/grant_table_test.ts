/**
 * Grant tables: unit tests of GNTTABOP_* with Xen's GNTST_* results and GTF_* flag handling,
 * and a property test — seeded random grant / revoke / map / unmap / copy sequences between a
 * granter and two grantees on two pCPUs, checked after each step against a model of the entries
 * and mappings, including what each mapping actually shows of the granted page.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { VirtualClock } from '../machine/board.ts';
import {
  DOMID_SELF,
  GNTCOPY_dest_gref,
  GNTMAP_host_map,
  GNTMAP_readonly,
  GNTST_bad_copy_arg,
  GNTST_bad_domain,
  GNTST_bad_gntref,
  GNTST_bad_handle,
  GNTST_general_error,
  GNTST_okay,
  GTF_permit_access,
  GTF_readonly,
  GTF_reading,
  GTF_writing,
} from './abi/xen.ts';
import { GUEST_RAM_BASE, type Domain } from './domain.ts';
import * as gt from './grant_table.ts';
import { Hypervisor } from './hypervisor.ts';
import type { Gfn } from './p2m.ts';
import { MachineResources } from './resources.ts';

const RAM_PAGES = 64;
const BASE_GFN = GUEST_RAM_BASE / 4096;

function machine(): { hv: Hypervisor[]; g: Domain; m: Domain[] } {
  const resources = MachineResources.create({ memoryBytes: 8 << 20, harts: 8 });
  const hv = [0, 1].map((pcpu) => new Hypervisor({ resources, clock: new VirtualClock(), pcpu }));
  const g = hv[0]!.createDomain({ name: 'granter', memoryBytes: RAM_PAGES * 4096, vcpus: 1 });
  const m = [0, 1].map((i) =>
    hv[i]!.createDomain({ name: `grantee${i}`, memoryBytes: RAM_PAGES * 4096, vcpus: 1 }),
  );
  // Grantees make room for mappings, as a balloon driver would: the top 8 frames.
  for (const d of m)
    for (let i = RAM_PAGES - 8; i < RAM_PAGES; i++) assert.ok(d.depopulate((BASE_GFN + i) as Gfn));
  return { hv, g, m };
}

/** The granter writes grant entry `ref` (as its guest would, in its grant frame). */
function writeEntry(hv: Hypervisor, g: Domain, ref: number, flags: number, domid: number, gfn: number): void {
  const w = hv.shared.frameWord(gt.gnttab_frame(hv, g.id, ref >>> 9)) + (ref & 511) * 2;
  hv.shared.i32[w] = (flags & 0xffff) | (domid << 16);
  hv.shared.i32[w + 1] = gfn;
}

function entryFlags(hv: Hypervisor, g: Domain, ref: number): number {
  return hv.shared.i32[hv.shared.frameWord(gt.gnttab_frame(hv, g.id, ref >>> 9)) + (ref & 511) * 2]! & 0xffff;
}

/** The granter revokes as gnttab_end_foreign_access does: flags → 0 unless in use. */
function revoke(hv: Hypervisor, g: Domain, ref: number): boolean {
  const w = hv.shared.frameWord(gt.gnttab_frame(hv, g.id, ref >>> 9)) + (ref & 511) * 2;
  const old = Atomics.load(hv.shared.i32, w);
  if (old & (GTF_reading | GTF_writing)) return false;
  return Atomics.compareExchange(hv.shared.i32, w, old, old & ~0xffff) === old;
}

const host = (gfn: number) => gfn * 4096;
const mapGfn = (i: number) => BASE_GFN + RAM_PAGES - 8 + i;

test('map, access and unmap a granted page; GTF_reading/GTF_writing follow the mappings', () => {
  const { hv, g, m } = machine();
  const [a] = m as [Domain];
  const frame = BASE_GFN + 3;
  g.memory.write(frame * 4096, new TextEncoder().encode('granted!'));
  writeEntry(hv[0]!, g, 5, GTF_permit_access, a.id, frame);
  const r = gt.gnttab_map_grant_ref(hv[0]!, a.pv!, host(mapGfn(0)), GNTMAP_host_map, 5, g.id);
  assert.equal(r.status, GNTST_okay);
  assert.equal(entryFlags(hv[0]!, g, 5), GTF_permit_access | GTF_reading | GTF_writing);
  const seen = new Uint8Array(8);
  assert.ok(a.memory.read(mapGfn(0) * 4096, seen));
  assert.equal(new TextDecoder().decode(seen), 'granted!');
  a.memory.write(mapGfn(0) * 4096, new TextEncoder().encode('written'));
  const back = new Uint8Array(7);
  g.memory.read(frame * 4096, back);
  assert.equal(new TextDecoder().decode(back), 'written', 'the grantee wrote the granter’s page');
  assert.equal(revoke(hv[0]!, g, 5), false, 'a mapped grant cannot be revoked');
  assert.equal(
    gt.gnttab_unmap_grant_ref(hv[0]!, a.pv!, host(mapGfn(1)), r.handle),
    GNTST_general_error,
    'wrong address',
  );
  assert.equal(gt.gnttab_unmap_grant_ref(hv[0]!, a.pv!, host(mapGfn(0)), r.handle), GNTST_okay);
  assert.equal(gt.gnttab_unmap_grant_ref(hv[0]!, a.pv!, host(mapGfn(0)), r.handle), GNTST_bad_handle);
  assert.equal(entryFlags(hv[0]!, g, 5), GTF_permit_access);
  assert.equal(a.pageKind(mapGfn(0)), 'none', 'the mapping is gone from the grantee’s P2M');
  assert.equal(revoke(hv[0]!, g, 5), true);
  const again = gt.gnttab_map_grant_ref(hv[0]!, a.pv!, host(mapGfn(0)), GNTMAP_host_map, 5, g.id);
  assert.equal(again.status, GNTST_general_error, 'a revoked grant cannot be mapped again');
});

test('GNTST_* errors as Xen gives them', () => {
  const { hv, g, m } = machine();
  const [a, b] = m as [Domain, Domain];
  writeEntry(hv[0]!, g, 1, GTF_permit_access, b.id, BASE_GFN + 1);
  writeEntry(hv[0]!, g, 2, GTF_permit_access | GTF_readonly, a.id, BASE_GFN + 2);
  writeEntry(hv[0]!, g, 3, GTF_permit_access, a.id, BASE_GFN + RAM_PAGES + 100);
  const map = (ref: number, flags = GNTMAP_host_map, dom: number = g.id, gfn = mapGfn(0)) =>
    gt.gnttab_map_grant_ref(hv[0]!, a.pv!, host(gfn), flags, ref, dom).status;
  assert.equal(map(1), GNTST_general_error, 'granted to another domain');
  assert.equal(map(2), GNTST_general_error, 'writable map of a read-only grant');
  assert.equal(map(9), GNTST_general_error, 'never granted');
  assert.equal(map(100000), GNTST_bad_gntref, 'beyond the table');
  assert.equal(map(2, GNTMAP_host_map, 0x7000), GNTST_bad_domain);
  assert.equal(map(2, 0), GNTST_bad_gntref, 'neither host nor device map');
  assert.equal(map(3), -9 /* GNTST_bad_page */, 'the granted frame is not the granter’s RAM');
  assert.equal(
    map(2, GNTMAP_host_map | GNTMAP_readonly, g.id, BASE_GFN + 1),
    GNTST_general_error,
    'onto RAM',
  );
  assert.equal(map(2, GNTMAP_host_map | GNTMAP_readonly), GNTST_okay);
  assert.equal(entryFlags(hv[0]!, g, 2), GTF_permit_access | GTF_readonly | GTF_reading);
  assert.equal(
    gt.gnttab_map_grant_ref(hv[1]!, b.pv!, host(mapGfn(0)), GNTMAP_host_map | GNTMAP_readonly, 2, g.id)
      .status,
    GNTST_general_error,
    'another domain cannot pin a grant someone holds',
  );
  assert.deepEqual(gt.gnttab_query_size(hv[0]!, a.id, DOMID_SELF), [GNTST_okay, 1, 4]);
  assert.equal(gt.gnttab_setup_table(hv[0]!, a.id, DOMID_SELF, 9), GNTST_general_error);
  assert.equal(gt.gnttab_setup_table(hv[0]!, a.id, g.id, 2), -8 /* GNTST_permission_denied */);
});

test('GNTTABOP_copy into a granted page; bad lengths are GNTST_bad_copy_arg', () => {
  const { hv, g, m } = machine();
  const [a] = m as [Domain];
  writeEntry(hv[0]!, g, 7, GTF_permit_access, a.id, BASE_GFN + 7);
  a.memory.write((BASE_GFN + 1) * 4096 + 16, new TextEncoder().encode('copied'));
  const local = (gfn: number) => a.p2m.mfnOf(gfn);
  const copy = (len: number, srcOff = 16) =>
    gt.gnttab_copy(
      hv[0]!,
      a.id,
      { u: BASE_GFN + 1, domid: DOMID_SELF, offset: srcOff },
      { u: 7, domid: g.id, offset: 100 },
      len,
      GNTCOPY_dest_gref,
      local,
    );
  assert.equal(copy(6), GNTST_okay);
  const got = new Uint8Array(6);
  g.memory.read((BASE_GFN + 7) * 4096 + 100, got);
  assert.equal(new TextDecoder().decode(got), 'copied');
  assert.equal(entryFlags(hv[0]!, g, 7), GTF_permit_access, 'the copy’s transient pin is gone');
  assert.equal(copy(4000, 200), GNTST_bad_copy_arg);
});

function rng(seed: number): (n: number) => number {
  let s = seed >>> 0 || 1;
  return (n) => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) % n;
  };
}

test('property: random grant/revoke/map/unmap sequences over two pCPUs match a model', () => {
  const REFS = 6;
  for (let seed = 1; seed <= 25; seed++) {
    const { hv, g, m } = machine();
    const rand = rng(seed * 104729);
    type Entry = { to: number; ro: boolean } | undefined;
    const entries: Entry[] = new Array<Entry>(REFS).fill(undefined);
    type Mapping = { ref: number; ro: boolean; gfn: number; handle: number };
    const maps: Mapping[][] = [[], []];
    for (let step = 0; step < 120; step++) {
      const op = rand(5);
      const ref = rand(REFS);
      const who = rand(2);
      const hvW = hv[who]!;
      const mapper = m[who]!;
      const where = `seed ${seed} step ${step} op ${op} ref ${ref} grantee ${who}`;
      const inUse = maps[0]!.some((x) => x.ref === ref) || maps[1]!.some((x) => x.ref === ref);
      if (op === 0 && !inUse) {
        const ro = rand(2) === 1;
        const to = m[rand(2)]!.id;
        writeEntry(hv[0]!, g, ref, GTF_permit_access | (ro ? GTF_readonly : 0), to, BASE_GFN + 1 + ref);
        entries[ref] = { to, ro };
      } else if (op === 1) {
        assert.equal(revoke(hv[0]!, g, ref), !inUse, where);
        if (!inUse) entries[ref] = undefined;
      } else if (op === 2 || op === 3) {
        const free = [0, 1, 2, 3, 4, 5, 6, 7].find((i) => !maps[who]!.some((x) => x.gfn === mapGfn(i)));
        if (free === undefined) continue;
        const ro = op === 3;
        const e = entries[ref];
        const holder = maps[1 - who]!.some((x) => x.ref === ref);
        const ok = e !== undefined && e.to === mapper.id && !(e.ro && !ro) && !holder;
        const r = gt.gnttab_map_grant_ref(
          hvW,
          mapper.pv!,
          host(mapGfn(free)),
          GNTMAP_host_map | (ro ? GNTMAP_readonly : 0),
          ref,
          g.id,
        );
        assert.equal(r.status, ok ? GNTST_okay : GNTST_general_error, where);
        if (ok) maps[who]!.push({ ref, ro, gfn: mapGfn(free), handle: r.handle });
      } else {
        const list = maps[who]!;
        if (list.length === 0) continue;
        const k = rand(list.length);
        const t = list[k]!;
        assert.equal(gt.gnttab_unmap_grant_ref(hvW, mapper.pv!, host(t.gfn), t.handle), GNTST_okay, where);
        list.splice(k, 1);
      }
      // Check: flags of every entry, and every mapping shows the granted page's bytes.
      for (let r = 0; r < REFS; r++) {
        const all = [...maps[0]!, ...maps[1]!].filter((x) => x.ref === r);
        const e = entries[r];
        let want = e ? GTF_permit_access | (e.ro ? GTF_readonly : 0) : 0;
        if (all.length) want |= GTF_reading;
        if (all.some((x) => !x.ro)) want |= GTF_writing;
        assert.equal(entryFlags(hv[0]!, g, r), want, `${where}: flags of ref ${r}`);
      }
      for (let w = 0; w < 2; w++) {
        for (const x of maps[w]!) {
          const stamp = new Uint8Array([seed, step, x.ref, w]);
          g.memory.write((BASE_GFN + 1 + x.ref) * 4096 + 8 * w, stamp);
          const seen = new Uint8Array(4);
          assert.ok(m[w]!.memory.read(x.gfn * 4096 + 8 * w, seen), where);
          assert.deepEqual([...seen], [...stamp], `${where}: mapping of ref ${x.ref} by grantee ${w}`);
        }
      }
    }
  }
});
