/*
 * What the parts of the PV test guest share (pv.c, xs.c): types, the hypercall instruction, the
 * few hypercalls both use, and the result lines "pv <role> <name> 0x<value>" that
 * tests/pv_test.ts reads. Freestanding: no libc.
 */
#ifndef PV_H
#define PV_H

typedef unsigned long u64;
typedef unsigned int u32;
typedef unsigned short u16;
typedef unsigned char u8;
typedef long i64;

#define DOMUS_EID 0x0A58454EL
#define HV_memory_op 12
#define HV_console_io 18
#define HV_grant_table_op 20
#define HV_sched_op 29
#define HV_event_channel_op 32
#define HV_hvm_op 34

#define EVTCHNOP_bind_interdomain 0
#define EVTCHNOP_close 3
#define EVTCHNOP_send 4
#define EVTCHNOP_alloc_unbound 6
#define SCHEDOP_yield 0
#define SCHEDOP_shutdown 2
#define SCHEDOP_poll 3
#define SHUTDOWN_poweroff 0
#define SHUTDOWN_crash 3
#define HVMOP_get_param 1
#define HVM_PARAM_STORE_PFN 1
#define HVM_PARAM_STORE_EVTCHN 2
#define DOMID_SELF 0x7FF0

#define PAGE 4096UL
#define SHARED_INFO_GFN 0x80F00UL

static inline i64 hcall(i64 nr, i64 a0, i64 a1, i64 a2)
{
	register i64 r0 asm("a0") = a0;
	register i64 r1 asm("a1") = a1;
	register i64 r2 asm("a2") = a2;
	register i64 r6 asm("a6") = nr;
	register i64 r7 asm("a7") = DOMUS_EID;
	asm volatile("ecall" : "+r"(r0) : "r"(r1), "r"(r2), "r"(r6), "r"(r7) : "memory");
	return r0;
}

static inline void fence(void)
{
	asm volatile("fence rw, rw" ::: "memory");
}

/* pv.c */
void puts_(const char *s);
void report(const char *name, u64 v);
void fail(const char *what, u64 v) __attribute__((noreturn));
i64 send(u32 port);
void wait_event(u32 port);
u64 slen(const char *s);

/* xs.c: a xenstore client over the ring of HVM_PARAM_STORE_PFN / STORE_EVTCHN. */
void xs_init(void);
/* Each returns 0 (or a length, or a transaction id) on success, -errno (XS_ERROR's name) on failure. */
i64 xs_read(u32 tx, const char *path, char *out, u32 cap);
i64 xs_write(u32 tx, const char *path, const char *value);
i64 xs_directory(u32 tx, const char *path, char *out, u32 cap);
i64 xs_set_perms(u32 tx, const char *path, const char *perm0, const char *perm1);
i64 xs_watch(const char *path, const char *token);
i64 xs_transaction_start(void);
i64 xs_transaction_end(u32 tx, int commit);
i64 xs_introduce(u32 domid, u64 gfn, u32 port);
/* Blocks on the xenstore port until a watch event arrives (or has arrived since the last call). */
void xs_wait_watch(void);
/* The watch events seen so far. */
u32 xs_watch_events(void);
u32 xs_port(void);

/* Decimal helpers. */
char *utoa(u32 v, char *out);
u32 atou(const char *s);
char *cat(char *dst, const char *src);

#endif
