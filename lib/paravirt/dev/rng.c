/*
 * paravirt/dev/rng.c - virtio entropy device (VIRTIO 1.2 5.4): one
 * request queue; every device-writable buffer is filled from getrandom(2).
 * No configuration space, no device features.
 */
#include <errno.h>
#include <sys/random.h>

#include "core/error_internal.h"
#include "paravirt/device.h"

static int rng_chain(struct vstd_virtio_dev *dev, unsigned q, struct vq_chain *c, uint32_t *written)
{
	uint64_t total = 0;
	(void)dev;
	(void)q;
	/* A read-only buffer is nothing to fill; it comes back with length 0. */
	for (uint32_t i = c->nout; i < c->nout + c->nin && total < (1u << 20); i++) {
		size_t done = 0;
		while (done < c->iov[i].len) {
			ssize_t n = getrandom(c->iov[i].base + done, c->iov[i].len - done, 0);
			if (n < 0) {
				if (errno == EINTR)
					continue;
				return vstd_err_errno(VSTD_EIO, errno, "virtio-rng: getrandom");
			}
			done += (size_t)n;
		}
		total += c->iov[i].len;
	}
	*written = (uint32_t)(total > UINT32_MAX ? UINT32_MAX : total);
	return 0;
}

static int rng_queue(struct vstd_virtio_dev *dev, unsigned q)
{
	return vdev_process(dev, q, rng_chain);
}

static const struct vdev_ops rng_ops = {
        .name = "rng",
        .type = VSTD_VIRTIO_RNG,
        .queue = rng_queue,
};

int vstd_virtio_rng_new(vstd_virtio_dev **out, vstd_guestmem *gm, const vstd_virtio_opts *opts)
{
	if (out == NULL)
		return vstd_err(VSTD_EINVAL, "virtio-rng: NULL out pointer");
	return vdev_new(out, &rng_ops, gm, 1, 8, vstd_virtio_default_features(VSTD_VIRTIO_RNG),
	                opts);
}
