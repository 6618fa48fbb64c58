// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Golden rulesets: each rulesets/NAME.policy compiles to exactly
 * rulesets/NAME.nft. The .nft files are the reviewed contract of the
 * compiler; --regen (or KS_REGEN=1) rewrites them after a deliberate change,
 * and the diff is what gets reviewed.
 *
 *	golden [--regen] [--table NAME] DIR|FILE.policy|SCENARIO...
 */
#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "killswitch/buf.h"
#include "killswitch/compile.h"
#include "killswitch/options.h"

#define POLICY_EXT ".policy"
#define NFT_EXT ".nft"

struct run {
	bool regen;
	const char *table;
	unsigned passed, failed, written;
};

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && !strcmp(s + n - m, suffix);
}

/* Reads a whole file; NULL with errno set on failure. */
static char *read_all(const char *path, size_t *len)
{
	char *data = NULL, *grown;
	size_t n = 0, cap = 0, got;
	FILE *f = fopen(path, "re");

	if (!f)
		return NULL;
	do {
		if (cap - n < 4096) {
			grown = realloc(data, cap = cap ? cap * 2 : 8192);
			if (!grown) {
				free(data);
				fclose(f);
				errno = ENOMEM;
				return NULL;
			}
			data = grown;
		}
		got = fread(data + n, 1, cap - n, f);
		n += got;
	} while (got > 0);
	if (ferror(f)) {
		free(data);
		fclose(f);
		errno = EIO;
		return NULL;
	}
	fclose(f);
	*len = n;
	return data;
}

static int write_all(const char *path, const char *text, size_t len)
{
	char tmp[4096];
	FILE *f;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp))
		return -ENAMETOOLONG;
	f = fopen(tmp, "we");
	if (!f)
		return -errno;
	if (fwrite(text, 1, len, f) != len || fclose(f) != 0) {
		unlink(tmp);
		return -EIO;
	}
	if (rename(tmp, path) < 0) {
		int ret = -errno;

		unlink(tmp);
		return ret;
	}
	return 0;
}

/* Prints line number lineno (1-based) of text, or a marker past its end. */
static void print_line(char sign, const char *text, size_t len, unsigned lineno)
{
	const char *p = text, *end = text + len, *nl;

	for (unsigned i = 1; i < lineno && p < end; i++) {
		nl = memchr(p, '\n', (size_t)(end - p));
		p = nl ? nl + 1 : end;
	}
	if (p >= end) {
		printf("%c(end of file)\n", sign);
		return;
	}
	nl = memchr(p, '\n', (size_t)(end - p));
	printf("%c%.*s\n%s", sign, (int)((nl ? nl : end) - p), p, nl ? "" : "\\ No newline at end of file\n");
}

/* A unified-diff-like view of the first line where want and got part. */
static void show_difference(const char *nft, const char *want, size_t want_len, const char *policy,
			    const char *got, size_t got_len)
{
	unsigned lineno = 1;
	size_t i;

	for (i = 0; i < want_len && i < got_len && want[i] == got[i]; i++)
		if (want[i] == '\n')
			lineno++;
	printf("--- %s\n+++ compiled from %s\n@@ -%u +%u @@\n", nft, policy, lineno, lineno);
	print_line('-', want, want_len, lineno);
	print_line('+', got, got_len, lineno);
}

static int compile_policy(const struct run *run, const char *path, struct ks_buf *out)
{
	struct ks_policy policy;
	char err[KS_ERR_LEN] = "";
	int ret;

	ks_policy_init(&policy);
	ret = ks_options_parse_file(&policy, path, err);
	if (ret < 0) {
		printf("FAIL %s: %s\n", path, err[0] ? err : strerror(-ret));
		goto cleanup;
	}
	ks_policy_finalize(&policy);
	ret = ks_compile(&policy, run->table, out);
	if (ret < 0)
		printf("FAIL %s: cannot compile: %s\n", path, strerror(-ret));
cleanup:
	ks_policy_free(&policy);
	return ret;
}

/* stem is the path without ".policy": the scenario is stem.policy, its golden stem.nft. */
static void scenario(struct run *run, const char *stem)
{
	struct ks_buf got = KS_BUF_INIT;
	char policy[4096], nft[4096], *want = NULL;
	size_t want_len = 0;
	int ret;

	if ((size_t)snprintf(policy, sizeof(policy), "%s" POLICY_EXT, stem) >= sizeof(policy) ||
	    (size_t)snprintf(nft, sizeof(nft), "%s" NFT_EXT, stem) >= sizeof(nft)) {
		printf("FAIL %s: path too long\n", stem);
		run->failed++;
		return;
	}
	if (compile_policy(run, policy, &got) < 0) {
		run->failed++;
		goto cleanup;
	}
	if (run->regen) {
		ret = write_all(nft, got.data, got.len);
		if (ret < 0) {
			printf("FAIL %s: cannot write: %s\n", nft, strerror(-ret));
			run->failed++;
		} else {
			printf("wrote %s\n", nft);
			run->written++;
		}
		goto cleanup;
	}
	want = read_all(nft, &want_len);
	if (!want) {
		printf("FAIL %s: cannot read the golden (%s); run with --regen and review it\n", nft,
		       strerror(errno));
		run->failed++;
		goto cleanup;
	}
	if (want_len == got.len && !memcmp(want, got.data, got.len)) {
		printf("ok   %s\n", nft);
		run->passed++;
		goto cleanup;
	}
	printf("FAIL %s differs from the compiler's output\n", nft);
	show_difference(nft, want, want_len, policy, got.data, got.len);
	run->failed++;
cleanup:
	free(want);
	ks_buf_free(&got);
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool has_file(const char *dir, const char *name, size_t stem_len, const char *ext)
{
	char path[4096];
	struct stat st;

	if ((size_t)snprintf(path, sizeof(path), "%s/%.*s%s", dir, (int)stem_len, name, ext) >= sizeof(path))
		return false;
	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/*
 * Every NAME.policy in dir, in name order. A NAME.nft without its policy is a
 * golden nobody can regenerate or review against a policy: it fails too.
 */
static void directory(struct run *run, const char *dir)
{
	char **names = NULL, stem[4096];
	size_t n = 0, cap = 0;
	struct dirent *de;
	DIR *d = opendir(dir);

	if (!d) {
		printf("FAIL %s: %s\n", dir, strerror(errno));
		run->failed++;
		return;
	}
	while ((de = readdir(d))) {
		if (!ends_with(de->d_name, POLICY_EXT) && !ends_with(de->d_name, NFT_EXT))
			continue;
		if (n == cap) {
			char **grown = realloc(names, (cap = cap ? cap * 2 : 16) * sizeof(*names));

			if (!grown)
				break;
			names = grown;
		}
		if (!(names[n] = strdup(de->d_name)))
			break;
		n++;
	}
	closedir(d);
	qsort(names, n, sizeof(*names), cmp_names);
	for (size_t i = 0; i < n; i++) {
		size_t len = strlen(names[i]);

		if (ends_with(names[i], NFT_EXT)) {
			len -= strlen(NFT_EXT);
			if (!has_file(dir, names[i], len, POLICY_EXT)) {
				printf("FAIL %s/%s: no %.*s" POLICY_EXT " beside it\n", dir, names[i], (int)len,
				       names[i]);
				run->failed++;
			}
			continue;
		}
		len -= strlen(POLICY_EXT);
		snprintf(stem, sizeof(stem), "%s/%.*s", dir, (int)len, names[i]);
		scenario(run, stem);
	}
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

static void argument(struct run *run, const char *arg)
{
	struct stat st;
	char stem[4096];
	size_t len = strlen(arg);

	if (stat(arg, &st) == 0 && S_ISDIR(st.st_mode)) {
		directory(run, arg);
		return;
	}
	if (ends_with(arg, POLICY_EXT))
		len -= strlen(POLICY_EXT);
	else if (ends_with(arg, NFT_EXT))
		len -= strlen(NFT_EXT);
	snprintf(stem, sizeof(stem), "%.*s", (int)len, arg);
	scenario(run, stem);
}

static void usage(FILE *f)
{
	fprintf(f, "usage: golden [--regen] [--table NAME] DIR|FILE.policy|SCENARIO...\n"
		   "  compiles each policy and compares it byte for byte with the .nft beside it;\n"
		   "  --regen (or KS_REGEN=1) rewrites the .nft files instead\n");
}

int main(int argc, char *argv[])
{
	const char *regen = getenv("KS_REGEN");
	struct run run = { .regen = regen && !strcmp(regen, "1"), .table = KS_TABLE_NAME };
	int i;

	for (i = 1; i < argc && !strncmp(argv[i], "--", 2); i++) {
		if (!strcmp(argv[i], "--")) {
			i++;
			break;
		} else if (!strcmp(argv[i], "--regen")) {
			run.regen = true;
		} else if (!strcmp(argv[i], "--table") && i + 1 < argc) {
			run.table = argv[++i];
		} else if (!strcmp(argv[i], "--help")) {
			usage(stdout);
			return 0;
		} else {
			usage(stderr);
			return 2;
		}
	}
	if (i == argc) {
		usage(stderr);
		return 2;
	}
	for (; i < argc; i++)
		argument(&run, argv[i]);
	if (run.regen)
		printf("%u written, %u failed\n", run.written, run.failed);
	else
		printf("%u passed, %u failed\n", run.passed, run.failed);
	return run.failed || (!run.passed && !run.written) ? 1 : 0;
}
