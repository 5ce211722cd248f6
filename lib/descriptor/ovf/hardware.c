/*
 * descriptor/ovf/hardware.c - choosing among a VirtualSystem's
 * VirtualHardwareSections (DSP0243 8.1 allows several, told apart by
 * vssd:VirtualSystemType and ovf:transport) for a translation target.
 *
 * The policy (docs/formats/ovf.md, "Several VirtualHardwareSections"):
 * a type naming the target's own platform is native (2); a type of another
 * x86 platform whose RASD items vstd translates (VMware "vmx-N",
 * VirtualBox "virtualbox-N", Xen "xen-...", Hyper-V "hyperv"/"ms-hyperv")
 * or no type at all is foreign (1); anything else (e.g. SPARC "sun4v",
 * an IBM "ibm-..." or unknown strings) is unsuitable (0).  vmm, vstd's own
 * monitor, counts only "vstd-N" and "kvm" as native.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "core/error_internal.h"
#include "descriptor/ovf/ovf_internal.h"

const char *vstd_ovf_target_name(int target)
{
	switch (target) {
	case VSTD_OVF_TARGET_LIBVIRT: return "libvirt";
	case VSTD_OVF_TARGET_QEMU: return "qemu";
	case VSTD_OVF_TARGET_VMM: return "vmm";
	default: return "?";
	}
}

int vstd_ovf_target_parse(const char *name)
{
	if (name == NULL)
		return -1;
	for (int t = VSTD_OVF_TARGET_LIBVIRT; t <= VSTD_OVF_TARGET_VMM; t++)
		if (strcmp(name, vstd_ovf_target_name(t)) == 0)
			return t;
	return -1;
}

static int prefix(const char *tok, size_t len, const char *p)
{
	size_t l = strlen(p);
	return len >= l && strncasecmp(tok, p, l) == 0;
}

static int token_fit(const char *tok, size_t len, int target)
{
	int vstd = prefix(tok, len, "vstd");
	int kvm = len == 3 && strncasecmp(tok, "kvm", 3) == 0;
	int qemu = prefix(tok, len, "qemu");
	int libvirt = prefix(tok, len, "libvirt");
	if (target == VSTD_OVF_TARGET_VMM) {
		if (vstd || kvm)
			return 2;
		if (qemu || libvirt)
			return 1;
	} else if (vstd || kvm || qemu || libvirt) {
		return 2;
	}
	if (prefix(tok, len, "vmx-") || prefix(tok, len, "virtualbox") || prefix(tok, len, "xen") ||
	    prefix(tok, len, "hyperv") || prefix(tok, len, "ms-hyperv"))
		return 1;
	return 0;
}

int vstd_ovf_hardware_fit(const vstd_ovf_hardware *hw, int target)
{
	if (hw == NULL || target < VSTD_OVF_TARGET_LIBVIRT || target > VSTD_OVF_TARGET_VMM)
		return 0;
	const char *s = hw->system_type;
	if (s == NULL)
		return 1;
	int best = -1;
	while (*s != '\0') {
		while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r' || *s == ',')
			s++;
		size_t len = 0;
		while (s[len] != '\0' && s[len] != ' ' && s[len] != '\t' && s[len] != '\n' &&
		       s[len] != '\r' && s[len] != ',')
			len++;
		if (len == 0)
			break;
		int f = token_fit(s, len, target);
		if (f > best)
			best = f;
		s += len;
	}
	return best < 0 ? 1 : best; /* an empty type says nothing: foreign */
}

int vstd_ovf_select_hardware(const vstd_ovf *ovf, const vstd_vm *vm, int target,
                             const char *hardware_id, const vstd_ovf_hardware **out)
{
	if (ovf == NULL || vm == NULL || out == NULL)
		return vstd_err(VSTD_EINVAL, "vstd_ovf_select_hardware: NULL argument");
	const char *nm = vstd_ovf_name(ovf);
	const char *vid = vm->id ? vm->id : "";
	if (vm->hardware == NULL || vm->n_hardware_sections == 0)
		return vstd_err(
		        VSTD_ENOENT,
		        "%s: VirtualSystem '%s' has no VirtualHardwareSection (DSP0243 8.1)", nm,
		        vid);
	if (hardware_id != NULL) {
		for (size_t i = 0; i < vm->n_hardware_sections; i++)
			if (vm->hardware[i].id && strcmp(vm->hardware[i].id, hardware_id) == 0) {
				*out = &vm->hardware[i];
				return 0;
			}
		return vstd_err(VSTD_ENOENT,
		                "%s: VirtualSystem '%s' has no VirtualHardwareSection with "
		                "ovf:id '%s'",
		                nm, vid, hardware_id);
	}
	const vstd_ovf_hardware *best = NULL;
	int best_fit = 0;
	for (size_t i = 0; i < vm->n_hardware_sections; i++) {
		int f = vstd_ovf_hardware_fit(&vm->hardware[i], target);
		if (f > best_fit) {
			best_fit = f;
			best = &vm->hardware[i];
		}
	}
	if (best != NULL) {
		*out = best;
		return 0;
	}
	char types[512];
	size_t used = 0;
	types[0] = '\0';
	for (size_t i = 0; i < vm->n_hardware_sections && used < sizeof(types) - 1; i++) {
		int n = snprintf(types + used, sizeof(types) - used, "%s'%s' (line %u)",
		                 i ? ", " : "", vm->hardware[i].system_type, vm->hardware[i].line);
		if (n < 0)
			break;
		used += (size_t)n < sizeof(types) - used ? (size_t)n : sizeof(types) - used - 1;
	}
	return vstd_err(VSTD_ENOTSUP,
	                "%s: VirtualSystem '%s': no VirtualHardwareSection fits target '%s': "
	                "VirtualSystemType %s; %s takes kvm, qemu, libvirt, vstd-N, or a "
	                "translated x86 type (vmx-N, virtualbox-N, xen-*, hyperv) (DSP0243 8.1)",
	                nm, vid, vstd_ovf_target_name(target), types, vstd_ovf_target_name(target));
}
