// SPDX-License-Identifier: GPL-2.0-or-later
/* What both programs print: one-line errors and warnings; --json as their only option. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "killswitch/error.h"
#include "output.h"

/* One line on stderr: "PROGRAM: KIND<message>". */
static void __attribute__((format(printf, 2, 0))) report(const char *kind, const char *fmt, va_list ap)
{
	fprintf(stderr, "%s: %s", program_name, kind);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

int cli_error(int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	report("", fmt, ap);
	va_end(ap);
	return code;
}

void cli_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	report("warning: ", fmt, ap);
	va_end(ap);
}

int cli_parse_json_only(int argc, char *argv[], struct ks_options *opts)
{
	char escaped[KS_ERR_LEN / 2];

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json"))
			return cli_error(KS_EXIT_USAGE, "%s takes only --json: '%s'", argv[0],
					 ks_escape(argv[i], escaped, sizeof(escaped)));
		opts->json = true;
	}
	return KS_EXIT_OK;
}
