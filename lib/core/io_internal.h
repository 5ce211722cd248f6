/*
 * core/io_internal.h - the vstd_io object and what the implementations share.
 */
#ifndef VSTD_CORE_IO_INTERNAL_H
#define VSTD_CORE_IO_INTERNAL_H

#include "vstd/io.h"

struct vstd_io {
	const vstd_io_methods *m;
	void *self;
	char *name;
};

/* The file descriptor of a file object (with its O_DIRECT state), else -1. */
int vstd_io_file_fd(const vstd_io *io, int *is_direct);

/* Implementations' method tables (used to recognise kinds). */
extern const vstd_io_methods vstd_io_file_methods;
extern const vstd_io_methods vstd_io_mem_methods;
extern const vstd_io_methods vstd_io_fault_methods;

#endif
