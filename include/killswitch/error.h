/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef KILLSWITCH_ERROR_H
#define KILLSWITCH_ERROR_H

/*
 * How every layer reports a failure: a negative errno as the return value,
 * and one line "<what>: '<the bad value>'" in a caller's buffer of this size.
 */
#define KS_ERR_LEN 512

#endif
