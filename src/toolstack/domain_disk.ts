/**
 * A domain's disk as its pCPU holds it: the image file (raw or qcow2, platform/node) behind the
 * domain's virtio-blk, with two extras for moving domains between hosts.
 *
 * - A write journal, for Remus's disk replication (remus.ts): while it is on, every write the
 *   guest makes is kept (offset and a copy of the bytes) until the next checkpoint takes it, so
 *   the backup's replica can be brought to exactly the state the checkpoint's memory expects.
 * - Release and open, for live migration between hosts that share the image (migrate.ts): the
 *   source closes its file (and image lock) once the destination has the whole domain, and the
 *   destination, which built the domain with the disk not yet open (`deferred`), opens it then.
 *   A released or not yet opened disk fails every access — the guest sees an I/O error, never a
 *   host crash — but the domain is paused all the while.
 */
import type { BlockFile } from '../platform/node/block_file.ts';

export interface JournalEntry {
  offset: number;
  data: Uint8Array;
}

export class DomainDisk implements BlockFile {
  /** Writes since the last `take`, or null when not journaling. */
  private journal: JournalEntry[] | null = null;

  private constructor(
    private file: BlockFile | null,
    private readonly openFile: () => BlockFile,
    readonly sizeBytes: number,
    readonly readOnly: boolean,
  ) {}

  /** Opens the image now. */
  static open(openFile: () => BlockFile): DomainDisk {
    const f = openFile();
    return new DomainDisk(f, openFile, f.sizeBytes, f.readOnly);
  }

  /** A disk of known size whose image is opened later (`reopen`). */
  static deferred(openFile: () => BlockFile, sizeBytes: number, readOnly: boolean): DomainDisk {
    return new DomainDisk(null, openFile, sizeBytes, readOnly);
  }

  private get f(): BlockFile {
    if (!this.file) throw new Error('the disk image is not open on this host');
    return this.file;
  }

  read(offset: number, dst: Uint8Array): void {
    this.f.read(offset, dst);
  }

  write(offset: number, src: Uint8Array): void {
    this.f.write(offset, src);
    this.journal?.push({ offset, data: src.slice() });
  }

  flush(): void {
    this.file?.flush();
  }

  close(): void {
    this.file?.close();
    this.file = null;
  }

  get isOpen(): boolean {
    return this.file !== null;
  }

  /** Flushes and closes the image (and its lock), keeping the disk to open again. */
  release(): void {
    this.flush();
    this.close();
  }

  /** Opens the image again (or for the first time); throws the platform's error if it cannot. */
  reopen(): void {
    if (this.file) return;
    const f = this.openFile();
    if (f.sizeBytes !== this.sizeBytes) {
      f.close();
      throw new Error(`the disk image is ${f.sizeBytes} bytes here, not ${this.sizeBytes}`);
    }
    this.file = f;
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
