/*
 * paravirt/memrun.h - run a device over a guest memory image taken from
 * untrusted bytes (the fuzzers' input format, see memrun.c).
 */
#ifndef VSTD_PARAVIRT_MEMRUN_H
#define VSTD_PARAVIRT_MEMRUN_H

#include <stddef.h>
#include <stdint.h>

#define MEMRUN_GPA 0x10000u
#define MEMRUN_SIZE 0x10000u
#define MEMRUN_DRIVER_OFF 0x1000u
#define MEMRUN_DEVICE_OFF 0x2000u
#define MEMRUN_HEADER 4

/* Returns 0; the device may end NEEDS_RESET, which is fine. */
int memrun(const uint8_t *data, size_t size, int packed);

#endif
