/*
 * vmm/ovf_plan.c - the machine an OVF descriptor or OVA package asks for.
 */
#include <stdio.h>

#include "vmm.h"

int vmm_plan_from_ovf(struct vmm_config *cfg, const char *path, char *why, size_t cap);

int vmm_plan_from_ovf(struct vmm_config *cfg, const char *path, char *why, size_t cap)
{
	(void)cfg;
	(void)path;
	snprintf(why, cap, "running an OVF/OVA is not available in this build yet");
	return -1;
}
