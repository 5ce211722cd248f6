/*
 * core/version.c - vstd_version().
 */
#include "vstd/common.h"

const char *vstd_version(int *major, int *minor, int *patch)
{
	if (major != NULL)
		*major = VSTD_VERSION_MAJOR;
	if (minor != NULL)
		*minor = VSTD_VERSION_MINOR;
	if (patch != NULL)
		*patch = VSTD_VERSION_PATCH;
	return VSTD_VERSION_STRING;
}
