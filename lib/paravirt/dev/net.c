/*
 * paravirt/dev/net.c - virtio network device (VIRTIO 1.2 5.1).
 *
 * Queues: 0 receive, 1 transmit, 2 control (with CTRL_VQ).  Every frame
 * is preceded by the 12-byte struct virtio_net_hdr (flags, gso_type,
 * hdr_len, gso_size, csum_start, csum_offset, num_buffers).  Backends: an
 * in-process loopback (what the guest sends comes back to it), a TAP
 * interface with IFF_VNET_HDR, or a caller-supplied transmit callback.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <unistd.h>
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
#define NET_RXQ 0
#define NET_TXQ 1
#define NET_CTRLQ 2
#define NET_QUEUE_SIZE 256
#define NET_CFG_LEN 12 /* mac, status, max_virtqueue_pairs, mtu */

#define GSO_NONE 0
#define HDR_F_NEEDS_CSUM 1
#define HDR_F_DATA_VALID 2

struct net {
	vstd_virtio_net_backend backend;
	int loopback;
	int tap_fd;
	uint8_t mac[6];
	int promisc, allmulti;
	uint64_t guest_offloads;
	uint8_t vlans[4096 / 8];
	uint8_t *txbuf; /* header + frame bounce buffer */
	uint8_t *tapbuf;
	unsigned long rx_dropped, tx_dropped;
};

/* ------------------------------------------------------------ receive */

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

int vstd_virtio_net_receive(vstd_virtio_dev *dev, const void *hdr_in, const void *frame_in,
                            size_t len)
{
	struct net *n;
	struct vstd_vq *vq;
	uint8_t hdr[NET_HDR] = {0};
	const uint8_t *frame = frame_in;
	int rc, irq = 0;
	if (dev == NULL || dev->ops->type != VSTD_VIRTIO_NET || (frame == NULL && len))
		return vstd_err(VSTD_EINVAL, "virtio-net: invalid receive arguments");
	n = dev->priv;
	if (!vdev_running(dev) || !dev->vq[NET_RXQ].enabled)
		return vstd_err(VSTD_ESTATE, "virtio-net: receive while the device is not running");
	if (vdev_has(dev, VNET_F_STATUS) && !(dev->cfg[6] & 1))
		return vstd_err(VSTD_ESTATE, "virtio-net: link is down");
	if (len > NET_MAX_FRAME)
		return vstd_err(VSTD_ELIMIT, "virtio-net: frame of %zu bytes too long", len);
	if (hdr_in)
		memcpy(hdr, hdr_in, 10);
	/* Offloads the guest did not take: checksum here, refuse GSO. */
	if ((hdr[1] & 0x7f) != GSO_NONE &&
	    !(n->guest_offloads &
	      (VSTD_VIRTIO_BIT(VNET_F_GUEST_TSO4) | VSTD_VIRTIO_BIT(VNET_F_GUEST_TSO6) |
	       VSTD_VIRTIO_BIT(VNET_F_GUEST_UFO)))) {
		n->rx_dropped++;
		return vstd_err(VSTD_ENOTSUP,
		                "virtio-net: GSO frame for a guest without GSO offloads");
	}
	if ((hdr[0] & HDR_F_NEEDS_CSUM) &&
	    !(n->guest_offloads & VSTD_VIRTIO_BIT(VNET_F_GUEST_CSUM))) {
		uint8_t *copy = vstd_malloc(len ? len : 1);
		if (copy == NULL)
			return VSTD_ENOMEM;
		memcpy(copy, frame, len);
		sw_checksum(copy, len, hdr);
		memset(hdr, 0, 10);
		rc = vstd_virtio_net_receive(dev, hdr, copy, len);
		vstd_free(copy);
		return rc;
	}
	/* Receive filter (CTRL_RX): unicast to another MAC is dropped unless promiscuous. */
	if (len >= 6 && !n->promisc && !(frame[0] & 1) && memcmp(frame, n->mac, 6) != 0) {
		n->rx_dropped++;
		return 0;
	}
	vq = &dev->vq[NET_RXQ];
	pthread_mutex_lock(&vq->lock);
	rc = rx_place(dev, vq, hdr, frame, len);
	if (rc == 0)
		irq = vq_should_interrupt(vq);
	pthread_mutex_unlock(&vq->lock);
	if (rc == VSTD_ECORRUPT || rc == VSTD_ELIMIT)
		vdev_break(dev);
	else if (rc < 0)
		n->rx_dropped++;
	if (irq)
		vdev_queue_interrupt(dev, NET_RXQ);
	return rc;
}

/* ------------------------------------------------------------ transmit */

static int tx_chain(struct vstd_virtio_dev *dev, unsigned q, struct vq_chain *c, uint32_t *written)
{
	struct net *n = dev->priv;
	size_t len;
	int rc;
	(void)q;
	*written = 0;
	if (c->out_len < NET_HDR || c->out_len > NET_HDR + NET_MAX_FRAME) {
		n->tx_dropped++;
		vstd_debug("virtio", "virtio-net: dropped a transmit chain of %" PRIu64 " bytes",
		           c->out_len);
		return 0;
	}
	len = (size_t)c->out_len;
	vq_chain_read(c, 0, n->txbuf, len); /* one copy; the guest may change its buffers later */
	if (n->loopback)
		rc = vstd_virtio_net_receive(dev, n->txbuf, n->txbuf + NET_HDR, len - NET_HDR);
	else if (n->tap_fd >= 0) {
		ssize_t w = write(n->tap_fd, n->txbuf, len);
		rc = w == (ssize_t)len ? 0 : VSTD_EIO;
	} else if (n->backend.transmit)
		rc = n->backend.transmit(n->backend.opaque, n->txbuf, n->txbuf + NET_HDR,
		                         len - NET_HDR);
	else
		rc = 0;
	if (rc == VSTD_ECORRUPT)
		return 0; /* the receive side broke the device already */
	if (rc < 0)
		n->tx_dropped++;
	return 0;
}

/* ------------------------------------------------------------ control */

enum { CTRL_RX = 0, CTRL_MAC = 1, CTRL_VLAN = 2, CTRL_ANNOUNCE = 3, CTRL_GUEST_OFFLOADS = 5 };

static int ctrl_chain(struct vstd_virtio_dev *dev, unsigned q, struct vq_chain *c,
                      uint32_t *written)
{
	struct net *n = dev->priv;
	uint8_t cmd[2], data[8], ack = 1;
	uint64_t dlen;
	(void)q;
	*written = 0;
	if (c->out_len < 2 || c->in_len < 1)
		return 0;
	vq_chain_read(c, 0, cmd, 2);
	dlen = c->out_len - 2;
	memset(data, 0, sizeof(data));
	vq_chain_read(c, 2, data, dlen < 8 ? (size_t)dlen : 8);
	switch (cmd[0]) {
	case CTRL_RX:
		if (vdev_has(dev, VNET_F_CTRL_RX) && dlen == 1 && cmd[1] <= 1) {
			if (cmd[1] == 0)
				n->promisc = data[0] != 0;
			else
				n->allmulti = data[0] != 0;
			ack = 0;
		}
		break;
	case CTRL_MAC:
		if (cmd[1] == 1 && dlen == 6 && vdev_has(dev, VNET_F_CTRL_MAC_ADDR)) {
			memcpy(n->mac, data, 6);
			memcpy(dev->cfg, data, 6);
			ack = 0;
		} else if (cmd[1] == 0 && vdev_has(dev, VNET_F_CTRL_RX)) {
			/* MAC_TABLE_SET: two tables of le32 count + 6-byte entries;
			 * we check the shape and accept (filtering stays MAC-only). */
			uint8_t cnt[4];
			uint64_t off = 2, n1, n2;
			vq_chain_read(c, off, cnt, 4);
			n1 = vstd_le32(cnt);
			off += 4 + 6 * n1;
			if (n1 < (1u << 20) && off + 4 <= c->out_len) {
				vq_chain_read(c, off, cnt, 4);
				n2 = vstd_le32(cnt);
				if (n2 < (1u << 20) && off + 4 + 6 * n2 == c->out_len)
					ack = 0;
			}
		}
		break;
	case CTRL_VLAN:
		if (vdev_has(dev, VNET_F_CTRL_VLAN) && dlen == 2 && cmd[1] <= 1) {
			uint16_t id = vstd_le16(data) & 0xfff;
			if (cmd[1] == 0)
				n->vlans[id / 8] |= (uint8_t)(1u << (id % 8));
			else
				n->vlans[id / 8] &= (uint8_t) ~(1u << (id % 8));
			ack = 0;
		}
		break;
	case CTRL_ANNOUNCE:
		if (vdev_has(dev, VNET_F_GUEST_ANNOUNCE) && cmd[1] == 0) {
			dev->cfg[6] &= (uint8_t)~2;
			ack = 0;
		}
		break;
	case CTRL_GUEST_OFFLOADS:
		if (vdev_has(dev, VNET_F_CTRL_GUEST_OFFLOADS) && cmd[1] == 0 && dlen == 8) {
			uint64_t want = vstd_le64(data);
			/* Only offloads negotiated at feature time may be turned on. */
			if ((want & ~dev->guest_features) == 0) {
				n->guest_offloads = want;
				ack = 0;
			}
		}
		break;
	default: break;
	}
	vq_chain_write(c, c->in_len - 1, &ack, 1);
	*written = 1;
	return 0;
}

static int net_queue(struct vstd_virtio_dev *dev, unsigned q)
{
	struct net *n = dev->priv;
	if (q == NET_TXQ)
		return vdev_process(dev, q, tx_chain);
	if (q == NET_CTRLQ)
		return vdev_has(dev, VNET_F_CTRL_VQ) ? vdev_process(dev, q, ctrl_chain) : 0;
	/* Receive queue: the guest posted buffers; a TAP may have frames waiting. */
	(void)n;
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
	/* Offloads start as negotiated (5.1.6.5.6.1). */
	n->guest_offloads =
	        dev->guest_features &
	        (VSTD_VIRTIO_BIT(VNET_F_GUEST_CSUM) | VSTD_VIRTIO_BIT(VNET_F_GUEST_TSO4) |
	         VSTD_VIRTIO_BIT(VNET_F_GUEST_TSO6) | VSTD_VIRTIO_BIT(VNET_F_GUEST_ECN) |
	         VSTD_VIRTIO_BIT(VNET_F_GUEST_UFO));
}

static void net_reset(struct vstd_virtio_dev *dev)
{
	struct net *n = dev->priv;
	n->promisc = 1; /* as QEMU: promiscuous until the driver says otherwise */
	n->allmulti = 0;
	n->guest_offloads = 0;
	memset(n->vlans, 0, sizeof(n->vlans));
	memcpy(n->mac, dev->cfg, 6);
}

static void net_config_write(struct vstd_virtio_dev *dev, unsigned off, const uint8_t *data,
                             unsigned len)
{
	/* Legacy drivers (no VERSION_1) may write the MAC directly. */
	if (!vdev_has(dev, VSTD_VIRTIO_F_VERSION_1) && off < 6 && off + len <= 6) {
		memcpy(dev->cfg + off, data, len);
		memcpy(((struct net *)dev->priv)->mac, dev->cfg, 6);
	}
}

static void net_free(struct vstd_virtio_dev *dev)
{
	struct net *n = dev->priv;
	if (n == NULL)
		return;
	if (n->tap_fd >= 0)
		close(n->tap_fd);
	vstd_free(n->txbuf);
	vstd_free(n->tapbuf);
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
		if (opts->version != VSTD_VIRTIO_NET_OPTS_VERSION)
			return vstd_err(VSTD_EINVAL, "virtio-net: unknown options version %u",
			                opts->version);
		o = *opts;
	}
	if ((o.loopback != 0) + (o.tap_name != NULL) + (o.backend != NULL) != 1)
		return vstd_err(
		        VSTD_EINVAL,
		        "virtio-net: exactly one backend (loopback, TAP, callback) is needed");
	if (vstd_is_zero(o.mac, 6))
		memcpy(o.mac, qemu_mac, 6);
	if (o.mtu)
		features |= VSTD_VIRTIO_BIT(VNET_F_MTU);
	n = vstd_calloc(1, sizeof(*n));
	if (n == NULL)
		return VSTD_ENOMEM;
	n->tap_fd = -1;
	n->loopback = o.loopback != 0;
	if (o.backend)
		n->backend = *o.backend;
	n->txbuf = vstd_malloc(NET_HDR + NET_MAX_FRAME);
	if (n->txbuf == NULL) {
		vstd_free(n);
		return VSTD_ENOMEM;
	}
	if (o.tap_name && (rc = tap_open(o.tap_name, &n->tap_fd)) < 0) {
		vstd_free(n->txbuf);
		vstd_free(n);
		return rc;
	}
	rc = vdev_new(&dev, &net_ops, gm, 3, NET_QUEUE_SIZE, features, &o.common);
	if (rc < 0) {
		if (n->tap_fd >= 0)
			close(n->tap_fd);
		vstd_free(n->txbuf);
		vstd_free(n);
		return rc;
	}
	dev->priv = n;
	dev->cfg_len = NET_CFG_LEN;
	memcpy(dev->cfg, o.mac, 6);
	vstd_put_le16(dev->cfg + 6, 1); /* VIRTIO_NET_S_LINK_UP */
	vstd_put_le16(dev->cfg + 8, 1); /* max_virtqueue_pairs */
	vstd_put_le16(dev->cfg + 10, o.mtu);
	net_reset(dev);
	*out = dev;
	return 0;
}

int vstd_virtio_net_set_link(vstd_virtio_dev *dev, int up)
{
	if (dev == NULL || dev->ops->type != VSTD_VIRTIO_NET)
		return vstd_err(VSTD_EINVAL, "virtio-net: not a network device");
	pthread_mutex_lock(&dev->lock);
	dev->cfg[6] = (uint8_t)((dev->cfg[6] & ~1) | (up ? 1 : 0));
	pthread_mutex_unlock(&dev->lock);
	if (vdev_has(dev, VNET_F_STATUS) &&
	    (vstd_virtio_dev_status(dev) & VSTD_VIRTIO_STATUS_DRIVER_OK))
		vdev_config_changed(dev);
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
	int count = 0;
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
			count++;
	}
	return count;
}
