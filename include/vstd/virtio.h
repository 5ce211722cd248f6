/*
 * vstd/virtio.h - the device side of OASIS VIRTIO 1.2, for any VMM.
 *
 * The library implements virtqueues (split and packed), the virtio-pci
 * (modern, optional transitional I/O BAR) and virtio-mmio (version 2)
 * transports and four devices (blk, net, console, rng).  It knows no
 * hypervisor: the VMM
 *
 *  1. describes guest memory with a vstd_guestmem (regions of guest-physical
 *     addresses mapped to host pointers).  The library never touches guest
 *     memory except through it, and every access is bounds-checked;
 *  2. creates a device (vstd_virtio_blk_new() ...) and puts it on a
 *     transport (vstd_virtio_mmio_new() or vstd_virtio_pci_new()), giving
 *     a vstd_virtio_host with its interrupt callback;
 *  3. forwards the guest's register accesses (MMIO exits, PCI config
 *     cycles, BAR accesses) to the transport's read/write functions, and
 *     the guest's queue notifications (a write to the notify register, or
 *     an ioeventfd that fired) to vstd_virtio_notify().
 *
 * Everything the guest writes is hostile.  A ring that breaks a device-side
 * rule of the specification never crashes or hangs the device: the device
 * sets DEVICE_NEEDS_RESET in its status, raises a configuration-change
 * interrupt and ignores the queue until the driver resets the device; a
 * malformed request inside a well-formed chain gets an error status.
 *
 * Threading: register accesses (transport read/write) of one device are
 * serialised by the library.  vstd_virtio_notify() may be called for
 * different queues of one device from different threads at the same time
 * (one I/O thread per queue is the intended model); calls for the same
 * queue are serialised by a per-queue lock.  The interrupt callback may be
 * called from any of these threads, with a queue lock held: it must not
 * call back into the library for the same device (writing to an irqfd is
 * the intended implementation).
 */
#ifndef VSTD_VIRTIO_H
#define VSTD_VIRTIO_H

#include "vstd/common.h"
#include "vstd/disk.h"
#include "vstd/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------ guest memory */

typedef struct vstd_guestmem vstd_guestmem;

/** The most regions a map holds. */
#define VSTD_GUESTMEM_MAX_REGIONS 64

enum vstd_guestmem_flag {
	VSTD_GUESTMEM_READONLY = 0x01 /* the device may read but never write (ROM) */
};

/** vstd_guestmem_new - an empty guest memory map.  Errors: VSTD_ENOMEM. */
VSTD_API int vstd_guestmem_new(vstd_guestmem **out);

/**
 * vstd_guestmem_add - map [gpa, gpa+size) of guest-physical space to host
 * memory at `host` (borrowed: it must stay mapped while the map is used).
 * Errors: VSTD_EINVAL (size 0, gpa+size overflows, overlap with an existing
 * region), VSTD_ELIMIT (more than VSTD_GUESTMEM_MAX_REGIONS).  Not to be
 * called while a device using the map processes queues.
 */
VSTD_API int vstd_guestmem_add(vstd_guestmem *gm, uint64_t gpa, void *host, uint64_t size,
                               unsigned flags);

/** vstd_guestmem_free - free the map (not the memory it describes).  NULL: no-op. */
VSTD_API void vstd_guestmem_free(vstd_guestmem *gm);

/**
 * vstd_guestmem_read / _write - copy between guest memory and a host buffer.
 * The range may straddle adjacent regions.  Errors: VSTD_ERANGE when any
 * byte is outside the map (nothing is copied then), VSTD_EPERM writing a
 * read-only region.  Thread-safe (the map is read-only while in use).
 */
VSTD_API int vstd_guestmem_read(const vstd_guestmem *gm, uint64_t gpa, void *buf, size_t len);
VSTD_API int vstd_guestmem_write(const vstd_guestmem *gm, uint64_t gpa, const void *buf,
                                 size_t len);

/**
 * vstd_guestmem_ptr - host pointer to [gpa, gpa+len) when the range lies
 * within one region (and that region is writable if `writable`), else NULL.
 */
VSTD_API void *vstd_guestmem_ptr(const vstd_guestmem *gm, uint64_t gpa, uint64_t len, int writable);

/* ------------------------------------------------------------ constants */

/* Device status bits (VIRTIO 1.2 section 2.1). */
#define VSTD_VIRTIO_STATUS_ACKNOWLEDGE 0x01
#define VSTD_VIRTIO_STATUS_DRIVER 0x02
#define VSTD_VIRTIO_STATUS_DRIVER_OK 0x04
#define VSTD_VIRTIO_STATUS_FEATURES_OK 0x08
#define VSTD_VIRTIO_STATUS_NEEDS_RESET 0x40
#define VSTD_VIRTIO_STATUS_FAILED 0x80

/* Device-independent feature bits (section 6). */
#define VSTD_VIRTIO_F_NOTIFY_ON_EMPTY 24
#define VSTD_VIRTIO_F_ANY_LAYOUT 27
#define VSTD_VIRTIO_F_INDIRECT_DESC 28
#define VSTD_VIRTIO_F_EVENT_IDX 29
#define VSTD_VIRTIO_F_VERSION_1 32
#define VSTD_VIRTIO_F_ACCESS_PLATFORM 33
#define VSTD_VIRTIO_F_RING_PACKED 34
#define VSTD_VIRTIO_F_IN_ORDER 35
#define VSTD_VIRTIO_F_ORDER_PLATFORM 36
#define VSTD_VIRTIO_F_SR_IOV 37
#define VSTD_VIRTIO_F_NOTIFICATION_DATA 38
#define VSTD_VIRTIO_F_NOTIF_CONFIG_DATA 39
#define VSTD_VIRTIO_F_RING_RESET 40

#define VSTD_VIRTIO_BIT(b) (1ULL << (b))

/* Device types (section 5). */
enum vstd_virtio_type {
	VSTD_VIRTIO_NET = 1,
	VSTD_VIRTIO_BLK = 2,
	VSTD_VIRTIO_CONSOLE = 3,
	VSTD_VIRTIO_RNG = 4
};

/** Interrupt "vector" used for the single line of virtio-mmio and PCI INTx. */
#define VSTD_VIRTIO_VECTOR_INTX 0xffffu
/** MSI-X "no vector" value (section 4.1.5.1.2). */
#define VSTD_VIRTIO_NO_VECTOR 0xffffu

/* ------------------------------------------------------------ devices */

typedef struct vstd_virtio_dev vstd_virtio_dev;

/**
 * What the VMM provides.  interrupt(opaque, vector) asks the VMM to inject
 * an interrupt: an MSI-X vector number (the VMM looks the message up with
 * vstd_virtio_pci_msix_entry(), or has routed the vector to an irqfd), or
 * VSTD_VIRTIO_VECTOR_INTX for the single level-triggered line of
 * virtio-mmio and PCI INTx: the line is then asserted and stays so while
 * vstd_virtio_isr_pending() is non-zero (the driver's ISR read or
 * InterruptACK write clears it).
 */
#define VSTD_VIRTIO_HOST_VERSION 1
typedef struct vstd_virtio_host {
	unsigned version; /* VSTD_VIRTIO_HOST_VERSION */
	void (*interrupt)(void *opaque, unsigned vector);
	void *opaque;
} vstd_virtio_host;

/** Options shared by every device.  Fields are only ever appended. */
#define VSTD_VIRTIO_OPTS_VERSION 1
typedef struct vstd_virtio_opts {
	unsigned version; /* VSTD_VIRTIO_OPTS_VERSION */
	uint16_t
	        queue_size; /* maximum queue size offered, power of 2 <= 32768; 0: device default */
	uint64_t features_on;  /* feature bits offered beyond the default set
	                          (e.g. RING_PACKED, IN_ORDER, ACCESS_PLATFORM) */
	uint64_t features_off; /* feature bits removed from the default set */
} vstd_virtio_opts;
#define VSTD_VIRTIO_OPTS_INIT                                                                      \
	{                                                                                          \
		VSTD_VIRTIO_OPTS_VERSION, 0, 0, 0                                                  \
	}

/**
 * vstd_virtio_dev_free - free a device (detach it from its transport
 * first by freeing the transport).  NULL: no-op.
 */
VSTD_API void vstd_virtio_dev_free(vstd_virtio_dev *dev);

/** vstd_virtio_dev_type - the enum vstd_virtio_type of a device. */
VSTD_API unsigned vstd_virtio_dev_type(const vstd_virtio_dev *dev);
/** vstd_virtio_dev_status - the current device status byte. */
/** vstd_virtio_dev_num_queues - how many virtqueues the device has (0 for NULL). */
VSTD_API unsigned vstd_virtio_dev_num_queues(const vstd_virtio_dev *dev);
VSTD_API uint8_t vstd_virtio_dev_status(const vstd_virtio_dev *dev);
/** vstd_virtio_dev_features - offered (which 0) or negotiated (which 1) features. */
VSTD_API uint64_t vstd_virtio_dev_features(const vstd_virtio_dev *dev, int which);
/**
 * vstd_virtio_dev_broken_reason - why the device set NEEDS_RESET (a message
 * naming the queue, the descriptor and the rule), or NULL.
 */
VSTD_API const char *vstd_virtio_dev_broken_reason(const vstd_virtio_dev *dev);

/**
 * vstd_virtio_notify - the guest notified queue `queue` (its write to the
 * notify register, or an ioeventfd).  Processes every available buffer and
 * interrupts as the ring's suppression rules say.  Returns 0, or 1 when it
 * stopped after 4 x queue-size chains with more available (call again, so
 * a guest adding buffers from another vCPU cannot pin the thread), VSTD_ESTATE
 * when the device is not DRIVER_OK or is broken (nothing done), VSTD_ERANGE
 * for a queue that does not exist or is not enabled, VSTD_ECORRUPT when the
 * ring broke a rule just now (the device is then NEEDS_RESET).
 */
VSTD_API int vstd_virtio_notify(vstd_virtio_dev *dev, unsigned queue);

/**
 * vstd_virtio_notify_data - as vstd_virtio_notify(), for a notification
 * that carried VIRTIO_F_NOTIFICATION_DATA (VIRTIO 1.2 2.9): `data` is the
 * 32-bit value {vqn:16, next_off:15, next_wrap:1} the driver wrote.  The
 * transports call it themselves for QueueNotify / notify-register writes;
 * a VMM that decodes notifications on its own calls it instead of
 * vstd_virtio_notify().  The position is a hint: a value naming another
 * queue or a position outside the ring is ignored (counted, logged at
 * debug level), never trusted; the ring in guest memory decides what is
 * processed.  Without the feature negotiated the data is ignored.  Returns
 * as vstd_virtio_notify().
 */
VSTD_API int vstd_virtio_notify_data(vstd_virtio_dev *dev, unsigned queue, uint32_t data);

/** vstd_virtio_isr_pending - the ISR status bits (1 queue, 2 config) not yet acknowledged. */
VSTD_API unsigned vstd_virtio_isr_pending(const vstd_virtio_dev *dev);

/** vstd_virtio_feature_name - "VERSION_1", "BLK_F_SEG_MAX" ... for a device type, or NULL. */
VSTD_API const char *vstd_virtio_feature_name(unsigned type, unsigned bit);
/** vstd_virtio_type_name - "blk", "net", "console", "rng", or NULL. */
VSTD_API const char *vstd_virtio_type_name(unsigned type);
/** vstd_virtio_type_from_name - the type for a name, or 0. */
VSTD_API unsigned vstd_virtio_type_from_name(const char *name);
/** vstd_virtio_default_features - the feature set a device type offers by default. */
VSTD_API uint64_t vstd_virtio_default_features(unsigned type);

/* --- blk */

/* Version 2 added secure_erase and the zoned fields; version-1 structures
 * are still accepted. */
#define VSTD_VIRTIO_BLK_OPTS_VERSION 2
typedef struct vstd_virtio_blk_opts {
	unsigned version; /* VSTD_VIRTIO_BLK_OPTS_VERSION */
	vstd_virtio_opts common;
	uint16_t num_queues;        /* 0: 1 */
	uint32_t blk_size;          /* logical block size, 0: 512 */
	uint8_t physical_block_exp; /* log2(physical / logical block) */
	uint16_t min_io_size;       /* in logical blocks */
	uint32_t opt_io_size;       /* in logical blocks */
	const char *serial;         /* GET_ID answer (at most 20 bytes used), NULL: "" */
	int read_only;              /* offer VIRTIO_BLK_F_RO and refuse writes */
	/* Version 2. */
	int secure_erase; /* offer VIRTIO_BLK_F_SECURE_ERASE (QEMU does not): the
	                     range is overwritten with zeroes and flushed */
	/* zone_sectors nonzero: offer VIRTIO_BLK_F_ZONED, a host-managed zoned
	 * device emulated over the disk: zones of zone_sectors 512-byte
	 * sectors (a power of 2, a multiple of the block size), the first
	 * conventional_zones of them conventional, the rest sequential-write-
	 * required.  Zone state lives in memory: every sequential zone starts
	 * empty when the device is created (reads past a write pointer return
	 * zeroes whatever the disk holds).  max_open / max_active 0: no limit. */
	uint32_t zone_sectors;
	uint32_t conventional_zones;
	uint32_t max_open_zones;
	uint32_t max_active_zones;
} vstd_virtio_blk_opts;
#define VSTD_VIRTIO_BLK_OPTS_INIT                                                                  \
	{                                                                                          \
		VSTD_VIRTIO_BLK_OPTS_VERSION, VSTD_VIRTIO_OPTS_INIT, 0, 0, 0, 0, 0, NULL, 0, 0, 0, \
		        0, 0, 0                                                                    \
	}

/**
 * vstd_virtio_blk_new - a virtio-blk device on `disk` (borrowed; writes
 * need it opened with VSTD_DISK_RDWR unless read_only).  `gm` is borrowed.
 * opts may be NULL.  Errors: VSTD_EINVAL, VSTD_ENOMEM.
 */
VSTD_API int vstd_virtio_blk_new(vstd_virtio_dev **out, vstd_guestmem *gm, vstd_disk *disk,
                                 const vstd_virtio_blk_opts *opts);

/* --- rng */

/** vstd_virtio_rng_new - an entropy device fed by getrandom(2).  opts may be NULL. */
VSTD_API int vstd_virtio_rng_new(vstd_virtio_dev **out, vstd_guestmem *gm,
                                 const vstd_virtio_opts *opts);

/* --- net */

/**
 * A network backend: the device hands it each frame the guest sent
 * (without the virtio-net header; `hdr` is that header, 12 bytes, for
 * backends that pass offload information on), and the backend delivers
 * frames to the guest with vstd_virtio_net_receive().
 */
typedef struct vstd_virtio_net_backend {
	int (*transmit)(void *opaque, const void *hdr, const void *frame, size_t len);
	void *opaque;
} vstd_virtio_net_backend;

/* Version 2 added max_queue_pairs; version-1 structures are still accepted. */
#define VSTD_VIRTIO_NET_OPTS_VERSION 2
/** The most queue pairs a net device offers (VIRTIO_NET_F_MQ). */
#define VSTD_VIRTIO_NET_MAX_PAIRS 128
typedef struct vstd_virtio_net_opts {
	unsigned version; /* VSTD_VIRTIO_NET_OPTS_VERSION */
	vstd_virtio_opts common;
	uint8_t mac[6]; /* all zero: 52:54:00:12:34:56 (QEMU's first NIC) */
	uint16_t mtu;   /* 0: VIRTIO_NET_F_MTU not offered */
	/* Backend: exactly one of loopback (frames the guest sends come back to
	 * it), tap_name (a TAP interface opened with IFF_VNET_HDR) or backend. */
	int loopback;
	const char *tap_name;
	const vstd_virtio_net_backend *backend;
	/* Version 2: receive/transmit queue pairs, 0 or 1: one pair and no
	 * VIRTIO_NET_F_MQ (QEMU's mq=off default); 2..VSTD_VIRTIO_NET_MAX_PAIRS:
	 * VIRTIO_NET_F_MQ offered with max_virtqueue_pairs = this.  Queues are
	 * then rx0, tx0, rx1, tx1, ... and the control queue is the last
	 * (2 x pairs) when the driver takes MQ, queue 2 when it does not. */
	uint16_t max_queue_pairs;
} vstd_virtio_net_opts;
#define VSTD_VIRTIO_NET_OPTS_INIT                                                                  \
	{                                                                                          \
		VSTD_VIRTIO_NET_OPTS_VERSION, VSTD_VIRTIO_OPTS_INIT, {0}, 0, 1, NULL, NULL, 0      \
	}

VSTD_API int vstd_virtio_net_new(vstd_virtio_dev **out, vstd_guestmem *gm,
                                 const vstd_virtio_net_opts *opts);

/**
 * vstd_virtio_net_receive - deliver one frame (with the 12-byte virtio-net
 * header `hdr`, NULL: no offload information) into the guest's receive
 * queue.  Returns 0, VSTD_EBUSY when the guest posted no (or too few)
 * receive buffers (the frame is dropped), VSTD_ESTATE when the device is
 * not running or the link is down.
 */
VSTD_API int vstd_virtio_net_receive(vstd_virtio_dev *dev, const void *hdr, const void *frame,
                                     size_t len);

/**
 * vstd_virtio_net_receive_pair - as vstd_virtio_net_receive(), into the
 * receive queue of pair `pair` (for a VMM with one backend queue per pair,
 * e.g. a multiqueue TAP).  A pair the driver has not enabled with
 * VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET is refused with VSTD_ERANGE (the device
 * must not use it).  vstd_virtio_net_receive() chooses the pair itself:
 * the pair on which the guest last sent a packet of the same flow
 * (automatic receive steering), else pair 0.
 */
VSTD_API int vstd_virtio_net_receive_pair(vstd_virtio_dev *dev, unsigned pair, const void *hdr,
                                          const void *frame, size_t len);

/**
 * vstd_virtio_net_announce - ask the guest to announce itself (gratuitous
 * ARP / neighbour advertisement), e.g. after live migration: sets
 * VIRTIO_NET_S_ANNOUNCE in the status and raises a configuration
 * interrupt; the driver acknowledges with VIRTIO_NET_CTRL_ANNOUNCE_ACK.
 * VSTD_ENOTSUP when the driver did not take GUEST_ANNOUNCE, VSTD_ESTATE
 * when the device is not running.
 */
VSTD_API int vstd_virtio_net_announce(vstd_virtio_dev *dev);

/** Counters of a net device (all since creation).  Fields are only ever appended. */
#define VSTD_VIRTIO_NET_STATS_VERSION 1
typedef struct vstd_virtio_net_stats {
	unsigned version;      /* VSTD_VIRTIO_NET_STATS_VERSION, set by the caller */
	uint64_t rx_packets;   /* frames placed in receive queues */
	uint64_t rx_dropped;   /* no buffers, filtered out, GSO the guest cannot take */
	uint64_t tx_packets;   /* frames handed to the backend */
	uint64_t tx_dropped;   /* the backend refused them, or too short / too long */
	uint64_t tx_bad_hdr;   /* dropped: virtio_net_hdr that breaks a rule (offload not
	                          negotiated, checksum or header offsets outside the frame,
	                          unknown gso_type, gso_size 0, rx-only flags) */
	uint64_t ctrl_err;     /* control commands answered VIRTIO_NET_ERR */
	uint16_t pairs;        /* queue pairs in use now (VQ_PAIRS_SET) */
	unsigned tap_offloads; /* TUN_F_* flags set on the TAP now */
} vstd_virtio_net_stats;

/** vstd_virtio_net_stats - fill *st (st->version set by the caller).  Thread-safe. */
VSTD_API int vstd_virtio_net_get_stats(const vstd_virtio_dev *dev, vstd_virtio_net_stats *st);

/** vstd_virtio_net_set_link - link up (1) or down (0): updates status and raises a config
 * interrupt. */
VSTD_API int vstd_virtio_net_set_link(vstd_virtio_dev *dev, int up);

/**
 * vstd_virtio_net_tap_poll - for a TAP backend: read the frames waiting on
 * the TAP descriptor and deliver them (call when vstd_virtio_net_tap_fd()
 * is readable).  Returns the number delivered or an error.
 */
VSTD_API int vstd_virtio_net_tap_poll(vstd_virtio_dev *dev);
VSTD_API int vstd_virtio_net_tap_fd(const vstd_virtio_dev *dev);

/* --- console */

#define VSTD_VIRTIO_CONSOLE_OPTS_VERSION 1
typedef struct vstd_virtio_console_opts {
	unsigned version; /* VSTD_VIRTIO_CONSOLE_OPTS_VERSION */
	vstd_virtio_opts common;
	uint32_t max_nr_ports; /* 1: single port (no MULTIPORT); 0: 31 as QEMU */
	/* Called with the bytes the guest wrote to port `port`. */
	void (*output)(void *opaque, unsigned port, const void *data, size_t len);
	void *opaque;
	uint16_t cols, rows; /* with both nonzero VIRTIO_CONSOLE_F_SIZE is offered */
} vstd_virtio_console_opts;
#define VSTD_VIRTIO_CONSOLE_OPTS_INIT                                                              \
	{                                                                                          \
		VSTD_VIRTIO_CONSOLE_OPTS_VERSION, VSTD_VIRTIO_OPTS_INIT, 0, NULL, NULL, 0, 0       \
	}

VSTD_API int vstd_virtio_console_new(vstd_virtio_dev **out, vstd_guestmem *gm,
                                     const vstd_virtio_console_opts *opts);

/**
 * vstd_virtio_console_input - send bytes to the guest on `port`.  Returns
 * the number of bytes placed (fewer when the guest posted too few buffers),
 * or VSTD_ESTATE / VSTD_ERANGE.
 */
VSTD_API int vstd_virtio_console_input(vstd_virtio_dev *dev, unsigned port, const void *data,
                                       size_t len);

/**
 * vstd_virtio_console_port_state - for multiport: 1 when the guest has
 * declared the port ready and open, 0 otherwise.
 */
VSTD_API int vstd_virtio_console_port_open(const vstd_virtio_dev *dev, unsigned port);

/* ------------------------------------------------------------ virtio-mmio */

typedef struct vstd_virtio_mmio vstd_virtio_mmio;

/** Size of the virtio-mmio register window (registers + device config). */
#define VSTD_VIRTIO_MMIO_SIZE 0x200

/**
 * vstd_virtio_mmio_new - put `dev` (borrowed, one transport at a time) on a
 * virtio-mmio version 2 register window.  `host` is copied.
 */
VSTD_API int vstd_virtio_mmio_new(vstd_virtio_mmio **out, vstd_virtio_dev *dev,
                                  const vstd_virtio_host *host);
VSTD_API void vstd_virtio_mmio_free(vstd_virtio_mmio *m);

/**
 * vstd_virtio_mmio_read / _write - a guest access of `size` bytes (1, 2, 4
 * or 8) at offset `off` of the window.  Registers below 0x100 take 32-bit
 * accesses only; the device configuration at 0x100 any size.  An access the
 * specification does not allow reads as 0 / is ignored and returns
 * VSTD_EINVAL (the VMM does not forward that to the guest).  A write to
 * QueueNotify processes the queue (as vstd_virtio_notify()).
 */
VSTD_API int vstd_virtio_mmio_read(vstd_virtio_mmio *m, uint64_t off, void *data, unsigned size);
VSTD_API int vstd_virtio_mmio_write(vstd_virtio_mmio *m, uint64_t off, const void *data,
                                    unsigned size);

/**
 * vstd_virtio_mmio_cmdline - format the Linux kernel argument announcing the
 * device: "virtio_mmio.device=<size>@<base>:<irq>" with size as 512 or
 * 4K-style suffixes as Linux's memparse reads them.  Returns the length,
 * or VSTD_ERANGE when buf is too small.
 */
VSTD_API int vstd_virtio_mmio_cmdline(char *buf, size_t buflen, uint64_t base, uint64_t size,
                                      unsigned irq);

/* ------------------------------------------------------------ virtio-pci */

typedef struct vstd_virtio_pci vstd_virtio_pci;

#define VSTD_VIRTIO_PCI_OPTS_VERSION 1
typedef struct vstd_virtio_pci_opts {
	unsigned version;      /* VSTD_VIRTIO_PCI_OPTS_VERSION */
	uint16_t msix_vectors; /* MSI-X table entries, 0: queues + 1; 0xffff: no MSI-X */
	int transitional;      /* also expose the legacy I/O BAR 0 and the
	                          transitional device ID (0x1000 + type - 1) */
} vstd_virtio_pci_opts;
#define VSTD_VIRTIO_PCI_OPTS_INIT                                                                  \
	{                                                                                          \
		VSTD_VIRTIO_PCI_OPTS_VERSION, 0, 0                                                 \
	}

/* BARs used: 0 legacy I/O (transitional only), 1 MSI-X table + PBA, 4 the
 * 64-bit memory BAR with the common/isr/device/notify structures (16 KiB),
 * as QEMU lays them out. */
#define VSTD_VIRTIO_PCI_BAR_LEGACY 0
#define VSTD_VIRTIO_PCI_BAR_MSIX 1
#define VSTD_VIRTIO_PCI_BAR_MODERN 4

VSTD_API int vstd_virtio_pci_new(vstd_virtio_pci **out, vstd_virtio_dev *dev,
                                 const vstd_virtio_host *host, const vstd_virtio_pci_opts *opts);
VSTD_API void vstd_virtio_pci_free(vstd_virtio_pci *p);

/**
 * vstd_virtio_pci_cfg_read / _write - an access to the function's 256-byte
 * configuration space (size 1, 2 or 4).  BAR sizing (writing all ones and
 * reading back) and the command register work as on hardware; the VMM reads
 * the programmed BAR addresses back with vstd_virtio_pci_bar().
 */
VSTD_API int vstd_virtio_pci_cfg_read(vstd_virtio_pci *p, unsigned off, void *data, unsigned size);
VSTD_API int vstd_virtio_pci_cfg_write(vstd_virtio_pci *p, unsigned off, const void *data,
                                       unsigned size);

/**
 * vstd_virtio_pci_bar - size (0: BAR not implemented), whether it is I/O
 * space, and the address BAR `bar` decodes: the programmed address with the
 * flag bits and the bits below the BAR's size cleared, or 0 while the
 * command register has that kind of decoding (I/O or memory) turned off
 * (as during a guest's BAR sizing).
 */
VSTD_API uint64_t vstd_virtio_pci_bar(const vstd_virtio_pci *p, unsigned bar, int *is_io,
                                      uint64_t *addr);

/** vstd_virtio_pci_bar_read / _write - an access at `off` inside BAR `bar`. */
VSTD_API int vstd_virtio_pci_bar_read(vstd_virtio_pci *p, unsigned bar, uint64_t off, void *data,
                                      unsigned size);
VSTD_API int vstd_virtio_pci_bar_write(vstd_virtio_pci *p, unsigned bar, uint64_t off,
                                       const void *data, unsigned size);

/**
 * vstd_virtio_pci_msix_entry - the message (address, data) of MSI-X vector
 * `vector` and whether it is masked (entry or function mask).  VSTD_ERANGE
 * for a vector past the table.
 */
VSTD_API int vstd_virtio_pci_msix_entry(const vstd_virtio_pci *p, unsigned vector, uint64_t *addr,
                                        uint32_t *data, int *masked);

/** vstd_virtio_pci_notify_offset - offset in BAR 4 of queue q's notify register. */
VSTD_API uint64_t vstd_virtio_pci_notify_offset(const vstd_virtio_pci *p, unsigned queue);

/* ------------------------------------------------------------ inspection */

#define VSTD_VIRTIO_RING_VERSION 1
typedef struct vstd_virtio_ring {
	unsigned version;              /* VSTD_VIRTIO_RING_VERSION */
	int packed;                    /* packed layout (else split) */
	uint16_t num;                  /* queue size */
	uint64_t desc, driver, device; /* guest addresses of the three areas */
	int indirect;                  /* INDIRECT_DESC negotiated */
	uint16_t last_avail;           /* split: where the device stands (0: ring start) */
} vstd_virtio_ring;
#define VSTD_VIRTIO_RING_INIT                                                                      \
	{                                                                                          \
		VSTD_VIRTIO_RING_VERSION, 0, 0, 0, 0, 0, 1, 0                                      \
	}

/**
 * vstd_virtio_ring_decode - describe a virtqueue found in guest memory
 * (e.g. a memory dump): the descriptors, the driver and device areas, and
 * every available chain as the device would see it, validated by the same
 * rules (a chain breaking one is shown with the reason).  Guest memory is
 * only read.  `line` gets one line of text at a time.  Returns the number
 * of valid available chains, or VSTD_ECORRUPT / VSTD_EINVAL when the ring
 * itself cannot be placed in memory.
 */
VSTD_API int vstd_virtio_ring_decode(const vstd_guestmem *gm, const vstd_virtio_ring *ring,
                                     void (*line)(void *opaque, const char *text), void *opaque);

/* ------------------------------------------------------------ self-test */

/**
 * vstd_virtio_selftest - drive every device over both transports and both
 * ring layouts with the built-in driver, in memory.  `report` (may be NULL)
 * gets one line per check.  Returns 0 when all passed, VSTD_ERROR otherwise.
 */
VSTD_API int vstd_virtio_selftest(void (*report)(void *opaque, const char *line, int ok),
                                  void *opaque);

#ifdef __cplusplus
}
#endif

#endif /* VSTD_VIRTIO_H */
