/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef KILLSWITCH_NFT_CHILD_H
#define KILLSWITCH_NFT_CHILD_H

#include <stdbool.h>

#include "killswitch/error.h"

/*
 * Runs nftables command text through libnftables in a child process (see
 * nft_child.c for why). refused prefixes the message when nftables says
 * no. Returns 0 when the command ran; -ECHILD when libnftables ended
 * abnormally, before or after nftables committed (err then says how it
 * ended, e.g. "exit status 2: 'utils.c:38: Memory allocation failure'",
 * and the caller must ask the kernel); another -errno when nothing was
 * committed, with a one-line message in err.
 */
int ks_nft_run_isolated(const char *cmd, const char *refused, char err[KS_ERR_LEN]);
/* Runs cmd in this process (the held context if any), for watch's requests. */
int ks_nft_run_here(const char *cmd, const char *refused, char err[KS_ERR_LEN]);
/*
 * nft_remote.c: runs cmd in watch's process when this command is linked to
 * it (ks_nft_link). -ENOTCONN: not linked, or watch is gone (run it here);
 * -ECHILD: watch ended before answering (ask the kernel); else its answer.
 */
int ks_nft_remote_run(const char *cmd, const char *refused, char err[KS_ERR_LEN]);
/* Whether ks_nft_run_isolated() forks (see ks_nft_in_process()): only then can it return -ECHILD. */
bool ks_nft_child_used(void);

#endif
