/*
 * fused_view.c - presenting a fused node as the ONNX op it wraps (see
 * fused_view.h).
 */
#include "ir/infer/fused_view.h"

#include <stdio.h>
#include <string.h>

#include "core/dtype.h"
#include "ir/infer/infer_util.h"

void kiln_fused_view_init(kiln_fused_view *v, const kiln_op_ctx *ctx, const char *op, int n_in)
{
    size_t len = strlen(op); /* every layer of every run: no snprintf */
    if (len >= sizeof v->op_type)
        len = sizeof v->op_type - 1;
    memcpy(v->op_type, op, len);
    v->op_type[len] = '\0';
    v->domain[0] = '\0';
    v->node = *ctx->node;
    v->node.op_type = v->op_type;
    v->node.domain = v->domain;
    if (v->node.n_inputs > n_in)
        v->node.n_inputs = n_in;
    v->ctx = *ctx;
    v->ctx.node = &v->node;
    if (v->ctx.n_in > n_in)
        v->ctx.n_in = n_in;
    while (v->ctx.n_in > 0 && !v->ctx.in[v->ctx.n_in - 1])
        v->ctx.n_in--;
}

const char *kiln_fused_input_name(const kiln_op_ctx *ctx, int k)
{
    int v = k < ctx->node->n_inputs ? ctx->node->inputs[k] : -1;
    return ctx->graph && v >= 0 ? ctx->graph->values[v].name : "?";
}

kiln_status kiln_fused_infer(kiln_op_ctx *ctx, const char *op, int n_in)
{
    const kiln_op_schema *s = kiln_op_find("", op);
    if (!s)
        return kiln_error(KILN_ERR_INTERNAL, "%s wraps %s, which has no schema", ctx->node->op_type, op);
    kiln_fused_view v;
    kiln_fused_view_init(&v, ctx, op, n_in);
    KILN_TRY(s->infer(&v.ctx));
    const char *act = kiln_attr_string(ctx->node, "activation", "");
    kiln_dtype dt = ctx->n_out > 0 && ctx->out[0] ? ctx->out[0]->dtype : KILN_UNDEFINED;
    if (act[0] && dt != KILN_UNDEFINED && !kiln_is_std_float(dt))
        return kiln_error(KILN_ERR_UNSUPPORTED, "activation %s needs a float output, not %s", act,
                          kiln_dtype_name(dt) ? kiln_dtype_name(dt) : "(invalid)");
    return KILN_OK;
}
