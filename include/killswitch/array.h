/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef KILLSWITCH_ARRAY_H
#define KILLSWITCH_ARRAY_H

#include <stddef.h>

/* Appends one element of size bytes to the malloc'ed *array of *count elements. 0 or -ENOMEM. */
int ks_array_append(void **array, size_t *count, size_t size, const void *elem);

#endif
