/*
 * core/uuid.h - random (version 4) UUIDs and their text form, for the
 * formats and models that name things by UUID (VHD, VDI, CIM systems).
 */
#ifndef VSTD_CORE_UUID_H
#define VSTD_CORE_UUID_H

#include <stdint.h>

#define VSTD_UUID_TEXT_LEN 37 /* "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" + NUL */

/* 16 random bytes marked as an RFC 4122 version-4 UUID.  Uses getrandom();
 * if the kernel cannot provide entropy, a time/pid/counter mix (unique, not
 * secret) is used instead. */
void vstd_uuid_random(uint8_t u[16]);

/* The 16 bytes in storage order as lower-case hex, dashes after bytes 4, 6,
 * 8 and 10. */
void vstd_uuid_text(const uint8_t u[16], char out[VSTD_UUID_TEXT_LEN]);

#endif
