/*
 * paravirt/dev/console.c - virtio console (VIRTIO 1.2 5.3).
 *
 * Queues: 0/1 receive/transmit of port 0; with MULTIPORT also 2/3 the
 * control receive/transmit queues and 4+2(n-1)/5+2(n-1) those of port n.
 * Control messages are 8 bytes: id le32, event le16, value le16.  Port 0
 * is the console port.  Config: cols, rows, max_nr_ports, emerg_wr.
 */
#include <string.h>

#include "core/alloc_internal.h"
#include "core/bytes.h"
#include "core/error_internal.h"
#include "core/log_internal.h"
#include "paravirt/device.h"
#include "paravirt/features.h"

#define CON_QUEUE_SIZE 128
#define CON_CFG_LEN 12
#define CON_PENDING 256
#define CON_CHUNK 4096

enum {
	CTL_DEVICE_READY = 0,
	CTL_DEVICE_ADD = 1,
	CTL_DEVICE_REMOVE = 2,
	CTL_PORT_READY = 3,
	CTL_CONSOLE_PORT = 4,
	CTL_RESIZE = 5,
	CTL_PORT_OPEN = 6,
	CTL_PORT_NAME = 7
};

struct port {
	int ready, guest_open;
};

struct console {
	uint32_t nports;
	void (*output)(void *opaque, unsigned port, const void *data, size_t len);
	void *opaque;
	struct port *ports;
	uint8_t pending[CON_PENDING][8]; /* control messages waiting for buffers */
	unsigned pend_head, pend_count;
	pthread_mutex_t ctl_lock;
};

static int multiport(const struct vstd_virtio_dev *dev)
{
	return vdev_has(dev, VCON_F_MULTIPORT);
}

/* Queue numbers of port p. */
static unsigned port_rxq(unsigned p)
{
	return p == 0 ? 0 : 4 + 2 * (p - 1);
}

/* Send queued control messages into the control receive queue (q 2). */
static void ctl_flush(struct vstd_virtio_dev *dev)
{
	struct console *c = dev->priv;
	struct vstd_vq *vq = &dev->vq[2];
	int sent = 0, irq = 0;
	if (!vq->enabled)
		return;
	pthread_mutex_lock(&vq->lock);
	pthread_mutex_lock(&c->ctl_lock);
	while (c->pend_count > 0) {
		struct vq_chain *ch;
		int p = vq_pop(vq, &ch);
		if (p < 0) {
			pthread_mutex_unlock(&c->ctl_lock);
			pthread_mutex_unlock(&vq->lock);
			vdev_break(dev);
			return;
		}
		if (p == 0)
			break;
		vq_push(vq, ch, (uint32_t)vq_chain_write(ch, 0, c->pending[c->pend_head], 8));
		c->pend_head = (c->pend_head + 1) % CON_PENDING;
		c->pend_count--;
		sent++;
	}
	pthread_mutex_unlock(&c->ctl_lock);
	if (sent)
		irq = vq_should_interrupt(vq);
	pthread_mutex_unlock(&vq->lock);
	if (irq)
		vdev_queue_interrupt(dev, 2);
}

static void ctl_send(struct vstd_virtio_dev *dev, uint32_t id, uint16_t event, uint16_t value)
{
	struct console *c = dev->priv;
	pthread_mutex_lock(&c->ctl_lock);
	if (c->pend_count < CON_PENDING) {
		uint8_t *m = c->pending[(c->pend_head + c->pend_count) % CON_PENDING];
		vstd_put_le32(m, id);
		vstd_put_le16(m + 4, event);
		vstd_put_le16(m + 6, value);
		c->pend_count++;
	} else {
		vstd_warn("virtio",
		          "virtio-console: control message dropped (guest posts no buffers)");
	}
	pthread_mutex_unlock(&c->ctl_lock);
}

static int ctl_chain(struct vstd_virtio_dev *dev, unsigned q, struct vq_chain *ch,
                     uint32_t *written)
{
	struct console *c = dev->priv;
	uint8_t m[8];
	uint32_t id;
	uint16_t event, value;
	(void)q;
	*written = 0;
	if (ch->out_len < 8)
		return 0;
	vq_chain_read(ch, 0, m, 8);
	id = vstd_le32(m);
	event = vstd_le16(m + 4);
	value = vstd_le16(m + 6);
	switch (event) {
	case CTL_DEVICE_READY:
		if (value == 1)
			for (uint32_t p = 0; p < c->nports; p++)
				ctl_send(dev, p, CTL_DEVICE_ADD, 1);
		break;
	case CTL_PORT_READY:
		if (id >= c->nports)
			break;
		c->ports[id].ready = value == 1;
		if (value == 1) {
			if (id == 0)
				ctl_send(dev, 0, CTL_CONSOLE_PORT, 1);
			ctl_send(dev, id, CTL_PORT_OPEN, 1); /* the host side is connected */
		}
		break;
	case CTL_PORT_OPEN:
		if (id < c->nports)
			c->ports[id].guest_open = value == 1;
		break;
	default: break;
	}
	return 0;
}

static int tx_chain(struct vstd_virtio_dev *dev, unsigned q, struct vq_chain *ch, uint32_t *written)
{
	struct console *c = dev->priv;
	unsigned port = q == 1 ? 0 : (q - 5) / 2 + 1;
	uint8_t buf[CON_CHUNK];
	*written = 0;
	for (uint64_t off = 0; off < ch->out_len && off < (1u << 20);) {
		size_t n = vq_chain_read(ch, off, buf, sizeof(buf));
		if (n == 0)
			break;
		if (c->output)
			c->output(c->opaque, port, buf, n);
		off += n;
	}
	return 0;
}

static int con_queue(struct vstd_virtio_dev *dev, unsigned q)
{
	struct console *c = dev->priv;
	if (q == 2) { /* control receive: the guest posted buffers */
		pthread_mutex_unlock(&dev->vq[2].lock);
		ctl_flush(dev);
		pthread_mutex_lock(&dev->vq[2].lock);
		return 0;
	}
	if (q == 3) {
		int rc;
		if (!multiport(dev))
			return 0;
		rc = vdev_process(dev, q, ctl_chain);
		if (rc >= 0 && c->pend_count) {
			pthread_mutex_unlock(&dev->vq[3].lock);
			ctl_flush(dev);
			pthread_mutex_lock(&dev->vq[3].lock);
		}
		return rc;
	}
	if (q % 2 == 1)
		return vdev_process(dev, q, tx_chain);
	return 0; /* a receive queue got buffers: input is pushed by the host */
}

int vstd_virtio_console_input(vstd_virtio_dev *dev, unsigned port, const void *data, size_t len)
{
	struct console *c;
	struct vstd_vq *vq;
	const uint8_t *p = data;
	size_t done = 0;
	int irq = 0, rc = 0, pushed = 0;
	if (dev == NULL || dev->ops->type != VSTD_VIRTIO_CONSOLE || (data == NULL && len))
		return vstd_err(VSTD_EINVAL, "virtio-console: invalid input arguments");
	c = dev->priv;
	if (port >= c->nports || (port > 0 && !multiport(dev)))
		return vstd_err(VSTD_ERANGE, "virtio-console: no port %u", port);
	if (!vdev_running(dev))
		return vstd_err(VSTD_ESTATE, "virtio-console: device not running");
	vq = &dev->vq[port_rxq(port)];
	pthread_mutex_lock(&vq->lock);
	while (done < len && vq->enabled) {
		struct vq_chain *ch;
		int r = vq_pop(vq, &ch);
		size_t n;
		if (r < 0) {
			rc = r;
			break;
		}
		if (r == 0)
			break;
		n = vq_chain_write(ch, 0, p + done, len - done);
		vq_push(vq, ch, (uint32_t)n);
		pushed++;
		done += n;
	}
	if (pushed)
		irq = vq_should_interrupt(vq);
	pthread_mutex_unlock(&vq->lock);
	if (rc < 0) {
		vdev_break(dev);
		return rc;
	}
	if (irq)
		vdev_queue_interrupt(dev, port_rxq(port));
	return (int)(done > (size_t)INT32_MAX ? INT32_MAX : done);
}

int vstd_virtio_console_port_open(const vstd_virtio_dev *dev, unsigned port)
{
	const struct console *c;
	if (dev == NULL || dev->ops->type != VSTD_VIRTIO_CONSOLE)
		return 0;
	c = dev->priv;
	if (port >= c->nports)
		return 0;
	if (!vdev_has(dev, VCON_F_MULTIPORT))
		return port == 0 && vdev_running(dev);
	return c->ports[port].ready && c->ports[port].guest_open;
}

static void con_config_write(struct vstd_virtio_dev *dev, unsigned off, const uint8_t *data,
                             unsigned len)
{
	struct console *c = dev->priv;
	/* emerg_wr: one character for port 0, usable before the queues are. */
	if (off == 8 && len == 4 && vdev_has(dev, VCON_F_EMERG_WRITE) && c->output)
		c->output(c->opaque, 0, data, 1);
}

static void con_reset(struct vstd_virtio_dev *dev)
{
	struct console *c = dev->priv;
	pthread_mutex_lock(&c->ctl_lock);
	c->pend_head = c->pend_count = 0;
	pthread_mutex_unlock(&c->ctl_lock);
	memset(c->ports, 0, sizeof(*c->ports) * c->nports);
}

static void con_free(struct vstd_virtio_dev *dev)
{
	struct console *c = dev->priv;
	if (c) {
		pthread_mutex_destroy(&c->ctl_lock);
		vstd_free(c->ports);
		vstd_free(c);
	}
}

static const struct vdev_ops con_ops = {
        .name = "console",
        .type = VSTD_VIRTIO_CONSOLE,
        .queue = con_queue,
        .config_write = con_config_write,
        .reset = con_reset,
        .free = con_free,
};

int vstd_virtio_console_new(vstd_virtio_dev **out, vstd_guestmem *gm,
                            const vstd_virtio_console_opts *opts)
{
	vstd_virtio_console_opts o = VSTD_VIRTIO_CONSOLE_OPTS_INIT;
	struct vstd_virtio_dev *dev;
	struct console *c;
	uint64_t features = vstd_virtio_default_features(VSTD_VIRTIO_CONSOLE);
	unsigned nq;
	int rc;
	if (out == NULL)
		return vstd_err(VSTD_EINVAL, "virtio-console: NULL out pointer");
	if (opts != NULL) {
		if (opts->version != VSTD_VIRTIO_CONSOLE_OPTS_VERSION)
			return vstd_err(VSTD_EINVAL, "virtio-console: unknown options version %u",
			                opts->version);
		o = *opts;
	}
	if (o.max_nr_ports == 0)
		o.max_nr_ports = 31;
	if (o.max_nr_ports > 511)
		return vstd_err(VSTD_EINVAL, "virtio-console: %u ports is more than 511",
		                o.max_nr_ports);
	if (o.max_nr_ports == 1)
		features &= ~VSTD_VIRTIO_BIT(VCON_F_MULTIPORT);
	if (o.cols && o.rows)
		features |= VSTD_VIRTIO_BIT(VCON_F_SIZE);
	c = vstd_calloc(1, sizeof(*c));
	if (c == NULL)
		return VSTD_ENOMEM;
	c->ports = vstd_calloc(o.max_nr_ports, sizeof(*c->ports));
	if (c->ports == NULL) {
		vstd_free(c);
		return VSTD_ENOMEM;
	}
	c->nports = o.max_nr_ports;
	c->output = o.output;
	c->opaque = o.opaque;
	pthread_mutex_init(&c->ctl_lock, NULL);
	nq = o.max_nr_ports > 1 ? 2 + 2 * o.max_nr_ports : 2;
	rc = vdev_new(&dev, &con_ops, gm, nq, CON_QUEUE_SIZE, features, &o.common);
	if (rc < 0) {
		pthread_mutex_destroy(&c->ctl_lock);
		vstd_free(c->ports);
		vstd_free(c);
		return rc;
	}
	dev->priv = c;
	dev->cfg_len = CON_CFG_LEN;
	vstd_put_le16(dev->cfg + 0, o.cols);
	vstd_put_le16(dev->cfg + 2, o.rows);
	vstd_put_le32(dev->cfg + 4, o.max_nr_ports);
	*out = dev;
	return 0;
}
