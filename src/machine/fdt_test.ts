import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { FdtBuilder } from './fdt.ts';

/** Decompiles a blob with the reference tool, Debian's device-tree-compiler. */
function dtc(dtb: Uint8Array): string {
  const r = spawnSync('dtc', ['-I', 'dtb', '-O', 'dts', '-q', '-'], { input: dtb, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}

function sample(): FdtBuilder {
  const f = new FdtBuilder();
  f.beginNode('');
  f.propU32('#address-cells', 2).propU32('#size-cells', 2);
  f.propString('compatible', 'riscv-virtio').propString('model', 'riscv-virtio,qemu');
  f.beginNode('chosen');
  f.propString('bootargs', 'console=ttyS0 earlycon=sbi');
  f.propU64('linux,initrd-start', 0x8800_0000);
  f.propU64('linux,initrd-end', 0x1_2345_6789);
  f.propBytes('rng-seed', Uint8Array.of(0xde, 0xad, 0xbe, 0xef, 0x01));
  f.endNode();
  f.beginNode('memory@80000000');
  f.propString('device_type', 'memory');
  f.propU32('reg', 0, 0x8000_0000, 0, 0x1000_0000);
  f.endNode();
  f.beginNode('cpus');
  f.propU32('#address-cells', 1).propU32('#size-cells', 0);
  f.propU32('timebase-frequency', 10_000_000);
  f.beginNode('cpu@0');
  f.propU32('phandle', 1).propString('device_type', 'cpu').propU32('reg', 0);
  f.propString('riscv,isa', 'rv64imafdc');
  f.beginNode('interrupt-controller');
  f.propU32('#interrupt-cells', 1).propEmpty('interrupt-controller');
  f.propString('compatible', 'riscv,cpu-intc').propU32('phandle', 2);
  f.endNode();
  f.endNode();
  f.endNode();
  f.beginNode('soc');
  f.propU32('#address-cells', 2).propU32('#size-cells', 2);
  f.propString('compatible', 'simple-bus').propEmpty('ranges');
  f.beginNode('plic@c000000');
  f.propU32('phandle', 3).propU32('riscv,ndev', 95);
  f.propU32('reg', 0, 0xc00_0000, 0, 0x60_0000);
  f.propU32('interrupts-extended', 2, 11, 2, 9);
  f.propEmpty('interrupt-controller');
  f.propStrings('compatible', 'sifive,plic-1.0.0', 'riscv,plic0');
  f.endNode();
  f.beginNode('test@100000');
  f.propStrings('compatible', 'sifive,test1', 'sifive,test0', 'syscon');
  f.endNode();
  f.endNode();
  f.endNode();
  return f;
}

test('dtc decompiles the blob to exactly the tree that was built', () => {
  const dtb = sample().finish({ reserved: [{ address: 0x8000_0000, size: 0x20_0000 }] });
  assert.equal(
    dtc(dtb),
    `/dts-v1/;

/memreserve/\t0x0000000080000000 0x0000000000200000;
/ {
\t#address-cells = <0x02>;
\t#size-cells = <0x02>;
\tcompatible = "riscv-virtio";
\tmodel = "riscv-virtio,qemu";

\tchosen {
\t\tbootargs = "console=ttyS0 earlycon=sbi";
\t\tlinux,initrd-start = <0x00 0x88000000>;
\t\tlinux,initrd-end = <0x01 0x23456789>;
\t\trng-seed = [de ad be ef 01];
\t};

\tmemory@80000000 {
\t\tdevice_type = "memory";
\t\treg = <0x00 0x80000000 0x00 0x10000000>;
\t};

\tcpus {
\t\t#address-cells = <0x01>;
\t\t#size-cells = <0x00>;
\t\ttimebase-frequency = <0x989680>;

\t\tcpu@0 {
\t\t\tphandle = <0x01>;
\t\t\tdevice_type = "cpu";
\t\t\treg = <0x00>;
\t\t\triscv,isa = "rv64imafdc";

\t\t\tinterrupt-controller {
\t\t\t\t#interrupt-cells = <0x01>;
\t\t\t\tinterrupt-controller;
\t\t\t\tcompatible = "riscv,cpu-intc";
\t\t\t\tphandle = <0x02>;
\t\t\t};
\t\t};
\t};

\tsoc {
\t\t#address-cells = <0x02>;
\t\t#size-cells = <0x02>;
\t\tcompatible = "simple-bus";
\t\tranges;

\t\tplic@c000000 {
\t\t\tphandle = <0x03>;
\t\t\triscv,ndev = <0x5f>;
\t\t\treg = <0x00 0xc000000 0x00 0x600000>;
\t\t\tinterrupts-extended = <0x02 0x0b 0x02 0x09>;
\t\t\tinterrupt-controller;
\t\t\tcompatible = "sifive,plic-1.0.0\\0riscv,plic0";
\t\t};

\t\ttest@100000 {
\t\t\tcompatible = "sifive,test1\\0sifive,test0\\0syscon";
\t\t};
\t};
};
`,
  );
});

test('the header: magic, version 17/16, boot cpu, consistent offsets, names stored once', () => {
  const dtb = sample().finish({ bootCpuId: 3 });
  const view = new DataView(dtb.buffer, dtb.byteOffset);
  const h = Array.from({ length: 10 }, (_, i) => view.getUint32(4 * i));
  const [magic, total, offStruct, offStrings, offRsv, version, lastComp, bootCpu, sizeStrings, sizeStruct] =
    h;
  assert.equal(magic, 0xd00dfeed);
  assert.equal(total, dtb.length);
  assert.equal(offRsv, 40);
  assert.equal(offStruct, 56, 'one empty reservation entry (the terminator) before the structure block');
  assert.equal(offStrings, (offStruct ?? 0) + (sizeStruct ?? 0));
  assert.equal((offStrings ?? 0) + (sizeStrings ?? 0), total);
  assert.deepEqual([version, lastComp, bootCpu], [17, 16, 3]);
  assert.equal(
    view.getUint32((offStruct ?? 0) + (sizeStruct ?? 0) - 4),
    9,
    'FDT_END closes the structure block',
  );
  const strings = new TextDecoder().decode(dtb.subarray(offStrings, total)).split('\0');
  assert.equal(strings.filter((s) => s === 'compatible').length, 1);
  assert.equal(strings.filter((s) => s === '#address-cells').length, 1);
  // dtc agrees about the boot cpu.
  const r = spawnSync('fdtdump', ['-'], { input: dtb, encoding: 'utf8' });
  assert.match(r.stdout, /boot_cpuid_phys:\s+0x3/);
});

test('a minimal tree and an empty reservation list', () => {
  const dtb = new FdtBuilder().beginNode('').endNode().finish();
  assert.equal(dtc(dtb), '/dts-v1/;\n\n/ {\n};\n');
  assert.equal(
    dtb.length,
    40 + 16 + 16,
    'header, reservation terminator, BEGIN_NODE + name + END_NODE + END',
  );
});

test('misuse throws with the reason', () => {
  assert.throws(() => new FdtBuilder().beginNode('soc'), /first node must be the root/);
  assert.throws(() => new FdtBuilder().propU32('x', 1), /outside any node/);
  assert.throws(() => new FdtBuilder().endNode(), /without an open node/);
  assert.throws(() => new FdtBuilder().beginNode('').finish(), /node \/ is still open/);
  assert.throws(() => new FdtBuilder().finish(), /no root node/);
  const f = () => new FdtBuilder().beginNode('');
  assert.throws(
    () => f().beginNode('a').endNode().propU32('late', 1),
    /property late of \/ comes after a child node/,
  );
  assert.throws(() => f().beginNode('a').endNode().beginNode('a'), /node \/a exists already/);
  assert.throws(() => f().propU32('x', 1).propU32('x', 2), /property x of \/ is set twice/);
  assert.throws(() => f().beginNode('bad name'), /'bad name' is not a valid node name/);
  assert.throws(() => f().propEmpty('a-very-long-property-name-over-31'), /not a valid property name/);
  assert.throws(() => f().propU32('x', 2 ** 32), /cell 4294967296 is not a u32/);
  assert.throws(() => f().propU32('x', -1), /is not a u32/);
  assert.throws(() => f().propU64('x', 2 ** 53), /not a u64 below 2\^53/);
  assert.throws(() => f().propString('x', 'a\0b'), /may not contain NUL/);
  assert.throws(() => f().endNode().beginNode(''), /already has its root/);
});

test('large trees grow the buffers', () => {
  const f = new FdtBuilder().beginNode('');
  for (let i = 0; i < 500; i++)
    f.beginNode(`n@${i.toString(16)}`)
      .propU32(`p${i}`, i)
      .endNode();
  const text = dtc(f.endNode().finish());
  assert.match(text, /n@1f3 \{\n\t\tp499 = <0x1f3>;/);
});
