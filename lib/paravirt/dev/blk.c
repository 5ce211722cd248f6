/*
 * paravirt/dev/blk.c - virtio block device (VIRTIO 1.2 5.2) on a vstd_disk.
 *
 * A request is: a 16-byte device-readable header (type le32, reserved
 * le32, sector le64), type-dependent data, and a final device-writable
 * status byte.  Sectors are always 512 bytes; with BLK_SIZE the driver
 * keeps requests aligned to the logical block size, which we check.
 */
#include <stdio.h>
#include <string.h>

#include "core/alloc_internal.h"
#include "core/bytes.h"
#include "core/error_internal.h"
#include "core/log_internal.h"
#include <stddef.h>

#include "paravirt/dev/blk_internal.h"
#include "paravirt/device.h"
#include "paravirt/features.h"

#define BLK_CFG_LEN 60            /* up to write_zeroes_may_unmap + padding */
#define BLK_CFG_LEN_SECURE 72     /* + max_secure_erase_sectors/seg/alignment */
#define BLK_CFG_LEN_ZONED 96      /* + the zoned characteristics */
#define BLK_MAX_SECTORS 0x3fffffu /* QEMU's default max discard / write-zeroes */
#define BLK_QUEUE_SIZE 256

static uint8_t blk_complete(struct vq_chain *c, uint8_t status, uint32_t data_written,
                            uint32_t *written)
{
	/* The status byte is the last device-writable byte. */
	vq_chain_write(c, c->in_len - 1, &status, 1);
	*written = data_written + 1;
	return status;
}

/* Range check in 512-byte sectors, and alignment to the logical block. */
static int range_ok(const struct blk *b, uint64_t sector, uint64_t bytes)
{
	uint64_t nsec = bytes / 512, end;
	if (bytes % b->blk_size != 0 || (sector * 512) % b->blk_size != 0)
		return 0;
	return !vstd_add_overflow_u64(sector, nsec, &end) && end <= b->capacity;
}

int blk_iov_io(struct blk *b, struct vq_chain *c, uint32_t first, uint32_t last, uint64_t skip,
               uint64_t off, uint64_t len, int write)
{
	int rc = 0;
	for (uint32_t i = first; i < last && len > 0 && rc == 0; i++) {
		uint8_t *p = c->iov[i].base;
		size_t n = c->iov[i].len;
		if (skip >= n) {
			skip -= n;
			continue;
		}
		p += skip;
		n -= (size_t)skip;
		skip = 0;
		if (n > len)
			n = (size_t)len;
		rc = write ? vstd_disk_write(b->disk, off, p, n)
		           : vstd_disk_read(b->disk, off, p, n);
		off += n;
		len -= n;
	}
	return rc;
}

static int do_rw(struct blk *b, struct vq_chain *c, int write, uint64_t sector, uint32_t *data_len)
{
	uint64_t off = sector * 512, skip, len, total;
	uint32_t first, last;
	int rc = 0;
	/* Data in the wrong direction (a device-writable buffer where the
	 * driver must give data to write, or the reverse) is an error. */
	if (write ? c->in_len != 1 : c->out_len != 16)
		return VBLK_S_IOERR;
	if (write) {
		len = c->out_len - 16;
		skip = 16;
		first = 0;
		last = c->nout;
	} else {
		len = c->in_len - 1;
		skip = 0;
		first = c->nout;
		last = c->nout + c->nin;
	}
	if (!range_ok(b, sector, len))
		return VBLK_S_IOERR;
	pthread_mutex_lock(&b->disk_lock);
	if (write && b->zones) {
		int zst = blk_zoned_write_begin(b, sector, len / 512);
		if (zst != VBLK_S_OK) {
			pthread_mutex_unlock(&b->disk_lock);
			return zst;
		}
	}
	total = len;
	rc = blk_iov_io(b, c, first, last, skip, off, len, write);
	if (rc == 0 && b->zones) {
		if (write)
			blk_zoned_write_end(b, sector, total / 512);
		else
			blk_zoned_read_fix(b, c, sector, total);
	}
	pthread_mutex_unlock(&b->disk_lock);
	if (rc < 0) {
		vstd_warn("virtio", "virtio-blk: %s at sector %" PRIu64 " failed: %s",
		          write ? "write" : "read", sector, vstd_error_last()->message);
		return VBLK_S_IOERR;
	}
	if (!write)
		*data_len = (uint32_t)(c->in_len - 1);
	return VBLK_S_OK;
}

/* DISCARD, WRITE_ZEROES and SECURE_ERASE: one segment {sector le64,
 * num_sectors le32, flags le32}; UNMAP (1) only for WRITE_ZEROES. */
static int do_discard_zeroes(struct vstd_virtio_dev *dev, struct blk *b, struct vq_chain *c,
                             uint32_t type)
{
	int zeroes = type == VBLK_T_WRITE_ZEROES, erase = type == VBLK_T_SECURE_ERASE;
	uint8_t seg[16];
	uint64_t sector, nsec;
	uint32_t flags;
	int rc;
	if (c->out_len - 16 != 16 ||
	    c->in_len != 1) /* max_discard_seg = max_write_zeroes_seg = 1 */
		return VBLK_S_IOERR;
	vq_chain_read(c, 16, seg, 16);
	sector = vstd_le64(seg);
	nsec = vstd_le32(seg + 8);
	flags = vstd_le32(seg + 12);
	if ((flags & ~1u) != 0 || (!zeroes && (flags & 1)))
		return VBLK_S_UNSUPP;
	if (nsec > BLK_MAX_SECTORS || !range_ok(b, sector, nsec * 512))
		return VBLK_S_IOERR;
	pthread_mutex_lock(&b->disk_lock);
	if (erase) {
		/* Overwrite (never just unmap) and make it durable. */
		rc = vstd_disk_write_zeroes(b->disk, sector * 512, nsec * 512, 0);
		if (rc >= 0)
			rc = vstd_disk_flush(b->disk);
	} else if (zeroes)
		rc = vstd_disk_write_zeroes(b->disk, sector * 512, nsec * 512,
		                            (flags & 1) ? VSTD_IO_ZERO_MAY_UNMAP : 0);
	else
		rc = vstd_disk_discard(b->disk, sector * 512, nsec * 512);
	pthread_mutex_unlock(&b->disk_lock);
	(void)dev;
	return rc < 0 ? VBLK_S_IOERR : VBLK_S_OK;
}

static int blk_chain(struct vstd_virtio_dev *dev, unsigned q, struct vq_chain *c, uint32_t *written)
{
	struct blk *b = dev->priv;
	uint8_t hdr[16];
	uint32_t type, data = 0;
	uint64_t sector;
	int st;
	(void)q;
	*written = 0;
	if (c->in_len == 0 || c->out_len < 16) {
		/* No room for a status or no header: nothing we can answer. */
		vstd_warn("virtio",
		          "virtio-blk: request with %" PRIu64 " readable and %" PRIu64
		          " writable bytes has no header or no status byte",
		          c->out_len, c->in_len);
		return 0;
	}
	vq_chain_read(c, 0, hdr, 16); /* copied once, used from the copy */
	type = vstd_le32(hdr);
	sector = vstd_le64(hdr + 8);
	switch (type) {
	case VBLK_T_IN: st = do_rw(b, c, 0, sector, &data); break;
	case VBLK_T_OUT:
		if (b->read_only) {
			st = VBLK_S_IOERR;
			break;
		}
		st = do_rw(b, c, 1, sector, &data);
		if (st == VBLK_S_OK && !dev->cfg[32] && vdev_has(dev, VBLK_F_CONFIG_WCE)) {
			pthread_mutex_lock(&b->disk_lock);
			if (vstd_disk_flush(b->disk) < 0)
				st = VBLK_S_IOERR;
			pthread_mutex_unlock(&b->disk_lock);
		}
		break;
	case VBLK_T_FLUSH:
		pthread_mutex_lock(&b->disk_lock);
		st = b->read_only || vstd_disk_flush(b->disk) == 0 ? VBLK_S_OK : VBLK_S_IOERR;
		pthread_mutex_unlock(&b->disk_lock);
		break;
	case VBLK_T_GET_ID: {
		uint8_t id[20] = {0};
		size_t n = strlen(b->serial);
		memcpy(id, b->serial, n > 20 ? 20 : n);
		data = (uint32_t)vq_chain_write(c, 0, id,
		                                c->in_len - 1 < 20 ? (size_t)(c->in_len - 1) : 20);
		st = VBLK_S_OK;
		break;
	}
	case VBLK_T_DISCARD:
	case VBLK_T_WRITE_ZEROES:
	case VBLK_T_SECURE_ERASE:
		if (!vdev_has(dev, type == VBLK_T_DISCARD        ? VBLK_F_DISCARD
		                   : type == VBLK_T_WRITE_ZEROES ? VBLK_F_WRITE_ZEROES
		                                                 : VBLK_F_SECURE_ERASE)) {
			st = VBLK_S_UNSUPP;
			break;
		}
		st = b->read_only ? VBLK_S_IOERR : do_discard_zeroes(dev, b, c, type);
		break;
	case VBLK_T_ZONE_APPEND:
	case VBLK_T_ZONE_REPORT:
	case VBLK_T_ZONE_OPEN:
	case VBLK_T_ZONE_CLOSE:
	case VBLK_T_ZONE_FINISH:
	case VBLK_T_ZONE_RESET:
	case VBLK_T_ZONE_RESET_ALL:
		st = vdev_has(dev, VBLK_F_ZONED) && b->zones
		             ? blk_zoned_request(b, c, type, sector, &data)
		             : VBLK_S_UNSUPP;
		break;
	default: st = VBLK_S_UNSUPP; break;
	}
	blk_complete(c, (uint8_t)st, data, written);
	return 0;
}

static int blk_queue(struct vstd_virtio_dev *dev, unsigned q)
{
	return vdev_process(dev, q, blk_chain);
}

static void blk_config_write(struct vstd_virtio_dev *dev, unsigned off, const uint8_t *data,
                             unsigned len)
{
	/* Only `writeback` (offset 32) is writable, with CONFIG_WCE. */
	if (off == 32 && len == 1 && vdev_has(dev, VBLK_F_CONFIG_WCE))
		dev->cfg[32] = data[0] ? 1 : 0;
}

static void blk_reset(struct vstd_virtio_dev *dev)
{
	dev->cfg[32] = 1; /* writeback, as QEMU's cache=writeback default */
}

static void blk_free(struct vstd_virtio_dev *dev)
{
	struct blk *b = dev->priv;
	if (b) {
		pthread_mutex_destroy(&b->disk_lock);
		vstd_free(b->zones);
		vstd_free(b);
	}
}

static const struct vdev_ops blk_ops = {
        .name = "blk",
        .type = VSTD_VIRTIO_BLK,
        .queue = blk_queue,
        .config_write = blk_config_write,
        .reset = blk_reset,
        .free = blk_free,
};

int vstd_virtio_blk_new(vstd_virtio_dev **out, vstd_guestmem *gm, vstd_disk *disk,
                        const vstd_virtio_blk_opts *opts)
{
	vstd_virtio_blk_opts o = VSTD_VIRTIO_BLK_OPTS_INIT;
	struct vstd_virtio_dev *dev;
	struct blk *b;
	uint64_t features = vstd_virtio_default_features(VSTD_VIRTIO_BLK);
	uint64_t cyl;
	uint8_t *cfg;
	int rc;
	if (out == NULL || disk == NULL)
		return vstd_err(VSTD_EINVAL, "virtio-blk: NULL argument");
	if (opts != NULL) {
		if (opts->version == 1) /* before secure_erase and the zoned fields */
			memcpy(&o, opts, offsetof(vstd_virtio_blk_opts, secure_erase));
		else if (opts->version == VSTD_VIRTIO_BLK_OPTS_VERSION)
			o = *opts;
		else
			return vstd_err(VSTD_EINVAL, "virtio-blk: unknown options version %u",
			                opts->version);
	}
	if (o.num_queues == 0)
		o.num_queues = 1;
	if (o.blk_size == 0)
		o.blk_size = 512;
	if (o.blk_size < 512 || o.blk_size > 65536 || !vstd_is_pow2(o.blk_size) ||
	    o.num_queues > 256)
		return vstd_err(VSTD_EINVAL,
		                "virtio-blk: block size %u or queue count %u not allowed",
		                o.blk_size, o.num_queues);
	if (!o.read_only && !vstd_disk_is_writable(disk))
		o.read_only = 1;
	if (o.num_queues > 1)
		features |= VSTD_VIRTIO_BIT(VBLK_F_MQ);
	if (o.read_only)
		features |= VSTD_VIRTIO_BIT(VBLK_F_RO);
	if (o.zone_sectors && (o.read_only || o.secure_erase))
		return vstd_err(
		        VSTD_EINVAL,
		        "virtio-blk: a zoned device is neither read-only nor secure-erasable "
		        "here");
	if (o.secure_erase)
		features |= VSTD_VIRTIO_BIT(VBLK_F_SECURE_ERASE);
	if (o.zone_sectors) {
		/* Host-managed: writes go through the write pointers, so no
		 * DISCARD / WRITE_ZEROES behind their back. */
		features |= VSTD_VIRTIO_BIT(VBLK_F_ZONED);
		features &=
		        ~(VSTD_VIRTIO_BIT(VBLK_F_DISCARD) | VSTD_VIRTIO_BIT(VBLK_F_WRITE_ZEROES));
	}
	b = vstd_calloc(1, sizeof(*b));
	if (b == NULL)
		return VSTD_ENOMEM;
	b->disk = disk;
	b->capacity = vstd_disk_size(disk) / 512;
	b->blk_size = o.blk_size;
	b->read_only = o.read_only;
	b->secure_erase = o.secure_erase != 0;
	snprintf(b->serial, sizeof(b->serial), "%s", o.serial ? o.serial : "");
	if (o.zone_sectors) {
		b->zone_sectors = o.zone_sectors;
		b->nconv = o.conventional_zones;
		b->max_open = o.max_open_zones;
		b->max_active = o.max_active_zones;
		if ((rc = blk_zoned_init(b)) < 0) {
			vstd_free(b->zones);
			vstd_free(b);
			return rc;
		}
	}
	pthread_mutex_init(&b->disk_lock, NULL);
	rc = vdev_new(&dev, &blk_ops, gm, o.num_queues, BLK_QUEUE_SIZE, features, &o.common);
	if (rc < 0) {
		pthread_mutex_destroy(&b->disk_lock);
		vstd_free(b->zones);
		vstd_free(b);
		return rc;
	}
	dev->priv = b;
	/* Configuration layout (5.2.4), filled as QEMU fills it. */
	cfg = dev->cfg;
	dev->cfg_len = BLK_CFG_LEN;
	vstd_put_le64(cfg + 0, b->capacity);
	vstd_put_le32(cfg + 8, 0);                                 /* size_max: not offered */
	vstd_put_le32(cfg + 12, (uint32_t)dev->vq[0].num_max - 2); /* seg_max */
	cyl = b->capacity / (16 * 63);
	if (cyl > 16383)
		cyl = 16383;
	if (cyl < 2)
		cyl = 2;
	vstd_put_le16(cfg + 16, (uint16_t)cyl);
	cfg[18] = 16;
	cfg[19] = 63;
	vstd_put_le32(cfg + 20, b->blk_size);
	cfg[24] = o.physical_block_exp;
	cfg[25] = 0; /* alignment_offset */
	vstd_put_le16(cfg + 26, o.min_io_size);
	vstd_put_le32(cfg + 28, o.opt_io_size);
	cfg[32] = 1; /* writeback */
	vstd_put_le16(cfg + 34, o.num_queues);
	vstd_put_le32(cfg + 36, BLK_MAX_SECTORS);   /* max_discard_sectors */
	vstd_put_le32(cfg + 40, 1);                 /* max_discard_seg */
	vstd_put_le32(cfg + 44, b->blk_size / 512); /* discard_sector_alignment */
	vstd_put_le32(cfg + 48, BLK_MAX_SECTORS);   /* max_write_zeroes_sectors */
	vstd_put_le32(cfg + 52, 1);                 /* max_write_zeroes_seg */
	cfg[56] = 1;                                /* write_zeroes_may_unmap */
	if (b->secure_erase) {
		dev->cfg_len = BLK_CFG_LEN_SECURE;
		vstd_put_le32(cfg + 60, BLK_MAX_SECTORS);   /* max_secure_erase_sectors */
		vstd_put_le32(cfg + 64, 1);                 /* max_secure_erase_seg */
		vstd_put_le32(cfg + 68, b->blk_size / 512); /* secure_erase_sector_alignment */
	}
	if (b->zones) {
		dev->cfg_len = BLK_CFG_LEN_ZONED;
		vstd_put_le32(cfg + 72, b->zone_sectors);
		vstd_put_le32(cfg + 76, b->max_open);
		vstd_put_le32(cfg + 80, b->max_active);
		vstd_put_le32(cfg + 84, b->zone_sectors); /* max_append_sectors */
		vstd_put_le32(cfg + 88, b->blk_size);     /* write_granularity */
		cfg[92] = 1;                              /* model: host-managed */
	}
	*out = dev;
	return 0;
}
