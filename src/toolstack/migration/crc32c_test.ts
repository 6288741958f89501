import assert from 'node:assert/strict';
import { test } from 'node:test';
import { crc32c } from './crc32c.ts';

const ascii = (s: string) => new TextEncoder().encode(s);

/** Bit-at-a-time CRC-32C: the definition, to check the table-driven code against. */
function slowCrc32c(b: Uint8Array): number {
  let c = 0xffffffff;
  for (const x of b) {
    c ^= x;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
  }
  return ~c >>> 0;
}

test('the standard check value and the RFC 3720 (iSCSI) test vectors', () => {
  assert.equal(crc32c(ascii('123456789')), 0xe3069283);
  assert.equal(crc32c(new Uint8Array(32)), 0x8a9136aa);
  assert.equal(crc32c(new Uint8Array(32).fill(0xff)), 0x62a8ab43);
  assert.equal(crc32c(Uint8Array.from({ length: 32 }, (_, i) => i)), 0x46dd794e);
  assert.equal(crc32c(Uint8Array.from({ length: 32 }, (_, i) => 31 - i)), 0x113fdb5c);
  assert.equal(crc32c(new Uint8Array(0)), 0);
});

test('agrees with the bit-at-a-time definition at every length and alignment', () => {
  const data = Uint8Array.from({ length: 300 }, (_, i) => (i * 167 + 13) & 0xff);
  for (let start = 0; start < 9; start++) {
    for (let len = 0; start + len <= data.length; len += 7) {
      const part = data.subarray(start, start + len);
      assert.equal(crc32c(part), slowCrc32c(part), `start ${start} length ${len}`);
    }
  }
});

test('continues across pieces: crc32c(b, crc32c(a)) is the checksum of a then b', () => {
  const data = Uint8Array.from({ length: 1000 }, (_, i) => (i * 7) & 0xff);
  const whole = crc32c(data);
  for (const cut of [0, 1, 7, 8, 9, 500, 999, 1000]) {
    assert.equal(crc32c(data.subarray(cut), crc32c(data.subarray(0, cut))), whole, `cut at ${cut}`);
  }
});

test('any change to one byte changes the checksum', () => {
  const data = Uint8Array.from({ length: 64 }, (_, i) => i * 3);
  const base = crc32c(data);
  for (let i = 0; i < data.length; i++) {
    for (const flip of [0x01, 0x80, 0xff, 0x5a]) {
      data[i]! ^= flip;
      assert.notEqual(crc32c(data), base, `byte ${i} ^ ${flip}`);
      data[i]! ^= flip;
    }
  }
});
