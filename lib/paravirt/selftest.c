/*
 * paravirt/selftest.c - vstd_virtio_selftest: every device over every
 * transport and ring layout, driven by the driver-side library in memory.
 */
#include <stdio.h>

#include "core/error_internal.h"
#include "paravirt/exercise.h"

int vstd_virtio_selftest(void (*report)(void *opaque, const char *line, int ok), void *opaque)
{
	static const struct {
		const char *name;
		int (*fn)(const struct vx_cfg *, char *, size_t);
	} devs[] = {{"blk", vx_blk}, {"net", vx_net}, {"console", vx_console}, {"rng", vx_rng}};
	static const char *const tr[] = {"mmio", "pci", "pci-transitional"};
	int failed = 0;
	for (size_t d = 0; d < sizeof(devs) / sizeof(devs[0]); d++)
		for (int t = 0; t < 3; t++)
			for (int packed = 0; packed < 2; packed++)
				for (int ev = 0; ev < 2; ev++) {
					struct vx_cfg c = {0};
					char msg[512], text[700];
					int rc;
					c.transport = t;
					c.packed = packed;
					c.event_idx = ev;
					c.indirect = ev;
					c.msix = t == 1;
					c.requests = 64;
					c.depth = 4;
					/* Half the runs notify with NOTIFICATION_DATA. */
					c.flags = packed != ev ? VX_NOTIF_DATA : 0;
					rc = devs[d].fn(&c, msg, sizeof(msg));
					snprintf(text, sizeof(text),
					         "%-8s %-16s %-6s event_idx=%d indirect=%d "
					         "notification_data=%d: %s",
					         devs[d].name, tr[t], packed ? "packed" : "split",
					         ev, ev, packed != ev, rc == 0 ? "ok" : msg);
					if (rc != 0)
						failed++;
					if (report)
						report(opaque, text, rc == 0);
				}
	return failed ? vstd_err(VSTD_ERROR, "virtio self-test: %d checks failed", failed) : 0;
}
