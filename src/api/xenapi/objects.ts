/**
 * The XenAPI object database as clients see it: records by class and opaque reference, with
 * an event log for `event.from`. Every change (add, mod, del) is one event carrying a snapshot
 * of the record; the token a client gets back is the log position, so the next `event.from`
 * returns exactly the changes after it. The log is bounded: a token older than its start gets
 * EVENTS_LOST, and the client starts over from a full snapshot (token "").
 *
 * Class names are XenAPI's (`VM`, `VM_metrics`, `task`); in events and `valid_ref_counts` they
 * are lower-cased, as xapi sends them.
 */
import { EVENTS_LOST, HANDLE_INVALID, UUID_INVALID, XenApiError } from './errors.ts';

export type XRecord = Record<string, unknown>;

export interface XEvent {
  id: string;
  timestamp: string;
  class: string;
  operation: 'add' | 'mod' | 'del';
  ref: string;
  snapshot?: XRecord;
}

const LOG_LIMIT = 10_000;

export const CLASSES = [
  'pool',
  'host',
  'VM',
  'VM_metrics',
  'VM_guest_metrics',
  'VBD',
  'VDI',
  'SR',
  'VIF',
  'network',
  'console',
  'task',
] as const;
export type XClass = (typeof CLASSES)[number];

export function isClass(s: string): s is XClass {
  return (CLASSES as readonly string[]).includes(s);
}

function token(n: number): string {
  return String(n).padStart(20, '0');
}

export class ObjectStore {
  private readonly tables = new Map<XClass, Map<string, XRecord>>();
  private readonly log: { gen: number; ev: XEvent }[] = [];
  private gen = 0;
  private readonly waiters = new Set<() => void>();

  constructor() {
    for (const c of CLASSES) this.tables.set(c, new Map());
  }

  table(cls: XClass): Map<string, XRecord> {
    return this.tables.get(cls)!;
  }

  has(cls: XClass, ref: string): boolean {
    return this.table(cls).has(ref);
  }

  get(cls: XClass, ref: string): XRecord {
    const r = this.table(cls).get(ref);
    if (!r) throw new XenApiError(HANDLE_INVALID, [cls, ref]);
    return r;
  }

  byUuid(cls: XClass, uuid: string): string {
    for (const [ref, r] of this.table(cls)) if (r['uuid'] === uuid) return ref;
    throw new XenApiError(UUID_INVALID, [cls, uuid]);
  }

  byNameLabel(cls: XClass, name: string): string[] {
    const out: string[] = [];
    for (const [ref, r] of this.table(cls)) if (r['name_label'] === name) out.push(ref);
    return out;
  }

  put(cls: XClass, ref: string, rec: XRecord): void {
    const t = this.table(cls);
    const op = t.has(ref) ? 'mod' : 'add';
    t.set(ref, rec);
    this.emit(cls, ref, op, rec);
  }

  /** Changes some fields of an existing record (no event when nothing changed). */
  patch(cls: XClass, ref: string, fields: XRecord): void {
    const old = this.get(cls, ref);
    const next = { ...old, ...fields };
    if (JSON.stringify(next) === JSON.stringify(old)) return;
    this.table(cls).set(ref, next);
    this.emit(cls, ref, 'mod', next);
  }

  remove(cls: XClass, ref: string): void {
    const t = this.table(cls);
    const old = t.get(ref);
    if (!old) return;
    t.delete(ref);
    this.emit(cls, ref, 'del', old);
  }

  /** Records an event without a change (event.inject). Returns the new token. */
  inject(cls: XClass, ref: string): string {
    this.emit(cls, ref, 'mod', this.get(cls, ref));
    return token(this.gen);
  }

  currentToken(): string {
    return token(this.gen);
  }

  /**
   * Events after `since` for `classes` ('*' = all), or, with an empty token, every current
   * record as an `add`. `valid_ref_counts` counts the records of each requested class.
   */
  from(
    classes: string[],
    since: string,
  ): { events: XEvent[]; token: string; valid_ref_counts: Record<string, number> } {
    const want = this.classFilter(classes);
    const counts: Record<string, number> = {};
    for (const c of CLASSES) if (want(c)) counts[c.toLowerCase()] = this.table(c).size;
    if (since === '') {
      const events: XEvent[] = [];
      for (const c of CLASSES) {
        if (!want(c)) continue;
        for (const [ref, rec] of this.table(c)) events.push(this.event(c, ref, 'add', rec, this.gen));
      }
      return { events, token: token(this.gen), valid_ref_counts: counts };
    }
    const n = parseToken(since);
    if (this.log.length > 0 && n < this.log[0]!.gen - 1) throw new XenApiError(EVENTS_LOST);
    const events = this.log.filter((e) => e.gen > n && want(e.ev.class)).map((e) => e.ev);
    return { events, token: token(this.gen), valid_ref_counts: counts };
  }

  /** Resolves when an event newer than `since` arrives, or after `timeoutMs`. */
  wait(since: string, timeoutMs: number): Promise<void> {
    const n = since === '' ? -1 : parseToken(since);
    if (this.gen > n) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, Math.max(0, timeoutMs));
      this.waiters.add(done);
    });
  }

  /** Wakes every waiting `event.from` (at shutdown). */
  wakeAll(): void {
    for (const w of [...this.waiters]) w();
  }

  private classFilter(classes: string[]): (c: string) => boolean {
    if (classes.includes('*')) return () => true;
    const set = new Set(classes.map((c) => c.toLowerCase()));
    return (c) => set.has(c.toLowerCase());
  }

  private event(
    cls: string,
    ref: string,
    op: XEvent['operation'],
    rec: XRecord | undefined,
    gen: number,
  ): XEvent {
    const ev: XEvent = {
      id: token(gen),
      timestamp: (Date.now() / 1000).toFixed(3),
      class: cls.toLowerCase(),
      operation: op,
      ref,
    };
    if (rec) ev.snapshot = rec;
    return ev;
  }

  private emit(cls: XClass, ref: string, op: XEvent['operation'], rec: XRecord): void {
    this.gen++;
    this.log.push({ gen: this.gen, ev: this.event(cls, ref, op, rec, this.gen) });
    if (this.log.length > LOG_LIMIT) this.log.splice(0, this.log.length - LOG_LIMIT);
    for (const w of [...this.waiters]) w();
  }
}

function parseToken(t: string): number {
  const first = t.split(',')[0] ?? '';
  const n = Number(first);
  if (!/^\d+$/.test(first) || !Number.isSafeInteger(n)) throw new XenApiError(EVENTS_LOST);
  return n;
}
