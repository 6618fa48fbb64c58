/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef KILLSWITCH_NOTIFY_H
#define KILLSWITCH_NOTIFY_H

/*
 * The service manager's readiness protocol (sd_notify(3)) without
 * libsystemd: one datagram to $NOTIFY_SOCKET. Does nothing without it.
 * Returns 0, or a negative errno when the socket cannot be reached.
 */
int ks_notify(const char *state);

#endif
