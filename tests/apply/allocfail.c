// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * An LD_PRELOAD shim that makes memory allocation fail on demand, for the
 * low-resources sweep (lowres.sh). It counts every malloc, calloc, realloc
 * and aligned allocation of the process (the program, libnftables, jansson,
 * libmnl, gmp, libc), and:
 *
 *   KS_ALLOCFAIL_AT=N      the Nth allocation returns NULL (errno ENOMEM),
 *   KS_ALLOCFAIL_MODE=once only that one; "from" (default): every one from
 *                          the Nth on, as a process that ran out of memory sees it
 *   KS_ALLOCFAIL_LOG=FILE  at exit (and at the first failure), one line per
 *                          marker: "NAME INDEX", the allocation count when the
 *                          process entered a stage (nft_ctx_new, the batch
 *                          sendmsg that commits, json_loads, rename, ...), then
 *                          "total N" and "failed-in LIB" (the library of the
 *                          caller of the first failed allocation)
 *
 * Without KS_ALLOCFAIL_AT nothing fails: the log then maps allocation
 * indices to stages, which is how the sweep picks N in every stage.
 *
 * A forked child (killswitch runs libnftables in one) counts on from
 * KS_ALLOCFAIL_CHILD_BASE, its own index space, and logs to FILE.child:
 * N below the base fails the parent's allocations (and every one of the
 * child's, in "from" mode, when the parent had already run out at the
 * fork); N from the base on fails the child's only. The parent logs the
 * fork as a stage marker.
 *
 *   KS_ALLOCFAIL_DIE_AFTER_COMMIT=1  a child that sends a batch (libnftables'
 *                          commit) aborts as soon as sendmsg() returns:
 *                          libnftables dying with the change in force
 * Works on a plain build, and on an ASan build with
 * ASAN_OPTIONS=verify_asan_link_order=0 (ASan's own interceptors, strdup
 * among them, allocate without passing here).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <libmnl/libmnl.h>
#include <malloc.h>
#include <nftables/libnftables.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <unistd.h>

static void *(*real_malloc)(size_t);
static void *(*real_calloc)(size_t, size_t);
static void *(*real_realloc)(void *, size_t);
static int (*real_posix_memalign)(void **, size_t, size_t);
static void *(*real_aligned_alloc)(size_t, size_t);
static void *(*real_memalign)(size_t, size_t);
static void (*real_free)(void *);

#define KS_ALLOCFAIL_CHILD_BASE 1000000000ul

static unsigned long count, fail_at;
static int fail_once, resolving, logged_failure;
static int in_child, child_out_of_memory, die_after_commit;
static const char *log_path;
static char child_log_path[4096];

/* dlsym() may calloc before real_calloc is known: serve it from here. */
static char bootstrap[4096];
static size_t bootstrap_used;

#define MARKS 64
static struct {
	const char *name;
	unsigned long at;
} marks[MARKS];
static unsigned n_marks;
static char failed_in[256];

static void resolve(void)
{
	if (real_malloc || resolving)
		return;
	resolving = 1;
	real_malloc = dlsym(RTLD_NEXT, "malloc");
	real_calloc = dlsym(RTLD_NEXT, "calloc");
	real_realloc = dlsym(RTLD_NEXT, "realloc");
	real_posix_memalign = dlsym(RTLD_NEXT, "posix_memalign");
	real_aligned_alloc = dlsym(RTLD_NEXT, "aligned_alloc");
	real_memalign = dlsym(RTLD_NEXT, "memalign");
	real_free = dlsym(RTLD_NEXT, "free");
	resolving = 0;
}

static void mark(const char *name)
{
	if (n_marks < MARKS) {
		marks[n_marks].name = name;
		marks[n_marks].at = count;
		n_marks++;
	}
}

/* Writes the log without allocating (no stdio). */
static void write_log(void)
{
	char line[320];
	int fd, len;

	if (!log_path)
		return;
	fd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return;
	for (unsigned i = 0; i < n_marks; i++) {
		len = snprintf(line, sizeof(line), "%s %lu\n", marks[i].name, marks[i].at);
		if (write(fd, line, (size_t)len) < 0)
			break;
	}
	len = snprintf(line, sizeof(line), "total %lu\nfailed-in %s\n", count, failed_in[0] ? failed_in : "-");
	if (write(fd, line, (size_t)len) < 0) {
		/* nothing to do: the sweep reports a missing log */
	}
	close(fd);
}

/* The shared object that holds the return address: which library asked. */
static void note_caller(void *ret)
{
	Dl_info info;

	if (logged_failure)
		return;
	logged_failure = 1;
	if (ret && dladdr(ret, &info) && info.dli_fname) {
		const char *base = strrchr(info.dli_fname, '/');

		snprintf(failed_in, sizeof(failed_in), "%s", base ? base + 1 : info.dli_fname);
	} else {
		snprintf(failed_in, sizeof(failed_in), "?");
	}
	write_log();
}

/* 1 when this allocation must fail. */
static int should_fail(void *ret)
{
	count++;
	if (in_child && fail_at && fail_at < KS_ALLOCFAIL_CHILD_BASE) {
		if (!child_out_of_memory)
			return 0;
	} else if (!fail_at || count < fail_at || (fail_once && count != fail_at)) {
		return 0;
	}
	note_caller(ret);
	errno = ENOMEM;
	return 1;
}

static void before_fork(void)
{
	mark("fork");
}

static void in_forked_child(void)
{
	in_child = 1;
	child_out_of_memory = !fail_once && fail_at && count >= fail_at;
	count = KS_ALLOCFAIL_CHILD_BASE;
	n_marks = 0;
	logged_failure = 0;
	failed_in[0] = '\0';
	if (log_path && (size_t)snprintf(child_log_path, sizeof(child_log_path), "%s.child", log_path) <
				sizeof(child_log_path))
		log_path = child_log_path;
	else
		log_path = NULL;
	mark("child");
}

__attribute__((constructor)) static void init(void)
{
	const char *at = getenv("KS_ALLOCFAIL_AT"), *mode = getenv("KS_ALLOCFAIL_MODE");

	resolve();
	log_path = getenv("KS_ALLOCFAIL_LOG");
	fail_once = mode && !strcmp(mode, "once");
	/* Counting starts here, so that index N means the same in every run. */
	count = 0;
	fail_at = at ? strtoul(at, NULL, 10) : 0;
	die_after_commit = getenv("KS_ALLOCFAIL_DIE_AFTER_COMMIT") != NULL;
	pthread_atfork(before_fork, NULL, in_forked_child);
	mark("start");
}

__attribute__((destructor)) static void fini(void)
{
	mark("exit");
	write_log();
}

void *malloc(size_t size)
{
	if (!real_malloc) {
		resolve();
		if (!real_malloc)
			return NULL;
	}
	if (should_fail(__builtin_return_address(0)))
		return NULL;
	return real_malloc(size);
}

void *calloc(size_t n, size_t size)
{
	if (!real_calloc) {
		size_t want = n * size;
		void *p;

		/* dlsym's own allocation, before the real calloc is known. */
		if (want > sizeof(bootstrap) - bootstrap_used)
			return NULL;
		p = bootstrap + bootstrap_used;
		bootstrap_used += (want + 15) & ~(size_t)15;
		return p;
	}
	if (should_fail(__builtin_return_address(0)))
		return NULL;
	return real_calloc(n, size);
}

void free(void *p)
{
	if ((char *)p >= bootstrap && (char *)p < bootstrap + sizeof(bootstrap))
		return;
	if (!real_free)
		resolve();
	/* Freed while dlsym() runs (its error string): a few bytes leak, once. */
	if (real_free)
		real_free(p);
}

void *realloc(void *p, size_t size)
{
	if (!real_realloc)
		resolve();
	/* realloc(p, 0) frees: never "fails" */
	if (size && should_fail(__builtin_return_address(0)))
		return NULL;
	return real_realloc(p, size);
}

int posix_memalign(void **out, size_t align, size_t size)
{
	if (should_fail(__builtin_return_address(0)))
		return ENOMEM;
	return real_posix_memalign(out, align, size);
}

void *aligned_alloc(size_t align, size_t size)
{
	if (should_fail(__builtin_return_address(0)))
		return NULL;
	return real_aligned_alloc(align, size);
}

void *memalign(size_t align, size_t size)
{
	if (should_fail(__builtin_return_address(0)))
		return NULL;
	return real_memalign(align, size);
}

/*
 * Stage markers: library entry points the program calls through the PLT.
 * Each records the allocation count and calls the real one.
 */
#define FORWARD(ret, name, params, args)                                   \
	ret name params                                                    \
	{                                                                  \
		static ret(*real) params;                                  \
		if (!real)                                                 \
			real = (ret(*) params)dlsym(RTLD_NEXT, #name);     \
		mark(#name);                                               \
		return real args;                                          \
	}

FORWARD(struct nft_ctx *, nft_ctx_new, (uint32_t flags), (flags))
FORWARD(int, nft_run_cmd_from_buffer, (struct nft_ctx * nft, const char *buf), (nft, buf))
FORWARD(void, nft_ctx_free, (struct nft_ctx * nft), (nft))
FORWARD(struct mnl_socket *, mnl_socket_open, (int bus), (bus))
FORWARD(json_t *, json_loads, (const char *input, size_t flags, json_error_t *error), (input, flags, error))
FORWARD(int, flock, (int fd, int op), (fd, op))
FORWARD(int, rename, (const char *from, const char *to), (from, to))

/* A child leaves with _exit(), past the destructor: log there. */
void _exit(int status)
{
	static void (*real)(int);

	if (!real)
		real = (void (*)(int))dlsym(RTLD_NEXT, "_exit");
	mark("exit");
	write_log();
	real(status);
	__builtin_unreachable();
}

/* The commit: libnftables sends the whole batch with one sendmsg(). */
ssize_t sendmsg(int fd, const struct msghdr *msg, int flags)
{
	static ssize_t (*real)(int, const struct msghdr *, int);
	ssize_t sent;

	if (!real)
		real = (ssize_t(*)(int, const struct msghdr *, int))dlsym(RTLD_NEXT, "sendmsg");
	mark("sendmsg");
	sent = real(fd, msg, flags);
	if (in_child && die_after_commit)
		abort();
	return sent;
}
