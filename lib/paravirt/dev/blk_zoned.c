/*
 * paravirt/dev/blk_zoned.c - a host-managed zoned block device emulated
 * over a vstd_disk (VIRTIO 1.2 5.2.6, VIRTIO_BLK_F_ZONED).
 *
 * The disk is cut into zones of zone_sectors sectors (the last one may be
 * shorter); the first nconv are conventional (written anywhere), the rest
 * sequential-write-required: written only at their write pointer, which
 * moves forward with each write and goes back to the zone start on reset.
 * Zone states follow the zoned model: EMPTY, implicitly open (by a write),
 * explicitly open (ZONE_OPEN), CLOSED, FULL; open zones are limited by
 * max_open_zones (an implicitly open zone is closed to make room), open +
 * closed zones by max_active_zones.  Everything the guest names (sector,
 * lengths, report buffer size) is checked before use.
 */
#include <string.h>

#include "core/alloc_internal.h"
#include "core/bytes.h"
#include "core/error_internal.h"
#include "core/log_internal.h"
#include "paravirt/dev/blk_internal.h"
#include "paravirt/features.h"

#define ZREPORT_HDR 64
#define ZDESC 64

static int is_open(uint8_t s)
{
	return s == VBLK_ZS_IOPEN || s == VBLK_ZS_EOPEN;
}
static int is_active(uint8_t s)
{
	return is_open(s) || s == VBLK_ZS_CLOSED;
}

static uint64_t zstart(const struct blk *b, uint32_t z)
{
	return (uint64_t)z * b->zone_sectors;
}
static uint64_t zend(const struct blk *b, uint32_t z)
{
	uint64_t e = zstart(b, z) + b->zone_sectors;
	return e < b->capacity ? e : b->capacity;
}
static int is_seq(const struct blk *b, uint32_t z)
{
	return z >= b->nconv;
}

/* Move zone z to state s, keeping the open / active counts. */
static void zset(struct blk *b, uint32_t z, uint8_t s)
{
	uint8_t o = b->zones[z].state;
	b->n_open = b->n_open - (uint32_t)is_open(o) + (uint32_t)is_open(s);
	b->n_active = b->n_active - (uint32_t)is_active(o) + (uint32_t)is_active(s);
	b->zones[z].state = s;
}

int blk_zoned_init(struct blk *b)
{
	uint64_t n;
	if (b->zone_sectors == 0 || !vstd_is_pow2(b->zone_sectors) ||
	    ((uint64_t)b->zone_sectors * 512) % b->blk_size != 0)
		return vstd_err(VSTD_EINVAL,
		                "virtio-blk: zone size of %u sectors is not a power of 2 and a "
		                "multiple of the block size",
		                b->zone_sectors);
	n = (b->capacity + b->zone_sectors - 1) / b->zone_sectors;
	if (n == 0 || n > BLK_ZONES_MAX || b->nconv > n)
		return vstd_err(VSTD_EINVAL,
		                "virtio-blk: %" PRIu64
		                " zones (%u conventional) for a disk of %" PRIu64
		                " sectors: 1 to %u zones needed",
		                n, b->nconv, b->capacity, BLK_ZONES_MAX);
	b->nzones = (uint32_t)n;
	b->zones = vstd_calloc(n, sizeof(*b->zones));
	if (b->zones == NULL)
		return VSTD_ENOMEM;
	for (uint32_t z = 0; z < b->nzones; z++) {
		b->zones[z].wp = zstart(b, z);
		b->zones[z].state = is_seq(b, z) ? VBLK_ZS_EMPTY : VBLK_ZS_NOT_WP;
	}
	return 0;
}

/* Room to open zone z (EMPTY or CLOSED) as `to`: close an implicitly open
 * zone if the open limit is reached; the status. */
static int zopen(struct blk *b, uint32_t z, uint8_t to)
{
	uint8_t s = b->zones[z].state;
	if (is_open(s)) {
		zset(b, z, to == VBLK_ZS_EOPEN ? VBLK_ZS_EOPEN : s);
		return VBLK_S_OK;
	}
	if (s == VBLK_ZS_FULL)
		return VBLK_S_ZONE_INVALID_CMD;
	if (s == VBLK_ZS_EMPTY && b->max_active && b->n_active >= b->max_active)
		return VBLK_S_ZONE_ACTIVE_RESOURCE;
	if (b->max_open && b->n_open >= b->max_open) {
		uint32_t v;
		for (v = b->nconv; v < b->nzones; v++)
			if (b->zones[v].state == VBLK_ZS_IOPEN)
				break;
		if (v == b->nzones)
			return VBLK_S_ZONE_OPEN_RESOURCE;
		zset(b, v, VBLK_ZS_CLOSED); /* implicit close */
	}
	zset(b, z, to);
	return VBLK_S_OK;
}

int blk_zoned_write_begin(struct blk *b, uint64_t sector, uint64_t nsec)
{
	uint32_t z = (uint32_t)(sector / b->zone_sectors);
	if (nsec == 0)
		return VBLK_S_OK;
	if (!is_seq(b, z)) {
		/* Conventional zones are ordinary sectors, but a write may not run
		 * on into a sequential zone. */
		if (sector + nsec > zstart(b, b->nconv))
			return VBLK_S_IOERR;
		return VBLK_S_OK;
	}
	if (sector + nsec > zend(b, z))
		return VBLK_S_IOERR; /* crosses the zone's end */
	if (b->zones[z].state == VBLK_ZS_FULL)
		return VBLK_S_ZONE_INVALID_CMD;
	if (sector != b->zones[z].wp)
		return VBLK_S_ZONE_UNALIGNED_WP;
	return zopen(b, z, VBLK_ZS_IOPEN);
}

void blk_zoned_write_end(struct blk *b, uint64_t sector, uint64_t nsec)
{
	uint32_t z = (uint32_t)(sector / b->zone_sectors);
	if (nsec == 0 || !is_seq(b, z))
		return;
	b->zones[z].wp = sector + nsec;
	if (b->zones[z].wp >= zend(b, z))
		zset(b, z, VBLK_ZS_FULL);
}

void blk_zoned_read_fix(struct blk *b, const struct vq_chain *c, uint64_t sector, uint64_t bytes)
{
	static const uint8_t zero[4096];
	uint64_t end = sector + bytes / 512;
	for (uint64_t s = sector; s < end;) {
		uint32_t z = (uint32_t)(s / b->zone_sectors);
		uint64_t ze = zend(b, z) < end ? zend(b, z) : end;
		if (is_seq(b, z) && b->zones[z].wp < ze) {
			uint64_t from = b->zones[z].wp > s ? b->zones[z].wp : s;
			uint64_t off = (from - sector) * 512, n = (ze - from) * 512;
			while (n > 0) {
				size_t k = n < sizeof(zero) ? (size_t)n : sizeof(zero);
				vq_chain_write(c, off, zero, k);
				off += k;
				n -= k;
			}
		}
		s = ze;
	}
}

/* Reset zone z: EMPTY, write pointer at the start, data gone. */
static int zreset(struct blk *b, uint32_t z)
{
	uint64_t st = zstart(b, z), wp = b->zones[z].wp;
	if (b->zones[z].state == VBLK_ZS_FULL)
		wp = zend(b, z);
	if (wp > st && vstd_disk_write_zeroes(b->disk, st * 512, (wp - st) * 512, 0) < 0)
		return VBLK_S_IOERR;
	b->zones[z].wp = st;
	zset(b, z, VBLK_ZS_EMPTY);
	return VBLK_S_OK;
}

static int zone_report(struct blk *b, struct vq_chain *c, uint64_t sector, uint32_t *data)
{
	uint8_t h[ZREPORT_HDR], d[ZDESC];
	uint64_t room = c->in_len - 1, n, max;
	uint32_t first;
	if (room < ZREPORT_HDR || sector >= b->capacity)
		return VBLK_S_IOERR;
	first = (uint32_t)(sector / b->zone_sectors);
	max = (room - ZREPORT_HDR) / ZDESC;
	n = b->nzones - first < max ? b->nzones - first : max;
	memset(h, 0, sizeof(h));
	vstd_put_le64(h, n);
	vq_chain_write(c, 0, h, sizeof(h));
	for (uint64_t i = 0; i < n; i++) {
		uint32_t z = first + (uint32_t)i;
		memset(d, 0, sizeof(d));
		vstd_put_le64(d, zend(b, z) - zstart(b, z)); /* capacity */
		vstd_put_le64(d + 8, zstart(b, z));
		vstd_put_le64(d + 16, is_seq(b, z) && b->zones[z].state != VBLK_ZS_FULL
		                              ? b->zones[z].wp
		                              : zend(b, z));
		d[24] = is_seq(b, z) ? VBLK_ZT_SWR : VBLK_ZT_CONV;
		d[25] = b->zones[z].state;
		vq_chain_write(c, ZREPORT_HDR + i * ZDESC, d, sizeof(d));
	}
	*data = (uint32_t)(ZREPORT_HDR + n * ZDESC);
	return VBLK_S_OK;
}

/* ZONE_APPEND: data at the write pointer; the sector it landed on goes
 * back in the 8 bytes before the status. */
static int zone_append(struct blk *b, struct vq_chain *c, uint32_t z, uint32_t *data)
{
	uint64_t len = c->out_len - 16, nsec = len / 512, at = b->zones[z].wp;
	uint8_t as[8];
	int st;
	if (c->in_len != 9 || len == 0 || len % b->blk_size != 0 || nsec > b->zone_sectors)
		return VBLK_S_IOERR;
	if (b->zones[z].state == VBLK_ZS_FULL)
		return VBLK_S_ZONE_INVALID_CMD;
	if (at + nsec > zend(b, z))
		return VBLK_S_IOERR; /* does not fit in the zone */
	if ((st = zopen(b, z, VBLK_ZS_IOPEN)) != VBLK_S_OK)
		return st;
	/* the data follows the 16-byte request header */
	if (blk_iov_io(b, c, 0, c->nout, 16, at * 512, len, 1) < 0)
		return VBLK_S_IOERR;
	blk_zoned_write_end(b, at, nsec);
	vstd_put_le64(as, at);
	vq_chain_write(c, 0, as, 8);
	*data = 8;
	return VBLK_S_OK;
}

static int zone_mgmt(struct blk *b, uint32_t type, uint32_t z)
{
	uint8_t s = b->zones[z].state;
	switch (type) {
	case VBLK_T_ZONE_OPEN: return zopen(b, z, VBLK_ZS_EOPEN);
	case VBLK_T_ZONE_CLOSE:
		if (is_open(s))
			zset(b, z, b->zones[z].wp == zstart(b, z) ? VBLK_ZS_EMPTY : VBLK_ZS_CLOSED);
		return VBLK_S_OK;
	case VBLK_T_ZONE_FINISH:
		if (s != VBLK_ZS_FULL) {
			b->zones[z].wp = zend(b, z);
			zset(b, z, VBLK_ZS_FULL);
		}
		return VBLK_S_OK;
	case VBLK_T_ZONE_RESET: return s == VBLK_ZS_EMPTY ? VBLK_S_OK : zreset(b, z);
	default: return VBLK_S_UNSUPP;
	}
}

int blk_zoned_request(struct blk *b, struct vq_chain *c, uint32_t type, uint64_t sector,
                      uint32_t *data)
{
	uint32_t z;
	int st = VBLK_S_OK;
	if (type == VBLK_T_ZONE_REPORT) {
		if (c->out_len != 16)
			return VBLK_S_IOERR;
		pthread_mutex_lock(&b->disk_lock);
		st = zone_report(b, c, sector, data);
		pthread_mutex_unlock(&b->disk_lock);
		return st;
	}
	if (b->read_only)
		return VBLK_S_IOERR;
	if (type == VBLK_T_ZONE_RESET_ALL) {
		if (c->out_len != 16 || c->in_len != 1)
			return VBLK_S_IOERR;
		pthread_mutex_lock(&b->disk_lock);
		for (z = b->nconv; z < b->nzones && st == VBLK_S_OK; z++)
			if (b->zones[z].state != VBLK_ZS_EMPTY)
				st = zreset(b, z);
		pthread_mutex_unlock(&b->disk_lock);
		return st;
	}
	/* The other commands name a zone by its first sector. */
	if (sector >= b->capacity || sector % b->zone_sectors != 0)
		return VBLK_S_ZONE_INVALID_CMD;
	z = (uint32_t)(sector / b->zone_sectors);
	if (!is_seq(b, z))
		return VBLK_S_ZONE_INVALID_CMD;
	if (type != VBLK_T_ZONE_APPEND && (c->out_len != 16 || c->in_len != 1))
		return VBLK_S_IOERR;
	pthread_mutex_lock(&b->disk_lock);
	st = type == VBLK_T_ZONE_APPEND ? zone_append(b, c, z, data) : zone_mgmt(b, type, z);
	pthread_mutex_unlock(&b->disk_lock);
	return st;
}
