/**
 * A domain's disk with an optional write journal, for Remus's disk replication (remus.ts): while
 * the journal is on, every write the guest's virtio-blk makes is kept (offset and a copy of the
 * bytes) until the next checkpoint takes them, so the backup's replica can be brought to exactly
 * the state the checkpoint's memory expects. Reads, flushes and closing pass straight through.
 */
import type { BlockFile } from '../platform/node/block_file.ts';

export interface JournalEntry {
  offset: number;
  data: Uint8Array;
}

export class JournaledDisk implements BlockFile {
  /** Writes since the last `take`, or null when not journaling. */
  private journal: JournalEntry[] | null = null;

  constructor(private readonly file: BlockFile) {}

  get sizeBytes(): number {
    return this.file.sizeBytes;
  }

  get readOnly(): boolean {
    return this.file.readOnly;
  }

  read(offset: number, dst: Uint8Array): void {
    this.file.read(offset, dst);
  }

  write(offset: number, src: Uint8Array): void {
    this.file.write(offset, src);
    this.journal?.push({ offset, data: src.slice() });
  }

  flush(): void {
    this.file.flush();
  }

  close(): void {
    this.file.close();
  }

  /** Starts (or, with false, stops and drops) the journal. */
  setJournaling(on: boolean): void {
    this.journal = on ? [] : null;
  }

  /** The writes since the last call (empty when not journaling), and a fresh journal. */
  take(): JournalEntry[] {
    const j = this.journal ?? [];
    if (this.journal) this.journal = [];
    return j;
  }
}
