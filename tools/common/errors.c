/*
 * tools/common/errors.c - one-line error messages with a hint for what to
 * do next.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common/cli.h"

static const char *prog = "vstd";

void cli_set_prog(const char *name)
{
	prog = name;
}

const char *cli_prog(void)
{
	return prog;
}

/* Messages are printed on one line: newlines inside become spaces. */
static void put_line(const char *msg)
{
	for (const char *p = msg; *p != '\0'; p++)
		fputc(*p == '\n' || *p == '\r' ? ' ' : *p, stderr);
}

int cli_error(int code, const char *fmt, ...)
{
	char msg[2048];
	va_list ap;
	cli_progress_done();
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "%s: ", prog);
	put_line(msg);
	fputc('\n', stderr);
	fflush(stderr);
	return code;
}

const char *cli_hint_for_last_error(void)
{
	const vstd_error *e = vstd_error_last();
	switch (e->code) {
	case VSTD_ENOTSUP:
		if (strstr(e->message, "no disk format recognises") != NULL)
			return "use -f to name the format";
		if (strstr(e->message, "unknown disk format") != NULL)
			return "see 'vstd img create -o help' or 'vstd img --help' for the formats";
		return NULL;
	case VSTD_ENOENT: return "check the path";
	case VSTD_EPERM:
		if (strstr(e->message, "read-only") != NULL ||
		    strstr(e->message, "ermission") != NULL)
			return "check the file's permissions";
		return NULL;
	case VSTD_ECORRUPT:
		return "the image is damaged or not of the format named; try 'vstd img check'";
	case VSTD_EBUSY: return "another program may be using the image";
	default: return NULL;
	}
}

int cli_lib_error(int code, const char *hint_fmt, ...)
{
	const vstd_error *e = vstd_error_last();
	char hint[512] = "";
	const char *h;
	if (hint_fmt != NULL) {
		va_list ap;
		va_start(ap, hint_fmt);
		vsnprintf(hint, sizeof(hint), hint_fmt, ap);
		va_end(ap);
	}
	h = hint[0] != '\0' ? hint : cli_hint_for_last_error();
	if (h != NULL && strstr(e->message, h) == NULL)
		return cli_error(code, "%s (%s)",
		                 e->message[0] ? e->message : vstd_strerror(e->code), h);
	return cli_error(code, "%s", e->message[0] ? e->message : vstd_strerror(e->code));
}

int cli_usage(const char *text)
{
	fputs(text, stdout);
	return CLI_EXIT_OK;
}

int cli_bad_option(int code, int argc, char **argv)
{
	extern int optind, optopt;
	const char *arg = optind > 0 && optind <= argc ? argv[optind - 1] : "?";
	if (optopt != 0 && arg[0] == '-' && arg[1] != '-')
		return cli_error(code, "option '-%c' is unknown or lacks its value (see --help)",
		                 optopt);
	return cli_error(code, "option '%s' is unknown or lacks its value (see --help)", arg);
}

int cli_img_help(const char *name, const char *text)
{
	printf("usage: vstd img %s\n\n%s", img_synopsis(name), text);
	return CLI_EXIT_OK;
}
