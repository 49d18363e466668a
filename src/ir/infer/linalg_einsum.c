/*
 * linalg_einsum.c - parsing of Einsum equations into per-dimension labels,
 * and the extent of every label (see linalg_infer.h).
 */
#include "ir/infer/linalg_infer.h"

#include <string.h>

/* Longest equation accepted, spaces removed. */
#define EQ_MAX_LEN 4096

/* A term as written: its letters, and the position of its ellipsis. */
typedef struct eq_term {
    int n_letters;
    unsigned char letters[KILN_MAX_RANK];
    int ellipsis_at; /* index of the letter the ellipsis precedes; -1 when there is none */
} eq_term;

static int letter_label(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return 26 + (c - 'a');
    return -1;
}

static char label_char(int label)
{
    if (label < 26)
        return (char)('A' + label);
    if (label < KILN_EINSUM_LETTERS)
        return (char)('a' + label - 26);
    return '.';
}

static kiln_status parse_term(const char *s, size_t len, eq_term *t)
{
    t->n_letters = 0;
    t->ellipsis_at = -1;
    for (size_t i = 0; i < len;) {
        if (s[i] == '.') {
            if (i + 3 > len || strncmp(s + i, "...", 3) != 0 || t->ellipsis_at >= 0)
                return kiln_error(KILN_ERR_INVALID_ARGUMENT, "Einsum equation: bad ellipsis in term '%.*s'", (int)len,
                                  s);
            t->ellipsis_at = t->n_letters;
            i += 3;
            continue;
        }
        int l = letter_label(s[i]);
        if (l < 0)
            return kiln_error(KILN_ERR_INVALID_ARGUMENT, "Einsum equation: unexpected character '%c' in term '%.*s'",
                              s[i], (int)len, s);
        if (t->n_letters >= KILN_MAX_RANK)
            return kiln_error(KILN_ERR_UNSUPPORTED, "Einsum equation: term '%.*s' has more than %d dims", (int)len, s,
                              KILN_MAX_RANK);
        t->letters[t->n_letters++] = (unsigned char)l;
        i++;
    }
    return KILN_OK;
}

/* Writes the labels of a term whose ellipsis stands for n_ell of the
 * equation's total_ell ellipsis dims (aligned right); returns the count. */
static int expand_term(const eq_term *t, int n_ell, int total_ell, unsigned char *out)
{
    int d = 0;
    for (int j = 0; j <= t->n_letters; j++) {
        if (j == t->ellipsis_at)
            for (int k = 0; k < n_ell; k++)
                out[d++] = (unsigned char)(KILN_EINSUM_LETTERS + total_ell - n_ell + k);
        if (j < t->n_letters)
            out[d++] = t->letters[j];
    }
    return d;
}

/* Copies the equation without spaces. */
static kiln_status strip_spaces(const char *equation, char *buf, size_t cap, size_t *len)
{
    size_t n = 0;
    for (const char *p = equation; *p; p++) {
        if (*p == ' ')
            continue;
        if (n + 1 >= cap)
            return kiln_error(KILN_ERR_LIMIT, "Einsum equation is longer than %zu characters", cap - 1);
        buf[n++] = *p;
    }
    buf[n] = '\0';
    *len = n;
    return KILN_OK;
}

/* Splits the left-hand side at commas into exactly n_in terms. */
static kiln_status parse_lhs(const char *lhs, size_t len, int n_in, eq_term *terms)
{
    int n = 0;
    size_t start = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i < len && lhs[i] != ',')
            continue;
        if (n >= n_in)
            return kiln_error(KILN_ERR_INVALID_ARGUMENT, "Einsum equation has more terms than the %d inputs", n_in);
        KILN_TRY(parse_term(lhs + start, i - start, &terms[n++]));
        start = i + 1;
    }
    if (n != n_in)
        return kiln_error(KILN_ERR_INVALID_ARGUMENT, "Einsum equation has %d terms for %d inputs", n, n_in);
    return KILN_OK;
}

static kiln_status parse_explicit_output(const char *rhs, size_t len, int total_ell, const int *count,
                                         kiln_einsum_eq *eq)
{
    eq_term t;
    KILN_TRY(parse_term(rhs, len, &t));
    if (t.ellipsis_at < 0 && total_ell > 0)
        return kiln_error(KILN_ERR_INVALID_ARGUMENT,
                          "Einsum equation: the inputs' ellipsis has %d dims but the output has no ellipsis",
                          total_ell);
    int used[KILN_EINSUM_LETTERS] = {0};
    for (int j = 0; j < t.n_letters; j++) {
        int l = t.letters[j];
        if (!count[l])
            return kiln_error(KILN_ERR_INVALID_ARGUMENT, "Einsum equation: output label '%c' is in no input",
                              label_char(l));
        if (used[l]++)
            return kiln_error(KILN_ERR_INVALID_ARGUMENT, "Einsum equation: output label '%c' is repeated",
                              label_char(l));
    }
    int rank = t.n_letters + (t.ellipsis_at >= 0 ? total_ell : 0);
    if (rank > KILN_MAX_RANK)
        return kiln_error(KILN_ERR_UNSUPPORTED, "Einsum output rank %d is over %d", rank, KILN_MAX_RANK);
    eq->out_rank = expand_term(&t, total_ell, total_ell, eq->out_labels);
    return KILN_OK;
}

/* Implicit output: the ellipsis dims, then the labels used exactly once in
 * ascending order. */
static kiln_status implicit_output(int total_ell, const int *count, kiln_einsum_eq *eq)
{
    int rank = total_ell;
    for (int l = 0; l < KILN_EINSUM_LETTERS; l++)
        rank += count[l] == 1;
    if (rank > KILN_MAX_RANK)
        return kiln_error(KILN_ERR_UNSUPPORTED, "Einsum output rank %d is over %d", rank, KILN_MAX_RANK);
    int d = 0;
    for (int k = 0; k < total_ell; k++)
        eq->out_labels[d++] = (unsigned char)(KILN_EINSUM_LETTERS + k);
    for (int l = 0; l < KILN_EINSUM_LETTERS; l++)
        if (count[l] == 1)
            eq->out_labels[d++] = (unsigned char)l;
    eq->out_rank = d;
    return KILN_OK;
}

kiln_status kiln_einsum_parse(const char *equation, int n_in, const int *ranks, kiln_einsum_eq *eq)
{
    if (!equation)
        return kiln_error(KILN_ERR_INVALID_ARGUMENT, "Einsum needs the 'equation' attribute");
    if (n_in < 1 || n_in > KILN_EINSUM_MAX_INPUTS)
        return kiln_error(KILN_ERR_UNSUPPORTED, "Einsum with %d inputs (kiln takes 1..%d)", n_in,
                          KILN_EINSUM_MAX_INPUTS);
    char buf[EQ_MAX_LEN];
    size_t len = 0;
    KILN_TRY(strip_spaces(equation, buf, sizeof buf, &len));
    const char *arrow = strstr(buf, "->");
    size_t lhs_len = arrow ? (size_t)(arrow - buf) : len;
    eq_term terms[KILN_EINSUM_MAX_INPUTS];
    KILN_TRY(parse_lhs(buf, lhs_len, n_in, terms));

    int n_ell[KILN_EINSUM_MAX_INPUTS], total_ell = 0;
    for (int i = 0; i < n_in; i++) {
        int extra = ranks[i] - terms[i].n_letters;
        if (terms[i].ellipsis_at < 0 ? extra != 0 : extra < 0)
            return kiln_error(KILN_ERR_SHAPE, "Einsum input %d has rank %d but its term names %d dims%s", i, ranks[i],
                              terms[i].n_letters, terms[i].ellipsis_at >= 0 ? " and an ellipsis" : "");
        n_ell[i] = extra;
        total_ell = extra > total_ell ? extra : total_ell;
    }
    int count[KILN_EINSUM_LETTERS] = {0};
    eq->n_in = n_in;
    for (int i = 0; i < n_in; i++) {
        eq->rank[i] = expand_term(&terms[i], n_ell[i], total_ell, eq->labels[i]);
        for (int j = 0; j < terms[i].n_letters; j++)
            count[terms[i].letters[j]]++;
    }
    if (arrow)
        return parse_explicit_output(arrow + 2, len - lhs_len - 2, total_ell, count, eq);
    return implicit_output(total_ell, count, eq);
}

/* Numpy's rule for two extents of one label (KILN_DIM_UNKNOWN compatible). */
static kiln_status merge_extent(int64_t *cur, int64_t d, int label)
{
    if (*cur == 1 || *cur == d)
        *cur = d;
    else if (d == 1)
        return KILN_OK;
    else if (*cur < 0)
        *cur = d;
    else if (d >= 0)
        return kiln_error(KILN_ERR_SHAPE, "Einsum label '%c' has extents %lld and %lld", label_char(label),
                          (long long)*cur, (long long)d);
    return KILN_OK;
}

kiln_status kiln_einsum_label_dims(const kiln_einsum_eq *eq, kiln_tensor *const *in, int64_t *label_dims)
{
    for (int l = 0; l < KILN_EINSUM_MAX_LABELS; l++)
        label_dims[l] = 1;
    for (int i = 0; i < eq->n_in; i++) {
        int64_t mine[KILN_EINSUM_MAX_LABELS];
        unsigned char seen[KILN_EINSUM_MAX_LABELS] = {0};
        for (int d = 0; d < eq->rank[i]; d++) {
            int l = eq->labels[i][d];
            int64_t x = in[i]->dims[d];
            if (!seen[l]) {
                seen[l] = 1;
                mine[l] = x;
            } else if (mine[l] >= 0 && x >= 0 && mine[l] != x) {
                return kiln_error(KILN_ERR_SHAPE, "Einsum input %d repeats label '%c' over dims %lld and %lld", i,
                                  label_char(l), (long long)mine[l], (long long)x);
            } else if (mine[l] < 0) {
                mine[l] = x;
            }
        }
        for (int l = 0; l < KILN_EINSUM_MAX_LABELS; l++)
            if (seen[l])
                KILN_TRY(merge_extent(&label_dims[l], mine[l], l));
    }
    return KILN_OK;
}
