/*
 * test_gpu.c - GPU discovery. Skipped (exit 77) where kiln was built
 * without CUDA or the machine has no GPU.
 */
#include "kiln.h"
#include "test_util.h"

int main(void)
{
    int n = -1;
    CHECK(kiln_gpu_count(&n) == KILN_OK && n >= 0);
    if (n == 0) {
        printf("skipped: no GPU (or built without CUDA)\n");
        return test_failed ? 1 : 77;
    }
    for (int i = 0; i < n; i++) {
        char desc[512];
        CHECK(kiln_gpu_describe(i, desc, sizeof desc) == KILN_OK);
        CHECK(strstr(desc, "sm_") != NULL);
        printf("gpu %d: %s\n", i, desc);
    }
    char desc[64];
    CHECK(kiln_gpu_describe(n + 5, desc, sizeof desc) != KILN_OK);
    return test_summary();
}
