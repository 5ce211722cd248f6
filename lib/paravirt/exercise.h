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

#endif
