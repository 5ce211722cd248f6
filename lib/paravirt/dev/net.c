/*
 * paravirt/dev/net.c - virtio network device (VIRTIO 1.2 5.1).
 *
 * Queues: receive/transmit pairs (rx0 0, tx0 1, rx1 2, tx1 3, ...), then
 * the control queue (with CTRL_VQ): queue 2 x max_virtqueue_pairs when the
 * driver took MQ, queue 2 when it did not (5.1.2).  Every frame is preceded by the 12-byte struct
 * virtio_net_hdr (flags, gso_type, hdr_len, gso_size, csum_start, csum_offset, num_buffers).
 * Backends: an in-process loopback (what the guest sends comes back to it), a TAP interface with
 * IFF_VNET_HDR, or a caller-supplied transmit callback.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <unistd.h>
#include <stddef.h>
#include <linux/if.h>
#include <linux/if_tun.h>

#include "core/alloc_internal.h"
#include "core/bytes.h"
#include "core/error_internal.h"
#include "core/log_internal.h"
#include "paravirt/device.h"
#include "paravirt/features.h"

#define NET_HDR 12
#define NET_MAX_FRAME (65536 + 14 + 4) /* GSO super-frame + Ethernet + VLAN */
#define NET_QUEUE_SIZE 256
#define NET_CFG_LEN 12   /* mac, status, max_virtqueue_pairs, mtu */
#define NET_MAC_TABLE 64 /* unicast + multicast entries, as QEMU */

#define GSO_NONE 0
#define GSO_TCPV4 1
#define GSO_UDP 3
#define GSO_TCPV6 4
#define GSO_ECN 0x80
#define HDR_F_NEEDS_CSUM 1
#define HDR_F_DATA_VALID 2
#define HDR_F_RSC_INFO 4

#define S_LINK_UP 1
#define S_ANNOUNCE 2

#define BIT(x) VSTD_VIRTIO_BIT(x)
#define GUEST_OFFLOAD_BITS                                                                         \
	(BIT(VNET_F_GUEST_CSUM) | BIT(VNET_F_GUEST_TSO4) | BIT(VNET_F_GUEST_TSO6) |                \
	 BIT(VNET_F_GUEST_ECN) | BIT(VNET_F_GUEST_UFO))

struct net {
	vstd_virtio_net_backend backend;
	int loopback;
	int tap_fd;
	unsigned tap_caps;     /* TUN_F_* the TAP accepted when probed */
	unsigned tap_offloads; /* TUN_F_* set now */
	uint16_t max_pairs;    /* offered (1: no MQ) */
	uint16_t pairs;        /* in use (VQ_PAIRS_SET), atomic */
	/* receive filter (5.1.6.5.1, 5.1.6.5.2, 5.1.6.5.3), under flock */
	pthread_mutex_t flock;
	uint8_t mac[6];
	int promisc, allmulti, alluni, nomulti, nouni, nobcast;
	uint8_t macs[NET_MAC_TABLE][6];
	unsigned n_uni, n_multi;
	int uni_overflow, multi_overflow;
	uint8_t vlans[4096 / 8];
	uint64_t guest_offloads;
	/* automatic receive steering: pair + 1 last used to send a flow */
	uint8_t flow[256];
	uint8_t **txbuf; /* per pair: header + frame bounce buffer (tx queue lock) */
	uint8_t *tapbuf;
	uint64_t rx_packets, rx_dropped, tx_packets, tx_dropped, tx_bad_hdr, ctrl_err;
};

static void count(uint64_t *c)
{
	__atomic_add_fetch(c, 1, __ATOMIC_RELAXED);
}

/* Pairs the driver can use: max_virtqueue_pairs with MQ, else 1. */
static unsigned net_qpairs(const struct vstd_virtio_dev *dev)
{
	const struct net *n = dev->priv;
	return vdev_has(dev, VNET_F_MQ) ? n->max_pairs : 1;
}

static unsigned net_ctrlq(const struct vstd_virtio_dev *dev)
{
	return 2 * net_qpairs(dev);
}

/* ------------------------------------------------------------ frames */

static void sw_checksum(uint8_t *frame, size_t len, const uint8_t *hdr)
{
	uint16_t start = vstd_le16(hdr + 6), off = vstd_le16(hdr + 8);
	uint32_t sum = 0;
	if (start >= len || (size_t)start + off + 2 > len)
		return;
	for (size_t i = start; i + 1 < len; i += 2)
		sum += (uint32_t)(frame[i] << 8 | frame[i + 1]);
	if ((len - start) & 1)
		sum += (uint32_t)frame[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	vstd_put_be16(frame + start + off, (uint16_t)~sum);
}

/* A symmetric hash of the frame's flow (IPv4/IPv6 addresses, TCP/UDP
 * ports), so both directions of a flow hash alike; 0x100 | hash, or 0 for
 * frames without a flow. */
static unsigned flow_hash(const uint8_t *f, size_t len)
{
	size_t off = 14;
	uint16_t et;
	uint32_t h = 0;
	uint8_t proto;
	if (len < 14)
		return 0;
	et = vstd_be16(f + 12);
	if (et == 0x8100 && len >= 18) {
		et = vstd_be16(f + 16);
		off = 18;
	}
	if (et == 0x0800 && len >= off + 20) {
		size_t ihl = (size_t)(f[off] & 0xf) * 4;
		proto = f[off + 9];
		h = vstd_be32(f + off + 12) ^ vstd_be32(f + off + 16);
		if ((proto == 6 || proto == 17) && !(vstd_be16(f + off + 6) & 0x3fff) &&
		    ihl >= 20 && len >= off + ihl + 4)
			h ^= (uint32_t)(vstd_be16(f + off + ihl) ^ vstd_be16(f + off + ihl + 2));
	} else if (et == 0x86dd && len >= off + 40) {
		proto = f[off + 6];
		for (int i = 0; i < 8; i++)
			h ^= vstd_be32(f + off + 8 + 4 * i);
		if ((proto == 6 || proto == 17) && len >= off + 44)
			h ^= (uint32_t)(vstd_be16(f + off + 40) ^ vstd_be16(f + off + 42));
	} else {
		return 0;
	}
	h ^= proto;
	h ^= h >> 16;
	h ^= h >> 8;
	return 0x100 | (h & 0xff);
}

/* The receive filter of 5.1.6.5 as QEMU applies it (flock held). */
static int rx_filter(const struct net *n, const uint8_t *f, size_t len)
{
	if (n->promisc)
		return 1;
	if (len < 14)
		return 0;
	if (vstd_be16(f + 12) == 0x8100 && len >= 16) {
		unsigned vid = vstd_be16(f + 14) & 0xfff;
		if (!(n->vlans[vid / 8] & (1u << (vid % 8))))
			return 0;
	}
	if (f[0] & 1) { /* group address */
		static const uint8_t bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
		if (memcmp(f, bcast, 6) == 0)
			return !n->nobcast;
		if (n->nomulti)
			return 0;
		if (n->allmulti || n->multi_overflow)
			return 1;
		for (unsigned i = n->n_uni; i < n->n_uni + n->n_multi; i++)
			if (memcmp(f, n->macs[i], 6) == 0)
				return 1;
		return 0;
	}
	if (n->nouni)
		return 0;
	if (n->alluni || n->uni_overflow || memcmp(f, n->mac, 6) == 0)
		return 1;
	for (unsigned i = 0; i < n->n_uni; i++)
		if (memcmp(f, n->macs[i], 6) == 0)
			return 1;
	return 0;
}

/* ------------------------------------------------------------ receive */

/* Host address of byte `off` of a chain's device-writable part. */
static uint8_t *chain_in_byte(const struct vq_chain *c, uint64_t off)
{
	for (uint32_t i = c->nout; i < c->nout + c->nin; i++) {
		if (off < c->iov[i].len)
			return c->iov[i].base + off;
		off -= c->iov[i].len;
	}
	return NULL;
}

static void rx_rollback(struct vstd_vq *vq, uint16_t last_avail, uint16_t next_avail, int wrap)
{
	vq->last_avail = last_avail;
	vq->next_avail = next_avail;
	vq->avail_wrap = wrap;
}

/* Place one header+frame into the receive queue (queue lock held). */
static int rx_place(struct vstd_virtio_dev *dev, struct vstd_vq *vq, const uint8_t *hdr,
                    const uint8_t *frame, size_t len)
{
	uint16_t s_last = vq->last_avail, s_next = vq->next_avail;
	int s_wrap = vq->avail_wrap, mrg = vdev_has(dev, VNET_F_MRG_RXBUF);
	uint64_t total = NET_HDR + (uint64_t)len, done = 0;
	uint16_t nbufs = 0;
	uint8_t *nb_ptr[2] = {NULL, NULL};
	struct {
		uint16_t head, ndesc;
		uint32_t written;
	} used[64];
	while (done < total) {
		struct vq_chain *c;
		uint64_t take;
		int p = (nbufs >= 64 || (!mrg && nbufs == 1)) ? 0 : vq_pop(vq, &c);
		if (p < 0)
			return p;
		if (p == 0 || (nbufs == 0 && c->in_len < NET_HDR)) {
			/* Not enough room: give the buffers back (nothing was
			 * published to the guest yet). */
			rx_rollback(vq, s_last, s_next, s_wrap);
			return vstd_err(VSTD_EBUSY,
			                "virtio-net: no room in the receive queue for %zu bytes",
			                len);
		}
		take = total - done < c->in_len ? total - done : c->in_len;
		if (nbufs == 0) {
			vq_chain_write(c, 0, hdr, NET_HDR);
			vq_chain_write(c, NET_HDR, frame, (size_t)(take - NET_HDR));
			nb_ptr[0] = chain_in_byte(c, 10);
			nb_ptr[1] = chain_in_byte(c, 11);
		} else {
			vq_chain_write(c, 0, frame + (done - NET_HDR), (size_t)take);
		}
		used[nbufs].head = c->head;
		used[nbufs].ndesc = c->ndesc;
		used[nbufs].written = (uint32_t)take;
		nbufs++;
		done += take;
	}
	/* num_buffers (always 1 without MRG_RXBUF). */
	*nb_ptr[0] = (uint8_t)nbufs;
	*nb_ptr[1] = (uint8_t)(nbufs >> 8);
	for (uint16_t i = 0; i < nbufs; i++) {
		struct vq_chain tmp;
		memset(&tmp, 0, sizeof(tmp));
		tmp.head = used[i].head;
		tmp.ndesc = used[i].ndesc;
		tmp.in_len = used[i].written;
		vq_push(vq, &tmp, used[i].written);
	}
	return 0;
}

static int net_receive_on(struct vstd_virtio_dev *dev, unsigned pair, const void *hdr_in,
                          const void *frame_in, size_t len)
{
	struct net *n = dev->priv;
	struct vstd_vq *vq;
	uint8_t hdr[NET_HDR] = {0};
	const uint8_t *frame = frame_in;
	int rc, irq = 0, pass;
	unsigned gso;
	if (!vdev_running(dev) || !dev->vq[2 * pair].enabled)
		return vstd_err(VSTD_ESTATE, "virtio-net: receive while the device is not running");
	if (vdev_has(dev, VNET_F_STATUS) && !(__atomic_load_n(&dev->cfg[6], __ATOMIC_ACQUIRE) & 1))
		return vstd_err(VSTD_ESTATE, "virtio-net: link is down");
	if (len > NET_MAX_FRAME)
		return vstd_err(VSTD_ELIMIT, "virtio-net: frame of %zu bytes too long", len);
	if (hdr_in)
		memcpy(hdr, hdr_in, 10);
	gso = hdr[1] & 0x7fu;
	/* What the backend says about the frame is checked too. */
	if ((gso != GSO_NONE && gso != GSO_TCPV4 && gso != GSO_TCPV6 && gso != GSO_UDP) ||
	    ((hdr[0] & HDR_F_NEEDS_CSUM) &&
	     (size_t)vstd_le16(hdr + 6) + vstd_le16(hdr + 8) + 2 > len)) {
		count(&n->rx_dropped);
		return vstd_err(VSTD_EINVAL, "virtio-net: received frame with an invalid header");
	}
	/* Offloads the guest did not take: checksum here, refuse GSO. */
	if (gso != GSO_NONE &&
	    !(n->guest_offloads & (gso == GSO_TCPV4   ? BIT(VNET_F_GUEST_TSO4)
	                           : gso == GSO_TCPV6 ? BIT(VNET_F_GUEST_TSO6)
	                                              : BIT(VNET_F_GUEST_UFO)))) {
		count(&n->rx_dropped);
		return vstd_err(VSTD_ENOTSUP,
		                "virtio-net: GSO frame for a guest without that GSO offload");
	}
	if ((hdr[0] & HDR_F_NEEDS_CSUM) && !(n->guest_offloads & BIT(VNET_F_GUEST_CSUM))) {
		uint8_t *copy = vstd_malloc(len ? len : 1);
		if (copy == NULL)
			return VSTD_ENOMEM;
		memcpy(copy, frame, len);
		sw_checksum(copy, len, hdr);
		memset(hdr, 0, 10);
		rc = net_receive_on(dev, pair, hdr, copy, len);
		vstd_free(copy);
		return rc;
	}
	pthread_mutex_lock(&n->flock);
	pass = rx_filter(n, frame, len);
	pthread_mutex_unlock(&n->flock);
	if (!pass) {
		count(&n->rx_dropped);
		return 0;
	}
	vq = &dev->vq[2 * pair];
	pthread_mutex_lock(&vq->lock);
	rc = vq->enabled
	             ? rx_place(dev, vq, hdr, frame, len)
	             : vstd_err(VSTD_ESTATE, "virtio-net: receive queue %u was reset", 2 * pair);
	if (rc == 0)
		irq = vq_should_interrupt(vq);
	pthread_mutex_unlock(&vq->lock);
	if (rc == VSTD_ECORRUPT || rc == VSTD_ELIMIT)
		vdev_break(dev);
	else if (rc < 0)
		count(&n->rx_dropped);
	else
		count(&n->rx_packets);
	if (irq)
		vdev_queue_interrupt(dev, 2 * pair);
	return rc;
}

/* The pair a frame from the backend goes to (5.1.6.5.6.1): the one on which
 * the guest last sent the same flow, if still in use, else pair 0. */
static unsigned rx_steer(struct vstd_virtio_dev *dev, const uint8_t *frame, size_t len)
{
	struct net *n = dev->priv;
	unsigned pairs = __atomic_load_n(&n->pairs, __ATOMIC_ACQUIRE), h, p;
	if (pairs <= 1 || (h = flow_hash(frame, len)) == 0)
		return 0;
	p = __atomic_load_n(&n->flow[h & 0xff], __ATOMIC_RELAXED);
	if (p == 0 || p - 1 >= pairs || !dev->vq[2 * (p - 1)].enabled)
		return 0;
	return p - 1;
}

int vstd_virtio_net_receive(vstd_virtio_dev *dev, const void *hdr, const void *frame, size_t len)
{
	if (dev == NULL || dev->ops->type != VSTD_VIRTIO_NET || (frame == NULL && len))
		return vstd_err(VSTD_EINVAL, "virtio-net: invalid receive arguments");
	return net_receive_on(dev, rx_steer(dev, frame, len), hdr, frame, len);
}

int vstd_virtio_net_receive_pair(vstd_virtio_dev *dev, unsigned pair, const void *hdr,
                                 const void *frame, size_t len)
{
	struct net *n;
	if (dev == NULL || dev->ops->type != VSTD_VIRTIO_NET || (frame == NULL && len))
		return vstd_err(VSTD_EINVAL, "virtio-net: invalid receive arguments");
	n = dev->priv;
	/* The device must not use receive queues beyond the pairs the driver
	 * set (5.1.6.5.5). */
	if (pair >= __atomic_load_n(&n->pairs, __ATOMIC_ACQUIRE))
		return vstd_err(VSTD_ERANGE, "virtio-net: queue pair %u is not in use (%u pairs)",
		                pair, n->pairs);
	return net_receive_on(dev, pair, hdr, frame, len);
}

/* ------------------------------------------------------------ transmit */

/* The virtio_net_hdr the driver put before a frame of flen bytes, checked
 * against 5.1.6.2 before anything uses it: NULL when fine, else what is
 * wrong.  Nothing in it is trusted: offsets are bounded by the frame. */
static const char *tx_hdr_check(const struct vstd_virtio_dev *dev, const uint8_t *h, size_t flen)
{
	unsigned flags = h[0], gso = h[1] & 0x7fu;
	uint16_t hdr_len = vstd_le16(h + 2), gso_size = vstd_le16(h + 4);
	uint16_t cs_start = vstd_le16(h + 6), cs_off = vstd_le16(h + 8);
	if (flags & ~(unsigned)HDR_F_NEEDS_CSUM)
		return "flags other than NEEDS_CSUM (DATA_VALID and RSC_INFO are for received "
		       "frames)";
	if (flags & HDR_F_NEEDS_CSUM) {
		if (!vdev_has(dev, VNET_F_CSUM))
			return "NEEDS_CSUM without VIRTIO_NET_F_CSUM";
		if ((size_t)cs_start + cs_off + 2 > flen)
			return "csum_start + csum_offset outside the frame";
	}
	if (gso == GSO_NONE) {
		if (h[1] & GSO_ECN)
			return "ECN bit without a GSO type";
		return NULL;
	}
	if (gso != GSO_TCPV4 && gso != GSO_TCPV6 && gso != GSO_UDP)
		return "unknown gso_type";
	if ((gso == GSO_TCPV4 && !vdev_has(dev, VNET_F_HOST_TSO4)) ||
	    (gso == GSO_TCPV6 && !vdev_has(dev, VNET_F_HOST_TSO6)) ||
	    (gso == GSO_UDP && !vdev_has(dev, VNET_F_HOST_UFO)))
		return "gso_type whose HOST_ offload was not negotiated";
	if ((h[1] & GSO_ECN) && !vdev_has(dev, VNET_F_HOST_ECN))
		return "ECN bit without VIRTIO_NET_F_HOST_ECN";
	if (!(flags & HDR_F_NEEDS_CSUM))
		return "GSO frame without NEEDS_CSUM";
	if (gso_size == 0)
		return "gso_size 0";
	if (hdr_len > flen || (size_t)cs_start >= flen)
		return "hdr_len outside the frame";
	return NULL;
}

static int tx_chain(struct vstd_virtio_dev *dev, unsigned q, struct vq_chain *c, uint32_t *written)
{
	struct net *n = dev->priv;
	unsigned pair = q / 2;
	uint8_t *buf;
	const char *why;
	size_t len;
	int rc;
	*written = 0;
	if (c->out_len < NET_HDR || c->out_len > NET_HDR + NET_MAX_FRAME) {
		count(&n->tx_dropped);
		vstd_debug("virtio", "virtio-net: dropped a transmit chain of %" PRIu64 " bytes",
		           c->out_len);
		return 0;
	}
	if (n->txbuf[pair] == NULL &&
	    (n->txbuf[pair] = vstd_malloc(NET_HDR + NET_MAX_FRAME)) == NULL)
		return VSTD_ENOMEM;
	buf = n->txbuf[pair];
	len = (size_t)c->out_len;
	vq_chain_read(c, 0, buf, len); /* one copy; the guest may change its buffers later */
	if ((why = tx_hdr_check(dev, buf, len - NET_HDR)) != NULL) {
		count(&n->tx_bad_hdr);
		vstd_debug("virtio", "virtio-net: queue %u: dropped a frame: virtio_net_hdr %s", q,
		           why);
		return 0;
	}
	vstd_put_le16(buf + 10, 0); /* num_buffers means nothing on transmit */
	if (pair > 0 || n->max_pairs > 1) {
		unsigned h = flow_hash(buf + NET_HDR, len - NET_HDR);
		if (h)
			__atomic_store_n(&n->flow[h & 0xff], (uint8_t)(pair + 1), __ATOMIC_RELAXED);
	}
	if (n->loopback) {
		unsigned rp = pair < __atomic_load_n(&n->pairs, __ATOMIC_ACQUIRE) ? pair : 0;
		rc = net_receive_on(dev, rp, buf, buf + NET_HDR, len - NET_HDR);
	} else if (n->tap_fd >= 0) {
		ssize_t w = write(n->tap_fd, buf, len);
		rc = w == (ssize_t)len ? 0 : VSTD_EIO;
	} else if (n->backend.transmit) {
		rc = n->backend.transmit(n->backend.opaque, buf, buf + NET_HDR, len - NET_HDR);
	} else {
		rc = 0;
	}
	if (rc == VSTD_ECORRUPT)
		return 0; /* the receive side broke the device already */
	if (rc < 0 && !n->loopback)
		count(&n->tx_dropped);
	else
		count(&n->tx_packets);
	return 0;
}

/* ------------------------------------------------------------ TAP offloads */

/* TUN_F_* for the offloads the guest takes now (5.1.6.4: the backend may
 * hand the guest only what it accepted). */
static unsigned tap_flags_for(uint64_t off)
{
	unsigned f = 0;
	if (off & BIT(VNET_F_GUEST_CSUM)) {
		f |= TUN_F_CSUM;
		if (off & BIT(VNET_F_GUEST_TSO4))
			f |= TUN_F_TSO4;
		if (off & BIT(VNET_F_GUEST_TSO6))
			f |= TUN_F_TSO6;
		if ((off & BIT(VNET_F_GUEST_ECN)) && (f & (TUN_F_TSO4 | TUN_F_TSO6)))
			f |= TUN_F_TSO_ECN;
		if (off & BIT(VNET_F_GUEST_UFO))
			f |= TUN_F_UFO;
	}
	return f;
}

static void tap_set_offloads(struct net *n, uint64_t guest_offloads)
{
	unsigned f;
	if (n->tap_fd < 0)
		return;
	f = tap_flags_for(guest_offloads) & n->tap_caps;
	if (f == n->tap_offloads)
		return;
	if (ioctl(n->tap_fd, TUNSETOFFLOAD, (unsigned long)f) == 0)
		n->tap_offloads = f;
	else
		vstd_warn("virtio", "virtio-net: TUNSETOFFLOAD 0x%x failed (errno %d)", f, errno);
}

/* ------------------------------------------------------------ control */

enum {
	CTRL_RX = 0,
	CTRL_MAC = 1,
	CTRL_VLAN = 2,
	CTRL_ANNOUNCE = 3,
	CTRL_MQ = 4,
	CTRL_GUEST_OFFLOADS = 5
};
#define ACK_OK 0
#define ACK_ERR 1

static uint8_t ctrl_rx(struct vstd_virtio_dev *dev, struct net *n, uint8_t cmd, const uint8_t *data,
                       uint64_t dlen)
{
	int *flag, on;
	if (!vdev_has(dev, VNET_F_CTRL_RX) || dlen != 1)
		return ACK_ERR;
	if (cmd > 1 && !vdev_has(dev, VNET_F_CTRL_RX_EXTRA))
		return ACK_ERR;
	switch (cmd) {
	case 0: flag = &n->promisc; break;
	case 1: flag = &n->allmulti; break;
	case 2: flag = &n->alluni; break;
	case 3: flag = &n->nomulti; break;
	case 4: flag = &n->nouni; break;
	case 5: flag = &n->nobcast; break;
	default: return ACK_ERR;
	}
	on = data[0] != 0;
	pthread_mutex_lock(&n->flock);
	*flag = on;
	pthread_mutex_unlock(&n->flock);
	return ACK_OK;
}

/* VIRTIO_NET_CTRL_MAC_TABLE_SET: {le32 entries, entries x 6 bytes} for
 * unicast, then the same for multicast, exactly filling the command. */
static uint8_t ctrl_mac_table(struct net *n, const struct vq_chain *c)
{
	uint8_t cnt[4], macs[NET_MAC_TABLE][6];
	uint64_t off = 2, n1, n2, end = c->out_len;
	unsigned nu = 0, nm = 0;
	int uo = 0, mo = 0;
	if (end - off < 4)
		return ACK_ERR;
	vq_chain_read(c, off, cnt, 4);
	n1 = vstd_le32(cnt);
	off += 4;
	if (n1 > (end - off) / 6)
		return ACK_ERR;
	if (n1 > NET_MAC_TABLE)
		uo = 1;
	else
		vq_chain_read(c, off, macs, (size_t)(6 * n1)), nu = (unsigned)n1;
	off += 6 * n1;
	if (end - off < 4)
		return ACK_ERR;
	vq_chain_read(c, off, cnt, 4);
	n2 = vstd_le32(cnt);
	off += 4;
	if (n2 > (end - off) / 6 || off + 6 * n2 != end)
		return ACK_ERR;
	if (nu + n2 > NET_MAC_TABLE)
		mo = 1;
	else
		vq_chain_read(c, off, macs[nu], (size_t)(6 * n2)), nm = (unsigned)n2;
	pthread_mutex_lock(&n->flock);
	memcpy(n->macs, macs, 6 * (size_t)(nu + nm));
	n->n_uni = nu;
	n->n_multi = nm;
	n->uni_overflow = uo;
	n->multi_overflow = mo;
	pthread_mutex_unlock(&n->flock);
	return ACK_OK;
}

static uint8_t ctrl_command(struct vstd_virtio_dev *dev, struct net *n, const struct vq_chain *c,
                            uint8_t cls, uint8_t cmd, const uint8_t *data, uint64_t dlen)
{
	switch (cls) {
	case CTRL_RX: return ctrl_rx(dev, n, cmd, data, dlen);
	case CTRL_MAC:
		if (cmd == 1 && dlen == 6 && vdev_has(dev, VNET_F_CTRL_MAC_ADDR)) {
			pthread_mutex_lock(&n->flock);
			memcpy(n->mac, data, 6);
			pthread_mutex_unlock(&n->flock);
			/* Not under dev->lock: register accesses take it before the
			 * queue locks (reset), we hold a queue lock here. */
			for (int i = 0; i < 6; i++)
				__atomic_store_n(&dev->cfg[i], data[i], __ATOMIC_RELAXED);
			return ACK_OK;
		}
		if (cmd == 0 && vdev_has(dev, VNET_F_CTRL_RX))
			return ctrl_mac_table(n, c);
		return ACK_ERR;
	case CTRL_VLAN:
		if (vdev_has(dev, VNET_F_CTRL_VLAN) && dlen == 2 && cmd <= 1) {
			uint16_t id = vstd_le16(data);
			if (id >= 4096)
				return ACK_ERR;
			pthread_mutex_lock(&n->flock);
			if (cmd == 0)
				n->vlans[id / 8] |= (uint8_t)(1u << (id % 8));
			else
				n->vlans[id / 8] &= (uint8_t) ~(1u << (id % 8));
			pthread_mutex_unlock(&n->flock);
			return ACK_OK;
		}
		return ACK_ERR;
	case CTRL_ANNOUNCE:
		/* ACK clears a pending announcement; there must be one (as QEMU). */
		if (vdev_has(dev, VNET_F_GUEST_ANNOUNCE) && cmd == 0 && dlen == 0 &&
		    (__atomic_fetch_and(&dev->cfg[6], (uint8_t)~S_ANNOUNCE, __ATOMIC_ACQ_REL) &
		     S_ANNOUNCE))
			return ACK_OK;
		return ACK_ERR;
	case CTRL_MQ:
		/* VQ_PAIRS_SET: 1 ... max_virtqueue_pairs (5.1.6.5.5). */
		if (vdev_has(dev, VNET_F_MQ) && cmd == 0 && dlen == 2 && vstd_le16(data) >= 1 &&
		    vstd_le16(data) <= n->max_pairs) {
			__atomic_store_n(&n->pairs, vstd_le16(data), __ATOMIC_RELEASE);
			return ACK_OK;
		}
		return ACK_ERR; /* also RSS_CONFIG / HASH_CONFIG: not offered */
	case CTRL_GUEST_OFFLOADS:
		if (vdev_has(dev, VNET_F_CTRL_GUEST_OFFLOADS) && cmd == 0 && dlen == 8) {
			uint64_t want = vstd_le64(data);
			/* Only guest offloads negotiated at feature time (5.1.6.5.6.1). */
			if ((want & ~(dev->guest_features & GUEST_OFFLOAD_BITS)) == 0) {
				pthread_mutex_lock(&n->flock);
				n->guest_offloads = want;
				tap_set_offloads(n, want);
				pthread_mutex_unlock(&n->flock);
				return ACK_OK;
			}
		}
		return ACK_ERR;
	default: return ACK_ERR;
	}
}

static int ctrl_chain(struct vstd_virtio_dev *dev, unsigned q, struct vq_chain *c,
                      uint32_t *written)
{
	struct net *n = dev->priv;
	uint8_t cmd[2], data[8], ack;
	uint64_t dlen;
	(void)q;
	*written = 0;
	/* {class, command} readable, the ack byte writable: without them there
	 * is nothing to answer (the chain comes back with nothing written). */
	if (c->out_len < 2 || c->in_len < 1) {
		count(&n->ctrl_err);
		vstd_debug("virtio", "virtio-net: control chain without header or ack byte");
		return 0;
	}
	vq_chain_read(c, 0, cmd, 2);
	dlen = c->out_len - 2;
	memset(data, 0, sizeof(data));
	vq_chain_read(c, 2, data, dlen < 8 ? (size_t)dlen : 8);
	ack = ctrl_command(dev, n, c, cmd[0], cmd[1], data, dlen);
	if (ack != ACK_OK)
		count(&n->ctrl_err);
	/* The ack is the first device-writable byte, as QEMU writes it. */
	vq_chain_write(c, 0, &ack, 1);
	*written = 1;
	return 0;
}

static int net_queue(struct vstd_virtio_dev *dev, unsigned q)
{
	unsigned ctrl = net_ctrlq(dev);
	if (q == ctrl)
		return vdev_has(dev, VNET_F_CTRL_VQ) ? vdev_process(dev, q, ctrl_chain) : 0;
	if (q < ctrl && (q & 1))
		return vdev_process(dev, q, tx_chain);
	/* Receive queue: the guest posted buffers; a TAP may have frames waiting. */
	return 0;
}

static int net_features_check(struct vstd_virtio_dev *dev, uint64_t f)
{
#define HAS(b) ((f >> (b)) & 1)
	/* Dependencies of 5.1.3.1: a driver must not accept one without the other. */
	if (((HAS(VNET_F_GUEST_TSO4) || HAS(VNET_F_GUEST_TSO6) || HAS(VNET_F_GUEST_UFO)) &&
	     !HAS(VNET_F_GUEST_CSUM)) ||
	    (HAS(VNET_F_GUEST_ECN) && !HAS(VNET_F_GUEST_TSO4) && !HAS(VNET_F_GUEST_TSO6)) ||
	    ((HAS(VNET_F_HOST_TSO4) || HAS(VNET_F_HOST_TSO6) || HAS(VNET_F_HOST_UFO)) &&
	     !HAS(VNET_F_CSUM)) ||
	    (HAS(VNET_F_HOST_ECN) && !HAS(VNET_F_HOST_TSO4) && !HAS(VNET_F_HOST_TSO6)) ||
	    (HAS(VNET_F_CTRL_RX_EXTRA) && !HAS(VNET_F_CTRL_RX)) ||
	    ((HAS(VNET_F_CTRL_RX) || HAS(VNET_F_CTRL_VLAN) || HAS(VNET_F_GUEST_ANNOUNCE) ||
	      HAS(VNET_F_MQ) || HAS(VNET_F_CTRL_MAC_ADDR) || HAS(VNET_F_CTRL_GUEST_OFFLOADS)) &&
	     !HAS(VNET_F_CTRL_VQ))) {
		vstd_warn("virtio",
		          "virtio-net: driver accepted features 0x%llx that break the dependency "
		          "rules",
		          (unsigned long long)f);
		return VSTD_EINVAL;
	}
#undef HAS
	(void)dev;
	return 0;
}

static void net_driver_ok(struct vstd_virtio_dev *dev)
{
	struct net *n = dev->priv;
	pthread_mutex_lock(&n->flock);
	/* Offloads start as negotiated (5.1.6.5.6.1). */
	n->guest_offloads = dev->guest_features & GUEST_OFFLOAD_BITS;
	tap_set_offloads(n, n->guest_offloads);
	/* Without CTRL_VLAN there is no VLAN filtering. */
	if (!vdev_has(dev, VNET_F_CTRL_VLAN))
		memset(n->vlans, 0xff, sizeof(n->vlans));
	pthread_mutex_unlock(&n->flock);
}

static void net_reset(struct vstd_virtio_dev *dev)
{
	struct net *n = dev->priv;
	pthread_mutex_lock(&n->flock);
	n->promisc = 1; /* as QEMU: promiscuous until the driver says otherwise */
	n->allmulti = n->alluni = n->nomulti = n->nouni = n->nobcast = 0;
	n->n_uni = n->n_multi = 0;
	n->uni_overflow = n->multi_overflow = 0;
	n->guest_offloads = 0;
	tap_set_offloads(n, 0);
	memset(n->vlans, 0, sizeof(n->vlans));
	memset(n->flow, 0, sizeof(n->flow));
	memcpy(n->mac, dev->cfg, 6);
	pthread_mutex_unlock(&n->flock);
	__atomic_store_n(&n->pairs, 1, __ATOMIC_RELEASE); /* multiqueue off (5.1.6.5.5) */
	__atomic_and_fetch(&dev->cfg[6], (uint8_t)~S_ANNOUNCE, __ATOMIC_ACQ_REL);
}

static void net_config_write(struct vstd_virtio_dev *dev, unsigned off, const uint8_t *data,
                             unsigned len)
{
	/* Legacy drivers (no VERSION_1) may write the MAC directly. */
	if (!vdev_has(dev, VSTD_VIRTIO_F_VERSION_1) && off < 6 && off + len <= 6) {
		struct net *n = dev->priv;
		memcpy(dev->cfg + off, data, len);
		pthread_mutex_lock(&n->flock);
		memcpy(n->mac, dev->cfg, 6);
		pthread_mutex_unlock(&n->flock);
	}
}

static void net_free(struct vstd_virtio_dev *dev)
{
	struct net *n = dev->priv;
	if (n == NULL)
		return;
	if (n->tap_fd >= 0)
		close(n->tap_fd);
	for (unsigned i = 0; n->txbuf && i < n->max_pairs; i++)
		vstd_free(n->txbuf[i]);
	vstd_free(n->txbuf);
	vstd_free(n->tapbuf);
	pthread_mutex_destroy(&n->flock);
	vstd_free(n);
}

static const struct vdev_ops net_ops = {
        .name = "net",
        .type = VSTD_VIRTIO_NET,
        .queue = net_queue,
        .config_write = net_config_write,
        .reset = net_reset,
        .driver_ok = net_driver_ok,
        .features_check = net_features_check,
        .free = net_free,
};

/* The offloads a TAP can hand us: probed once at open (a kernel may lack
 * UFO), then reset to none until the guest takes some. */
static unsigned tap_probe_offloads(int fd)
{
	static const unsigned tries[] = {
	        TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN | TUN_F_UFO,
	        TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN, TUN_F_CSUM, 0};
	unsigned caps = 0;
	for (size_t i = 0; i < sizeof(tries) / sizeof(tries[0]); i++)
		if (ioctl(fd, TUNSETOFFLOAD, (unsigned long)tries[i]) == 0) {
			caps = tries[i];
			break;
		}
	(void)ioctl(fd, TUNSETOFFLOAD, 0UL);
	return caps;
}

static int tap_open(const char *name, int *fd_out)
{
	struct ifreq ifr;
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK), hdr = NET_HDR;
	if (fd < 0)
		return vstd_err_errno(0, errno, "virtio-net: opening /dev/net/tun");
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
	if (strlen(name) >= sizeof(ifr.ifr_name)) {
		close(fd);
		return vstd_err(VSTD_EINVAL, "virtio-net: TAP name '%s' too long", name);
	}
	memcpy(ifr.ifr_name, name, strlen(name));
	if (ioctl(fd, TUNSETIFF, &ifr) < 0 || ioctl(fd, TUNSETVNETHDRSZ, &hdr) < 0) {
		int e = errno;
		close(fd);
		return vstd_err_errno(0, e, "virtio-net: attaching TAP interface '%s'", name);
	}
	*fd_out = fd;
	return 0;
}

int vstd_virtio_net_new(vstd_virtio_dev **out, vstd_guestmem *gm, const vstd_virtio_net_opts *opts)
{
	vstd_virtio_net_opts o = VSTD_VIRTIO_NET_OPTS_INIT;
	static const uint8_t qemu_mac[6] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};
	struct vstd_virtio_dev *dev;
	struct net *n;
	uint64_t features = vstd_virtio_default_features(VSTD_VIRTIO_NET);
	int rc;
	if (out == NULL)
		return vstd_err(VSTD_EINVAL, "virtio-net: NULL out pointer");
	if (opts != NULL) {
		if (opts->version == 1) /* before max_queue_pairs */
			memcpy(&o, opts, offsetof(vstd_virtio_net_opts, max_queue_pairs));
		else if (opts->version == VSTD_VIRTIO_NET_OPTS_VERSION)
			o = *opts;
		else
			return vstd_err(VSTD_EINVAL, "virtio-net: unknown options version %u",
			                opts->version);
	}
	if ((o.loopback != 0) + (o.tap_name != NULL) + (o.backend != NULL) != 1)
		return vstd_err(
		        VSTD_EINVAL,
		        "virtio-net: exactly one backend (loopback, TAP, callback) is needed");
	if (o.max_queue_pairs > VSTD_VIRTIO_NET_MAX_PAIRS)
		return vstd_err(VSTD_EINVAL, "virtio-net: %u queue pairs, at most %u",
		                o.max_queue_pairs, VSTD_VIRTIO_NET_MAX_PAIRS);
	if (o.max_queue_pairs == 0)
		o.max_queue_pairs = 1;
	if (vstd_is_zero(o.mac, 6))
		memcpy(o.mac, qemu_mac, 6);
	if (o.mtu)
		features |= BIT(VNET_F_MTU);
	if (o.max_queue_pairs > 1)
		features |= BIT(VNET_F_MQ);
	n = vstd_calloc(1, sizeof(*n));
	if (n == NULL)
		return VSTD_ENOMEM;
	pthread_mutex_init(&n->flock, NULL);
	n->tap_fd = -1;
	n->loopback = o.loopback != 0;
	n->max_pairs = o.max_queue_pairs;
	n->pairs = 1;
	if (o.backend)
		n->backend = *o.backend;
	n->txbuf = vstd_calloc(n->max_pairs, sizeof(*n->txbuf));
	rc = VSTD_ENOMEM;
	if (n->txbuf == NULL)
		goto fail;
	if (o.tap_name) {
		if ((rc = tap_open(o.tap_name, &n->tap_fd)) < 0)
			goto fail;
		n->tap_caps = tap_probe_offloads(n->tap_fd);
		/* Offer only what the TAP can pass on (as QEMU checks its peer). */
		if (!(n->tap_caps & TUN_F_UFO))
			features &= ~(BIT(VNET_F_GUEST_UFO));
		if (!(n->tap_caps & TUN_F_TSO4))
			features &= ~(BIT(VNET_F_GUEST_TSO4) | BIT(VNET_F_GUEST_TSO6) |
			              BIT(VNET_F_GUEST_ECN));
		if (!(n->tap_caps & TUN_F_CSUM))
			features &= ~GUEST_OFFLOAD_BITS;
	}
	rc = vdev_new(&dev, &net_ops, gm, 2u * n->max_pairs + 1, NET_QUEUE_SIZE, features,
	              &o.common);
	if (rc < 0)
		goto fail;
	dev->priv = n;
	dev->cfg_len = NET_CFG_LEN;
	memcpy(dev->cfg, o.mac, 6);
	vstd_put_le16(dev->cfg + 6, S_LINK_UP);
	vstd_put_le16(dev->cfg + 8, n->max_pairs); /* max_virtqueue_pairs */
	vstd_put_le16(dev->cfg + 10, o.mtu);
	net_reset(dev);
	*out = dev;
	return 0;
fail:
	if (n->tap_fd >= 0)
		close(n->tap_fd);
	vstd_free(n->txbuf);
	pthread_mutex_destroy(&n->flock);
	vstd_free(n);
	return rc;
}

int vstd_virtio_net_set_link(vstd_virtio_dev *dev, int up)
{
	if (dev == NULL || dev->ops->type != VSTD_VIRTIO_NET)
		return vstd_err(VSTD_EINVAL, "virtio-net: not a network device");
	pthread_mutex_lock(&dev->lock);
	if (up)
		__atomic_or_fetch(&dev->cfg[6], (uint8_t)S_LINK_UP, __ATOMIC_ACQ_REL);
	else
		__atomic_and_fetch(&dev->cfg[6], (uint8_t)~S_LINK_UP, __ATOMIC_ACQ_REL);
	pthread_mutex_unlock(&dev->lock);
	if (vdev_has(dev, VNET_F_STATUS) &&
	    (vstd_virtio_dev_status(dev) & VSTD_VIRTIO_STATUS_DRIVER_OK))
		vdev_config_changed(dev);
	return 0;
}

int vstd_virtio_net_announce(vstd_virtio_dev *dev)
{
	if (dev == NULL || dev->ops->type != VSTD_VIRTIO_NET)
		return vstd_err(VSTD_EINVAL, "virtio-net: not a network device");
	if (!vdev_running(dev))
		return vstd_err(VSTD_ESTATE,
		                "virtio-net: announce while the device is not running");
	if (!vdev_has(dev, VNET_F_GUEST_ANNOUNCE) || !vdev_has(dev, VNET_F_STATUS))
		return vstd_err(VSTD_ENOTSUP, "virtio-net: the driver did not take GUEST_ANNOUNCE");
	__atomic_or_fetch(&dev->cfg[6], (uint8_t)S_ANNOUNCE, __ATOMIC_ACQ_REL);
	vdev_config_changed(dev);
	return 0;
}

int vstd_virtio_net_get_stats(const vstd_virtio_dev *dev, vstd_virtio_net_stats *st)
{
	const struct net *n;
	if (dev == NULL || dev->ops->type != VSTD_VIRTIO_NET || st == NULL ||
	    st->version != VSTD_VIRTIO_NET_STATS_VERSION)
		return vstd_err(VSTD_EINVAL, "virtio-net: invalid stats arguments");
	n = dev->priv;
	st->rx_packets = __atomic_load_n(&n->rx_packets, __ATOMIC_RELAXED);
	st->rx_dropped = __atomic_load_n(&n->rx_dropped, __ATOMIC_RELAXED);
	st->tx_packets = __atomic_load_n(&n->tx_packets, __ATOMIC_RELAXED);
	st->tx_dropped = __atomic_load_n(&n->tx_dropped, __ATOMIC_RELAXED);
	st->tx_bad_hdr = __atomic_load_n(&n->tx_bad_hdr, __ATOMIC_RELAXED);
	st->ctrl_err = __atomic_load_n(&n->ctrl_err, __ATOMIC_RELAXED);
	st->pairs = __atomic_load_n(&n->pairs, __ATOMIC_RELAXED);
	st->tap_offloads = n->tap_offloads;
	return 0;
}

int vstd_virtio_net_tap_fd(const vstd_virtio_dev *dev)
{
	if (dev == NULL || dev->ops->type != VSTD_VIRTIO_NET)
		return -1;
	return ((const struct net *)dev->priv)->tap_fd;
}

int vstd_virtio_net_tap_poll(vstd_virtio_dev *dev)
{
	struct net *n;
	int count_ok = 0;
	if (dev == NULL || dev->ops->type != VSTD_VIRTIO_NET ||
	    ((struct net *)dev->priv)->tap_fd < 0)
		return vstd_err(VSTD_EINVAL, "virtio-net: no TAP backend");
	n = dev->priv;
	if (n->tapbuf == NULL && (n->tapbuf = vstd_malloc(NET_HDR + NET_MAX_FRAME)) == NULL)
		return VSTD_ENOMEM;
	for (int i = 0; i < 256; i++) {
		ssize_t r = read(n->tap_fd, n->tapbuf, NET_HDR + NET_MAX_FRAME);
		if (r < 0) {
			if (errno == EAGAIN || errno == EINTR)
				break;
			return vstd_err_errno(0, errno, "virtio-net: reading the TAP interface");
		}
		if (r < NET_HDR)
			continue;
		if (vstd_virtio_net_receive(dev, n->tapbuf, n->tapbuf + NET_HDR,
		                            (size_t)r - NET_HDR) == 0)
			count_ok++;
	}
	return count_ok;
}
