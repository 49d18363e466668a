/*
 * resize_sample_nms.c - NonMaxSuppression, shared by shape inference (the
 * number of selected boxes is the output's first dim) and the kernel.
 *
 * Per batch and class: the boxes scoring above score_threshold, highest
 * score first (ties: lower box index first), each kept unless its IoU with
 * an already kept box is greater than iou_threshold, up to
 * max_output_boxes_per_class. Arithmetic is rounded to float32 after every
 * step for float32 / float16 / bfloat16 inputs, as ONNX's reference
 * computes, so threshold boundaries agree.
 */
#include <stdlib.h>

#include "core/dtype.h"
#include "ir/infer/infer_util.h"
#include "ir/infer/resize_sample_params.h"

typedef struct nms_job {
    const kiln_tensor *boxes, *scores;
    int64_t batches, classes, n_boxes;
    int64_t max_out;
    double iou_threshold, score_threshold;
    int has_score_threshold;
    int center_point_box;
    int single; /* round every result to float32 */
} nms_job;

typedef struct nms_cand {
    double score;
    int64_t idx;
} nms_cand;

static double rd(const nms_job *j, double v)
{
    return j->single ? (double)(float)v : v;
}

static double box_at(const nms_job *j, int64_t b, int64_t box, int k)
{
    return kiln_load_f64(j->boxes->data, j->boxes->dtype, (size_t)((b * j->n_boxes + box) * 4 + k));
}

/* [min, max] of the box along one axis (corner or center format). */
static void box_span(const nms_job *j, int64_t b, int64_t box, int axis, double *lo, double *hi)
{
    if (j->center_point_box) {
        double c = box_at(j, b, box, axis == 0 ? 1 : 0), half = rd(j, box_at(j, b, box, axis == 0 ? 3 : 2) / 2);
        *lo = rd(j, c - half);
        *hi = rd(j, c + half);
        return;
    }
    /* corner format: [y1, x1, y2, x2]; axis 0 is y here */
    double a = box_at(j, b, box, axis == 0 ? 0 : 1), c = box_at(j, b, box, axis == 0 ? 2 : 3);
    *lo = a <= c ? a : c;
    *hi = a <= c ? c : a;
}

static int suppresses(const nms_job *j, int64_t b, int64_t i1, int64_t i2)
{
    double lo1[2], hi1[2], lo2[2], hi2[2], inter[2];
    /* the reference checks x first, then y; the order does not change the result */
    for (int axis = 0; axis < 2; axis++) {
        box_span(j, b, i1, axis, &lo1[axis], &hi1[axis]);
        box_span(j, b, i2, axis, &lo2[axis], &hi2[axis]);
        double lo = lo1[axis] > lo2[axis] ? lo1[axis] : lo2[axis];
        double hi = hi1[axis] < hi2[axis] ? hi1[axis] : hi2[axis];
        if (hi <= lo)
            return 0;
        inter[axis] = rd(j, hi - lo);
    }
    double area = rd(j, inter[0] * inter[1]);
    double a1 = rd(j, rd(j, hi1[1] - lo1[1]) * rd(j, hi1[0] - lo1[0]));
    double a2 = rd(j, rd(j, hi2[1] - lo2[1]) * rd(j, hi2[0] - lo2[0]));
    double uni = rd(j, rd(j, a1 + a2) - area);
    if (area <= 0 || a1 <= 0 || a2 <= 0 || uni <= 0)
        return 0;
    return rd(j, area / uni) > j->iou_threshold;
}

static int by_score(const void *pa, const void *pb)
{
    const nms_cand *a = pa, *b = pb;
    if (a->score != b->score)
        return a->score > b->score ? -1 : 1;
    return a->idx < b->idx ? -1 : a->idx > b->idx;
}

/* One batch and class; appends to out (when not NULL) at *count. */
static void select_class(const nms_job *j, int64_t b, int64_t c, nms_cand *cand, int64_t *kept, int64_t *out,
                         int64_t *count)
{
    int64_t n = 0, n_kept = 0;
    for (int64_t i = 0; i < j->n_boxes; i++) {
        double s = kiln_load_f64(j->scores->data, j->scores->dtype, (size_t)((b * j->classes + c) * j->n_boxes + i));
        if (!j->has_score_threshold || s > j->score_threshold)
            cand[n++] = (nms_cand){s, i};
    }
    qsort(cand, (size_t)n, sizeof *cand, by_score);
    for (int64_t k = 0; k < n && n_kept < j->max_out; k++) {
        int keep = 1;
        for (int64_t s = 0; s < n_kept && keep; s++)
            keep = !suppresses(j, b, cand[k].idx, kept[s]);
        if (!keep)
            continue;
        kept[n_kept++] = cand[k].idx;
        if (out) {
            out[*count * 3] = b;
            out[*count * 3 + 1] = c;
            out[*count * 3 + 2] = cand[k].idx;
        }
        (*count)++;
    }
}

static kiln_status optional_scalar(const kiln_op_ctx *ctx, int i, double *v, int *present)
{
    *present = 0;
    if (i >= ctx->n_in || !ctx->in[i] || kiln_tensor_numel(ctx->in[i]) == 0)
        return KILN_OK;
    if (!ctx->in[i]->data)
        return kiln_error(KILN_ERR_INTERNAL, "NonMaxSuppression input %d is not known", i);
    *v = kiln_load_f64(ctx->in[i]->data, ctx->in[i]->dtype, 0);
    *present = 1;
    return KILN_OK;
}

static kiln_status nms_setup(const kiln_op_ctx *ctx, nms_job *j)
{
    const kiln_tensor *bx = ctx->in[0], *sc = ctx->in[1];
    if (bx->rank != 3 || bx->dims[2] != 4 || sc->rank != 3 || sc->dims[0] != bx->dims[0] || sc->dims[2] != bx->dims[1])
        return kiln_error(KILN_ERR_SHAPE, "NonMaxSuppression needs boxes (B, N, 4) and scores (B, C, N)");
    *j = (nms_job){bx, sc, bx->dims[0], sc->dims[1], bx->dims[1], 0, 0, 0, 0, 0, 0};
    j->center_point_box = kiln_attr_int(ctx->node, "center_point_box", 0) != 0;
    j->single = bx->dtype != KILN_FLOAT64;
    double v = 0;
    int present;
    KILN_TRY(optional_scalar(ctx, 2, &v, &present));
    if (present) {
        int64_t m = kiln_load_i64(ctx->in[2]->data, ctx->in[2]->dtype, 0);
        j->max_out = m > 0 ? m : 0;
    }
    KILN_TRY(optional_scalar(ctx, 3, &j->iou_threshold, &present));
    j->iou_threshold = rd(j, j->iou_threshold);
    KILN_TRY(optional_scalar(ctx, 4, &j->score_threshold, &j->has_score_threshold));
    return KILN_OK;
}

kiln_status kiln_nms_run(const kiln_op_ctx *ctx, int64_t *out, int64_t *count)
{
    nms_job j = {0};
    KILN_TRY(nms_setup(ctx, &j));
    *count = 0;
    if (j.max_out == 0 || j.n_boxes == 0)
        return KILN_OK;
    if ((uint64_t)j.n_boxes > ctx->max_bytes / (sizeof(nms_cand) + sizeof(int64_t)))
        return kiln_error(KILN_ERR_LIMIT, "NonMaxSuppression over %lld boxes needs too much memory",
                          (long long)j.n_boxes);
    nms_cand *cand = malloc((size_t)j.n_boxes * sizeof *cand);
    int64_t *kept = malloc((size_t)j.n_boxes * sizeof *kept);
    if (!cand || !kept) {
        free(cand);
        free(kept);
        return kiln_error(KILN_ERR_OUT_OF_MEMORY, "cannot allocate NonMaxSuppression scratch");
    }
    for (int64_t b = 0; b < j.batches; b++)
        for (int64_t c = 0; c < j.classes; c++)
            select_class(&j, b, c, cand, kept, out, count);
    free(cand);
    free(kept);
    return KILN_OK;
}
