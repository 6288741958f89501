/*
 * The PV test guest's xenstore client: xs_wire.h messages over the ring page of
 * `struct xenstore_domain_interface` (docs/misc/xenstore-ring.txt) that the toolstack gives
 * the domain in HVM_PARAM_STORE_PFN, notified over the port in HVM_PARAM_STORE_EVTCHN. One
 * request at a time; watch events that arrive meanwhile are counted and consumed by
 * xs_wait_watch. Waiting is SCHEDOP_poll on the xenstore port, never a busy loop.
 */
#include "pv.h"

#define XS_DIRECTORY 1
#define XS_READ 2
#define XS_WATCH 4
#define XS_TRANSACTION_START 6
#define XS_TRANSACTION_END 7
#define XS_INTRODUCE 8
#define XS_WRITE 11
#define XS_SET_PERMS 14
#define XS_WATCH_EVENT 15
#define XS_ERROR 16
#define XENSTORE_RING_SIZE 1024
#define XENSTORE_PAYLOAD_MAX 4096

struct xenstore_domain_interface {
	char req[XENSTORE_RING_SIZE];
	char rsp[XENSTORE_RING_SIZE];
	volatile u32 req_cons, req_prod;
	volatile u32 rsp_cons, rsp_prod;
	volatile u32 server_features, connection, error;
};

struct xsd_sockmsg {
	u32 type, req_id, tx_id, len;
};

struct xen_hvm_param {
	u16 domid;
	u16 pad;
	u32 index;
	u64 value;
};

static volatile struct xenstore_domain_interface *intf;
static u32 port;
static u32 req_id;
static u32 watch_unseen, watch_total;
static char body[XENSTORE_PAYLOAD_MAX + 1];
static char payload[512];

static u64 hvm_param(u32 index)
{
	struct xen_hvm_param p = {DOMID_SELF, 0, index, 0};
	i64 r = hcall(HV_hvm_op, HVMOP_get_param, (i64)&p, 0);
	if (r)
		fail("hvm_get_param", (u64)r);
	return p.value;
}

void xs_init(void)
{
	u64 pfn = hvm_param(HVM_PARAM_STORE_PFN);
	port = (u32)hvm_param(HVM_PARAM_STORE_EVTCHN);
	if (!pfn || !port)
		fail("no-xenstore", pfn);
	intf = (volatile struct xenstore_domain_interface *)(pfn * PAGE);
	report("store-pfn", pfn);
	report("store-evtchn", port);
}

u32 xs_port(void)
{
	return port;
}

u32 xs_watch_events(void)
{
	return watch_total;
}

static void put(const void *data, u32 len)
{
	const u8 *d = data;
	u32 prod = intf->req_prod;
	for (u32 i = 0; i < len; i++) {
		while (prod - intf->req_cons >= XENSTORE_RING_SIZE) {
			fence();
			intf->req_prod = prod;
			send(port);
			wait_event(port);
		}
		intf->req[prod++ % XENSTORE_RING_SIZE] = (char)d[i];
	}
	fence();
	intf->req_prod = prod;
}

static void get(void *out, u32 len)
{
	u8 *o = out;
	u32 cons = intf->rsp_cons;
	for (u32 i = 0; i < len; i++) {
		while (intf->rsp_prod == cons) {
			fence();
			intf->rsp_cons = cons;
			send(port); /* room for responses xenstored still holds */
			wait_event(port);
		}
		fence();
		o[i] = (u8)intf->rsp[cons++ % XENSTORE_RING_SIZE];
	}
	fence();
	intf->rsp_cons = cons;
}

/* Reads one message into `body` (NUL-terminated). */
static void next_message(struct xsd_sockmsg *h)
{
	get(h, sizeof *h);
	if (h->len > XENSTORE_PAYLOAD_MAX)
		fail("xs-oversized-reply", h->len);
	get(body, h->len);
	body[h->len] = 0;
	if (h->type == XS_WATCH_EVENT) {
		watch_unseen++;
		watch_total++;
	}
}

static const struct {
	const char *name;
	i64 no;
} errnos[] = {
	{"EPERM", 1}, {"ENOENT", 2}, {"EIO", 5}, {"E2BIG", 7}, {"EAGAIN", 11}, {"ENOMEM", 12},
	{"EACCES", 13}, {"EBUSY", 16}, {"EEXIST", 17}, {"EISDIR", 21}, {"EINVAL", 22},
	{"ENOSPC", 28}, {"EROFS", 30}, {"ENOSYS", 38}, {"ENOTEMPTY", 39}, {"EISCONN", 106},
};

static i64 errno_of(const char *name)
{
	for (u64 i = 0; i < sizeof errnos / sizeof errnos[0]; i++) {
		const char *a = errnos[i].name, *b = name;
		while (*a && *a == *b)
			a++, b++;
		if (!*a && !*b)
			return errnos[i].no;
	}
	return 999;
}

/* Sends a request and waits for its reply; the reply's payload is left in `body`. */
static i64 talk(u32 type, u32 tx, const char *data, u32 len)
{
	struct xsd_sockmsg h = {type, ++req_id, tx, len};
	put(&h, sizeof h);
	put(data, len);
	send(port);
	for (;;) {
		struct xsd_sockmsg r;
		next_message(&r);
		if (r.type == XS_WATCH_EVENT)
			continue;
		if (r.req_id != h.req_id)
			fail("xs-reply-req-id", r.req_id);
		if (r.type == XS_ERROR)
			return -errno_of(body);
		if (r.type != type)
			fail("xs-reply-type", r.type);
		return r.len;
	}
}

/* A request whose reply is "OK": 0, or -errno. */
static i64 ok(i64 r)
{
	return r < 0 ? r : 0;
}

/* Appends a string and its NUL to the payload at `n`. */
static u32 arg(u32 n, const char *s, int nul)
{
	u64 l = slen(s);
	if (n + l + 1 > sizeof payload)
		fail("xs-payload-too-long", n + l);
	for (u64 i = 0; i < l; i++)
		payload[n++] = s[i];
	if (nul)
		payload[n++] = 0;
	return n;
}

i64 xs_read(u32 tx, const char *path, char *out, u32 cap)
{
	i64 r = talk(XS_READ, tx, payload, arg(0, path, 1));
	if (r < 0)
		return r;
	u32 n = (u32)r < cap - 1 ? (u32)r : cap - 1;
	for (u32 i = 0; i < n; i++)
		out[i] = body[i];
	out[n] = 0;
	return r;
}

/* The child names, NUL-separated, into `out`; returns how many there are. */
i64 xs_directory(u32 tx, const char *path, char *out, u32 cap)
{
	i64 r = talk(XS_DIRECTORY, tx, payload, arg(0, path, 1));
	if (r < 0)
		return r;
	i64 names = 0;
	for (u32 i = 0; i < (u32)r; i++) {
		if (i < cap)
			out[i] = body[i];
		if (!body[i])
			names++;
	}
	return names;
}

i64 xs_write(u32 tx, const char *path, const char *value)
{
	return ok(talk(XS_WRITE, tx, payload, arg(arg(0, path, 1), value, 0)));
}

i64 xs_set_perms(u32 tx, const char *path, const char *perm0, const char *perm1)
{
	u32 n = arg(arg(0, path, 1), perm0, 1);
	if (perm1)
		n = arg(n, perm1, 1);
	return ok(talk(XS_SET_PERMS, tx, payload, n));
}

i64 xs_watch(const char *path, const char *token)
{
	return ok(talk(XS_WATCH, 0, payload, arg(arg(0, path, 1), token, 1)));
}

i64 xs_transaction_start(void)
{
	i64 r = talk(XS_TRANSACTION_START, 0, payload, arg(0, "", 1));
	return r < 0 ? r : (i64)atou(body);
}

i64 xs_transaction_end(u32 tx, int commit)
{
	return ok(talk(XS_TRANSACTION_END, tx, payload, arg(0, commit ? "T" : "F", 1)));
}

i64 xs_introduce(u32 domid, u64 gfn, u32 p)
{
	char a[12], b[12], c[12];
	u32 n = arg(arg(arg(0, utoa(domid, a), 1), utoa((u32)gfn, b), 1), utoa(p, c), 1);
	return ok(talk(XS_INTRODUCE, 0, payload, n));
}

void xs_wait_watch(void)
{
	while (!watch_unseen) {
		struct xsd_sockmsg r;
		next_message(&r);
		if (r.type != XS_WATCH_EVENT)
			fail("xs-unexpected-message", r.type);
	}
	watch_unseen = 0;
}
