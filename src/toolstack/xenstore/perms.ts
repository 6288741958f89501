/**
 * Xenstore permissions, as Xen's xenstored keeps them.
 *
 * A node's permissions are a list of `<letter><domid>` strings (`n0`, `r1`, `w2`, `b3`: none,
 * read, write, both). The FIRST entry names the owner, and its letter is what every domain not
 * listed afterwards gets; each later entry grants one domain its letter. The owner and privileged
 * callers (dom0, the toolstack's sockets) get everything, including the owner's right to change the
 * permissions. A caller that SET_TARGET made the target of another domain also acts as that domain.
 * This module knows nothing of paths or nodes: callers hand it the list to judge.
 */
import { XsError } from './wire.ts';

export const XS_PERM_NONE = 0;
export const XS_PERM_READ = 1;
export const XS_PERM_WRITE = 2;
export const XS_PERM_OWNER = 4;

export type XsPermLetter = 'n' | 'r' | 'w' | 'b';

export interface XsPerm {
  readonly id: number;
  readonly perm: XsPermLetter;
}

/** Who is asking: a domain id, whether it is privileged, and the domain it targets (SET_TARGET). */
export interface XsCaller {
  readonly domid: number;
  readonly privileged: boolean;
  readonly target?: number | undefined;
}

export const DOMID_MAX = 0xffff;

/** Parses a decimal domain id 0..65535; anything else is EINVAL. */
export function parseDomid(s: string): number {
  if (!/^[0-9]{1,5}$/.test(s)) throw new XsError('EINVAL', `bad domid '${s}'`);
  const n = Number(s);
  if (n > DOMID_MAX) throw new XsError('EINVAL', `domid ${n} out of range`);
  return n;
}

export function parsePerm(s: string): XsPerm {
  const letter = s[0];
  if (letter !== 'n' && letter !== 'r' && letter !== 'w' && letter !== 'b') {
    throw new XsError('EINVAL', `bad permission '${s}'`);
  }
  return { perm: letter, id: parseDomid(s.slice(1)) };
}

export function formatPerm(p: XsPerm): string {
  return `${p.perm}${p.id}`;
}

export function parsePerms(list: readonly string[]): XsPerm[] {
  if (list.length === 0) throw new XsError('EINVAL', 'empty permission list');
  return list.map(parsePerm);
}

function letterBits(l: XsPermLetter): number {
  switch (l) {
    case 'n':
      return XS_PERM_NONE;
    case 'r':
      return XS_PERM_READ;
    case 'w':
      return XS_PERM_WRITE;
    case 'b':
      return XS_PERM_READ | XS_PERM_WRITE;
  }
}

const ALL = XS_PERM_READ | XS_PERM_WRITE | XS_PERM_OWNER;

function matches(caller: XsCaller, id: number): boolean {
  return caller.domid === id || (caller.target !== undefined && caller.target === id);
}

/** The XS_PERM_* bits `caller` has on a node with permissions `perms`. */
export function permFor(caller: XsCaller, perms: readonly XsPerm[]): number {
  const owner = perms[0];
  if (caller.privileged || owner === undefined || matches(caller, owner.id)) return ALL;
  for (let i = 1; i < perms.length; i++) {
    const p = perms[i]!;
    if (matches(caller, p.id)) return letterBits(p.perm);
  }
  return letterBits(owner.perm);
}

export function canRead(caller: XsCaller, perms: readonly XsPerm[]): boolean {
  return (permFor(caller, perms) & XS_PERM_READ) !== 0;
}
