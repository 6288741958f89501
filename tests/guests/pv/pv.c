/*
 * A paravirtual test guest for Domus (tests/pv_test.ts): two instances find each other through
 * xenstore, share a ring of granted pages plus an event channel the way libxenvchan does, move
 * 1 MiB from the server to the client, and check its checksum on both sides; then the negative
 * cases: xenstore refusals (writing the peer's nodes, reading a missing node or another
 * domain's), mapping a grant not offered to you, mapping a revoked grant, sending on a closed
 * port, an unknown hypercall. Every result is printed through console_io as
 * "pv <role> <name> 0x<value>".
 *
 * The command line names only the role and the rendezvous: "pv.role=server|client
 * pv.vchan=<name>". The rendezvous (xs.c is the xenstore client):
 *   1. each side reads its own domid (`domid`, relative to its /local/domain/<id>) and
 *      publishes it as /local/rendezvous/<name>/server or .../client — a node it creates in the
 *      directory the toolstack made writable, and fences with XS_SET_PERMS (`r<self>`: it owns
 *      it, everybody may read) in the same transaction;
 *   2. each waits, with a watch, until the other's node exists: now both know the peer;
 *   3. the server grants its ring pages (a control page listing the data pages' grant refs,
 *      then the data pages) to the client, allocates an unbound port for it, and writes
 *      `event-channel` and then `ring-ref` under its own
 *      /local/domain/<server>/data/vchan/<client>/<name>/, readable by the client only;
 *   4. the client waits with a watch for `ring-ref`, reads both, maps the control page, then
 *      the data pages it lists, and binds the port.
 * Runs with paging off (guest-virtual = guest-physical), on vCPU 0, and blocks with SCHEDOP_poll
 * on one port at a time (no interrupt handler).
 */
#include "pv.h"

#define GNTTABOP_map_grant_ref 0
#define GNTTABOP_unmap_grant_ref 1
#define XENMEM_decrease_reservation 1
#define XENMEM_add_to_physmap 7
#define XENMAPSPACE_shared_info 0
#define XENMAPSPACE_grant_table 1
#define GTF_permit_access 1
#define GTF_reading (1 << 3)
#define GTF_writing (1 << 4)
#define GNTMAP_host_map 2

#define GRANT_FRAME_GFN 0x80F01UL
#define SERVER_RING 0x80800000UL /* server's own RAM: control page + data pages */
#define CLIENT_MAP 0x80C00000UL  /* client's ballooned-out frames where grants get mapped */
#define DATA_PAGES 16
#define RING_BYTES (DATA_PAGES * PAGE)
/* The server's choice of grant refs; the client learns them from xenstore and the control page. */
#define CTRL_REF 8
#define DATA_REF 9
#define NOT_OFFERED_REF 40
#define TOTAL_BYTES (1UL << 20)

/* The control page. */
struct ctrl {
	volatile u32 port;      /* the server's unbound port for the client */
	u32 data_refs[DATA_PAGES];
	u32 not_offered_ref;    /* a grant the server offered to somebody else */
	volatile u32 prod;      /* bytes produced (server) */
	u32 pad1[15];
	volatile u32 cons;      /* bytes consumed (client) */
	u32 pad2[15];
	volatile u32 client_sum;
	volatile u32 client_done;
	volatile u32 unmapped;  /* the client unmapped its data page 0 */
	volatile u32 revoked;   /* the server revoked it */
	volatile u32 finished;  /* the client is done with everything */
};

struct grant_entry_v1 {
	volatile u16 flags;
	volatile u16 domid;
	volatile u32 frame;
};
struct gnttab_map_grant_ref {
	u64 host_addr;
	u32 flags;
	u32 ref;
	u16 dom;
	short status;
	u32 handle;
	u64 dev_bus_addr;
};
struct gnttab_unmap_grant_ref {
	u64 host_addr;
	u64 dev_bus_addr;
	u32 handle;
	short status;
};
struct xen_add_to_physmap {
	u16 domid;
	u16 size;
	u32 space;
	u64 idx;
	u64 gpfn;
};
struct xen_memory_reservation {
	u64 extent_start;
	u64 nr_extents;
	u32 extent_order;
	u32 mem_flags;
	u16 domid;
};
struct sched_poll {
	u64 ports;
	u32 nr_ports;
	u64 timeout;
};

static const char *role = "?";
static char vchan[32] = "pv";

u64 slen(const char *s)
{
	u64 n = 0;
	while (s[n])
		n++;
	return n;
}

void puts_(const char *s)
{
	hcall(HV_console_io, 0 /* CONSOLEIO_write */, (i64)slen(s), (i64)s);
}

/* Prints "pv <role> <name> 0x<16 hex digits>". */
void report(const char *name, u64 v)
{
	char buf[128];
	u64 n = 0;
	const char *parts[] = {"pv ", role, " ", name, " 0x"};
	for (u64 p = 0; p < 5; p++)
		for (const char *c = parts[p]; *c && n < 96; c++)
			buf[n++] = *c;
	for (int i = 60; i >= 0; i -= 4)
		buf[n++] = "0123456789abcdef"[(v >> i) & 15];
	buf[n++] = '\n';
	buf[n] = 0;
	puts_(buf);
}

static void shutdown(u32 reason)
{
	u32 r = reason;
	hcall(HV_sched_op, SCHEDOP_shutdown, (i64)&r, 0);
	for (;;)
		;
}

void fail(const char *what, u64 v)
{
	report(what, v);
	puts_("pv FAILED\n");
	shutdown(SHUTDOWN_crash);
	for (;;)
		;
}

char *utoa(u32 v, char *out)
{
	char t[12];
	int n = 0;
	do
		t[n++] = (char)('0' + v % 10);
	while ((v /= 10) != 0);
	for (int i = 0; i < n; i++)
		out[i] = t[n - 1 - i];
	out[n] = 0;
	return out;
}

u32 atou(const char *s)
{
	u32 v = 0;
	while (*s >= '0' && *s <= '9')
		v = v * 10 + (u32)(*s++ - '0');
	return v;
}

/* Appends `src` to `dst`; returns the new end. */
char *cat(char *dst, const char *src)
{
	while (*src)
		*dst++ = *src++;
	*dst = 0;
	return dst;
}

/* ---- the command line ---------------------------------------------------------------------- */

static u32 be32(const u8 *p)
{
	return ((u32)p[0] << 24) | ((u32)p[1] << 16) | ((u32)p[2] << 8) | p[3];
}

static int prefix(const char *s, const char *p)
{
	while (*p)
		if (*s++ != *p++)
			return 0;
	return 1;
}

/* Finds /chosen/bootargs in the device tree; reads pv.role= and pv.vchan= from it. 1 server, 0 client, -1 neither. */
static int parse_cmdline(const u8 *dtb)
{
	if (be32(dtb) != 0xd00dfeed)
		return -1;
	const u8 *st = dtb + be32(dtb + 8);
	const char *strings = (const char *)dtb + be32(dtb + 12);
	const char *args = 0;
	for (u32 off = 0;;) {
		u32 tok = be32(st + off);
		off += 4;
		if (tok == 1) { /* FDT_BEGIN_NODE */
			off += (slen((const char *)st + off) + 4) & ~3U;
		} else if (tok == 3) { /* FDT_PROP */
			u32 len = be32(st + off), name = be32(st + off + 4);
			const char *pn = strings + name;
			if (prefix(pn, "bootargs") && pn[8] == 0)
				args = (const char *)st + off + 8;
			off += 8 + ((len + 3) & ~3U);
		} else if (tok == 9) { /* FDT_END */
			break;
		} else if (tok != 2 && tok != 4) {
			return -1;
		}
	}
	if (!args)
		return -1;
	int server = -1;
	for (const char *s = args; *s; s++) {
		if (prefix(s, "pv.role=server"))
			server = 1;
		if (prefix(s, "pv.role=client"))
			server = 0;
		if (prefix(s, "pv.vchan=")) {
			u32 n = 0;
			for (const char *c = s + 9; n < sizeof vchan - 1; c++) {
				int ok = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
					 (*c >= '0' && *c <= '9') || *c == '-' || *c == '_';
				if (!ok)
					break;
				vchan[n++] = *c;
			}
			vchan[n] = 0;
		}
	}
	return vchan[0] ? server : -1;
}

/* ---- hypercall helpers --------------------------------------------------------------------- */

static struct grant_entry_v1 *const gnttab = (struct grant_entry_v1 *)(GRANT_FRAME_GFN * PAGE);
static volatile u64 *const evtchn_pending = (volatile u64 *)(SHARED_INFO_GFN * PAGE + 48);

static void map_shared_pages(void)
{
	struct xen_add_to_physmap a = {DOMID_SELF, 0, XENMAPSPACE_shared_info, 0, SHARED_INFO_GFN};
	i64 r = hcall(HV_memory_op, XENMEM_add_to_physmap, (i64)&a, 0);
	if (r)
		fail("add_to_physmap.shared_info", (u64)r);
	struct xen_add_to_physmap g = {DOMID_SELF, 0, XENMAPSPACE_grant_table, 0, GRANT_FRAME_GFN};
	r = hcall(HV_memory_op, XENMEM_add_to_physmap, (i64)&g, 0);
	if (r)
		fail("add_to_physmap.grant_table", (u64)r);
}

static void balloon_out(u64 gpa, u64 pages)
{
	static u64 list[64];
	for (u64 i = 0; i < pages; i++)
		list[i] = gpa / PAGE + i;
	struct xen_memory_reservation m = {(u64)list, pages, 0, 0, DOMID_SELF};
	i64 r = hcall(HV_memory_op, XENMEM_decrease_reservation, (i64)&m, 0);
	if (r != (i64)pages)
		fail("decrease_reservation", (u64)r);
}

static void grant(u32 ref, u32 domid, u64 gpa)
{
	gnttab[ref].domid = (u16)domid;
	gnttab[ref].frame = (u32)(gpa / PAGE);
	fence();
	gnttab[ref].flags = GTF_permit_access;
}

/* gnttab_end_foreign_access: flags → 0 unless the grantee still has it mapped (one CAS on the
 * {flags, domid} word, as the hypervisor updates it). */
static int revoke(u32 ref)
{
	volatile u32 *w = (volatile u32 *)&gnttab[ref];
	u32 old = *w;
	if (old & (GTF_reading | GTF_writing))
		return 0;
	return __atomic_compare_exchange_n(w, &old, old & 0xffff0000U, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
}

static short map_grant(u32 peer, u32 ref, u64 gpa, u32 *handle)
{
	struct gnttab_map_grant_ref m = {gpa, GNTMAP_host_map, ref, (u16)peer, 0, 0, 0};
	i64 r = hcall(HV_grant_table_op, GNTTABOP_map_grant_ref, (i64)&m, 1);
	if (r)
		fail("map_grant_ref.hypercall", (u64)r);
	*handle = m.handle;
	return m.status;
}

static void unmap_grant(u64 gpa, u32 handle)
{
	struct gnttab_unmap_grant_ref u = {gpa, 0, handle, 0};
	i64 r = hcall(HV_grant_table_op, GNTTABOP_unmap_grant_ref, (i64)&u, 1);
	if (r || u.status)
		fail("unmap_grant_ref", (u64)(r ? r : u.status));
}

static i64 evtchn_op(int cmd, void *arg)
{
	return hcall(HV_event_channel_op, cmd, (i64)arg, 0);
}

i64 send(u32 port)
{
	u32 p = port;
	return evtchn_op(EVTCHNOP_send, &p);
}

/* Waits for an event on `port` (SCHEDOP_poll) and clears it; the caller re-checks its condition. */
void wait_event(u32 port)
{
	u32 p = port;
	struct sched_poll sp = {(u64)&p, 1, 0};
	hcall(HV_sched_op, SCHEDOP_poll, (i64)&sp, 0);
	__atomic_fetch_and(&evtchn_pending[port / 64], ~(1UL << (port % 64)), __ATOMIC_SEQ_CST);
}

/* ---- the rendezvous through xenstore ------------------------------------------------------- */

/* Writes `path` = `value` and sets its permissions, in one transaction (again on EAGAIN). */
static i64 publish(const char *path, const char *value, const char *perm0, const char *perm1)
{
	for (;;) {
		i64 tx = xs_transaction_start();
		if (tx < 0)
			return tx;
		i64 r = xs_write((u32)tx, path, value);
		if (!r)
			r = xs_set_perms((u32)tx, path, perm0, perm1);
		if (r) {
			xs_transaction_end((u32)tx, 0);
			return r;
		}
		r = xs_transaction_end((u32)tx, 1);
		if (r != -11 /* EAGAIN */)
			return r;
	}
}

/* Waits with a watch until `path` can be read; returns its value as a number. */
static u32 await_number(const char *path, const char *token)
{
	char v[16];
	i64 r = xs_watch(path, token);
	if (r)
		fail("xs-watch", (u64)r);
	while (xs_read(0, path, v, sizeof v) < 0)
		xs_wait_watch();
	return atou(v);
}

static u32 my_domid(void)
{
	char v[16];
	i64 r = xs_read(0, "domid", v, sizeof v);
	if (r < 0)
		fail("xs-read-domid", (u64)r);
	return atou(v);
}

/* /local/rendezvous/<vchan>/<who> */
static char *rendezvous(char *out, const char *who)
{
	cat(cat(cat(cat(out, "/local/rendezvous/"), vchan), "/"), who);
	return out;
}

/* /local/domain/<server>/data/vchan/<client>/<vchan>[/<leaf>] */
static char *vchan_path(char *out, u32 server, u32 client, const char *leaf)
{
	char n[12];
	char *e = cat(cat(out, "/local/domain/"), utoa(server, n));
	e = cat(cat(cat(cat(e, "/data/vchan/"), utoa(client, n)), "/"), vchan);
	if (leaf)
		cat(cat(e, "/"), leaf);
	return out;
}

static void perm(char *out, char letter, u32 domid)
{
	out[0] = letter;
	utoa(domid, out + 1);
}

/* ---- the data: xorshift32 words, FNV-1a over them ------------------------------------------- */

static u32 next_word(u32 *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 17;
	*x ^= *x << 5;
	return *x;
}

static u32 fnv(u32 h, u32 w)
{
	return (h ^ w) * 16777619U;
}

/* ---- the two roles ------------------------------------------------------------------------- */

/*
 * The rendezvous: publish our domid under `mine` (readable by all, writable only by us) and wait
 * for the peer's under `theirs`; reports both and returns the peer's.
 */
static u32 meet(u32 me, const char *mine, const char *theirs)
{
	char path[128], num[12], own[12];
	report("domid", me);
	perm(own, 'r', me);
	i64 r = publish(rendezvous(path, mine), utoa(me, num), own, 0);
	if (r)
		fail(mine[0] == 's' ? "xs-publish-server" : "xs-publish-client", (u64)r);
	u32 peer = await_number(rendezvous(path, theirs), theirs);
	report("peer", peer);
	return peer;
}

static void server(void)
{
	char path[128], num[12], own[12], peer_r[12];
	u32 me = my_domid();
	u32 peer = meet(me, "server", "client");
	i64 r;

	struct ctrl *c = (struct ctrl *)SERVER_RING;
	u8 *data = (u8 *)(SERVER_RING + PAGE);
	struct { u16 dom, remote; u32 port; } au = {DOMID_SELF, (u16)peer, 0};
	r = evtchn_op(EVTCHNOP_alloc_unbound, &au);
	if (r)
		fail("alloc_unbound", (u64)r);
	c->port = au.port;
	for (u32 i = 0; i < DATA_PAGES; i++) {
		c->data_refs[i] = DATA_REF + i;
		grant(DATA_REF + i, peer, (u64)data + i * PAGE);
	}
	c->not_offered_ref = NOT_OFFERED_REF;
	grant(NOT_OFFERED_REF, peer + 100, (u64)data); /* offered to somebody else */
	grant(CTRL_REF, peer, (u64)c);
	report("port", au.port);

	/* As libxenvchan: under our own path, for the client's eyes only; ring-ref last. */
	perm(own, 'n', me);
	perm(peer_r, 'r', peer);
	r = publish(vchan_path(path, me, peer, 0), "", own, peer_r);
	if (!r)
		r = publish(vchan_path(path, me, peer, "event-channel"), utoa(au.port, num), own, peer_r);
	if (!r)
		r = publish(vchan_path(path, me, peer, "ring-ref"), utoa(CTRL_REF, num), own, peer_r);
	if (r)
		fail("xs-publish-vchan", (u64)r);
	report("ring-ref", CTRL_REF);

	u32 x = 0x12345678, sum = 2166136261U;
	for (u64 sent = 0; sent < TOTAL_BYTES;) {
		u32 prod = c->prod, cons = c->cons;
		u32 space = RING_BYTES - (prod - cons);
		if (space == 0) {
			wait_event(au.port);
			continue;
		}
		u32 at = prod % RING_BYTES;
		u32 n = RING_BYTES - at;
		if (n > space)
			n = space;
		if (n > TOTAL_BYTES - sent)
			n = (u32)(TOTAL_BYTES - sent);
		for (u32 i = 0; i < n; i += 4) {
			u32 w = next_word(&x);
			*(volatile u32 *)(data + at + i) = w;
			sum = fnv(sum, w);
		}
		fence();
		c->prod = prod + n;
		fence();
		send(au.port);
		sent += n;
	}
	report("sent", TOTAL_BYTES);
	report("checksum", sum);
	while (!c->client_done)
		wait_event(au.port);
	report("peer-checksum", c->client_sum);
	if (c->client_sum != sum)
		fail("checksum-mismatch", c->client_sum);
	/* Revoke the data page the client has unmapped; it must not map it again. */
	while (!c->unmapped)
		wait_event(au.port);
	report("revoke-mapped", revoke(DATA_REF + 1)); /* still mapped: must fail (0) */
	report("revoke", revoke(DATA_REF));            /* unmapped: succeeds (1) */
	fence();
	c->revoked = 1;
	send(au.port);
	while (!c->finished)
		wait_event(au.port);
	report("unknown-hypercall", (u64)hcall(99, 0, 0, 0));
	puts_("pv server PASS\n");
	shutdown(SHUTDOWN_poweroff);
}

static void client(void)
{
	char path[128], num[12], buf[64];
	u32 me = my_domid();
	u32 peer = meet(me, "client", "server");
	i64 r;

	/* Negative: what xenstore must refuse us. */
	report("xs-write-peer-entry", (u64)xs_write(0, rendezvous(path, "server"), "0"));
	report("xs-read-missing", (u64)xs_read(0, rendezvous(path, "nobody"), buf, sizeof buf));
	char *e = cat(cat(path, "/local/domain/"), utoa(peer, num));
	cat(e, "/name");
	report("xs-read-peer-name", (u64)xs_read(0, path, buf, sizeof buf));
	report("xs-introduce", (u64)xs_introduce(me, 0x80000, 1));

	u32 ring_ref = await_number(vchan_path(path, peer, me, "ring-ref"), "ring-ref");
	if (xs_read(0, vchan_path(path, peer, me, "event-channel"), buf, sizeof buf) < 0)
		fail("xs-read-event-channel", 0);
	u32 remote_port = atou(buf);
	report("ring-ref", ring_ref);
	report("xs-directory", (u64)xs_directory(0, vchan_path(path, peer, me, 0), buf, sizeof buf));
	report("xs-write-server-path", (u64)xs_write(0, vchan_path(path, peer, me, "ring-ref"), "0"));
	report("watch-events", xs_watch_events());

	struct ctrl *c = (struct ctrl *)CLIENT_MAP;
	u8 *data = (u8 *)(CLIENT_MAP + PAGE);
	u32 handles[DATA_PAGES + 1], h;
	balloon_out(CLIENT_MAP, DATA_PAGES + 2);
	short st = map_grant(peer, ring_ref, (u64)c, &handles[0]);
	if (st)
		fail("map-ring-ref", (u64)(i64)st);
	for (u32 i = 0; i < DATA_PAGES; i++) {
		st = map_grant(peer, c->data_refs[i], (u64)data + i * PAGE, &handles[1 + i]);
		if (st)
			fail("map-data", (u64)(i64)st);
	}
	struct { u16 remote_dom; u16 pad; u32 remote_port, local_port; } bi = {(u16)peer, 0, remote_port, 0};
	r = evtchn_op(EVTCHNOP_bind_interdomain, &bi);
	if (r)
		fail("bind_interdomain", (u64)r);
	u32 port = bi.local_port;
	report("bound", port);

	/* Negative: a grant offered to another domain. */
	st = map_grant(peer, c->not_offered_ref, CLIENT_MAP + (DATA_PAGES + 1) * PAGE, &h);
	report("map-not-offered", (u64)(i64)st);

	u32 x = 0x12345678, sum = 2166136261U, bad = 0;
	for (u64 got = 0; got < TOTAL_BYTES;) {
		u32 cons = c->cons, prod = c->prod;
		if (cons == prod) {
			wait_event(port);
			continue;
		}
		fence();
		u32 at = cons % RING_BYTES;
		u32 n = prod - cons;
		if (n > RING_BYTES - at)
			n = RING_BYTES - at;
		for (u32 i = 0; i < n; i += 4) {
			u32 w = *(volatile u32 *)(data + at + i);
			if (w != next_word(&x))
				bad++;
			sum = fnv(sum, w);
		}
		fence();
		c->cons = cons + n;
		fence();
		send(port);
		got += n;
	}
	report("received", TOTAL_BYTES);
	report("checksum", sum);
	report("mismatched-words", bad);
	c->client_sum = sum;
	fence();
	c->client_done = 1;
	send(port);

	/* Negative: unmap data page 0, let the server revoke it, map it again. */
	u32 ref0 = c->data_refs[0];
	unmap_grant((u64)data, handles[1]);
	fence();
	c->unmapped = 1;
	send(port);
	while (!c->revoked)
		wait_event(port);
	st = map_grant(peer, ref0, (u64)data, &h);
	report("map-revoked", (u64)(i64)st);
	c->finished = 1;
	send(port);

	/* Negative: send on a closed port. */
	u32 p = port;
	r = evtchn_op(EVTCHNOP_close, &p);
	if (r)
		fail("close", (u64)r);
	report("send-closed", (u64)send(port));
	puts_("pv client PASS\n");
	shutdown(SHUTDOWN_poweroff);
}

void pv_main(u64 hartid, const u8 *dtb)
{
	(void)hartid;
	int is_server = parse_cmdline(dtb);
	if (is_server < 0) {
		puts_("pv: no pv.role=server|client pv.vchan=<name> on the command line\n");
		shutdown(SHUTDOWN_crash);
	}
	role = is_server ? "server" : "client";
	map_shared_pages();
	xs_init();
	if (is_server)
		server();
	else
		client();
}
