/*
 * bench/virtio/bench_virtio.c - vstd-bench-virtio: the cost of the VIRTIO
 * device path, in process (no VMM, no vCPU exits: register accesses are
 * function calls, so this measures rings + device + backend).
 *
 *  - virtio-blk: 4 KiB reads from a memory-backed raw disk at queue depth
 *    1 and 64;
 *  - virtio-net: 1514-byte frames through the loopback backend (tx, device
 *    copy, rx);
 * each with split and packed rings, EVENT_IDX on and off.  Reported: ns per
 * request (min and median of the repeats) next to a bare memcpy of the
 * same bytes (the physical limit), and their ratio.
 *
 * Usage: vstd-bench-virtio [--repeats N] [--requests N]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/bytes.h"
#include "paravirt/exercise.h"
#include "vstd/vstd.h"

#define MAXREP 51

static double now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static volatile uint8_t sink;

/* ns per memcpy of `bytes` (a fresh destination each round, warm source). */
static double memcpy_ns(size_t bytes, unsigned n)
{
	uint8_t *src = malloc(bytes), *dst = malloc(bytes * 64);
	double t;
	memset(src, 1, bytes);
	memset(dst, 0, bytes * 64);
	t = now_ns();
	for (unsigned i = 0; i < n; i++) {
		memcpy(dst + bytes * (i % 64), src, bytes);
		sink = dst[bytes * (i % 64)];
	}
	t = (now_ns() - t) / n;
	free(src);
	free(dst);
	return t;
}

struct req {
	uint8_t *hdr, *status, *data;
	uint64_t hdr_gpa, status_gpa, data_gpa;
};

static double run_blk(int packed, int event_idx, unsigned depth, unsigned nreq)
{
	struct loopvm vm;
	vstd_io *io;
	vstd_disk *disk;
	vstd_virtio_dev *dev;
	vstd_disk_open_opts o = VSTD_DISK_OPEN_OPTS_INIT;
	vstd_virtio_blk_opts bo = VSTD_VIRTIO_BLK_OPTS_INIT;
	struct vx_cfg c = {0};
	struct vdrv_vq vq;
	struct req r[64];
	char msg[256];
	double t;
	if (loopvm_init(&vm, 32 << 20, 1) < 0 ||
	    vstd_io_mem_new(&io, NULL, 0, 0, VSTD_IO_WRITE) < 0 ||
	    vstd_io_truncate(io, 64 << 20) < 0)
		return -1;
	o.format = "raw";
	o.flags = VSTD_DISK_RDWR;
	bo.common.features_on = VSTD_VIRTIO_BIT(VSTD_VIRTIO_F_RING_PACKED);
	if (vstd_disk_open_io(&disk, io, "mem", &o) < 0 ||
	    vstd_virtio_blk_new(&dev, vm.gm, disk, &bo) < 0 || loopvm_attach(&vm, dev, 1) < 0)
		return -1;
	c.transport = 1;
	c.packed = packed;
	c.event_idx = event_idx;
	c.indirect = 1;
	if (vx_start(&vm, &c, &vq, 1, msg, sizeof(msg)) < 0) {
		fprintf(stderr, "%s\n", msg);
		return -1;
	}
	for (unsigned i = 0; i < depth; i++) {
		r[i].hdr = loopvm_alloc(&vm, 16, 16, &r[i].hdr_gpa);
		r[i].status = loopvm_alloc(&vm, 1, 1, &r[i].status_gpa);
		r[i].data = loopvm_alloc(&vm, 4096, 4096, &r[i].data_gpa);
	}
	t = now_ns();
	for (unsigned done = 0; done < nreq; done += depth) {
		for (unsigned i = 0; i < depth; i++) {
			struct vdrv_sg out = {r[i].hdr_gpa, 16};
			struct vdrv_sg in[2] = {{r[i].data_gpa, 4096}, {r[i].status_gpa, 1}};
			vstd_put_le32(r[i].hdr, 0);
			vstd_put_le64(r[i].hdr + 8, ((done + i) * 8) % ((64 << 20) / 512 - 8));
			vdrv_vq_add(&vq, &out, 1, in, 2, &r[i]);
		}
		vdrv_vq_kick(&vq);
		for (unsigned i = 0; i < depth; i++) {
			uint32_t l;
			struct req *q = vx_wait(&vq, &l);
			if (q == NULL || *q->status != 0)
				return -1;
		}
	}
	t = (now_ns() - t) / nreq;
	loopvm_fini(&vm);
	vstd_disk_close(disk);
	vstd_io_close(io);
	return t;
}

static double run_net(int packed, int event_idx, unsigned npkt)
{
	struct loopvm vm;
	vstd_virtio_dev *dev;
	vstd_virtio_net_opts no = VSTD_VIRTIO_NET_OPTS_INIT;
	struct vx_cfg c = {0};
	struct vdrv_vq q[3];
	uint8_t *rx[32], *pkt;
	uint64_t rx_gpa[32], pkt_gpa;
	char msg[256];
	double t;
	if (loopvm_init(&vm, 16 << 20, 1) < 0)
		return -1;
	no.common.features_on = VSTD_VIRTIO_BIT(VSTD_VIRTIO_F_RING_PACKED);
	if (vstd_virtio_net_new(&dev, vm.gm, &no) < 0 || loopvm_attach(&vm, dev, 1) < 0)
		return -1;
	c.transport = 1;
	c.packed = packed;
	c.event_idx = event_idx;
	if (vx_start(&vm, &c, q, 3, msg, sizeof(msg)) < 0) {
		fprintf(stderr, "%s\n", msg);
		return -1;
	}
	for (unsigned i = 0; i < 32; i++) {
		struct vdrv_sg sg;
		rx[i] = loopvm_alloc(&vm, 1526 + 12, 64, &rx_gpa[i]);
		sg = (struct vdrv_sg){rx_gpa[i], 1526 + 12};
		vdrv_vq_add(&q[0], NULL, 0, &sg, 1, rx[i]);
	}
	vdrv_vq_kick(&q[0]);
	pkt = loopvm_alloc(&vm, 12 + 1514, 64, &pkt_gpa);
	memset(pkt + 12, 0xff, 6);
	t = now_ns();
	for (unsigned i = 0; i < npkt; i++) {
		struct vdrv_sg sg = {pkt_gpa, 12 + 1514};
		uint32_t l;
		uint8_t *b;
		vdrv_vq_add(&q[1], &sg, 1, NULL, 0, pkt);
		vdrv_vq_kick(&q[1]);
		if (vx_wait(&q[1], &l) != pkt)
			return -1;
		b = vdrv_vq_get(&q[0], &l);
		if (b == NULL)
			return -1;
		sg = (struct vdrv_sg){loopvm_gpa(&vm, b), 1526 + 12};
		vdrv_vq_add(&q[0], NULL, 0, &sg, 1, b);
		vdrv_vq_kick(&q[0]);
	}
	t = (now_ns() - t) / npkt;
	loopvm_fini(&vm);
	return t;
}

static void report(const char *what, double *v, unsigned n, double base)
{
	double min, med;
	qsort(v, n, sizeof(double), cmp_d);
	min = v[0];
	med = v[n / 2];
	printf("%-34s min %8.0f ns  median %8.0f ns  (%7.0f req/s)  ratio to memcpy %5.1fx (median "
	       "%5.1fx)\n",
	       what, min, med, 1e9 / med, min / base, med / base);
}

int main(int argc, char **argv)
{
	unsigned repeats = 7, nreq = 20000;
	double v[MAXREP], mc4k, mc1514;
	for (int i = 1; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--repeats") == 0)
			repeats = (unsigned)atoi(argv[i + 1]);
		else if (strcmp(argv[i], "--requests") == 0)
			nreq = (unsigned)atoi(argv[i + 1]);
	}
	if (repeats < 1 || repeats > MAXREP || nreq < 64) {
		fprintf(stderr, "usage: vstd-bench-virtio [--repeats 1-%d] [--requests >=64]\n",
		        MAXREP);
		return 2;
	}
	nreq -= nreq % 64;
	for (unsigned i = 0; i < repeats; i++)
		v[i] = memcpy_ns(4096, 200000);
	qsort(v, repeats, sizeof(double), cmp_d);
	mc4k = v[repeats / 2];
	for (unsigned i = 0; i < repeats; i++)
		v[i] = memcpy_ns(1514, 200000);
	qsort(v, repeats, sizeof(double), cmp_d);
	mc1514 = v[repeats / 2];
	printf("vstd-bench-virtio: %u repeats, %u requests each; in-process (no VMM exits)\n",
	       repeats, nreq);
	printf("memcpy 4096 bytes: %.0f ns   memcpy 1514 bytes: %.0f ns   (median)\n\n", mc4k,
	       mc1514);
	for (int packed = 0; packed < 2; packed++)
		for (int ev = 0; ev < 2; ev++)
			for (unsigned depth = 1; depth <= 64; depth *= 64) {
				char name[80];
				for (unsigned i = 0; i < repeats; i++)
					if ((v[i] = run_blk(packed, ev, depth, nreq)) < 0) {
						fprintf(stderr, "blk run failed\n");
						return 1;
					}
				snprintf(name, sizeof(name), "blk 4K read %s evidx=%d qd=%u",
				         packed ? "packed" : "split ", ev, depth);
				report(name, v, repeats, mc4k);
			}
	printf("\n");
	for (int packed = 0; packed < 2; packed++)
		for (int ev = 0; ev < 2; ev++) {
			char name[80];
			for (unsigned i = 0; i < repeats; i++)
				if ((v[i] = run_net(packed, ev, nreq)) < 0) {
					fprintf(stderr, "net run failed\n");
					return 1;
				}
			snprintf(name, sizeof(name), "net 1514B loopback %s evidx=%d",
			         packed ? "packed" : "split ", ev);
			report(name, v, repeats, mc1514);
		}
	return 0;
}
