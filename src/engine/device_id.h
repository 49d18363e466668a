/*
 * device_id.h - the identity of the device an engine is built for, recorded
 * in the engine file and checked when it is loaded. For the CPU: the
 * architecture and the ISA features kiln's kernels may use.
 */
#ifndef KILN_ENGINE_DEVICE_ID_H
#define KILN_ENGINE_DEVICE_ID_H

#include <stddef.h>

/* "cpu x86_64 sse4.2 avx avx2 fma avx512f" into buf. */
void kiln_cpu_device_identity(char *buf, size_t len);
/* Whether an engine built for `built` can run here (`here`): same
 * architecture and every feature of `built` present. On a mismatch, names
 * the first missing feature in why. */
int kiln_device_compatible(const char *built, const char *here, char *why, size_t why_len);

#endif
