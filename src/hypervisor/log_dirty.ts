/**
 * Log-dirty mode for live migration, through the P2M as in Xen: while a domain's log is on, its
 * RAM is mapped read-only at the G-stage, so the first store a vCPU makes to a page in each
 * round takes a guest-page fault to the hypervisor (exits.ts), which marks the page dirty, gives
 * the write permission back and retries the store. The hypervisor's own writes to guest memory
 * (device models' DMA, SBI and hypercall results, steal-time records: everything through
 * DomainMemory) mark pages directly. `collect` returns the pages dirtied since the last call and
 * write-protects them again.
 *
 * Only the pCPU running the domain calls these, between vCPU slices.
 */
import { GUEST_RAM_BASE, type Domain } from './domain.ts';
import { P2mPerm } from './p2m.ts';

export class DirtyLog {
  private readonly base = GUEST_RAM_BASE / 4096;
  /** One byte per GFN of the RAM span: 1 = written since the last collect. */
  private readonly bits: Uint8Array;
  /** Pages the guest's stores made writable again (faults taken), since the log started. */
  faults = 0;

  constructor(private readonly d: Domain) {
    this.bits = new Uint8Array(d.maxPages);
  }

  /** Write-protects all of the domain's RAM and starts logging. */
  start(): void {
    this.d.dirtyLog = this;
    this.d.memory.onWrite = (gfn) => this.mark(gfn);
    this.protectAll(P2mPerm.R | P2mPerm.X);
  }

  /** Stops logging and gives every RAM page its write permission back. */
  stop(): void {
    if (this.d.dirtyLog !== this) return;
    this.d.dirtyLog = null;
    this.d.memory.onWrite = null;
    this.protectAll(P2mPerm.RWX);
  }

  mark(gfn: number): void {
    const i = gfn - this.base;
    if (i >= 0 && i < this.bits.length) this.bits[i] = 1;
  }

  /**
   * A guest-page fault at `gfn`: if it is RAM write-protected by this log, marks it dirty and
   * makes it writable (true: retry the access); false when the fault is not the log's.
   */
  fault(gfn: number): boolean {
    const i = gfn - this.base;
    if (i < 0 || i >= this.bits.length || this.d.pageKind(gfn) !== 'ram') return false;
    this.bits[i] = 1;
    this.d.p2m.setPerm(gfn, P2mPerm.RWX);
    this.faults++;
    return true;
  }

  /** The GFNs written since the last call (in order); they are write-protected again. */
  collect(): number[] {
    const out: number[] = [];
    for (let i = 0; i < this.bits.length; i++) {
      if (this.bits[i] === 0) continue;
      this.bits[i] = 0;
      const gfn = this.base + i;
      out.push(gfn);
      if (this.d.pageKind(gfn) === 'ram') this.d.p2m.setPerm(gfn, P2mPerm.R | P2mPerm.X);
    }
    if (out.length > 0) this.flush();
    return out;
  }

  private protectAll(perm: P2mPerm): void {
    for (let i = 0; i < this.bits.length; i++) {
      const gfn = this.base + i;
      if (this.d.pageKind(gfn) === 'ram') this.d.p2m.setPerm(gfn, perm);
    }
    this.flush();
  }

  /** Every vCPU forgets translations that may still carry write permission. */
  private flush(): void {
    for (const v of this.d.vcpus) {
      v.hart.flushGStage();
      v.hart.flushTlb(true);
    }
  }
}
