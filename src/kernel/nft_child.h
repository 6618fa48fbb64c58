/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef KILLSWITCH_NFT_CHILD_H
#define KILLSWITCH_NFT_CHILD_H

#include "killswitch/options.h"

/*
 * Runs nftables command text through libnftables in a child process (see
 * nft_child.c for why). refused prefixes the message when nftables says
 * no. Returns:
 *   0                 the command ran;
 *   -ENOTRECOVERABLE  libnftables ended abnormally after nftables had
 *                     committed a change batch: the change is in force;
 *   -EUCLEAN          libnftables ended abnormally and whether a batch was
 *                     committed cannot be told;
 *   another -errno    nothing was committed.
 * err holds a one-line message for every failure.
 */
int ks_nft_run_isolated(const char *cmd, const char *refused, char err[KS_ERR_LEN]);

#endif
