/*
 * tests/paravirt/test_tap.c - the virtio-net TAP backend against the real
 * Linux network stack.
 *
 * Each test runs in its own forked child (Check's fork mode) and first
 * moves into a private network namespace (unshare(CLONE_NEWNET)), so the
 * host's network is never touched.  The device opens a TAP interface
 * (IFF_TAP | IFF_NO_PI | IFF_VNET_HDR) there; the test gives it
 * 10.0.0.1/24 and brings it up, then plays the guest (10.0.0.2, MAC
 * 52:54:00:12:34:56) with the driver-side library over the device's
 * queues: an ARP who-has answered by the kernel, an ICMP echo answered by
 * the kernel, and UDP both ways to a socket in the namespace, with
 * mergeable receive buffers on and off, split and packed rings, mmio and
 * pci.  Needs root and /dev/net/tun (skipped by name otherwise; CI runs
 * it as root).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <linux/if_tun.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/bytes.h"
#include "paravirt/exercise.h"
#include "paravirt/features.h"
#include "vtest.h"

#define TAP_NAME "vstdtap0"
#define HOST_IP 0x0a000001u  /* 10.0.0.1, the kernel side */
#define GUEST_IP 0x0a000002u /* 10.0.0.2, the guest side */
#define NRX 32

static const uint8_t guest_mac[6] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};

struct tap {
	struct loopvm vm;
	vstd_virtio_dev *dev;
	struct vdrv_vq q[3];
	int mrg;
	uint32_t rxsize;
	uint8_t host_mac[6];
	uint8_t *txbuf;
	uint64_t txgpa;
	uint8_t frame[70000]; /* last received: header + frame */
	size_t flen;          /* frame length without the header */
};

/* ------------------------------------------------------------ host side */

static void ns_enter(void)
{
	ck_assert_msg(unshare(CLONE_NEWNET) == 0, "unshare(CLONE_NEWNET): %s", strerror(errno));
}

static void put_sin(struct sockaddr *sa, uint32_t ip)
{
	struct sockaddr_in sin;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(ip);
	memcpy(sa, &sin, sizeof(sin));
}

/* 10.0.0.1/24 on the TAP, up; its MAC into mac. */
static void host_if_up(uint8_t mac[6])
{
	struct ifreq ifr;
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(s, 0);
	memset(&ifr, 0, sizeof(ifr));
	strcpy(ifr.ifr_name, TAP_NAME);
	put_sin(&ifr.ifr_addr, HOST_IP);
	ck_assert_msg(ioctl(s, SIOCSIFADDR, &ifr) == 0, "SIOCSIFADDR: %s", strerror(errno));
	put_sin(&ifr.ifr_netmask, 0xffffff00u);
	ck_assert_msg(ioctl(s, SIOCSIFNETMASK, &ifr) == 0, "SIOCSIFNETMASK: %s", strerror(errno));
	ck_assert_int_eq(ioctl(s, SIOCGIFFLAGS, &ifr), 0);
	ifr.ifr_flags |= IFF_UP;
	ck_assert_msg(ioctl(s, SIOCSIFFLAGS, &ifr) == 0, "SIOCSIFFLAGS: %s", strerror(errno));
	ck_assert_int_eq(ioctl(s, SIOCGIFHWADDR, &ifr), 0);
	memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
	close(s);
}

static int udp_socket(uint16_t port)
{
	struct sockaddr sa;
	struct timeval tv = {2, 0};
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(s, 0);
	put_sin(&sa, HOST_IP);
	((struct sockaddr_in *)(void *)&sa)->sin_port = htons(port);
	ck_assert_msg(bind(s, &sa, sizeof(struct sockaddr_in)) == 0, "bind: %s", strerror(errno));
	setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return s;
}

/* ------------------------------------------------------------ packets */

static uint32_t csum_add(uint32_t sum, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (n & 1)
		sum += (uint32_t)p[n - 1] << 8;
	return sum;
}
static uint16_t csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* Ethernet + IPv4 header (20 bytes) for `plen` bytes of payload of `proto`. */
static size_t ip_frame(uint8_t *f, const uint8_t *dst_mac, uint8_t proto, size_t plen)
{
	memcpy(f, dst_mac, 6);
	memcpy(f + 6, guest_mac, 6);
	vstd_put_be16(f + 12, 0x0800);
	memset(f + 14, 0, 20);
	f[14] = 0x45;
	vstd_put_be16(f + 16, (uint16_t)(20 + plen));
	vstd_put_be16(f + 18, 0x1234);
	f[22] = 64;
	f[23] = proto;
	vstd_put_be32(f + 26, GUEST_IP);
	vstd_put_be32(f + 30, HOST_IP);
	vstd_put_be16(f + 24, csum_fold(csum_add(0, f + 14, 20)));
	return 34;
}

/* UDP checksum over the pseudo header, header and data at f+34. */
static void udp_csum(uint8_t *f, size_t ulen)
{
	uint8_t ph[12];
	uint32_t sum;
	memcpy(ph, f + 26, 8);
	ph[8] = 0;
	ph[9] = 17;
	vstd_put_be16(ph + 10, (uint16_t)ulen);
	vstd_put_be16(f + 34 + 6, 0);
	sum = csum_add(csum_add(0, ph, 12), f + 34, ulen);
	vstd_put_be16(f + 34 + 6, csum_fold(sum) ? csum_fold(sum) : 0xffff);
}

/* ------------------------------------------------------------ guest side */

static void rx_post(struct tap *t, uint8_t *b)
{
	struct vdrv_sg sg = {loopvm_gpa(&t->vm, b), t->rxsize};
	ck_assert_int_eq(vdrv_vq_add(&t->q[0], NULL, 0, &sg, 1, b), 0);
}

static void guest_start(struct tap *t, int transport, int packed, int mrg, uint64_t want_off)
{
	vstd_virtio_net_opts no = VSTD_VIRTIO_NET_OPTS_INIT;
	struct vx_cfg c = {0};
	char msg[256];
	memset(t, 0, sizeof(*t));
	t->mrg = mrg;
	/* Without mergeable buffers a GSO guest must post 65562-byte buffers. */
	t->rxsize = mrg ? 1536 : 65562;
	ns_enter();
	vt_ok(loopvm_init(&t->vm, 8u << 20, 0));
	no.loopback = 0;
	no.tap_name = TAP_NAME;
	no.common.features_on = VSTD_VIRTIO_BIT(VSTD_VIRTIO_F_RING_PACKED);
	no.common.features_off = want_off | (mrg ? 0 : VSTD_VIRTIO_BIT(VNET_F_MRG_RXBUF));
	vt_ok(vstd_virtio_net_new(&t->dev, t->vm.gm, &no));
	ck_assert_int_ge(vstd_virtio_net_tap_fd(t->dev), 0);
	vt_ok(loopvm_attach(&t->vm, t->dev, transport));
	c.transport = transport;
	c.packed = packed;
	c.event_idx = 1;
	c.indirect = 1;
	c.qsize = 64;
	ck_assert_msg(vx_start(&t->vm, &c, t->q, 3, msg, sizeof(msg)) == 0, "%s", msg);
	ck_assert_uint_eq((vstd_virtio_dev_features(t->dev, 1) >> VNET_F_MRG_RXBUF) & 1,
	                  (unsigned)mrg);
	host_if_up(t->host_mac);
	for (int i = 0; i < NRX; i++) {
		uint8_t *b = loopvm_alloc(&t->vm, t->rxsize, 16, NULL);
		ck_assert_ptr_nonnull(b);
		rx_post(t, b);
	}
	vdrv_vq_kick(&t->q[0]);
	t->txbuf = loopvm_alloc(&t->vm, 12 + 65536 + 64, 16, &t->txgpa);
	ck_assert_ptr_nonnull(t->txbuf);
}

static void guest_stop(struct tap *t)
{
	ck_assert_msg(vstd_virtio_dev_broken_reason(t->dev) == NULL, "device broken: %s",
	              vstd_virtio_dev_broken_reason(t->dev));
	loopvm_fini(&t->vm);
}

/* Send one frame (with header `hdr`, NULL: none) on the transmit queue. */
static void guest_send(struct tap *t, const uint8_t *hdr, const uint8_t *f, size_t len)
{
	struct vdrv_sg sg = {t->txgpa, (uint32_t)(12 + len)};
	uint32_t l;
	if (hdr)
		memcpy(t->txbuf, hdr, 12);
	else
		memset(t->txbuf, 0, 12);
	memcpy(t->txbuf + 12, f, len);
	ck_assert_int_eq(vdrv_vq_add(&t->q[1], &sg, 1, NULL, 0, t->txbuf), 0);
	vdrv_vq_kick(&t->q[1]);
	ck_assert_ptr_eq(vx_wait(&t->q[1], &l), t->txbuf);
}

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* The next frame the guest receives (bounded wait): assembled from
 * num_buffers buffers into t->frame (header first); 0 or -1 on timeout. */
static int guest_recv(struct tap *t, unsigned timeout_ms)
{
	uint64_t end = now_ms() + timeout_ms;
	for (;;) {
		uint32_t l;
		uint8_t *b = vdrv_vq_get(&t->q[0], &l);
		if (b != NULL) {
			unsigned nb = vstd_le16(b + 10), got = 1;
			size_t at = 0;
			ck_assert_uint_ge(l, 12);
			ck_assert_msg(t->mrg ? nb >= 1 : nb == 1, "num_buffers %u", nb);
			memcpy(t->frame, b, l);
			at = l;
			rx_post(t, b);
			while (got < nb) {
				b = vdrv_vq_get(&t->q[0], &l);
				ck_assert_msg(b != NULL, "buffer %u of %u missing", got, nb);
				ck_assert_uint_le(at + l, sizeof(t->frame));
				memcpy(t->frame + at, b, l);
				at += l;
				rx_post(t, b);
				got++;
			}
			vdrv_vq_kick(&t->q[0]);
			t->flen = at - 12;
			return 0;
		}
		if (now_ms() >= end)
			return -1;
		{
			struct pollfd p = {vstd_virtio_net_tap_fd(t->dev), POLLIN, 0};
			if (poll(&p, 1, 20) > 0)
				ck_assert_int_ge(vstd_virtio_net_tap_poll(t->dev), 0);
		}
	}
}

/* Answer the kernel's ARP who-has for the guest's address. */
static int maybe_arp_reply(struct tap *t)
{
	const uint8_t *f = t->frame + 12;
	uint8_t r[60];
	if (t->flen < 42 || vstd_be16(f + 12) != 0x0806 || vstd_be16(f + 20) != 1 ||
	    vstd_be32(f + 38) != GUEST_IP)
		return 0;
	memset(r, 0, sizeof(r));
	memcpy(r, f + 6, 6);
	memcpy(r + 6, guest_mac, 6);
	vstd_put_be16(r + 12, 0x0806);
	memcpy(r + 14, f + 14, 6); /* htype, ptype, hlen, plen */
	vstd_put_be16(r + 20, 2);
	memcpy(r + 22, guest_mac, 6);
	vstd_put_be32(r + 28, GUEST_IP);
	memcpy(r + 32, f + 22, 10); /* their MAC and address */
	guest_send(t, NULL, r, sizeof(r));
	return 1;
}

/* Receive until pred() accepts a frame (ARP requests for us answered,
 * other traffic such as IPv6 neighbour discovery skipped). */
static int guest_expect(struct tap *t, int (*pred)(struct tap *t, void *arg), void *arg)
{
	uint64_t end = now_ms() + 3000;
	while (now_ms() < end) {
		if (guest_recv(t, 200) < 0)
			continue;
		if (pred(t, arg))
			return 0;
		(void)maybe_arp_reply(t);
	}
	return -1;
}

/* ------------------------------------------------------------ scenarios */

static int is_arp_reply(struct tap *t, void *arg)
{
	const uint8_t *f = t->frame + 12;
	(void)arg;
	return t->flen >= 42 && vstd_be16(f + 12) == 0x0806 && vstd_be16(f + 20) == 2 &&
	       vstd_be32(f + 28) == HOST_IP && memcmp(f + 32, guest_mac, 6) == 0 &&
	       memcmp(f, guest_mac, 6) == 0 && memcmp(f + 6, t->host_mac, 6) == 0 &&
	       memcmp(f + 22, t->host_mac, 6) == 0;
}

static void arp_who_has(struct tap *t)
{
	uint8_t r[60];
	memset(r, 0, sizeof(r));
	memset(r, 0xff, 6);
	memcpy(r + 6, guest_mac, 6);
	vstd_put_be16(r + 12, 0x0806);
	vstd_put_be16(r + 14, 1);
	vstd_put_be16(r + 16, 0x0800);
	r[18] = 6;
	r[19] = 4;
	vstd_put_be16(r + 20, 1);
	memcpy(r + 22, guest_mac, 6);
	vstd_put_be32(r + 28, GUEST_IP);
	vstd_put_be32(r + 38, HOST_IP);
	guest_send(t, NULL, r, sizeof(r));
	ck_assert_msg(guest_expect(t, is_arp_reply, NULL) == 0,
	              "no ARP reply from the kernel for 10.0.0.1");
}

struct echo {
	uint16_t id, seq;
	size_t len;
	const uint8_t *data;
};

static int is_echo_reply(struct tap *t, void *arg)
{
	const struct echo *e = arg;
	const uint8_t *f = t->frame + 12;
	if (t->flen < 34 + 8 + e->len || vstd_be16(f + 12) != 0x0800 || f[23] != 1 ||
	    vstd_be32(f + 26) != HOST_IP || vstd_be32(f + 30) != GUEST_IP)
		return 0;
	return f[34] == 0 && vstd_be16(f + 38) == e->id && vstd_be16(f + 40) == e->seq &&
	       memcmp(f + 42, e->data, e->len) == 0 && csum_fold(csum_add(0, f + 14, 20)) == 0 &&
	       csum_fold(csum_add(0, f + 34, 8 + e->len)) == 0;
}

static void icmp_echo(struct tap *t, uint16_t seq, size_t len)
{
	uint8_t f[1514];
	uint8_t data[1400];
	struct echo e = {0x7654, seq, len, data};
	size_t h;
	ck_assert_uint_le(len, sizeof(data));
	for (size_t i = 0; i < len; i++)
		data[i] = (uint8_t)(i * 7 + seq);
	h = ip_frame(f, t->host_mac, 1, 8 + len);
	f[h] = 8; /* echo request */
	f[h + 1] = 0;
	vstd_put_be16(f + h + 2, 0);
	vstd_put_be16(f + h + 4, e.id);
	vstd_put_be16(f + h + 6, seq);
	memcpy(f + h + 8, data, len);
	vstd_put_be16(f + h + 2, csum_fold(csum_add(0, f + h, 8 + len)));
	guest_send(t, NULL, f, h + 8 + len);
	ck_assert_msg(guest_expect(t, &is_echo_reply, &e) == 0, "no ICMP echo reply (seq %u)", seq);
}

/* Guest -> kernel: a UDP datagram to a socket in the namespace. */
static void udp_to_host(struct tap *t, int s, uint16_t port, size_t len)
{
	uint8_t f[1514], got[1500];
	ssize_t r;
	size_t h = ip_frame(f, t->host_mac, 17, 8 + len);
	vstd_put_be16(f + h, 4000);
	vstd_put_be16(f + h + 2, port);
	vstd_put_be16(f + h + 4, (uint16_t)(8 + len));
	for (size_t i = 0; i < len; i++)
		f[h + 8 + i] = (uint8_t)(i ^ 0x5a);
	udp_csum(f, 8 + len);
	guest_send(t, NULL, f, h + 8 + len);
	r = recv(s, got, sizeof(got), 0);
	ck_assert_msg(r == (ssize_t)len, "socket received %zd bytes, sent %zu (%s)", r, len,
	              r < 0 ? strerror(errno) : "");
	ck_assert(memcmp(got, f + h + 8, len) == 0);
}

struct udpx {
	uint16_t port;
	size_t len;
	const uint8_t *data;
};

static int is_udp_from_host(struct tap *t, void *arg)
{
	const struct udpx *u = arg;
	const uint8_t *f = t->frame + 12;
	if (t->flen < 42 + u->len || vstd_be16(f + 12) != 0x0800 || f[23] != 17 ||
	    vstd_be16(f + 36) != u->port)
		return 0;
	return vstd_be16(f + 38) == 8 + u->len && memcmp(f + 42, u->data, u->len) == 0;
}

/* Kernel -> guest: a datagram from a socket in the namespace to 10.0.0.2. */
static void udp_to_guest(struct tap *t, int s, size_t len)
{
	uint8_t data[1400];
	struct sockaddr sa;
	struct udpx u = {7777, len, data};
	for (size_t i = 0; i < len; i++)
		data[i] = (uint8_t)(i * 3);
	put_sin(&sa, GUEST_IP);
	((struct sockaddr_in *)(void *)&sa)->sin_port = htons(u.port);
	ck_assert_int_eq(sendto(s, data, len, 0, &sa, sizeof(struct sockaddr_in)), (ssize_t)len);
	ck_assert_msg(guest_expect(t, is_udp_from_host, &u) == 0,
	              "UDP datagram from the kernel not received");
}

/* ------------------------------------------------------------ TCP and TSO */

#define TCP_PORT 7000
#define GUEST_PORT 40000

struct tcpc {
	uint32_t snd_nxt; /* guest's next sequence number */
	uint32_t rcv_nxt; /* next byte expected from the kernel */
	uint16_t win;     /* the kernel's window */
};

/* Ethernet + IPv4 + TCP header (no options unless mss) into f; returns
 * the frame length.  The TCP checksum is complete unless `partial`, when
 * it holds the pseudo-header sum for NEEDS_CSUM (as a Linux guest does). */
static size_t tcp_frame(struct tap *t, uint8_t *f, uint32_t seq, uint32_t ack, uint8_t flags,
                        const uint8_t *data, size_t len, int mss, int partial)
{
	size_t thl = mss ? 24 : 20, h = ip_frame(f, t->host_mac, 6, thl + len);
	uint8_t ph[12];
	uint8_t *th = f + h;
	memset(th, 0, thl);
	vstd_put_be16(th, GUEST_PORT);
	vstd_put_be16(th + 2, TCP_PORT);
	vstd_put_be32(th + 4, seq);
	vstd_put_be32(th + 8, ack);
	th[12] = (uint8_t)((thl / 4) << 4);
	th[13] = flags;
	vstd_put_be16(th + 14, 65535);
	if (mss) {
		th[20] = 2;
		th[21] = 4;
		vstd_put_be16(th + 22, 1460);
	}
	if (len)
		memcpy(th + thl, data, len);
	memcpy(ph, f + 26, 8);
	ph[8] = 0;
	ph[9] = 6;
	vstd_put_be16(ph + 10, (uint16_t)(thl + len));
	if (partial) /* the pseudo-header sum, folded, not complemented */
		vstd_put_be16(th + 16, (uint16_t)~csum_fold(csum_add(0, ph, 12)));
	else
		vstd_put_be16(th + 16, csum_fold(csum_add(csum_add(0, ph, 12), th, thl + len)));
	return h + thl + len;
}

static int is_synack(struct tap *t, void *arg)
{
	const uint8_t *f = t->frame + 12;
	(void)arg;
	return t->flen >= 54 && vstd_be16(f + 12) == 0x0800 && f[23] == 6 &&
	       vstd_be16(f + 34) == TCP_PORT && vstd_be16(f + 36) == GUEST_PORT &&
	       (f[34 + 13] & 0x12) == 0x12;
}

/* Three-way handshake from the guest to a listening socket; returns the
 * accepted socket. */
static int tcp_connect(struct tap *t, struct tcpc *tc, int lsock)
{
	uint8_t f[128];
	const uint8_t *r;
	struct pollfd p = {lsock, POLLIN, 0};
	size_t n;
	int a;
	tc->snd_nxt = 1000;
	n = tcp_frame(t, f, tc->snd_nxt, 0, 0x02, NULL, 0, 1, 0);
	guest_send(t, NULL, f, n);
	ck_assert_msg(guest_expect(t, is_synack, NULL) == 0, "no SYN-ACK from the kernel");
	r = t->frame + 12 + 34;
	ck_assert_uint_eq(vstd_be32(r + 8), tc->snd_nxt + 1);
	tc->snd_nxt++;
	tc->rcv_nxt = vstd_be32(r + 4) + 1;
	tc->win = vstd_be16(r + 14);
	n = tcp_frame(t, f, tc->snd_nxt, tc->rcv_nxt, 0x10, NULL, 0, 0, 0);
	guest_send(t, NULL, f, n);
	ck_assert_int_eq(poll(&p, 1, 2000), 1);
	a = accept4(lsock, NULL, NULL, SOCK_CLOEXEC);
	ck_assert_int_ge(a, 0);
	return a;
}

static int tcp_listen(void)
{
	struct sockaddr sa;
	int one = 1, s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(s, 0);
	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	put_sin(&sa, HOST_IP);
	((struct sockaddr_in *)(void *)&sa)->sin_port = htons(TCP_PORT);
	ck_assert_int_eq(bind(s, &sa, sizeof(struct sockaddr_in)), 0);
	ck_assert_int_eq(listen(s, 4), 0);
	return s;
}

/* Guest -> kernel: ONE GSO frame (gso_type TCPV4, gso_size 1448) carrying
 * `len` bytes, which the kernel segments / takes whole and the socket reads. */
static void tso_to_host(struct tap *t, struct tcpc *tc, int a, size_t len)
{
	static uint8_t f[65600], data[65536], got[65536];
	uint8_t h[12];
	size_t n, at = 0;
	vstd_virtio_net_stats st = {VSTD_VIRTIO_NET_STATS_VERSION};
	for (size_t i = 0; i < len; i++)
		data[i] = (uint8_t)(i * 13 + (i >> 8));
	n = tcp_frame(t, f, tc->snd_nxt, tc->rcv_nxt, 0x18, data, len, 0, 1);
	memset(h, 0, sizeof(h));
	h[0] = 1; /* NEEDS_CSUM */
	h[1] = 1; /* GSO TCPV4 */
	vstd_put_le16(h + 2, 54);
	vstd_put_le16(h + 4, 1448);
	vstd_put_le16(h + 6, 34);
	vstd_put_le16(h + 8, 16);
	guest_send(t, h, f, n);
	tc->snd_nxt += (uint32_t)len;
	while (at < len) {
		struct pollfd p = {a, POLLIN, 0};
		ssize_t r;
		ck_assert_msg(poll(&p, 1, 2000) == 1, "socket got %zu of %zu bytes", at, len);
		r = read(a, got + at, len - at);
		ck_assert_int_gt(r, 0);
		at += (size_t)r;
	}
	ck_assert(memcmp(got, data, len) == 0);
	vt_ok(vstd_virtio_net_get_stats(t->dev, &st));
	ck_assert_uint_eq(st.tx_bad_hdr, 0);
}

static int is_tcp_from_host(struct tap *t, void *arg)
{
	const uint8_t *f = t->frame + 12;
	(void)arg;
	return t->flen >= 54 && vstd_be16(f + 12) == 0x0800 && f[23] == 6 &&
	       vstd_be16(f + 34) == TCP_PORT && vstd_be16(f + 36) == GUEST_PORT;
}

/* Kernel -> guest: the socket writes `len` bytes; with GUEST_TSO4 the TAP
 * hands over GSO frames bigger than the MTU.  The guest ACKs as it goes.
 * Returns the largest frame seen. */
static size_t tso_to_guest(struct tap *t, struct tcpc *tc, int a, size_t len, unsigned *gso_frames)
{
	static uint8_t data[65536];
	uint8_t ackf[64];
	size_t got = 0, biggest = 0;
	uint64_t end = now_ms() + 5000;
	for (size_t i = 0; i < len; i++)
		data[i] = (uint8_t)(i * 7 + 1);
	ck_assert_int_eq(write(a, data, len), (ssize_t)len);
	*gso_frames = 0;
	while (got < len && now_ms() < end) {
		const uint8_t *f = t->frame + 12;
		size_t ihl, thl, plen, n;
		uint32_t seq;
		if (guest_expect(t, is_tcp_from_host, NULL) < 0)
			break;
		ihl = (size_t)(f[14] & 0xf) * 4;
		thl = (size_t)(f[14 + ihl + 12] >> 4) * 4;
		plen = vstd_be16(f + 16) - ihl - thl;
		seq = vstd_be32(f + 14 + ihl + 4);
		if (t->flen > biggest)
			biggest = t->flen;
		if ((t->frame[1] & 0x7f) == 1)
			(*gso_frames)++;
		if (plen && seq == tc->rcv_nxt && got + plen <= len) {
			ck_assert_msg(memcmp(f + 14 + ihl + thl, data + got, plen) == 0,
			              "data at %zu differs", got);
			got += plen;
			tc->rcv_nxt += (uint32_t)plen;
		}
		n = tcp_frame(t, ackf, tc->snd_nxt, tc->rcv_nxt, 0x10, NULL, 0, 0, 0);
		guest_send(t, NULL, ackf, n);
	}
	ck_assert_msg(got == len, "guest received %zu of %zu bytes", got, len);
	return biggest;
}

/* ------------------------------------------------------------ tests */

/* _i: bit 0 mergeable buffers, bit 1 packed ring, bit 2 pci. */
START_TEST(tap_frames_both_ways)
{
	struct tap *t = calloc(1, sizeof(*t));
	int mrg = _i & 1, packed = (_i >> 1) & 1, pci = (_i >> 2) & 1, s;
	ck_assert_ptr_nonnull(t);
	guest_start(t, pci, packed, mrg, 0);
	arp_who_has(t);
	for (uint16_t seq = 1; seq <= 5; seq++)
		icmp_echo(t, seq, seq == 5 ? 1400 : 56);
	s = udp_socket(5555);
	udp_to_host(t, s, 5555, 1000);
	udp_to_guest(t, s, 1400);
	close(s);
	guest_stop(t);
	free(t);
}
END_TEST

/* Offloads through the TAP: the guest's GUEST_ offloads are set on the TAP
 * (TUNSETOFFLOAD), a guest TSO frame reaches a kernel socket, and the
 * kernel's GSO frames reach the guest.  _i: 0 mmio/split/mergeable,
 * 1 pci/packed/big buffers. */
START_TEST(tap_tso_both_ways)
{
	struct tap *t = calloc(1, sizeof(*t));
	vstd_virtio_net_stats st = {VSTD_VIRTIO_NET_STATS_VERSION};
	struct tcpc tc;
	int ls, a;
	unsigned gso = 0;
	size_t n, biggest;
	ck_assert_ptr_nonnull(t);
	guest_start(t, _i, _i, !_i, 0);
	vt_ok(vstd_virtio_net_get_stats(t->dev, &st));
	ck_assert_msg((st.tap_offloads & (TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6)) ==
	                      (TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6),
	              "TAP offloads 0x%x", st.tap_offloads);
	arp_who_has(t);
	ls = tcp_listen();
	a = tcp_connect(t, &tc, ls);
	n = tc.win < 60000 ? tc.win : 60000;
	ck_assert_uint_gt(n, 20000);
	tso_to_host(t, &tc, a, n);
	biggest = tso_to_guest(t, &tc, a, 60000, &gso);
	ck_assert_msg(gso > 0 && biggest > 1514, "no GSO frame from the kernel (largest %zu)",
	              biggest);
	close(a);
	close(ls);
	guest_stop(t);
	free(t);
}
END_TEST

/* Without guest offloads the TAP is set to none and the kernel sends only
 * MTU-sized, checksummed frames. */
START_TEST(tap_no_guest_offloads)
{
	struct tap *t = calloc(1, sizeof(*t));
	vstd_virtio_net_stats st = {VSTD_VIRTIO_NET_STATS_VERSION};
	struct tcpc tc;
	int ls, a;
	unsigned gso = 99;
	size_t biggest;
	ck_assert_ptr_nonnull(t);
	guest_start(t, 1, 0, 1,
	            VSTD_VIRTIO_BIT(VNET_F_GUEST_CSUM) | VSTD_VIRTIO_BIT(VNET_F_GUEST_TSO4) |
	                    VSTD_VIRTIO_BIT(VNET_F_GUEST_TSO6) | VSTD_VIRTIO_BIT(VNET_F_GUEST_ECN) |
	                    VSTD_VIRTIO_BIT(VNET_F_GUEST_UFO));
	vt_ok(vstd_virtio_net_get_stats(t->dev, &st));
	ck_assert_uint_eq(st.tap_offloads, 0);
	arp_who_has(t);
	ls = tcp_listen();
	a = tcp_connect(t, &tc, ls);
	biggest = tso_to_guest(t, &tc, a, 30000, &gso);
	ck_assert_uint_eq(gso, 0);
	ck_assert_uint_le(biggest, 1514);
	close(a);
	close(ls);
	guest_stop(t);
	free(t);
}
END_TEST

/* A frame the guest sends to nobody while the interface is down is
 * dropped (write fails), the device keeps going. */
START_TEST(tap_link_down_drops)
{
	struct tap *t = calloc(1, sizeof(*t));
	struct ifreq ifr;
	int s;
	uint8_t r[60] = {0};
	ck_assert_ptr_nonnull(t);
	guest_start(t, 0, 0, 1, 0);
	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	memset(&ifr, 0, sizeof(ifr));
	strcpy(ifr.ifr_name, TAP_NAME);
	ck_assert_int_eq(ioctl(s, SIOCGIFFLAGS, &ifr), 0);
	ifr.ifr_flags &= ~IFF_UP;
	ck_assert_int_eq(ioctl(s, SIOCSIFFLAGS, &ifr), 0);
	memset(r, 0xff, 6);
	guest_send(t, NULL, r, sizeof(r));
	ifr.ifr_flags |= IFF_UP;
	ck_assert_int_eq(ioctl(s, SIOCSIFFLAGS, &ifr), 0);
	close(s);
	host_if_up(t->host_mac);
	arp_who_has(t);
	guest_stop(t);
	free(t);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("paravirt/tap");
	TCase *tc = tcase_create("tap");
	pid_t pid;
	int st = 0;
	if (geteuid() != 0)
		vt_skip("needs root (creates a TAP interface in a private network namespace)");
	if (access("/dev/net/tun", R_OK | W_OK) != 0)
		vt_skip("needs /dev/net/tun");
	pid = fork();
	if (pid == 0)
		_exit(unshare(CLONE_NEWNET) == 0 ? 0 : 1);
	if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
		vt_skip("needs unshare(CLONE_NEWNET) (a private network namespace)");
	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, tap_frames_both_ways, 0, 8);
	tcase_add_test(tc, tap_link_down_drops);
	tcase_add_loop_test(tc, tap_tso_both_ways, 0, 2);
	tcase_add_test(tc, tap_no_guest_offloads);
	suite_add_tcase(s, tc);
	return vt_main(s);
}
