/*
 * tools/common/progress.c - the -p progress display (stderr, only when
 * asked), in qemu-img's "(12.34/100%)" style, redrawn at most every 0.1%.
 */
#include <stdio.h>

#include "common/cli.h"

static int drawn;
static int last = -1;

int cli_progress(uint64_t done, uint64_t total, void *opaque)
{
	int per10k = total ? (int)((double)done * 10000.0 / (double)total) : 10000;
	if (per10k / 10 == last / 10 && per10k != 10000)
		return 0;
	last = per10k;
	fprintf(stderr, "\r    (%d.%02d/100%%)", per10k / 100, per10k % 100);
	fflush(stderr);
	drawn = 1;
	return 0;
}

void cli_progress_done(void)
{
	if (drawn) {
		fputc('\n', stderr);
		drawn = 0;
	}
	last = -1;
}
