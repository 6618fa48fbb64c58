// SPDX-License-Identifier: GPL-2.0-or-later
/* A growable array of fixed-size elements: append, with overflow-checked growth. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "killswitch/array.h"

int ks_array_append(void **array, size_t *count, size_t size, const void *elem)
{
	size_t n = *count;

	/* Capacity is the next power of two: n is one exactly when the array is full. */
	if (n == 0 || (n & (n - 1)) == 0) {
		size_t cap = n ? n * 2 : 1;
		void *grown;

		if (cap > (size_t)-1 / size)
			return -ENOMEM;
		grown = realloc(*array, cap * size);
		if (!grown)
			return -ENOMEM;
		*array = grown;
	}
	memcpy((char *)*array + n * size, elem, size);
	*count = n + 1;
	return 0;
}
