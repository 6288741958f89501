/*
 * domus-wl: small helpers for the in-guest workload runner (guests/workloads/run).
 *
 *   domus-wl clock                 print CLOCK_MONOTONIC in seconds with 9 decimals
 *   domus-wl gen SEED MIB FILE     write MIB MiB of deterministic pseudo-text to FILE
 *
 * `gen` exists because busybox has no seeded generator, and /dev/urandom would make the
 * checksums of the gzip and sha256sum workloads differ from run to run. The text is words
 * from a fixed list picked by a 64-bit xorshift generator, so gzip compresses it about as
 * much as ordinary prose (roughly 3:1) rather than failing on noise; the same SEED and size
 * give the same bytes on every machine (nothing depends on the C library or the FPU).
 *
 * Built statically with riscv64-linux-gnu-gcc by guests/workloads/build.sh.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char *const words[64] = {
	"the",	   "domain",   "grant",	  "event",    "channel", "page",	"frame",   "table",
	"hart",	   "trap",     "vector",  "device",   "queue",	 "ring",	"buffer",  "block",
	"sector",  "console",  "timer",	  "interrupt", "memory", "mapping", "guest",   "host",
	"kernel",  "shell",    "process", "thread",   "signal",	 "socket",	"packet",  "route",
	"and",	   "of",       "to",	  "in",	      "is",	 "for",		"with",	   "on",
	"a",	   "not",      "from",	  "by",	      "at",	 "it",		"as",	   "be",
	"quick",   "slow",     "small",	  "large",    "first",	 "last",	"every",   "each",
	"virtual", "physical", "shared",  "private",  "dirty",	 "clean",	"scheduler", "credit",
};

static uint64_t state;

/* xorshift64 (Marsaglia); the seed is mixed so that small seeds do not start in a rut. */
static uint64_t next(void)
{
	uint64_t x = state;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	state = x;
	return x;
}

static int usage(void)
{
	fputs("usage: domus-wl clock | domus-wl gen SEED MIB FILE\n", stderr);
	return 2;
}

static int cmd_clock(void)
{
	struct timespec ts;
	if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0) {
		perror("domus-wl: clock_gettime");
		return 1;
	}
	printf("%lld.%09ld\n", (long long)ts.tv_sec, ts.tv_nsec);
	return 0;
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int cmd_gen(const char *seed_arg, const char *mib_arg, const char *path)
{
	char *end;
	unsigned long long seed = strtoull(seed_arg, &end, 10);
	if (*end != '\0')
		return usage();
	unsigned long mib = strtoul(mib_arg, &end, 10);
	if (*end != '\0' || mib == 0 || mib > 4096)
		return usage();
	state = (seed + 1) * 0x9e3779b97f4a7c15ULL;
	for (int i = 0; i < 8; i++)
		next();

	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0) {
		perror(path);
		return 1;
	}
	static char buf[1 << 16];
	uint64_t left = (uint64_t)mib << 20;
	size_t used = 0;
	unsigned column = 0;
	/* Fill the buffer word by word; flush it when the next word would not fit. */
	for (;;) {
		uint64_t r = next();
		const char *w = words[r & 63];
		size_t len = strlen(w);
		if (used + len + 1 > sizeof buf) {
			size_t n = used < left ? used : (size_t)left;
			if (write_all(fd, buf, n) != 0) {
				perror(path);
				return 1;
			}
			left -= n;
			used = 0;
			if (left == 0)
				break;
		}
		/* A word, then a space or (about every 70 columns, or at random) a newline. */
		memcpy(buf + used, w, len);
		used += len;
		column += (unsigned)len + 1;
		if (column > 70 || ((r >> 8) & 31) == 0) {
			buf[used++] = '\n';
			column = 0;
		} else {
			buf[used++] = ' ';
		}
	}
	if (close(fd) != 0) {
		perror(path);
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], "clock") == 0)
		return cmd_clock();
	if (argc == 5 && strcmp(argv[1], "gen") == 0)
		return cmd_gen(argv[2], argv[3], argv[4]);
	return usage();
}
