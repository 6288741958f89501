/**
 * Helper process for store_test.ts's crash test (not a test itself): commits VM records
 * numbered from argv[3] upward into the store at argv[2], one transaction each, and after each
 * commit returns writes the number to stdout synchronously, until it is killed. Every
 * transaction also updates the host record "last", so a reader can check that the two writes
 * landed together.
 */
import { writeSync } from 'node:fs';
import { Store } from './store.ts';

/** The deterministic content of record `i`, so the parent can check it byte for byte. */
export function crashRecord(i: number): { uuid: string; name: string; config: { i: number; pad: string } } {
  const hex = i.toString(16).padStart(12, '0');
  return { uuid: `00000000-0000-4000-8000-${hex}`, name: `vm-${i}`, config: { i, pad: `${i}:`.repeat(400) } };
}

if (process.argv[1]?.endsWith('store_crash_child.ts')) {
  const [path, first] = process.argv.slice(2);
  const store = Store.open(path!);
  for (let i = Number(first); i < 1_000_000; i++) {
    store.transaction(() => {
      store.putVm(crashRecord(i));
      store.putRecord('host', 'last', { i });
    });
    writeSync(1, `${i}\n`);
  }
}
