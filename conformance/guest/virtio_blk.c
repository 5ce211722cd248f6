/*
 * conformance/guest/virtio_blk.c - the guest's side of virtio-blk over
 * virtio-pci, through the project's driver-side library (lib/paravirt/
 * driver: capability walk, feature negotiation, split rings): for each
 * virtio-blk function, read the whole disk (up to 256 MiB) and report its
 * size and FNV-1a 64 checksum, then write a marker to the last sector and
 * read it back.  Polled: the guest runs with interrupts off.
 */
#include "guest.h"
#include "paravirt/driver/vdrv.h"

static uint64_t cfg_read(unsigned dev, unsigned off, unsigned size)
{
	outl(0xcf8, 0x80000000u | dev << 11 | (off & 0xfc));
	switch (size) {
	case 1: return inb((uint16_t)(0xcfc + (off & 3)));
	case 2: return inw((uint16_t)(0xcfc + (off & 2)));
	default: return inl(0xcfc);
	}
}

static void cfg_write(unsigned dev, unsigned off, uint64_t v, unsigned size)
{
	outl(0xcf8, 0x80000000u | dev << 11 | (off & 0xfc));
	switch (size) {
	case 1: outb((uint16_t)(0xcfc + (off & 3)), (uint8_t)v); break;
	case 2: outw((uint16_t)(0xcfc + (off & 2)), (uint16_t)v); break;
	default: outl(0xcfc, (uint32_t)v); break;
	}
}

uint64_t blk_bus_read(void *ctx, int space, uint64_t off, unsigned size)
{
	struct blk_fn *f = ctx;
	if (space == VDRV_SPACE_PCICFG)
		return cfg_read(f->dev, (unsigned)off, size);
	if (space < 0 || space > 5 || !f->bar[space])
		return ~0ULL;
	uintptr_t a = (uintptr_t)(f->bar[space] + off);
	switch (size) {
	case 1: return *(volatile uint8_t *)a;
	case 2: return *(volatile uint16_t *)a;
	case 4: return *(volatile uint32_t *)a;
	default: return *(volatile uint32_t *)a | (uint64_t) * (volatile uint32_t *)(a + 4) << 32;
	}
}

void blk_bus_write(void *ctx, int space, uint64_t off, uint64_t v, unsigned size)
{
	struct blk_fn *f = ctx;
	if (space == VDRV_SPACE_PCICFG) {
		cfg_write(f->dev, (unsigned)off, v, size);
		return;
	}
	if (space < 0 || space > 5 || !f->bar[space])
		return;
	uintptr_t a = (uintptr_t)(f->bar[space] + off);
	switch (size) {
	case 1: *(volatile uint8_t *)a = (uint8_t)v; break;
	case 2: *(volatile uint16_t *)a = (uint16_t)v; break;
	case 4: *(volatile uint32_t *)a = (uint32_t)v; break;
	default:
		*(volatile uint32_t *)a = (uint32_t)v;
		*(volatile uint32_t *)(a + 4) = (uint32_t)(v >> 32);
	}
}

/* guest memory for rings and buffers: 1 MiB at 16 MiB, identity-mapped
 * (gpa == pointer), outside the image so nothing zeroes it at start */
#define ARENA_BASE 0x1000000ULL
#define ARENA_SIZE 0x100000ULL
static size_t arena_used;

static void *arena_alloc(void *ctx, size_t size, size_t align, uint64_t *gpa)
{
	(void)ctx;
	if (align < 16)
		align = 16;
	size_t at = (arena_used + align - 1) & ~(align - 1);
	uint8_t *arena = (uint8_t *)(uintptr_t)ARENA_BASE;
	if (at + size > ARENA_SIZE)
		return 0;
	arena_used = at + size;
	memset(arena + at, 0, size);
	*gpa = ARENA_BASE + at;
	return arena + at;
}

/* Assign BARs the firmware left at 0 (QEMU's BIOS assigns them; our vmm
 * too), then enable memory decoding and bus mastering. */
static uint64_t next_bar = 0xd8000000ULL;

void blk_setup_bars(struct blk_fn *f)
{
	for (unsigned b = 0; b < 6; b++) {
		unsigned off = 0x10 + 4 * b;
		uint32_t v = (uint32_t)cfg_read(f->dev, off, 4);
		if (v & 1)
			continue; /* I/O */
		int is64 = ((v >> 1) & 3) == 2;
		uint64_t addr = v & ~0xfULL;
		if (is64)
			addr |= cfg_read(f->dev, off + 4, 4) << 32;
		if (addr == 0) {
			cfg_write(f->dev, off, 0xffffffff, 4);
			uint32_t m = (uint32_t)cfg_read(f->dev, off, 4) & ~0xfu;
			if (m) {
				uint64_t sz = (uint64_t)(~m) + 1;
				addr = (next_bar + sz - 1) & ~(sz - 1);
				next_bar = addr + sz;
			}
			cfg_write(f->dev, off, (uint32_t)addr, 4);
			if (is64)
				cfg_write(f->dev, off + 4, 0, 4);
		}
		f->bar[b] = addr;
		if (is64)
			b++;
	}
	cfg_write(f->dev, 0x04, cfg_read(f->dev, 0x04, 2) | 0x6, 2);
}

struct blk_req {
	uint32_t type, reserved;
	uint64_t sector;
};

static struct vdrv_dev vd;
static struct vdrv_vq vq;
static struct blk_req *req;
static uint8_t *status;
static uint8_t *buf;
#define BUF_SIZE 65536

static int do_io(uint32_t type, uint64_t sector, uint32_t len)
{
	struct vdrv_sg out[2], in[2];
	req->type = type;
	req->reserved = 0;
	req->sector = sector;
	*status = 0xff;
	out[0].gpa = (uint64_t)(uintptr_t)req;
	out[0].len = sizeof(*req);
	unsigned nout = 1, nin = 0;
	if (type == 1) {
		out[1].gpa = (uint64_t)(uintptr_t)buf;
		out[1].len = len;
		nout = 2;
	} else {
		in[nin].gpa = (uint64_t)(uintptr_t)buf;
		in[nin++].len = len;
	}
	in[nin].gpa = (uint64_t)(uintptr_t)status;
	in[nin++].len = 1;
	if (vdrv_vq_add(&vq, out, nout, in, nin, req) < 0)
		return -1;
	vdrv_vq_kick(&vq);
	for (unsigned long spin = 0; spin < 2000000000UL; spin++) {
		uint32_t ulen;
		if (vdrv_vq_get(&vq, &ulen))
			return *status == 0 ? 0 : -2;
		__asm__ volatile("pause");
	}
	return -3;
}

static void blk_one(unsigned idx, unsigned dev)
{
	struct blk_fn f;
	memset(&f, 0, sizeof(f));
	f.dev = dev;
	blk_setup_bars(&f);
	struct vdrv_bus bus = {blk_bus_read, blk_bus_write, &f};
	struct vdrv_mem mem = {arena_alloc, 0};
	char key[48];
	memcpy(key, "disk.", 5);
	key[5] = (char)('0' + idx);
	key[6] = '.';
#define KEY(s) (memcpy(key + 7, s, sizeof(s)), key)
	if (vdrv_probe(&vd, VDRV_PCI, &bus) < 0) {
		report_str('R', KEY("handshake"), "probe-failed");
		return;
	}
	if (vdrv_negotiate(&vd, 1ULL << VDRV_F_VERSION_1 | 1ULL << 5 /* RO */) < 0) {
		report_str('R', KEY("handshake"), "features-failed");
		return;
	}
	uint16_t qmax = vdrv_queue_max(&vd, 0);
	if (vdrv_vq_init(&vq, &vd, &mem, 0, qmax < 16 ? qmax : 16, 0xffff) < 0) {
		report_str('R', KEY("handshake"), "queue-failed");
		return;
	}
	vdrv_set_status(&vd, vdrv_status(&vd) | VDRV_S_DRIVER_OK);
	report_str('R', KEY("handshake"), "ok");
	uint64_t sectors = vdrv_config_read(&vd, 0, 8);
	report_dec('R', KEY("sectors"), sectors);
	report_dec('I', KEY("cfg_capacity_lo32"), vdrv_config_read(&vd, 0, 4));
	report_dec('I', KEY("cfg_num_queues16"), vdrv_config_read(&vd, 34, 2));
	report_hex('I', KEY("features"), vd.features, 16);
	report_hex('I', KEY("device_features"), vdrv_device_features(&vd), 16);
	uint64_t tmp;
	req = arena_alloc(0, sizeof(*req), 16, &tmp);
	status = arena_alloc(0, 16, 16, &tmp);
	buf = arena_alloc(0, BUF_SIZE, 4096, &tmp);
	if (!req || !status || !buf) {
		report_str('R', KEY("read"), "no-memory");
		return;
	}
	uint64_t h = 0xcbf29ce484222325ULL, limit = sectors;
	if (limit > (256ULL << 20) / 512)
		limit = (256ULL << 20) / 512;
	for (uint64_t s = 0; s < limit;) {
		uint32_t n = limit - s > BUF_SIZE / 512 ? BUF_SIZE / 512 : (uint32_t)(limit - s);
		int rc = do_io(0, s, n * 512);
		if (rc < 0) {
			report_dec('R', KEY("read_error_sector"), s);
			return;
		}
		for (uint32_t i = 0; i < n * 512; i++) {
			h ^= buf[i];
			h *= 0x100000001b3ULL;
		}
		s += n;
	}
	report_dec('R', KEY("read_sectors"), limit);
	report_hex('R', KEY("fnv1a64"), h, 16);
	if (sectors == 0)
		return;
	if (vd.features & (1ULL << 5)) {
		report_str('R', KEY("marker"), "read-only");
		return;
	}
	static const char marker[] = "VSTD-CONFORM-MARKER";
	memset(buf, 0, 512);
	memcpy(buf, marker, sizeof(marker));
	int w = do_io(1, sectors - 1, 512);
	memset(buf, 0, 512);
	int r = do_io(0, sectors - 1, 512);
	report_str('R', KEY("marker"),
	           w == 0 && r == 0 && memcmp(buf, marker, sizeof(marker)) == 0 ? "ok" : "failed");
#undef KEY
}

void virtio_blk_probe(void)
{
	unsigned n = 0;
	for (unsigned dev = 0; dev < 32 && n < 8; dev++) {
		uint32_t id = (uint32_t)cfg_read(dev, 0, 4);
		if ((id & 0xffff) != 0x1af4)
			continue;
		unsigned did = id >> 16;
		if (did != 0x1042 && did != 0x1001)
			continue;
		blk_one(n++, dev);
	}
	report_dec('R', "disk.count", n);
}
