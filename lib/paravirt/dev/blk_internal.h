/*
 * paravirt/dev/blk_internal.h - state shared by the virtio-blk device
 * (blk.c) and its zoned-device emulation (blk_zoned.c).
 */
#ifndef VSTD_PARAVIRT_BLK_INTERNAL_H
#define VSTD_PARAVIRT_BLK_INTERNAL_H

#include <pthread.h>
#include <stdint.h>

#include "paravirt/device.h"

struct bzone {
	uint64_t wp;   /* write pointer (sector) of a sequential zone */
	uint8_t state; /* VBLK_ZS_* */
};

struct blk {
	vstd_disk *disk;
	pthread_mutex_t disk_lock; /* the disk and the zone state */
	uint64_t capacity;         /* in 512-byte sectors */
	uint32_t blk_size;
	int read_only;
	int secure_erase;
	char serial[21];
	/* zoned (zone_sectors != 0) */
	uint32_t zone_sectors, nzones, nconv, max_open, max_active;
	uint32_t n_open, n_active;
	struct bzone *zones;
};

#define BLK_ZONES_MAX (1u << 20)

/* Read or write len bytes at disk offset off from/into the chain's
 * buffers first..last-1, after skipping skip bytes of them (a request's
 * header); disk_lock held.  0, or the disk's error. */
int blk_iov_io(struct blk *b, struct vq_chain *c, uint32_t first, uint32_t last, uint64_t skip,
               uint64_t off, uint64_t len, int write);
/* Set up the zones (b->zone_sectors etc. filled); VSTD_EINVAL / VSTD_ENOMEM. */
int blk_zoned_init(struct blk *b);
/* A zone request (ZONE_APPEND, REPORT, OPEN, CLOSE, FINISH, RESET,
 * RESET_ALL): the status; *data = bytes written before the status. */
int blk_zoned_request(struct blk *b, struct vq_chain *c, uint32_t type, uint64_t sector,
                      uint32_t *data);
/* Before a write of nsec sectors at sector (disk_lock held): VBLK_S_OK
 * after opening the zone, or the error status. */
int blk_zoned_write_begin(struct blk *b, uint64_t sector, uint64_t nsec);
/* After that write succeeded: move the write pointer (disk_lock held). */
void blk_zoned_write_end(struct blk *b, uint64_t sector, uint64_t nsec);
/* After a read of the chain's writable data (disk_lock held): bytes past a
 * sequential zone's write pointer read as zeroes. */
void blk_zoned_read_fix(struct blk *b, const struct vq_chain *c, uint64_t sector, uint64_t bytes);

#endif
