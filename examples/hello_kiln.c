/* hello_kiln.c - load an ONNX model, build an engine, run it on ones. */
#include <kiln.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    kiln_network *net; kiln_engine *engine; kiln_context *ctx; kiln_io_info in; kiln_tensor_view out;
    int64_t dims[KILN_MAX_RANK]; size_t n = 1;
    if (argc < 2 || kiln_network_from_file(argv[1], &net) || kiln_engine_build(net, NULL, &engine) ||
        kiln_context_create(engine, &ctx) || kiln_engine_io(engine, 0, 0, &in))
        return fprintf(stderr, "error: %s\n", argc < 2 ? "usage: hello_kiln MODEL" : kiln_last_error()), 1;
    for (int d = 0; d < in.rank; d++)
        n *= (size_t)(dims[d] = in.dims[d] < 0 ? 1 : in.dims[d]); /* symbolic dims: 1 */
    float *x = malloc(n * sizeof *x);
    for (size_t i = 0; i < n; i++) x[i] = 1.0f;
    if (kiln_context_set_input(ctx, in.name, KILN_FLOAT32, in.rank, dims, x, n * sizeof *x) ||
        kiln_context_run(ctx) || kiln_context_output(ctx, NULL, 0, &out))
        return fprintf(stderr, "error: %s\n", kiln_last_error()), 1;
    printf("%s: %s[0] = %g\n", argv[1], out.name, (double)((const float *)out.data)[0]);
    free(x); kiln_context_free(ctx); kiln_engine_free(engine); kiln_network_free(net);
    return 0;
}
