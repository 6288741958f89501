/*
 * domus-bench: the default guest's own CPU benchmark.
 *
 * Three loops, each printing one line that a host can parse:
 *
 *   DOMUS-BENCH name=int iters=50000000 ns=123456789 insns=500000012 result=0x1f2e3d4c5b6a7988
 *
 * name    int (integer ALU), fp (double-precision arithmetic) or mem (cache-missing loads and stores)
 * iters   loop iterations run (scaled by -s)
 * ns      wall-clock time of the loop, from CLOCK_MONOTONIC
 * insns   instructions retired during the loop, read with rdinstret, or "-" when the
 *         instret counter is not readable from user mode (SIGILL is caught)
 * result  a value that depends on every iteration, so that the loop cannot be optimized away
 *         and so that two machines can be compared for identical results
 *
 * Usage: domus-bench [-s SCALE] [int] [fp] [mem]   (no names = all three; SCALE is a
 * percentage of the default size, 1..100000).
 *
 * The loops are plain C compiled with -O2; the results are deterministic: the same on every
 * correct RV64GC machine. With Debian's riscv64-linux-gnu-gcc 12 the loop bodies are 10 (int),
 * 14 (fp) and 10 (mem) instructions, so the default sizes are about 500 M, 70 M and 40 M
 * instructions. (QEMU's TCG counts instret from host ticks unless run with -icount, so its
 * insns= figure is not an instruction count.)
 */
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static sigjmp_buf probe_env;
static int instret_readable = -1;

static void on_sigill(int sig)
{
	(void)sig;
	siglongjmp(probe_env, 1);
}

static uint64_t read_instret(void)
{
	uint64_t v;
	__asm__ volatile("rdinstret %0" : "=r"(v));
	return v;
}

/* Probe once whether user mode may read instret (scounteren.IR); a trap means no. */
static void probe_instret(void)
{
	struct sigaction sa, old;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_sigill;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGILL, &sa, &old);
	if (sigsetjmp(probe_env, 1) == 0) {
		(void)read_instret();
		instret_readable = 1;
	} else {
		instret_readable = 0;
	}
	sigaction(SIGILL, &old, NULL);
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

struct sample {
	uint64_t t0, i0;
};

static struct sample start(void)
{
	struct sample s;
	s.i0 = instret_readable ? read_instret() : 0;
	s.t0 = now_ns();
	return s;
}

static void report(const char *name, uint64_t iters, struct sample s, uint64_t result)
{
	uint64_t t1 = now_ns();
	uint64_t i1 = instret_readable ? read_instret() : 0;
	char insns[32];
	if (instret_readable)
		snprintf(insns, sizeof insns, "%llu", (unsigned long long)(i1 - s.i0));
	else
		snprintf(insns, sizeof insns, "-");
	printf("DOMUS-BENCH name=%s iters=%llu ns=%llu insns=%s result=0x%016llx\n", name,
	       (unsigned long long)iters, (unsigned long long)(t1 - s.t0), insns,
	       (unsigned long long)result);
	fflush(stdout);
}

/* Integer: xorshift and multiply-accumulate, about 5 instructions per iteration. */
static void __attribute__((noinline)) bench_int(uint64_t iters)
{
	struct sample s = start();
	uint64_t x = 0x9e3779b97f4a7c15u, acc = 0;
	for (uint64_t i = 0; i < iters; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		acc += x ^ i;
	}
	report("int", iters, s, acc);
}

/*
 * Floating point: a logistic map (chaotic on (0,1), so every rounding of every iteration shows in
 * the result, and the values stay normal numbers) driving a smoothed second variable, with a
 * multiply-add, a division and a square root per iteration.
 */
static void __attribute__((noinline)) bench_fp(uint64_t iters)
{
	struct sample s = start();
	double x = 0.3, y = 0.7, acc = 0.0;
	for (uint64_t i = 0; i < iters; i++) {
		x = 3.9 * x * (1.0 - x);
		y = 0.5 * y + 0.25 * x;
		acc += __builtin_sqrt(x + y) / (1.0 + y);
	}
	uint64_t bits;
	memcpy(&bits, &acc, sizeof bits);
	report("fp", iters, s, bits);
}

/* Memory: read-modify-write walks over a 16 MiB buffer with a large odd stride. */
static void __attribute__((noinline)) bench_mem(uint64_t iters)
{
	const uint64_t words = (16u << 20) / sizeof(uint64_t);
	uint64_t *buf = malloc(words * sizeof(uint64_t));
	if (!buf) {
		fprintf(stderr, "domus-bench: cannot allocate 16 MiB for the memory loop\n");
		exit(1);
	}
	for (uint64_t i = 0; i < words; i++)
		buf[i] = i * 0x100000001b3u;
	struct sample s = start();
	uint64_t idx = 0, acc = 0;
	for (uint64_t i = 0; i < iters; i++) {
		uint64_t v = buf[idx];
		buf[idx] = v + i;
		acc += v;
		idx = (idx + 4099) & (words - 1);
	}
	report("mem", iters, s, acc);
	free(buf);
}

int main(int argc, char **argv)
{
	uint64_t scale = 100;
	int want_int = 0, want_fp = 0, want_mem = 0;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-s") == 0 && i + 1 < argc) {
			char *end;
			scale = strtoull(argv[++i], &end, 10);
			if (*end || scale < 1 || scale > 100000) {
				fprintf(stderr, "domus-bench: scale %s is not a percentage from 1 to 100000\n",
					argv[i]);
				return 2;
			}
		} else if (strcmp(argv[i], "int") == 0) {
			want_int = 1;
		} else if (strcmp(argv[i], "fp") == 0) {
			want_fp = 1;
		} else if (strcmp(argv[i], "mem") == 0) {
			want_mem = 1;
		} else {
			fprintf(stderr, "usage: domus-bench [-s SCALE] [int] [fp] [mem]\n");
			return 2;
		}
	}
	if (!want_int && !want_fp && !want_mem)
		want_int = want_fp = want_mem = 1;
	probe_instret();
	if (want_int)
		bench_int(50000000u * scale / 100);
	if (want_fp)
		bench_fp(5000000u * scale / 100);
	if (want_mem)
		bench_mem(4000000u * scale / 100);
	return 0;
}
