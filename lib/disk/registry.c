/*
 * disk/registry.c - the list of format drivers, in probe-tie order.
 *
 * Probing asks every driver for a score and takes the highest; on a tie the
 * earlier entry wins.  raw scores 1 for anything, so it only wins when no
 * format recognises the file.  A new format is one line here.
 */
#include <stddef.h>

#include "disk/driver.h"

extern const struct vstd_disk_driver vstd_driver_raw;
extern const struct vstd_disk_driver vstd_driver_qcow2;
extern const struct vstd_disk_driver vstd_driver_vmdk;
extern const struct vstd_disk_driver vstd_driver_vpc;
extern const struct vstd_disk_driver vstd_driver_vhdx;
extern const struct vstd_disk_driver vstd_driver_vdi;

const struct vstd_disk_driver *const vstd_disk_drivers[] = {
        &vstd_driver_qcow2, &vstd_driver_vmdk, &vstd_driver_vhdx,
        &vstd_driver_vdi,   &vstd_driver_vpc,  &vstd_driver_raw,
};

const size_t vstd_disk_driver_slots = sizeof(vstd_disk_drivers) / sizeof(vstd_disk_drivers[0]);
