/*
 * mgmt/client/client.h - internals shared by the client files.
 */
#ifndef VSTD_MGMT_CLIENT_H
#define VSTD_MGMT_CLIENT_H

#include "mgmt/mgmt_internal.h"

#endif
