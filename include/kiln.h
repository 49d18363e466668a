/*
 * kiln.h - the public C API of kiln, an ONNX inference optimizer and runtime.
 *
 * The shape follows TensorRT's split:
 *   network   an ONNX model parsed into kiln's graph IR    (kiln_network_*)
 *   config    options for building an engine               (kiln_builder_config_*)
 *   engine    the built, immutable, shareable artefact      (kiln_engine_*)
 *   context   per-run state: input shapes, buffers, outputs (kiln_context_*)
 *
 * Every call that can fail returns a kiln_status; on failure kiln_last_error()
 * returns a message for the calling thread that names the node, tensor, byte
 * offset or option at fault. Handles are opaque. Ownership is stated at each
 * declaration: "caller frees" means the matching *_free function must be
 * called; "borrowed" means the pointer stays valid for the stated lifetime.
 * The library never prints, exits or aborts.
 */
#ifndef KILN_H
#define KILN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32)
#define KILN_API __declspec(dllexport)
#else
#define KILN_API __attribute__((visibility("default")))
#endif

#define KILN_VERSION_MAJOR 0
#define KILN_VERSION_MINOR 1
#define KILN_VERSION_PATCH 0

/* Largest tensor rank kiln handles. */
#define KILN_MAX_RANK 8

typedef enum kiln_status {
    KILN_OK = 0,
    KILN_ERR_INVALID_ARGUMENT = 1, /* a bad argument to an API call */
    KILN_ERR_PARSE = 2,            /* malformed model, tensor or file */
    KILN_ERR_UNSUPPORTED = 3,      /* an op, dtype, attribute or opset kiln does not implement */
    KILN_ERR_SHAPE = 4,            /* shapes that do not agree */
    KILN_ERR_OUT_OF_MEMORY = 5,    /* an allocation failed */
    KILN_ERR_LIMIT = 6,            /* a size over a configured or absolute limit */
    KILN_ERR_IO = 7,               /* a file could not be read or written */
    KILN_ERR_GRAPH = 8,            /* a graph that fails verification (cycle, no producer, ...) */
    KILN_ERR_SECURITY = 9,         /* external data that points outside the model's folder */
    KILN_ERR_NOT_FOUND = 10,       /* a named input or output that does not exist */
    KILN_ERR_INTERNAL = 11,        /* a kiln bug */
    KILN_ERR_INCOMPATIBLE = 12     /* an engine built by another kiln version or for another device */
} kiln_status;

/* Tensor element types; the values are ONNX's TensorProto.DataType. */
typedef enum kiln_dtype {
    KILN_UNDEFINED = 0,
    KILN_FLOAT32 = 1,
    KILN_UINT8 = 2,
    KILN_INT8 = 3,
    KILN_UINT16 = 4,
    KILN_INT16 = 5,
    KILN_INT32 = 6,
    KILN_INT64 = 7,
    KILN_STRING = 8,
    KILN_BOOL = 9,
    KILN_FLOAT16 = 10,
    KILN_FLOAT64 = 11,
    KILN_UINT32 = 12,
    KILN_UINT64 = 13,
    KILN_COMPLEX64 = 14,
    KILN_COMPLEX128 = 15,
    KILN_BFLOAT16 = 16,
    KILN_FLOAT8E4M3FN = 17,
    KILN_FLOAT8E4M3FNUZ = 18,
    KILN_FLOAT8E5M2 = 19,
    KILN_FLOAT8E5M2FNUZ = 20,
    KILN_UINT4 = 21,
    KILN_INT4 = 22,
    KILN_FLOAT4E2M1 = 23,
    KILN_FLOAT8E8M0 = 24,
    KILN_UINT2 = 25,
    KILN_INT2 = 26,
    KILN_DTYPE_COUNT = 27
} kiln_dtype;

typedef enum kiln_precision {
    KILN_PRECISION_FP32 = 0, /* the only precision built so far */
    KILN_PRECISION_FP16 = 1, /* reserved */
    KILN_PRECISION_INT8 = 2  /* reserved */
} kiln_precision;

/* Tactic sources, a bit mask: the autotuner only considers tactics from the
 * sources allowed (the reference kernels always remain). */
typedef enum kiln_tactic_source {
    KILN_TACTIC_KILN = 1u << 0,
    KILN_TACTIC_OPENBLAS = 1u << 1,
    KILN_TACTIC_ONEDNN = 1u << 2,
    KILN_TACTIC_CUDNN = 1u << 3,
    KILN_TACTIC_CUBLASLT = 1u << 4
} kiln_tactic_source;

/* Describes one input or output. Strings and arrays are borrowed from the
 * object that filled it and live as long as that object. A dim is >= 0 when
 * known, or -1 when symbolic or unknown; dim_names[i] then names the symbol
 * (for example "batch") or is NULL. */
typedef struct kiln_io_info {
    const char *name;
    kiln_dtype dtype;
    int rank; /* -1 when unknown */
    int64_t dims[KILN_MAX_RANK];
    const char *dim_names[KILN_MAX_RANK];
} kiln_io_info;

/* A read-only view of a tensor owned by kiln. */
typedef struct kiln_tensor_view {
    const char *name;
    kiln_dtype dtype;
    int rank;
    int64_t dims[KILN_MAX_RANK];
    const void *data;
    size_t nbytes;
} kiln_tensor_view;

typedef struct kiln_network kiln_network;
typedef struct kiln_builder_config kiln_builder_config;
typedef struct kiln_engine kiln_engine;
typedef struct kiln_context kiln_context;

/* ---- library ---------------------------------------------------------- */

/* "MAJOR.MINOR.PATCH"; static storage. */
KILN_API const char *kiln_version(void);
/* The message of the last failed call on this thread; borrowed until the next
 * failing call on this thread. Never NULL. */
KILN_API const char *kiln_last_error(void);
/* A short name for a status; static storage. */
KILN_API const char *kiln_status_name(kiln_status status);
/* "float32", "int64", ...; static storage. NULL for an unknown value. */
KILN_API const char *kiln_dtype_name(kiln_dtype dtype);
/* Bytes of one element as kiln stores it (sub-byte types take one byte each);
 * 0 for STRING, UNDEFINED or an unknown value. */
KILN_API size_t kiln_dtype_size(kiln_dtype dtype);

/* Number of NVIDIA GPUs kiln can use: 0 when built without CUDA or when no
 * device or driver is present (not an error). */
KILN_API kiln_status kiln_gpu_count(int *count);
/* A one-line description of GPU `index`, such as
 * "NVIDIA H100 80GB HBM3 (sm_90, 132 SMs, 79.2 GiB)", into buf. */
KILN_API kiln_status kiln_gpu_describe(int index, char *buf, size_t len);

/* CPU threads: kiln runs its CPU kernels (and splits its OpenBLAS calls)
 * on one process-wide pool. By default the pool uses every CPU the process
 * may run on (its affinity mask); kiln_set_threads(n) makes it n threads
 * (the calling thread and n - 1 workers; 0: the default again). Call it
 * while no run or build is in progress. */
KILN_API kiln_status kiln_set_threads(int threads);
/* The threads the pool uses (starts the default pool if none was chosen). */
KILN_API int kiln_get_threads(void);

/* ---- network: ONNX parsed into kiln's IR ----------------------------- */

/* Parses an ONNX file. External data is resolved inside the model's folder
 * only. On success *out is the caller's to free with kiln_network_free. */
KILN_API kiln_status kiln_network_from_file(const char *path, kiln_network **out);
/* Parses an ONNX model held in memory (the bytes are not retained).
 * base_dir is the folder external data is resolved in; NULL refuses
 * external data. Caller frees *out. */
KILN_API kiln_status kiln_network_from_memory(const void *data, size_t size, const char *base_dir,
                                              kiln_network **out);
KILN_API void kiln_network_free(kiln_network *network);
KILN_API kiln_status kiln_network_num_io(const kiln_network *network, int is_output, int *count);
/* Fills *info for input (is_output = 0) or output (is_output = 1) number
 * index; strings are borrowed from the network. */
KILN_API kiln_status kiln_network_io(const kiln_network *network, int is_output, int index, kiln_io_info *info);
/* Number of nodes in the parsed graph. */
KILN_API kiln_status kiln_network_num_nodes(const kiln_network *network, int *count);

/* One node of a network; strings are borrowed from the network. */
typedef struct kiln_node_info {
    const char *name;
    const char *op_type;
    const char *domain; /* "" for ONNX's default domain */
    int opset;
    int n_inputs, n_outputs;
    const char *tactic; /* engine layers: the kernel chosen; NULL for network nodes */
} kiln_node_info;

KILN_API kiln_status kiln_network_node(const kiln_network *network, int index, kiln_node_info *info);

typedef struct kiln_network_stats {
    int n_nodes;
    int64_t n_parameters;  /* elements of all constant tensors (weights) */
    int64_t weight_bytes;
    double flops;          /* estimated floating-point operations of one run */
    int flops_symbolic;    /* 1: some dims were symbolic and counted as 1 */
} kiln_network_stats;

KILN_API kiln_status kiln_network_stats_get(const kiln_network *network, kiln_network_stats *stats);

/* ---- builder config --------------------------------------------------- */

/* Caller frees *out with kiln_builder_config_free. */
KILN_API kiln_status kiln_builder_config_create(kiln_builder_config **out);
KILN_API void kiln_builder_config_free(kiln_builder_config *config);
KILN_API kiln_status kiln_builder_config_set_precision(kiln_builder_config *config, kiln_precision precision);
/* Scratch memory a tactic may use, in bytes; tactics needing more are not
 * considered. */
KILN_API kiln_status kiln_builder_config_set_workspace(kiln_builder_config *config, size_t bytes);
/* Mask of kiln_tactic_source the autotuner may choose tactics from. */
KILN_API kiln_status kiln_builder_config_set_tactic_sources(kiln_builder_config *config, uint32_t mask);
/* 0 builds the graph as imported; 1 (the default) runs every optimization
 * pass (constant folding, dead-node removal, CSE, Conv+BatchNorm folding,
 * fusions). */
KILN_API kiln_status kiln_builder_config_set_optimization_level(kiln_builder_config *config, int level);
/* Where convolutions keep their channels. */
typedef enum kiln_layout {
    /* the default: where the model has 2-D float convolutions and the build
     * autotunes, both layouts are built and timed on this machine and the
     * faster kept; otherwise NCHW */
    KILN_LAYOUT_AUTO = 0,
    KILN_LAYOUT_NCHW = 1, /* as the model has them */
    /* channels-last: convolutions, and the pools and elementwise ops between
     * them, run in NHWC; transposes only where an NCHW op or output needs it */
    KILN_LAYOUT_NHWC = 2
} kiln_layout;
KILN_API kiln_status kiln_builder_config_set_layout(kiln_builder_config *config, kiln_layout layout);
/* The largest single tensor the engine may allocate; larger requests fail
 * with KILN_ERR_LIMIT. Default: 16 GiB. */
KILN_API kiln_status kiln_builder_config_set_max_tensor_bytes(kiln_builder_config *config, size_t bytes);
/* Fixes the shape of input `name` for the build (symbolic dims get values).
 * The strings are copied. */
KILN_API kiln_status kiln_builder_config_set_input_shape(kiln_builder_config *config, const char *name, int rank,
                                                         const int64_t *dims);
/* Optimization profiles (as in TensorRT): each profile gives, for every input
 * with symbolic dims, the smallest, the typical (tactics are tuned for it)
 * and the largest shape it accepts. With profiles the engine keeps its
 * symbolic dims and plans activation memory for each profile's largest
 * shapes; a run takes any shape inside a profile at that shape's own cost.
 * Adds an empty profile; *index is its number (0, 1, ...). */
KILN_API kiln_status kiln_builder_config_add_profile(kiln_builder_config *config, int *index);
/* Sets input `input`'s bounds in profile `profile`: min <= opt <= max in every
 * dim. Checked against the model when the engine is built: the rank must
 * match, dims the model fixes must equal the profile's, and every input
 * with symbolic dims must be covered by every profile. The name is copied. */
KILN_API kiln_status kiln_builder_config_set_profile_shape(kiln_builder_config *config, int profile, const char *input,
                                                           int rank, const int64_t *min, const int64_t *opt,
                                                           const int64_t *max);

/* ---- engine ----------------------------------------------------------- */

/* Builds an engine from a network. The engine shares the network's graph
 * and weights by reference count: either may be freed first.
 * Caller frees *out with kiln_engine_free. config may be NULL (defaults). */
KILN_API kiln_status kiln_engine_build(const kiln_network *network, const kiln_builder_config *config,
                                       kiln_engine **out);
KILN_API void kiln_engine_free(kiln_engine *engine);
KILN_API kiln_status kiln_engine_num_io(const kiln_engine *engine, int is_output, int *count);
/* Strings in *info are borrowed from the engine. */
KILN_API kiln_status kiln_engine_io(const kiln_engine *engine, int is_output, int index, kiln_io_info *info);

/* Executed layers of the engine, in execution order; strings in *info are
 * borrowed from the engine. */
KILN_API kiln_status kiln_engine_num_layers(const kiln_engine *engine, int *count);
KILN_API kiln_status kiln_engine_layer(const kiln_engine *engine, int index, kiln_node_info *info);
/* The tactic layer `index` runs with in profile `profile` (each profile is
 * tuned at its own OPT shapes; kiln_engine_layer reports profile 0's; use
 * profile 0 for an engine without profiles). Borrowed from the engine. */
KILN_API kiln_status kiln_engine_layer_tactic(const kiln_engine *engine, int profile, int index, const char **tactic);
/* What the optimizer did, one line per rewrite (fusion, fold); *text is
 * borrowed from the engine. */
KILN_API kiln_status kiln_engine_num_rewrites(const kiln_engine *engine, int *count);
KILN_API kiln_status kiln_engine_rewrite(const kiln_engine *engine, int index, const char **text);
/* Activation memory of one run, for the intermediates whose shapes are fixed
 * when the engine is built (graph inputs, outputs, weights and dynamically
 * shaped tensors excluded): *naive_bytes if each had its own buffer,
 * *planned_bytes for the arena they share, laid out by lifetime. With
 * optimization profiles: the largest of the profiles' arenas, each laid out
 * for its profile's max shapes. */
KILN_API kiln_status kiln_engine_memory(const kiln_engine *engine, size_t *naive_bytes, size_t *planned_bytes);
/* Estimated floating-point operations of one run of the engine's graph at
 * the shapes it was built for (fused layers count as the product they
 * start with); *symbolic is 1 when some dims were symbolic and counted as
 * 1 (an engine with profiles). */
KILN_API kiln_status kiln_engine_flops(const kiln_engine *engine, double *flops, int *symbolic);
/* Number of optimization profiles (0 for an engine built without any). */
KILN_API kiln_status kiln_engine_num_profiles(const kiln_engine *engine, int *count);
/* Input `input`'s bounds in profile `profile`; min, opt and max each take
 * KILN_MAX_RANK dims. An input whose shape the model fixes reports that
 * shape three times. */
KILN_API kiln_status kiln_engine_profile_shape(const kiln_engine *engine, int profile, const char *input, int *rank,
                                               int64_t *min, int64_t *opt, int64_t *max);

/* Serializes the engine into an engine file image: *data is the caller's to
 * free with kiln_free. */
KILN_API kiln_status kiln_engine_serialize(const kiln_engine *engine, void **data, size_t *size);
KILN_API kiln_status kiln_engine_save(const kiln_engine *engine, const char *path);
/* Loads an engine file: the file is mapped read-only and its weights used in
 * place; nothing is re-tuned. Refuses (KILN_ERR_INCOMPATIBLE) an engine of
 * another kiln version or for another device, and (KILN_ERR_PARSE) a
 * truncated or corrupted file. Caller frees *out with kiln_engine_free. */
KILN_API kiln_status kiln_engine_load(const char *path, kiln_engine **out);
/* The same from memory (the bytes are copied). */
KILN_API kiln_status kiln_engine_deserialize(const void *data, size_t size, kiln_engine **out);
/* 1 when the file at path starts like a kiln engine file, else 0. */
KILN_API int kiln_is_engine_file(const char *path);
/* Frees memory kiln handed to the caller (kiln_engine_serialize). */
KILN_API void kiln_free(void *p);

/* ---- execution context ------------------------------------------------ */

/* A context holds the buffers of one run; several contexts may share one
 * engine. Caller frees *out with kiln_context_free (before the engine). */
KILN_API kiln_status kiln_context_create(kiln_engine *engine, kiln_context **out);
KILN_API void kiln_context_free(kiln_context *context);
/* Binds host memory for input `name`. The data is borrowed until the next
 * kiln_context_run returns; dtype and shape must match the model, and lie
 * inside some optimization profile (the context's own, when set) when the
 * engine has profiles. */
KILN_API kiln_status kiln_context_set_input(kiln_context *context, const char *name, kiln_dtype dtype, int rank,
                                            const int64_t *dims, const void *data, size_t nbytes);
/* Called after each layer of a run with views of the layer's outputs (NULL
 * entries for absent optional outputs); the views are valid only during the
 * call. Return 0 to go on; anything else stops the run, which then fails
 * with KILN_ERR_INVALID_ARGUMENT. */
typedef int (*kiln_layer_callback)(void *user, const kiln_node_info *layer, int n_outputs,
                                   const kiln_tensor_view *outputs);
/* Sets (or, with NULL, clears) the context's layer callback. */
KILN_API kiln_status kiln_context_set_layer_callback(kiln_context *context, kiln_layer_callback callback, void *user);
/* Makes the context's runs use optimization profile `index` (bound inputs
 * must then lie inside it); -1 (the default) picks, at each run, the first
 * profile whose bounds contain every bound input's shape. */
KILN_API kiln_status kiln_context_set_profile(kiln_context *context, int index);
/* Runs the model on the bound inputs. */
KILN_API kiln_status kiln_context_run(kiln_context *context);
/* A view of output `name` (or of output number `index` when name is NULL)
 * of the last run; data is borrowed until the next run or free. */
KILN_API kiln_status kiln_context_output(const kiln_context *context, const char *name, int index,
                                         kiln_tensor_view *out);

/* ---- autotuning ------------------------------------------------------- */

/* While an engine is built, layers with several tactics (alternative
 * kernels) are timed on this machine and the fastest kept; the callback is
 * told after each such layer (done of total, the layer's name). A build
 * with KILN_LAYOUT_AUTO tunes each candidate layout in turn: done counts
 * up to total once per candidate. */
typedef void (*kiln_build_progress_callback)(void *user, int done, int total, const char *layer);
/* 1 (the default) times the tactics of every layer that has several and
 * whose shapes are fixed at build time, and keeps the fastest; 0 builds with
 * the reference kernels, whose outputs are bitwise reproducible from build
 * to build. */
KILN_API kiln_status kiln_builder_config_set_autotune(kiln_builder_config *config, int enable);
/* Threads the tactics and OpenBLAS use (one process-wide pool), set when
 * an engine is built with this config; 0 (the default) leaves them as they
 * are. */
KILN_API kiln_status kiln_builder_config_set_threads(kiln_builder_config *config, int threads);
/* Sets (or, with NULL, clears) the build's progress callback. */
KILN_API kiln_status kiln_builder_config_set_progress_callback(kiln_builder_config *config,
                                                               kiln_build_progress_callback callback, void *user);
/* A timing cache file: read before tuning (layers it knows are not timed
 * again) and written after. NULL clears it. The path is copied. */
KILN_API kiln_status kiln_builder_config_set_timing_cache(kiln_builder_config *config, const char *path);

typedef struct kiln_tuning_summary {
    int layers_tuned; /* layers that chose among several tactics */
    int cache_hits;   /* of those, the ones the timing cache answered */
    double ms;        /* time spent tuning */
} kiln_tuning_summary;

/* What the build's autotuner did (zeros for a loaded engine). */
KILN_API kiln_status kiln_engine_tuning_summary(const kiln_engine *engine, kiln_tuning_summary *summary);
/* The measured time of layer `index` (execution order) with its chosen
 * tactic, and with the reference kernel (conv_im2col_sgemm), in ms; -1
 * when not measured (a layer with one tactic, or a loaded engine). */
KILN_API kiln_status kiln_engine_layer_timing(const kiln_engine *engine, int index, double *ms, double *reference_ms);

#ifdef __cplusplus
}
#endif
#endif /* KILN_H */
