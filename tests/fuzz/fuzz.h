/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Shared by the libFuzzer harnesses: input shaping (C strings, argv and envp
 * lists, files, guarded netlink buffers) and the invariant checks every
 * harness runs on what the parsers let through. A violated invariant
 * abort()s, which libFuzzer reports like any other crash.
 */
#ifndef KILLSWITCH_TESTS_FUZZ_H
#define KILLSWITCH_TESTS_FUZZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "killswitch/options.h"
#include "killswitch/policy.h"
#include "killswitch/sources.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond) ((cond) ? (void)0 : fuzz_fail(__FILE__, __LINE__, #cond, NULL))
#define CHECK_LINE(cond, line) ((cond) ? (void)0 : fuzz_fail(__FILE__, __LINE__, #cond, line))
void fuzz_fail(const char *file, int line, const char *what, const char *context) __attribute__((noreturn));

/* A NUL-terminated copy of data (free() it); an embedded NUL ends the string early. */
char *fuzz_string(const uint8_t *data, size_t size);
/* Splits data on '\0' and '\n' into a NULL-terminated list of *n strings. */
char **fuzz_split(const uint8_t *data, size_t size, int *n);
void fuzz_free_split(char **list);
/* A /proc/self/fd path to a memfd holding exactly data; slot 0 or 1. */
const char *fuzz_file(int slot, const void *data, size_t size);
/*
 * data copied so that the first byte past its 4-byte aligned end is an
 * inaccessible page: libmnl is not instrumented, so ASan cannot see it read
 * past the message, but the page fault can. NULL when size is too big.
 */
const void *fuzz_guarded(const uint8_t *data, size_t size);
/*
 * mnl_nlmsg_ok() compares nlmsg_len as an int: a length of 2 GiB or more
 * passes, and mnl_nlmsg_next() then jumps that far. The loops here stop
 * there; ks_nfnl_monitor_next() and libmnl's own mnl_cb_run() do not.
 */
#define next_ok(nlh, left) (mnl_nlmsg_ok(nlh, left) && (nlh)->nlmsg_len <= (unsigned)(left))

/* ret is 0 or a negative errno; after an error, err is one printable line that says something. */
void fuzz_check_err(int ret, const char *err);
/* Every value in the policy passes checks of its own, independent of the parsers. */
void fuzz_check_policy(const struct ks_policy *policy);
/* What a WireGuard device source returned is usable as endpoints. */
void fuzz_check_wg_device(const struct ks_wg_device *dev);
/* A policy as --from-wg builds it from the device (tunnel wg0), compiled and checked. */
void fuzz_compile_wg_device(const struct ks_wg_device *dev);
/*
 * Finalizes the policy, compiles it, and checks the text: its structure,
 * drop policies on the output, input and forward hooks, every element and
 * quoted string against the policy, and that compiling is deterministic.
 */
void fuzz_check_compile(struct ks_policy *policy);
/* The same with another table name (one ks_parse_table_name accepted). */
void fuzz_check_compile_table(struct ks_policy *policy, const char *table);
/*
 * The policy written as a state file (ks_options_format) reads back to a
 * policy that writes the same text and compiles to the same ruleset.
 */
void fuzz_check_roundtrip(const struct ks_policy *policy);

#endif
