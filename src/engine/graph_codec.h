/*
 * graph_codec.h - the graph IR in the engine file: values (with constant
 * weights 64-byte aligned, so a mapped file can be used in place), nodes
 * with every attribute type (subgraphs recursively), symbols, graph inputs
 * and outputs, optimization profiles.
 */
#ifndef KILN_ENGINE_GRAPH_CODEC_H
#define KILN_ENGINE_GRAPH_CODEC_H

#include "engine/byte_io.h"
#include "ir/graph.h"

void kiln_graph_encode(kiln_writer *w, const kiln_graph *g);
/* Decodes a graph. Constant data points into the reader's buffer
 * (owns_data = 0) when `borrow` is set, else it is copied. The result is
 * structurally checked (ids in range) but not verified. */
kiln_status kiln_graph_decode(kiln_reader *r, int borrow, kiln_graph **out);

#endif
