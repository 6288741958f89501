/**
 * Xenstore path syntax (docs/misc/xenstore.txt): absolute paths start with `/`, use only ASCII
 * alphanumerics and `-/_@`, have no doubled or trailing slash (except the root `/`), and are at most
 * XENSTORE_ABS_PATH_MAX bytes. A relative path is taken relative to `/local/domain/<domid>` of the
 * caller. Special watch paths start with `@` (`@introduceDomain`, `@releaseDomain`).
 * Violations are EINVAL.
 */
import { XENSTORE_ABS_PATH_MAX, XENSTORE_REL_PATH_MAX, XsError } from './wire.ts';

export const XS_INTRODUCE_DOMAIN = '@introduceDomain';
export const XS_RELEASE_DOMAIN = '@releaseDomain';
export const SPECIAL_PATHS: readonly string[] = [XS_INTRODUCE_DOMAIN, XS_RELEASE_DOMAIN];

const VALID = /^(\/|(\/[A-Za-z0-9\-_@]+)+)$/;

export function domainPath(domid: number): string {
  return `/local/domain/${domid}`;
}

export function isValidAbsPath(p: string): boolean {
  return p.length <= XENSTORE_ABS_PATH_MAX && VALID.test(p);
}

/** Turns a request's path into an absolute one (relative to the caller's domain path); EINVAL if bad. */
export function canonicalize(path: string, domid: number): string {
  let abs = path;
  if (!path.startsWith('/')) {
    if (path.length === 0 || path.length > XENSTORE_REL_PATH_MAX) {
      throw new XsError('EINVAL', `bad relative path '${path.slice(0, 64)}'`);
    }
    abs = `${domainPath(domid)}/${path}`;
  }
  if (!isValidAbsPath(abs)) throw new XsError('EINVAL', `bad path '${abs.slice(0, 64)}'`);
  return abs;
}

/** The parent of an absolute path (`/` for top-level nodes); the root has none. */
export function parentOf(p: string): string {
  const i = p.lastIndexOf('/');
  return i <= 0 ? '/' : p.slice(0, i);
}

export function baseName(p: string): string {
  return p.slice(p.lastIndexOf('/') + 1);
}

/** Path components of an absolute path (`/` has none). */
export function components(p: string): string[] {
  return p === '/' ? [] : p.slice(1).split('/');
}

export function join(parent: string, name: string): string {
  return parent === '/' ? `/${name}` : `${parent}/${name}`;
}

/** True if `child` is `parent` itself or lies below it (xenstore.txt's "child" relation). */
export function isChildOf(child: string, parent: string): boolean {
  if (child === parent || parent === '/') return true;
  return child.startsWith(parent) && child.charCodeAt(parent.length) === 47; /* '/' */
}
