/**
 * Xenstore watches (XS_WATCH / XS_UNWATCH / XS_WATCH_EVENT), following docs/misc/xenstore.txt.
 *
 * A watch on <wpath> with a <token> matches a change at <path> if <path> is <wpath> or lies below
 * it; it also matches the recursive removal of an ancestor of <wpath>, in which case the event
 * names <wpath> itself. Special watches (`@introduceDomain`, `@releaseDomain`) match only the
 * special event of the same name. A watch set with a relative path gets relative event paths.
 * The watcher must be able to read the changed node (for a permission change: before or after).
 * This module only decides matches; who owns the watches and when events go out (after a commit,
 * never for aborted transactions) is xenstored's business.
 */
import { canRead, type XsCaller, type XsPerm } from './perms.ts';
import { domainPath, isChildOf } from './paths.ts';
import type { XsChange } from './store.ts';

export interface XsWatch {
  /** Absolute path or special `@…` name. */
  readonly path: string;
  readonly token: string;
  /** Set with a path relative to the watcher's domain path: events are reported relative too. */
  readonly relative: boolean;
}

/** An event to send: the path to report and the watch's token. */
export interface XsWatchEvent {
  readonly path: string;
  readonly token: string;
}

/** The path a watch reports for a change, or undefined if it does not match. */
export function matchWatch(watch: XsWatch, change: XsChange): string | undefined {
  const special = change.path.startsWith('@');
  if (special || watch.path.startsWith('@')) return watch.path === change.path ? change.path : undefined;
  if (isChildOf(change.path, watch.path)) return change.path;
  if (change.kind === 'rm' && isChildOf(watch.path, change.path)) return watch.path;
  return undefined;
}

/** The path as the watcher sees it (relative watches get paths relative to their domain path). */
export function reportedPath(watch: XsWatch, absPath: string, domid: number): string {
  if (!watch.relative) return absPath;
  const base = domainPath(domid) + '/';
  return absPath.startsWith(base) ? absPath.slice(base.length) : absPath;
}

function visible(
  caller: XsCaller,
  perms: readonly XsPerm[],
  oldPerms: readonly XsPerm[] | undefined,
): boolean {
  return canRead(caller, perms) || (oldPerms !== undefined && canRead(caller, oldPerms));
}

/** The events one watcher gets for a list of changes, in order. */
export function eventsFor(
  caller: XsCaller,
  watches: readonly XsWatch[],
  changes: readonly XsChange[],
): XsWatchEvent[] {
  const out: XsWatchEvent[] = [];
  for (const change of changes) {
    if (!visible(caller, change.perms, change.oldPerms)) continue;
    for (const w of watches) {
      const p = matchWatch(w, change);
      if (p !== undefined) out.push({ path: reportedPath(w, p, caller.domid), token: w.token });
    }
  }
  return out;
}
