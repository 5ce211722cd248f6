/*
 * tools/ovf/ovf.h - the `vstd ovf` subcommands.
 */
#ifndef VSTD_TOOLS_OVF_H
#define VSTD_TOOLS_OVF_H

#include "vstd/ovf.h"

/* An input: an .ovf file, a directory holding one, or an .ova. */
typedef struct ovf_input {
	vstd_ovf *ovf;       /* owned (from a file) */
	vstd_ova *ova;       /* owned (from an .ova) */
	const vstd_ovf *doc; /* the descriptor, whichever way it came */
	char *dir;           /* directory of the files (not for .ova) */
	char *ovf_path;      /* the descriptor's path (not for .ova) */
} ovf_input;

/* Exit codes of `vstd ovf validate` / `verify`. */
#define OVF_EXIT_VALID 0
#define OVF_EXIT_INVALID 1
#define OVF_EXIT_CANNOT 2

/* Open an input; returns 0, or prints the error and returns an exit code. */
int ovf_input_open(ovf_input *in, const char *path);
void ovf_input_close(ovf_input *in);
/* Print "<prog>: <last vstd error>" and return code. */
int ovf_fail(int code);
/* 1 when the error code means the input itself is bad (not I/O or usage). */
int ovf_error_is_invalid(int code);

/* The entry point; tools/main.c dispatches to it (weak reference). */
int vstd_cmd_ovf(int argc, char **argv);

int ovf_cmd_validate(int argc, char **argv);
int ovf_cmd_info(int argc, char **argv);
int ovf_cmd_pack(int argc, char **argv);
int ovf_cmd_unpack(int argc, char **argv);
int ovf_cmd_sign(int argc, char **argv);
int ovf_cmd_verify(int argc, char **argv);
int ovf_cmd_env(int argc, char **argv);
int ovf_cmd_convert(int argc, char **argv);

#endif
