/*
 * paravirt/features.c - feature bit names and the default offered sets.
 *
 * The defaults follow what QEMU's devices offer a modern driver (see
 * docs/virtio.md for the list and the differences).
 */
#include <string.h>

#include "paravirt/device.h"
#include "paravirt/features.h"

struct fname {
	unsigned type; /* 0: any device */
	unsigned bit;
	const char *name;
};

static const struct fname names[] = {
        {0, VSTD_VIRTIO_F_NOTIFY_ON_EMPTY, "NOTIFY_ON_EMPTY"},
        {0, VSTD_VIRTIO_F_ANY_LAYOUT, "ANY_LAYOUT"},
        {0, VSTD_VIRTIO_F_INDIRECT_DESC, "RING_INDIRECT_DESC"},
        {0, VSTD_VIRTIO_F_EVENT_IDX, "RING_EVENT_IDX"},
        {0, VSTD_VIRTIO_F_VERSION_1, "VERSION_1"},
        {0, VSTD_VIRTIO_F_ACCESS_PLATFORM, "ACCESS_PLATFORM"},
        {0, VSTD_VIRTIO_F_RING_PACKED, "RING_PACKED"},
        {0, VSTD_VIRTIO_F_IN_ORDER, "IN_ORDER"},
        {0, VSTD_VIRTIO_F_ORDER_PLATFORM, "ORDER_PLATFORM"},
        {0, VSTD_VIRTIO_F_SR_IOV, "SR_IOV"},
        {0, VSTD_VIRTIO_F_NOTIFICATION_DATA, "NOTIFICATION_DATA"},
        {0, VSTD_VIRTIO_F_NOTIF_CONFIG_DATA, "NOTIF_CONFIG_DATA"},
        {0, VSTD_VIRTIO_F_RING_RESET, "RING_RESET"},
        {VSTD_VIRTIO_BLK, VBLK_F_SIZE_MAX, "BLK_F_SIZE_MAX"},
        {VSTD_VIRTIO_BLK, VBLK_F_SEG_MAX, "BLK_F_SEG_MAX"},
        {VSTD_VIRTIO_BLK, VBLK_F_GEOMETRY, "BLK_F_GEOMETRY"},
        {VSTD_VIRTIO_BLK, VBLK_F_RO, "BLK_F_RO"},
        {VSTD_VIRTIO_BLK, VBLK_F_BLK_SIZE, "BLK_F_BLK_SIZE"},
        {VSTD_VIRTIO_BLK, VBLK_F_FLUSH, "BLK_F_FLUSH"},
        {VSTD_VIRTIO_BLK, VBLK_F_TOPOLOGY, "BLK_F_TOPOLOGY"},
        {VSTD_VIRTIO_BLK, VBLK_F_CONFIG_WCE, "BLK_F_CONFIG_WCE"},
        {VSTD_VIRTIO_BLK, VBLK_F_MQ, "BLK_F_MQ"},
        {VSTD_VIRTIO_BLK, VBLK_F_DISCARD, "BLK_F_DISCARD"},
        {VSTD_VIRTIO_BLK, VBLK_F_WRITE_ZEROES, "BLK_F_WRITE_ZEROES"},
        {VSTD_VIRTIO_BLK, VBLK_F_LIFETIME, "BLK_F_LIFETIME"},
        {VSTD_VIRTIO_BLK, VBLK_F_SECURE_ERASE, "BLK_F_SECURE_ERASE"},
        {VSTD_VIRTIO_BLK, VBLK_F_ZONED, "BLK_F_ZONED"},
        {VSTD_VIRTIO_NET, VNET_F_CSUM, "NET_F_CSUM"},
        {VSTD_VIRTIO_NET, VNET_F_GUEST_CSUM, "NET_F_GUEST_CSUM"},
        {VSTD_VIRTIO_NET, VNET_F_CTRL_GUEST_OFFLOADS, "NET_F_CTRL_GUEST_OFFLOADS"},
        {VSTD_VIRTIO_NET, VNET_F_MTU, "NET_F_MTU"},
        {VSTD_VIRTIO_NET, VNET_F_MAC, "NET_F_MAC"},
        {VSTD_VIRTIO_NET, VNET_F_GUEST_TSO4, "NET_F_GUEST_TSO4"},
        {VSTD_VIRTIO_NET, VNET_F_GUEST_TSO6, "NET_F_GUEST_TSO6"},
        {VSTD_VIRTIO_NET, VNET_F_GUEST_ECN, "NET_F_GUEST_ECN"},
        {VSTD_VIRTIO_NET, VNET_F_GUEST_UFO, "NET_F_GUEST_UFO"},
        {VSTD_VIRTIO_NET, VNET_F_HOST_TSO4, "NET_F_HOST_TSO4"},
        {VSTD_VIRTIO_NET, VNET_F_HOST_TSO6, "NET_F_HOST_TSO6"},
        {VSTD_VIRTIO_NET, VNET_F_HOST_ECN, "NET_F_HOST_ECN"},
        {VSTD_VIRTIO_NET, VNET_F_HOST_UFO, "NET_F_HOST_UFO"},
        {VSTD_VIRTIO_NET, VNET_F_MRG_RXBUF, "NET_F_MRG_RXBUF"},
        {VSTD_VIRTIO_NET, VNET_F_STATUS, "NET_F_STATUS"},
        {VSTD_VIRTIO_NET, VNET_F_CTRL_VQ, "NET_F_CTRL_VQ"},
        {VSTD_VIRTIO_NET, VNET_F_CTRL_RX, "NET_F_CTRL_RX"},
        {VSTD_VIRTIO_NET, VNET_F_CTRL_VLAN, "NET_F_CTRL_VLAN"},
        {VSTD_VIRTIO_NET, VNET_F_CTRL_RX_EXTRA, "NET_F_CTRL_RX_EXTRA"},
        {VSTD_VIRTIO_NET, VNET_F_GUEST_ANNOUNCE, "NET_F_GUEST_ANNOUNCE"},
        {VSTD_VIRTIO_NET, VNET_F_MQ, "NET_F_MQ"},
        {VSTD_VIRTIO_NET, VNET_F_CTRL_MAC_ADDR, "NET_F_CTRL_MAC_ADDR"},
        {VSTD_VIRTIO_CONSOLE, VCON_F_SIZE, "CONSOLE_F_SIZE"},
        {VSTD_VIRTIO_CONSOLE, VCON_F_MULTIPORT, "CONSOLE_F_MULTIPORT"},
        {VSTD_VIRTIO_CONSOLE, VCON_F_EMERG_WRITE, "CONSOLE_F_EMERG_WRITE"},
};

const char *vstd_virtio_feature_name(unsigned type, unsigned bit)
{
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i].bit == bit && (names[i].type == 0 || names[i].type == type))
			return names[i].name;
	return NULL;
}

static const char *const type_names[] = {NULL, "net", "blk", "console", "rng"};

const char *vstd_virtio_type_name(unsigned type)
{
	return type < 5 ? type_names[type] : NULL;
}

unsigned vstd_virtio_type_from_name(const char *name)
{
	for (unsigned t = 1; name && t < 5; t++)
		if (strcmp(name, type_names[t]) == 0)
			return t;
	return 0;
}

#define B(x) VSTD_VIRTIO_BIT(x)
/* What QEMU offers every modern device: indirect descriptors, event index,
 * VERSION_1 and (since QEMU 7.2) RING_RESET. */
#define RING_DEFAULT                                                                               \
	(B(VSTD_VIRTIO_F_INDIRECT_DESC) | B(VSTD_VIRTIO_F_EVENT_IDX) |                             \
	 B(VSTD_VIRTIO_F_VERSION_1) | B(VSTD_VIRTIO_F_RING_RESET))

uint64_t vstd_virtio_default_features(unsigned type)
{
	switch (type) {
	case VSTD_VIRTIO_BLK:
		return RING_DEFAULT | B(VBLK_F_SEG_MAX) | B(VBLK_F_GEOMETRY) | B(VBLK_F_BLK_SIZE) |
		       B(VBLK_F_FLUSH) | B(VBLK_F_TOPOLOGY) | B(VBLK_F_CONFIG_WCE) |
		       B(VBLK_F_DISCARD) | B(VBLK_F_WRITE_ZEROES);
	case VSTD_VIRTIO_NET:
		return RING_DEFAULT | B(VNET_F_CSUM) | B(VNET_F_GUEST_CSUM) |
		       B(VNET_F_CTRL_GUEST_OFFLOADS) | B(VNET_F_MAC) | B(VNET_F_GUEST_TSO4) |
		       B(VNET_F_GUEST_TSO6) | B(VNET_F_GUEST_ECN) | B(VNET_F_GUEST_UFO) |
		       B(VNET_F_HOST_TSO4) | B(VNET_F_HOST_TSO6) | B(VNET_F_HOST_ECN) |
		       B(VNET_F_HOST_UFO) | B(VNET_F_MRG_RXBUF) | B(VNET_F_STATUS) |
		       B(VNET_F_CTRL_VQ) | B(VNET_F_CTRL_RX) | B(VNET_F_CTRL_VLAN) |
		       B(VNET_F_CTRL_RX_EXTRA) | B(VNET_F_GUEST_ANNOUNCE) | B(VNET_F_CTRL_MAC_ADDR);
	case VSTD_VIRTIO_CONSOLE: return RING_DEFAULT | B(VCON_F_MULTIPORT) | B(VCON_F_EMERG_WRITE);
	case VSTD_VIRTIO_RNG: return RING_DEFAULT;
	default: return 0;
	}
}
