import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  buildDhcpRequest,
  DHCPACK,
  DHCPDISCOVER,
  DHCPNAK,
  DHCPOFFER,
  DHCPRELEASE,
  DHCPREQUEST,
  DhcpServer,
  parseDhcpReply,
} from './usernet_dhcp.ts';
import { getIp, parseIp, parseMac } from './usernet_ip.ts';

const ip = (s: string) => parseIp(s)!;
const server = () =>
  new DhcpServer({
    serverIp: ip('10.0.2.2'),
    netmask: ip('255.255.255.0'),
    router: ip('10.0.2.2'),
    dns: ip('10.0.2.3'),
    firstLease: ip('10.0.2.15'),
    poolSize: 2,
    leaseSeconds: 3600,
  });

function dora(s: DhcpServer, mac: Uint8Array): number {
  const offer = parseDhcpReply(s.handle(buildDhcpRequest(DHCPDISCOVER, mac, 1))!);
  assert.equal(offer.type, DHCPOFFER);
  const ack = parseDhcpReply(
    s.handle(buildDhcpRequest(DHCPREQUEST, mac, 2, { requestedIp: offer.yiaddr, serverId: ip('10.0.2.2') }))!,
  );
  assert.equal(ack.type, DHCPACK);
  assert.equal(ack.yiaddr, offer.yiaddr);
  assert.equal(getIp(ack.options.get(3)!, 0), ip('10.0.2.2'), 'router');
  assert.equal(getIp(ack.options.get(1)!, 0), ip('255.255.255.0'), 'subnet mask');
  assert.equal(getIp(ack.options.get(6)!, 0), ip('10.0.2.3'), 'dns');
  assert.equal(getIp(ack.options.get(51)!, 0), 3600, 'lease time');
  assert.equal(getIp(ack.options.get(54)!, 0), ip('10.0.2.2'), 'server id');
  return ack.yiaddr;
}

test('the first client gets .15, the second .16, a returning client its old address', () => {
  const s = server();
  const a = parseMac('52:54:00:12:34:56')!;
  const b = parseMac('52:54:00:12:34:57')!;
  assert.equal(dora(s, a), ip('10.0.2.15'));
  assert.equal(dora(s, b), ip('10.0.2.16'));
  assert.equal(dora(s, a), ip('10.0.2.15'));
  assert.equal(s.leases().length, 2);
});

test('a full pool offers nothing; a release frees an address; a request for a foreign address is NAKed', () => {
  const s = server();
  const macs = [1, 2, 3].map((i) => parseMac(`52:54:00:00:00:0${i}`)!);
  dora(s, macs[0]!);
  dora(s, macs[1]!);
  assert.equal(s.handle(buildDhcpRequest(DHCPDISCOVER, macs[2]!, 9)), undefined);
  s.handle(buildDhcpRequest(DHCPRELEASE, macs[0]!, 10));
  assert.equal(dora(s, macs[2]!), ip('10.0.2.15'));
  const nak = parseDhcpReply(
    s.handle(buildDhcpRequest(DHCPREQUEST, macs[1]!, 11, { requestedIp: ip('10.0.2.99') }))!,
  );
  assert.equal(nak.type, DHCPNAK);
  // A request that selects another server's offer is not ours to answer.
  assert.equal(
    s.handle(
      buildDhcpRequest(DHCPREQUEST, macs[1]!, 12, { requestedIp: ip('10.0.2.16'), serverId: ip('10.0.2.9') }),
    ),
    undefined,
  );
  assert.equal(s.handle(new Uint8Array(100)), undefined, 'garbage is ignored');
});
