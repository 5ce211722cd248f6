/*
 * vstd/vstd.h - everything: include this, or only the parts you use.
 */
#ifndef VSTD_VSTD_H
#define VSTD_VSTD_H

#include "vstd/common.h"
#include "vstd/error.h"
#include "vstd/alloc.h"
#include "vstd/log.h"
#include "vstd/io.h"
#include "vstd/disk.h"
#include "vstd/ovf.h"
#include "vstd/virtio.h"
#include "vstd/mgmt.h"

#endif
