/*
 * vmm/uart8250.c - a 16550A-compatible UART (COM1: ports 0x3f8-0x3ff,
 * IRQ 4) as Linux's 8250 driver and a BIOS see it: divisor latch, FIFO
 * control (receive FIFO of 64 bytes), line and modem control with the
 * loopback test, scratch register, and the receive / transmitter-empty
 * interrupts on a level-triggered ISA line.  Transmitted bytes go to the
 * configured output immediately; stdin (when forwarded) feeds the receiver.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vmm.h"

#define RX_FIFO 64

enum {
	IER_RDI = 0x01,
	IER_THRI = 0x02,
	IIR_NONE = 0x01,
	IIR_THRI = 0x02,
	IIR_RDI = 0x04,
	IIR_FIFO = 0xc0,
	LCR_DLAB = 0x80,
	MCR_LOOP = 0x10,
	MCR_OUT2 = 0x08,
	LSR_DR = 0x01,
	LSR_THRE = 0x20,
	LSR_TEMT = 0x40,
	FCR_ENABLE = 0x01,
	FCR_CLEAR_RX = 0x02,
};

struct vmm_uart {
	struct vmm *vm;
	unsigned irq;
	uint8_t dll, dlm, ier, fcr, lcr, mcr, scr;
	int thri_pending;
	int irq_level;
	uint8_t rx[RX_FIFO];
	unsigned rx_head, rx_count;
	pthread_t input_thread;
	int input_started;
	int stop_pipe[2];
};

static uint8_t iir_now(struct vmm_uart *u)
{
	uint8_t fifo = (u->fcr & FCR_ENABLE) ? IIR_FIFO : 0;
	if ((u->ier & IER_RDI) && u->rx_count)
		return IIR_RDI | fifo;
	if ((u->ier & IER_THRI) && u->thri_pending)
		return IIR_THRI | fifo;
	return IIR_NONE | fifo;
}

static void update_irq(struct vmm_uart *u)
{
	int level = (iir_now(u) & IIR_NONE) == 0;
	if (level != u->irq_level) {
		u->irq_level = level;
		vmm_irq_line(u->vm, u->irq, level);
	}
}

static void transmit(struct vmm_uart *u, uint8_t ch)
{
	struct vmm *vm = u->vm;
	if (u->mcr & MCR_LOOP) {
		if (u->rx_count < RX_FIFO)
			u->rx[(u->rx_head + u->rx_count++) % RX_FIFO] = ch;
		return;
	}
	if (!vm->t_first_output)
		vm->t_first_output = vmm_now_ns();
	if (vm->cfg.out_fd >= 0) {
		ssize_t r;
		do
			r = write(vm->cfg.out_fd, &ch, 1);
		while (r < 0 && errno == EINTR);
	}
}

static void uart_write(struct vmm_uart *u, uint64_t off, uint8_t b)
{
	switch (off) {
	case 0:
		if (u->lcr & LCR_DLAB) {
			u->dll = b;
		} else {
			transmit(u, b);
			u->thri_pending = 1;
		}
		break;
	case 1:
		if (u->lcr & LCR_DLAB) {
			u->dlm = b;
		} else {
			if (!(u->ier & IER_THRI) && (b & IER_THRI))
				u->thri_pending = 1;
			u->ier = b & 0x0f;
		}
		break;
	case 2:
		if (b & FCR_CLEAR_RX)
			u->rx_count = 0;
		u->fcr = b & 0xc9;
		break;
	case 3: u->lcr = b; break;
	case 4: u->mcr = b & 0x1f; break;
	case 7: u->scr = b; break;
	default: break;
	}
}

static uint8_t uart_read(struct vmm_uart *u, uint64_t off)
{
	uint8_t r = 0;
	switch (off) {
	case 0:
		if (u->lcr & LCR_DLAB) {
			r = u->dll;
		} else if (u->rx_count) {
			r = u->rx[u->rx_head];
			u->rx_head = (u->rx_head + 1) % RX_FIFO;
			u->rx_count--;
		}
		break;
	case 1: r = (u->lcr & LCR_DLAB) ? u->dlm : u->ier; break;
	case 2:
		r = iir_now(u);
		if ((r & 0x0f) == IIR_THRI)
			u->thri_pending = 0;
		break;
	case 3: r = u->lcr; break;
	case 4: r = u->mcr; break;
	case 5: r = LSR_THRE | LSR_TEMT | (u->rx_count ? LSR_DR : 0); break;
	case 6:
		if (u->mcr & MCR_LOOP) /* RTS->CTS, DTR->DSR, OUT1->RI, OUT2->DCD */
			r = (uint8_t)(((u->mcr & 0x02) << 3) | ((u->mcr & 0x01) << 5) |
			              ((u->mcr & 0x04) << 4) | ((u->mcr & 0x08) << 4));
		else
			r = 0xb0; /* DCD, DSR, CTS */
		break;
	case 7: r = u->scr; break;
	}
	return r;
}

static void uart_io(void *opaque, uint64_t off, void *data, unsigned size, int is_write)
{
	struct vmm_uart *u = opaque;
	uint8_t *v = data;
	if (is_write) {
		uart_write(u, off, v[0]);
	} else {
		memset(data, 0, size);
		v[0] = uart_read(u, off);
	}
	update_irq(u);
}

static void *input_main(void *arg)
{
	struct vmm_uart *u = arg;
	for (;;) {
		struct pollfd p[2] = {{u->vm->cfg.in_fd, POLLIN, 0}, {u->stop_pipe[0], POLLIN, 0}};
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[1].revents)
			break;
		if (!(p[0].revents & (POLLIN | POLLHUP)))
			continue;
		pthread_mutex_lock(&u->vm->lock);
		unsigned room = RX_FIFO - u->rx_count;
		pthread_mutex_unlock(&u->vm->lock);
		if (room == 0) {
			usleep(1000);
			continue;
		}
		uint8_t buf[RX_FIFO];
		ssize_t n = read(u->vm->cfg.in_fd, buf, room);
		if (n <= 0)
			break;
		pthread_mutex_lock(&u->vm->lock);
		for (ssize_t i = 0; i < n && u->rx_count < RX_FIFO; i++)
			u->rx[(u->rx_head + u->rx_count++) % RX_FIFO] = buf[i];
		update_irq(u);
		pthread_mutex_unlock(&u->vm->lock);
	}
	return NULL;
}

int vmm_uart_init(struct vmm *vm, uint16_t base, unsigned irq)
{
	struct vmm_uart *u = calloc(1, sizeof(*u));
	if (!u)
		return vmm_fail("out of memory");
	u->vm = vm;
	u->irq = irq;
	u->stop_pipe[0] = u->stop_pipe[1] = -1;
	vm->uart = u;
	if (vmm_bus_add_pio(vm, base, 8, uart_io, u) < 0)
		return -1;
	if (vm->cfg.console_in) {
		if (pipe(u->stop_pipe) < 0)
			return vmm_fail("pipe: %s", strerror(errno));
		if (pthread_create(&u->input_thread, NULL, input_main, u) != 0)
			return vmm_fail("cannot start the console input thread");
		u->input_started = 1;
	}
	return 0;
}

void vmm_uart_free(struct vmm *vm)
{
	struct vmm_uart *u = vm->uart;
	if (!u)
		return;
	if (u->input_started) {
		ssize_t r = write(u->stop_pipe[1], "x", 1);
		(void)r;
		pthread_join(u->input_thread, NULL);
	}
	if (u->stop_pipe[0] >= 0) {
		close(u->stop_pipe[0]);
		close(u->stop_pipe[1]);
	}
	free(u);
	vm->uart = NULL;
}
