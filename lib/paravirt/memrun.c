/*
 * paravirt/memrun.c - drive a device from a byte string, as a VMM would:
 * register writes to a virtio-mmio window set the queue up, the rest of
 * the input is guest memory (rings and buffers), then the queue is
 * notified.  Input:
 *   [0] queue size: 1 << (v % 9) (1..256)
 *   [1] feature bits: 1 INDIRECT_DESC, 2 EVENT_IDX, 4 IN_ORDER;
 *       8: blk zoned / net with 2 queue pairs (MQ); 16: blk secure erase /
 *       net device features (CTRL_VQ, offloads...) negotiated and the odd
 *       rounds notify the control queue; 32: NOTIFICATION_DATA negotiated,
 *       the notification carries data from the input
 *   [2] device: % 4 -> blk, net (loopback), rng, console
 *   [3] rounds: 1 + v % 4 notifications; between rounds a 16-bit value
 *       from the end of the input is written at an input-chosen ring offset
 *   [4...] guest memory image at MEMRUN_GPA (64 KiB, zero-padded):
 *       descriptor area at +0, driver area at +0x1000, device area at +0x2000.
 */
#include <stdlib.h>
#include <string.h>

#include "core/bytes.h"
#include "paravirt/memrun.h"
#include "vstd/vstd.h"
#include "vstd/virtio.h"

static void w32(vstd_virtio_mmio *m, uint64_t off, uint32_t v)
{
	uint8_t b[4];
	vstd_put_le32(b, v);
	(void)vstd_virtio_mmio_write(m, off, b, 4);
}

static void no_irq(void *opaque, unsigned vector)
{
	(void)opaque;
	(void)vector;
}

int memrun(const uint8_t *data, size_t size, int packed)
{
	vstd_guestmem *gm = NULL;
	vstd_virtio_dev *dev = NULL;
	vstd_virtio_mmio *m = NULL;
	vstd_io *io = NULL;
	vstd_disk *disk = NULL;
	vstd_virtio_host host = {VSTD_VIRTIO_HOST_VERSION, no_irq, NULL};
	vstd_virtio_opts o = VSTD_VIRTIO_OPTS_INIT;
	uint8_t *mem;
	uint32_t f0, f1, num;
	unsigned rounds, type;
	if (size < MEMRUN_HEADER)
		return 0;
	mem = calloc(1, MEMRUN_SIZE);
	if (mem == NULL)
		return 0;
	memcpy(mem, data + MEMRUN_HEADER,
	       size - MEMRUN_HEADER < MEMRUN_SIZE ? size - MEMRUN_HEADER : MEMRUN_SIZE);
	num = 1u << (data[0] % 9);
	rounds = 1 + data[3] % 4;
	type = data[2] % 4;
	o.features_on = VSTD_VIRTIO_BIT(VSTD_VIRTIO_F_RING_PACKED) |
	                VSTD_VIRTIO_BIT(VSTD_VIRTIO_F_IN_ORDER) |
	                VSTD_VIRTIO_BIT(VSTD_VIRTIO_F_NOTIFICATION_DATA);
	if (vstd_guestmem_new(&gm) < 0 ||
	    vstd_guestmem_add(gm, MEMRUN_GPA, mem, MEMRUN_SIZE, 0) < 0)
		goto out;
	if (type == 0) {
		vstd_disk_open_opts dopts = VSTD_DISK_OPEN_OPTS_INIT;
		vstd_virtio_blk_opts bo = VSTD_VIRTIO_BLK_OPTS_INIT;
		dopts.format = "raw";
		dopts.flags = VSTD_DISK_RDWR;
		bo.common = o;
		if (data[1] & 8) { /* 8 zones of 16 sectors, zone 0 conventional */
			bo.zone_sectors = 16;
			bo.conventional_zones = 1;
			bo.max_open_zones = 2;
			bo.max_active_zones = 3;
		} else if (data[1] & 16) {
			bo.secure_erase = 1;
		}
		if (vstd_io_mem_new(&io, NULL, 0, 1 << 20, VSTD_IO_WRITE) < 0 ||
		    vstd_io_truncate(io, 65536) < 0 ||
		    vstd_disk_open_io(&disk, io, "fuzzdisk", &dopts) < 0 ||
		    vstd_virtio_blk_new(&dev, gm, disk, &bo) < 0)
			goto out;
	} else if (type == 1) {
		vstd_virtio_net_opts no = VSTD_VIRTIO_NET_OPTS_INIT;
		no.common = o;
		no.max_queue_pairs = data[1] & 8 ? 2 : 1;
		if (vstd_virtio_net_new(&dev, gm, &no) < 0)
			goto out;
	} else if (type == 2) {
		if (vstd_virtio_rng_new(&dev, gm, &o) < 0)
			goto out;
	} else {
		vstd_virtio_console_opts co = VSTD_VIRTIO_CONSOLE_OPTS_INIT;
		co.common = o;
		co.max_nr_ports = 2;
		if (vstd_virtio_console_new(&dev, gm, &co) < 0)
			goto out;
	}
	if (vstd_virtio_mmio_new(&m, dev, &host) < 0)
		goto out;
	f0 = (data[1] & 1 ? 1u << 28 : 0) | (data[1] & 2 ? 1u << 29 : 0);
	f1 = 1u | (packed ? 1u << 2 : 0) | (data[1] & 4 ? 1u << 3 : 0) |
	     (data[1] & 32 ? 1u << (VSTD_VIRTIO_F_NOTIFICATION_DATA - 32) : 0);
	/* Device-specific features: the device's whole offer (the device
	 * refuses FEATURES_OK for a set breaking its rules, fine too). */
	if ((type == 0 && (data[1] & 24)) || (type == 1 && (data[1] & 16)))
		f0 |= (uint32_t)vstd_virtio_dev_features(dev, 0) & 0xffffffu;
	w32(m, 0x070, 1);
	w32(m, 0x070, 3);
	w32(m, 0x024, 0);
	w32(m, 0x020, f0);
	w32(m, 0x024, 1);
	w32(m, 0x020, f1);
	w32(m, 0x070, 0xb);
	/* Every queue of the device gets the same rings: queue 0 is the one
	 * notified, but sharing them also feeds rx/control paths. */
	w32(m, 0x030, 0);
	w32(m, 0x038, num);
	w32(m, 0x080, MEMRUN_GPA);
	w32(m, 0x084, 0);
	w32(m, 0x090, MEMRUN_GPA + MEMRUN_DRIVER_OFF);
	w32(m, 0x094, 0);
	w32(m, 0x0a0, MEMRUN_GPA + MEMRUN_DEVICE_OFF);
	w32(m, 0x0a4, 0);
	w32(m, 0x044, 1);
	w32(m, 0x070, 0xf);
	for (unsigned r = 0; r < rounds; r++) {
		/* net: tx (or the control queue) on odd rounds */
		unsigned q = (type == 1 && (r & 1)) ? 1 : 0;
		if (q && (data[1] & 16))
			q = (vstd_virtio_dev_features(dev, 1) >> 22) & 1 ? 4 : 2;
		if (q) {
			w32(m, 0x030, q);
			w32(m, 0x038, num);
			w32(m, 0x080, MEMRUN_GPA);
			w32(m, 0x090, MEMRUN_GPA + MEMRUN_DRIVER_OFF);
			w32(m, 0x0a0, MEMRUN_GPA + MEMRUN_DEVICE_OFF);
			w32(m, 0x044, 1);
		}
		if (data[1] & 32) /* {vqn, next_off, next_wrap} from the input */
			w32(m, 0x050,
			    q | (uint32_t)(size > MEMRUN_HEADER + 6 ? vstd_le16(data + size - 6)
			                                            : 0)
			                    << 16);
		else
			w32(m, 0x050, q);
		if (type == 1) {
			static const uint8_t frame[60] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
			(void)vstd_virtio_net_receive(dev, NULL, frame, sizeof(frame));
		} else if (type == 3) {
			(void)vstd_virtio_console_input(dev, 0, "fuzz", 4);
		}
		if (size >= MEMRUN_HEADER + 4 && r + 1 < rounds) {
			/* Change a ring word between notifications. */
			const uint8_t *t = data + size - 4;
			uint32_t off = (uint32_t)vstd_le16(t) % (MEMRUN_DEVICE_OFF + 0x1000 - 1);
			mem[off] = t[2];
			mem[off + 1] = t[3];
		}
	}
out:
	vstd_virtio_mmio_free(m);
	vstd_virtio_dev_free(dev);
	vstd_disk_close(disk);
	vstd_io_close(io);
	vstd_guestmem_free(gm);
	free(mem);
	return 0;
}
