/**
 * Password hashing for toolstack users: scrypt (node:crypto) with a random 16-byte salt per
 * password, compared in constant time.
 *
 * A hash is stored as one self-describing string, `scrypt$N$r$p$<salt base64>$<hash base64>`,
 * so the cost can be raised later without a schema change: `verifyPassword` reads the
 * parameters from the string, and `needsRehash` says when a stored hash uses older ones.
 * N = 2^14, r = 8, p = 1 (16 MiB, a few tens of milliseconds) suits a management daemon that
 * logs users in now and then. Derivation runs on libuv's thread pool (async), never on the
 * event loop.
 */
import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';

export const SCRYPT_N = 1 << 14;
export const SCRYPT_R = 8;
export const SCRYPT_P = 1;
const SALT_BYTES = 16;
const KEY_BYTES = 32;

interface Parsed {
  N: number;
  r: number;
  p: number;
  salt: Buffer;
  hash: Buffer;
}

function derive(password: string, salt: Buffer, opts: ScryptOptions, keylen: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    // maxmem must cover 128 * N * r bytes (plus slack) or scrypt refuses.
    scrypt(
      password.normalize('NFC'),
      salt,
      keylen,
      { ...opts, maxmem: 256 * opts.N! * opts.r! },
      (err, key) => (err ? reject(err) : resolve(key)),
    );
  });
}

function parse(stored: string): Parsed | undefined {
  const m = /^scrypt\$(\d+)\$(\d+)\$(\d+)\$([A-Za-z0-9+/]+={0,2})\$([A-Za-z0-9+/]+={0,2})$/.exec(stored);
  if (!m) return undefined;
  const [N, r, p] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const powerOfTwo = N >= 2 && (N & (N - 1)) === 0;
  if (!powerOfTwo || N > 1 << 20 || r < 1 || r > 32 || p < 1 || p > 16) return undefined;
  const salt = Buffer.from(m[4]!, 'base64');
  const hash = Buffer.from(m[5]!, 'base64');
  if (salt.length < 8 || hash.length < 16 || hash.length > 64) return undefined;
  return { N, r, p, salt, hash };
}

/** Hashes a new password with a fresh salt. */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const hash = await derive(password, salt, { N: SCRYPT_N, r: SCRYPT_R, p: SCRYPT_P }, KEY_BYTES);
  return `scrypt$${SCRYPT_N}$${SCRYPT_R}$${SCRYPT_P}$${salt.toString('base64')}$${hash.toString('base64')}`;
}

/** A hash of a password nobody knows, so that unknown users cost as much time as known ones. */
let decoy: Promise<string> | undefined;

/**
 * True when `password` matches `stored`. Pass `stored` undefined for an unknown user: the same
 * work is done against a decoy, so response time does not reveal which user names exist.
 */
export async function verifyPassword(password: string, stored: string | undefined): Promise<boolean> {
  decoy ??= hashPassword(randomBytes(16).toString('hex'));
  const parsed = parse(stored ?? '') ?? parse(await decoy)!;
  const key = await derive(
    password,
    parsed.salt,
    { N: parsed.N, r: parsed.r, p: parsed.p },
    parsed.hash.length,
  );
  return timingSafeEqual(key, parsed.hash) && stored !== undefined && parse(stored) !== undefined;
}

/** True when a stored hash is unreadable or weaker than today's parameters. */
export function needsRehash(stored: string): boolean {
  const p = parse(stored);
  return !p || p.N < SCRYPT_N || p.r < SCRYPT_R || p.p < SCRYPT_P || p.salt.length < SALT_BYTES;
}
