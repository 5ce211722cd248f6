/*
 * paravirt/exercise.h - scenarios that drive a device end to end with the
 * driver-side library on a loopvm; shared by the tests, the self-test and
 * the benchmark.  Each returns 0 or -1 with a message in msg.
 */
#ifndef VSTD_PARAVIRT_EXERCISE_H
#define VSTD_PARAVIRT_EXERCISE_H

#include <stddef.h>
#include <stdint.h>

#include "paravirt/loopvm.h"

struct vx_cfg {
	int transport;     /* 0 mmio, 1 pci, 2 transitional pci (modern driver) */
	int packed;        /* negotiate RING_PACKED */
	int event_idx;     /* negotiate EVENT_IDX */
	int indirect;      /* negotiate INDIRECT_DESC */
	int in_order;      /* negotiate IN_ORDER */
	int msix;          /* pci: enable MSI-X and give queues vectors */
	unsigned requests; /* extra read requests (index wrap: > 65535) */
	unsigned depth;    /* requests in flight per kick */
	uint16_t qsize;    /* 0: device maximum */
	unsigned flags;    /* VX_* */
};

#define VX_NO_MRG 1      /* net: do not negotiate MRG_RXBUF */
#define VX_SINGLE_PORT 2 /* console: one port, no MULTIPORT */
#define VX_NOTIF_DATA 4  /* negotiate NOTIFICATION_DATA (the devices offer it) */

/* Features to ask for, from the configuration. */
uint64_t vx_features(const struct vx_cfg *c);
/* Negotiate and set up queues 0..nq-1 of an attached loopvm. */
int vx_start(struct loopvm *vm, const struct vx_cfg *c, struct vdrv_vq *vqs, unsigned nq, char *msg,
             size_t len);
/* Kick, then wait (bounded) for one used buffer; its token or NULL. */
void *vx_wait(struct vdrv_vq *vq, uint32_t *len);

int vx_blk(const struct vx_cfg *c, char *msg, size_t len);
int vx_rng(const struct vx_cfg *c, char *msg, size_t len);
int vx_net(const struct vx_cfg *c, char *msg, size_t len);
int vx_console(const struct vx_cfg *c, char *msg, size_t len);

/* A loopback virtio-net device driven by the driver library, with every
 * queue pair set up, for the multiqueue / control-queue / header tests. */
#define VX_NET_MAXQ 9
struct vx_net {
	struct loopvm vm;
	vstd_virtio_dev *dev;
	struct vdrv_vq q[VX_NET_MAXQ];
	unsigned nq, ctrl; /* queues set up; index of the control queue */
	uint8_t *tx, *cmd, *ack;
	uint64_t tx_gpa, cmd_gpa, ack_gpa;
};
/* max_pairs <= 4; features_off: taken from the device's offer (device side)
 * and drop: not accepted by the driver. */
int vx_net_open(struct vx_net *t, const struct vx_cfg *c, uint16_t max_pairs, uint64_t features_off,
                uint64_t drop, char *msg, size_t len);
void vx_net_close(struct vx_net *t);
/* A control command: the ack byte, or -1 when the chain did not come back
 * with exactly one byte written. */
int vx_net_ctrl(struct vx_net *t, uint8_t cls, uint8_t cmd, const void *data, size_t dlen);
/* Send a frame (hdr: 12 bytes, NULL for zeroes) on pair `pair`: 0 when the
 * transmit buffer came back. */
int vx_net_send(struct vx_net *t, unsigned pair, const void *hdr, const void *frame, size_t len);
/* Take one received frame from pair `pair` (header into hdr if non-NULL):
 * its length, or -1 when none; the buffer is posted again. */
int vx_net_recv(struct vx_net *t, unsigned pair, uint8_t *hdr, uint8_t *frame, size_t cap);

/* A virtio-blk device on a memory disk, driven by the driver library, for
 * request-level tests (secure erase, zoned commands). */
struct vx_blkdev {
	struct loopvm vm;
	vstd_io *io;
	vstd_disk *disk;
	vstd_virtio_dev *dev;
	struct vdrv_vq q;
	uint8_t *hdr, *st, *buf;
	uint64_t hdr_gpa, st_gpa, buf_gpa;
};
#define VX_BLKDEV_BUF (1u << 20)
/* disk_size bytes, filled with `fill`; bo: the device options (NULL:
 * defaults; RING_PACKED is offered in any case). */
int vx_blkdev_open(struct vx_blkdev *t, const struct vx_cfg *c, const vstd_virtio_blk_opts *bo,
                   uint64_t disk_size, uint8_t fill, char *msg, size_t len);
void vx_blkdev_close(struct vx_blkdev *t);
/* One request: header {type, sector}, buf[0, out) device-readable,
 * buf[out, out + in) device-writable, then the status byte.  The status,
 * or -1 when the request did not come back; *used = written length. */
int vx_blkdev_req(struct vx_blkdev *t, uint32_t type, uint64_t sector, uint32_t out, uint32_t in,
                  uint32_t *used);

#endif
