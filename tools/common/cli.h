/*
 * tools/common/cli.h - what the `vstd` subcommands share: one-line errors,
 * size parsing, the progress bar, output formats and JSON printing.
 *
 * Exit codes (docs/cli.md): 0 success, 1 error, 2 usage error or a command
 * missing from this build; `img compare` and `img check` have their own
 * (see there).
 */
#ifndef VSTD_TOOLS_CLI_H
#define VSTD_TOOLS_CLI_H

#include <stdint.h>

#include "vstd/vstd.h"

struct json_object;

#define CLI_EXIT_OK 0
#define CLI_EXIT_ERROR 1
#define CLI_EXIT_USAGE 2

enum cli_output { CLI_OUTPUT_HUMAN, CLI_OUTPUT_JSON };

/* The command name used in messages ("vstd img convert"); set by dispatch. */
void cli_set_prog(const char *name);
const char *cli_prog(void);

/* Print "<prog>: <message>" as one line on stderr; returns `code`. */
int cli_error(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Print "<prog>: <vstd_error_last()->message>[; <hint>]"; returns `code`. */
int cli_lib_error(int code, const char *hint_fmt, ...) __attribute__((format(printf, 2, 3)));
/* A hint for the last library error, or NULL (e.g. "use -f to name the format"). */
const char *cli_hint_for_last_error(void);

/* Sizes with qemu suffixes (k, M, G, T, P, E); rejects junk, negatives and
 * values past INT64_MAX.  0, or prints the error and returns -1. */
int cli_parse_size(const char *text, const char *what, uint64_t *out);
/* A non-negative decimal number up to max; 0 or prints and returns -1. */
int cli_parse_uint(const char *text, const char *what, unsigned long max, unsigned long *out);
/* --output=human|json; 0 or prints and returns -1. */
int cli_parse_output(const char *text, enum cli_output *out);

/* The progress callback: "    (12.34/100%)" on stderr, redrawn in place. */
int cli_progress(uint64_t done, uint64_t total, void *opaque);
/* End the progress line (when one was drawn). */
void cli_progress_done(void);

/* Print a JSON value pretty to stdout followed by a newline, and drop it. */
int cli_print_json(struct json_object *obj);

/* "1 GiB", "4 KiB", "1.5 MiB", as qemu-img prints sizes. */
void cli_format_size(uint64_t bytes, char *buf, size_t cap);

/* Open an image; prints the error with a hint.  Returns 0 or -1. */
int cli_open(vstd_disk **out, const char *path, const char *format, unsigned flags,
             const char *backing_format);

/* `-o help`: list the creation options of format (NULL: every format). */
int cli_print_options_help(const char *format);

/* "--help" text printer: writes usage to stdout, returns 0. */
int cli_usage(const char *text);

/* The synopsis line of an img subcommand (img.c). */
const char *img_synopsis(const char *name);
/* The getopt '?' / ':' case: one-line error naming the option, returns code. */
int cli_bad_option(int code, int argc, char **argv);
/* Print "usage: vstd img <synopsis>" plus text, return 0. */
int cli_img_help(const char *name, const char *text);

/* Subcommands of `vstd img`, each in tools/img/<name>.c. */
int img_info(int argc, char **argv);
int img_create(int argc, char **argv);
int img_convert(int argc, char **argv);
int img_compare(int argc, char **argv);
int img_map(int argc, char **argv);
int img_check(int argc, char **argv);
int img_resize(int argc, char **argv);
int img_measure(int argc, char **argv);
int img_rebase(int argc, char **argv);
int img_commit(int argc, char **argv);
int img_amend(int argc, char **argv);
int img_snapshot(int argc, char **argv);
int vstd_cmd_img(int argc, char **argv);

#endif
