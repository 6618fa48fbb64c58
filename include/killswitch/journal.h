/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef KILLSWITCH_JOURNAL_H
#define KILLSWITCH_JOURNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "killswitch/error.h"
#include "killswitch/policy.h"

/*
 * The endpoint journal of the state file: endpoint add|del append their
 * changes to the saved policy instead of rewriting it. The policy ends with
 * a marker line, "# endpoints above: COUNT; ...", and each change is a line
 * "endpoint-add ENDPOINT # COUNT" or "endpoint-del ENDPOINT # COUNT", COUNT
 * being the number of endpoints after it. Pure functions over buffers: the
 * files are opened, mapped and written by src/state/.
 */

struct ks_buf;

/* The marker line ks_state_save() ends the policy with; count: its endpoints. */
void ks_journal_format_marker(struct ks_buf *out, size_t count);
/* The lines of one change, eps[0..n) added or deleted; total: the endpoints after it. */
void ks_journal_format(struct ks_buf *out, const struct ks_endpoint *eps, size_t n, bool add, size_t total);

struct ks_journal_change {
	bool add;	       /* endpoint-add, or endpoint-del */
	bool torn;	       /* no newline: being appended right now, not there yet (nothing below is set) */
	struct ks_endpoint ep;
	bool counted;	       /* the line carries its "# COUNT" comment */
	size_t count;
};

/*
 * One line [line, line + len), its newline included if it has one, in any
 * form a policy file line takes ("endpoint-add ENDPOINT", "--endpoint-add =
 * ENDPOINT", blanks, a comment). 1 with *change for a journal line, 0 for
 * any other line, -EINVAL with "<what>: '<value>'" in err for a journal line
 * without a valid endpoint. The line need not be NUL-terminated.
 */
int ks_journal_parse_line(const char *line, size_t len, struct ks_journal_change *change, char err[KS_ERR_LEN]);

/*
 * Replaying the journal onto a policy as its lines are read: an add goes in
 * at once, a del drops the endpoint from what came before it when the
 * replay ends (O((endpoints + dels) log dels) in all). A torn change is
 * skipped. end applies the dels, free only forgets them (after an error);
 * both leave the replay empty.
 */
struct ks_journal_replay {
	struct ks_journal_del *dels;
	size_t n_dels;
};
int ks_journal_replay(struct ks_journal_replay *replay, struct ks_policy *policy,
		      const struct ks_journal_change *change);
void ks_journal_replay_end(struct ks_journal_replay *replay, struct ks_policy *policy);
void ks_journal_replay_free(struct ks_journal_replay *replay);

struct ks_state_near {
	size_t total;	/* endpoints in the state, changes included */
	size_t journal; /* changes appended since the policy was saved */
};

/*
 * Adds to policy the saved endpoints of the state file [buf, buf + size)
 * that share an address with one of eps[0..n), changes replayed, reading
 * only those lines: the saved list is sorted, one binary search per address.
 * buf need not be NUL-terminated (a mapped file). -EPROTO for a state
 * without the marker (from an older version) or with a journal this reader
 * does not follow: load it whole then. -ENOMEM.
 */
int ks_journal_load_near(const char *buf, size_t size, struct ks_policy *policy, const struct ks_endpoint *eps,
			 size_t n, struct ks_state_near *near);

#endif
