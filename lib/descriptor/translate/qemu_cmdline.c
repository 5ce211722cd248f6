/*
 * descriptor/translate/qemu_cmdline.c - machine plan to a
 * qemu-system-x86_64 argument vector: -machine pc with KVM when available,
 * -m / -smp, one -drive if=none per disk attached with -device to an IDE,
 * AHCI, LSI SCSI or virtio controller, one -netdev user + -device per NIC.
 */
#include <stdio.h>
#include <string.h>

#include "core/alloc_internal.h"
#include "core/error_internal.h"
#include "descriptor/translate/plan.h"

typedef struct argv_b {
	char **v;
	size_t n, cap;
	int oom;
} argv_b;

static void push(argv_b *a, char *s)
{
	if (s == NULL) {
		a->oom = 1;
		return;
	}
	if (a->n + 2 > a->cap) {
		size_t nc = a->cap ? a->cap * 2 : 32;
		char **nv = vstd_realloc_array(a->v, nc, sizeof(char *));
		if (nv == NULL) {
			vstd_free(s);
			a->oom = 1;
			return;
		}
		a->v = nv;
		a->cap = nc;
	}
	a->v[a->n++] = s;
	a->v[a->n] = NULL;
}

/* QEMU option values: a ',' inside a value is written ",,". */
static char *escape_commas(const char *s)
{
	size_t n = 0;
	for (const char *p = s; *p; p++)
		n += *p == ',' ? 2 : 1;
	char *o = vstd_malloc(n + 1);
	if (o == NULL)
		return NULL;
	size_t k = 0;
	for (const char *p = s; *p; p++) {
		o[k++] = *p;
		if (*p == ',')
			o[k++] = ',';
	}
	o[k] = 0;
	return o;
}

void vstd_ovf_argv_free(char **argv)
{
	if (argv == NULL)
		return;
	for (char **p = argv; *p; p++)
		vstd_free(*p);
	vstd_free(argv);
}

int vstd_ovf_to_qemu_argv(const vstd_ovf *ovf, const vstd_ovf_translate_opts *opts, char ***argv,
                          size_t *argc)
{
	if (ovf == NULL || argv == NULL)
		return vstd_err(VSTD_EINVAL, "vstd_ovf_to_qemu_argv: NULL argument");
	plan p;
	int rc = plan_build(&p, ovf, opts, VSTD_OVF_TARGET_QEMU);
	if (rc < 0)
		return rc;
	argv_b a = {NULL, 0, 0, 0};
	push(&a, vstd_strdup("qemu-system-x86_64"));
	char *nm = escape_commas(p.name);
	push(&a, vstd_strdup("-name"));
	push(&a, nm ? vstd_asprintf("guest=%s", nm) : NULL);
	vstd_free(nm);
	push(&a, vstd_strdup("-machine"));
	push(&a, vstd_strdup("pc,accel=kvm:tcg"));
	push(&a, vstd_strdup("-m"));
	push(&a, vstd_asprintf("%llu", (unsigned long long)p.memory_mib));
	push(&a, vstd_strdup("-smp"));
	push(&a, vstd_asprintf("%u", p.cpus));
	if (p.boot[0] != '\0') {
		/* BootDeviceSection order: c disk, d CD-ROM, n network, a floppy */
		char order[8];
		size_t k = 0;
		for (const char *b = p.boot; *b && k + 1 < sizeof(order); b++)
			order[k++] = *b == 'd' ? 'c' : *b == 'c' ? 'd' : *b == 'n' ? 'n' : 'a';
		order[k] = '\0';
		push(&a, vstd_strdup("-boot"));
		push(&a, vstd_asprintf("order=%s", order));
	}
	if (p.bus_count[PLAN_BUS_SATA] > 0) {
		push(&a, vstd_strdup("-device"));
		push(&a, vstd_strdup("ahci,id=ahci0"));
	}
	if (p.bus_count[PLAN_BUS_SCSI] > 0) {
		push(&a, vstd_strdup("-device"));
		push(&a, vstd_strdup("lsi53c895a,id=scsi0"));
	}
	for (size_t i = 0; i < p.n_disks; i++) {
		const plan_disk *d = &p.disks[i];
		char *file = d->path ? escape_commas(d->path) : NULL;
		push(&a, vstd_strdup("-drive"));
		if (d->path != NULL)
			push(&a,
			     file ? vstd_asprintf("file=%s,format=%s,if=none,id=drive%zu%s", file,
			                          d->format, i, d->readonly ? ",readonly=on" : "")
			          : NULL);
		else
			push(&a, vstd_asprintf("if=none,id=drive%zu", i));
		vstd_free(file);
		/* a 2.x SharedDisk: let other machines write it too */
		const char *sh = d->shareable ? ",share-rw=on" : "";
		push(&a, vstd_strdup("-device"));
		switch (d->bus) {
		case PLAN_BUS_IDE:
			push(&a, vstd_asprintf("%s,drive=drive%zu,bus=ide.%u,unit=%u%s",
			                       d->cdrom ? "ide-cd" : "ide-hd", i, d->unit / 2,
			                       d->unit % 2, sh));
			break;
		case PLAN_BUS_SATA:
			push(&a, vstd_asprintf("%s,drive=drive%zu,bus=ahci0.%u%s",
			                       d->cdrom ? "ide-cd" : "ide-hd", i, d->unit, sh));
			break;
		case PLAN_BUS_SCSI:
			push(&a, vstd_asprintf("%s,drive=drive%zu,bus=scsi0.0,scsi-id=%u%s",
			                       d->cdrom ? "scsi-cd" : "scsi-hd", i, d->unit, sh));
			break;
		default: push(&a, vstd_asprintf("virtio-blk-pci,drive=drive%zu%s", i, sh)); break;
		}
	}
	for (size_t i = 0; i < p.n_nics; i++) {
		const plan_nic *n = &p.nics[i];
		const char *dev = strcmp(n->model, "virtio") == 0 ? "virtio-net-pci" : n->model;
		push(&a, vstd_strdup("-netdev"));
		push(&a, vstd_asprintf("user,id=net%zu", i));
		push(&a, vstd_strdup("-device"));
		push(&a, vstd_asprintf("%s,netdev=net%zu%s%s", dev, i, n->mac[0] ? ",mac=" : "",
		                       n->mac));
	}
	plan_free(&p);
	if (a.oom) {
		vstd_ovf_argv_free(a.v);
		return VSTD_ENOMEM;
	}
	*argv = a.v;
	if (argc)
		*argc = a.n;
	return 0;
}
