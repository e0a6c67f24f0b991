/*
 * hdon.h - C API of the hdon runtime (HyperDeepONet-family operator networks).
 *
 * Link with libhdon.a (static) or libhdon.so (dynamic), built by `cargo build -p hdon-capi
 * --release`. Static linking on Linux also needs: -lpthread -ldl -lm (and -lgcc_s -lrt
 * -lutil on some toolchains).
 *
 * Bare-metal firmware (no OS, no libc, no allocator) links the no_std libhdon.a, e.g. for a
 * Cortex-M4F: `cargo build -p hdon-capi --release --target thumbv7em-none-eabihf
 * --no-default-features --features panic-handler` (then libhdon.a in
 * target/thumbv7em-none-eabihf/release; link with -lgcc). It has every call of this header
 * but the ones on threads, marked "(std library only)" below: hdon_generate_batch and the team
 * calls. examples/firmware.c is a complete program.
 *
 * The library never allocates (except hdon_generate_batch, which runs on rayon's thread pool
 * and its per-task buffers, hdon_team_new, hdon_eval_on, and hdon_eval_batch_on when it splits
 * points; and once per process, in the first call that runs a kernel, reading the environment
 * variables HDON_KERNEL and HDON_AMX, which allocates a few bytes), never reads files and
 * never aborts on bad input: every call returns a status code. All memory is the caller's:
 *
 *   bytes      the model file (.hdon), e.g. a flash region or a read/mmap'd buffer. Must be at
 *              least 4-byte aligned and stay alive and unchanged while the model is used.
 *   hdon_model opaque storage for a loaded model (a plain struct: static, stack or heap).
 *   workspace  float[hdon_model_workspace_len(model, 1)]: scratch and the generated target
 *              net of one input function. Its length is also recorded in the file.
 *   hdon_target opaque handle to a generated target net; borrows model and workspace.
 *
 * Typical use:
 *
 *   static hdon_model model;
 *   static float ws[WS_LEN];                      // >= hdon_model_workspace_len(&model, 1)
 *   hdon_target target;
 *   if (hdon_model_open(bytes, len, 1, &model) != HDON_OK) ...
 *   hdon_generate(&model, u, n_sensors, ws, WS_LEN, &target);   // once per input function
 *   hdon_eval(&target, y, n_points, out, n_points * d_out);     // any number of times
 *
 * Units: every length is an element count (floats), never bytes, except `len` of the file.
 * Layouts: sensors float[m]; points float[n][d_y] row-major; out float[n][d_out] row-major.
 * Values are physical: the normalization recorded in the file is applied inside.
 *
 * Threads: a hdon_model may be shared by threads (calls only read it); each thread needs its
 * own workspace and hdon_target.
 */
#ifndef HDON_H
#define HDON_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Storage sizes of the opaque structs, in 8-byte words. The Rust side checks at compile time
 * that a loaded model / target fits (and that uint64_t's alignment suffices). */
#define HDON_MODEL_WORDS 1024  /* 8 KiB */
#define HDON_TARGET_WORDS 128  /* 1 KiB */

/* The most threads hdon_team_new starts. */
#define HDON_MAX_THREADS 1024

/* A loaded model (opaque). Valid after hdon_model_open returned HDON_OK; borrows `bytes`. */
typedef struct hdon_model {
    uint64_t opaque[HDON_MODEL_WORDS];
} hdon_model;

/* The target net of one input function (opaque). Valid after hdon_generate returned HDON_OK,
 * while the model, the model bytes and the workspace are alive and the workspace is not
 * reused by another hdon_generate. It may be moved (copied, then only the copy used), not
 * duplicated: hdon_eval writes its scratch into the workspace the target borrows, so two live
 * copies of one target (or two threads calling hdon_eval on one) would share that scratch. */
typedef struct hdon_target {
    uint64_t opaque[HDON_TARGET_WORDS];
} hdon_target;

/* Status codes. hdon_error_message(code) describes each. */
typedef enum hdon_status {
    HDON_OK = 0,
    HDON_ERR_NULL = 1,                  /* a required pointer was NULL */
    HDON_ERR_FORMAT = 2,                /* the file is malformed, corrupt or misaligned */
    HDON_ERR_KERNEL = 3,                /* a kernel rejected its arguments (internal) */
    HDON_ERR_SENSOR_COUNT = 4,          /* n_sensors != hdon_model_n_sensors(model) */
    HDON_ERR_POINT_DIM = 5,             /* n_points * d_y overflows, or targets of one batch
                                           call differ in d_y or d_out */
    HDON_ERR_OUTPUT_LEN = 6,            /* out_len < n_points * d_out (batch: times batch) */
    HDON_ERR_WORKSPACE_TOO_SHORT = 7,   /* workspace_len < hdon_model_workspace_len(m, batch) */
    HDON_ERR_NONFINITE_SENSOR = 8,      /* a sensor value is NaN or infinite */
    HDON_ERR_NONFINITE_POINT = 9,       /* a point coordinate is NaN or infinite */
    HDON_ERR_WORKSPACE_MISMATCH = 10,   /* the file's workspace records disagree with this runtime */
    HDON_ERR_UNSUPPORTED = 11,          /* valid model beyond this runtime's limits */
    HDON_ERR_INVALID_MODEL = 12,        /* tensors or normalization unusable */
    HDON_ERR_MISALIGNED = 13            /* a float pointer not 4-byte aligned, or a hdon_model /
                                           hdon_target pointer not aligned as uint64_t */
} hdon_status;

/* Argument checks common to every call (they run before anything is read or written):
 *   - a required pointer that is NULL: HDON_ERR_NULL. A buffer pointer may be NULL when its
 *     length is 0.
 *   - a pointer not aligned to its type (float: 4 bytes; hdon_model, hdon_target: as
 *     uint64_t): HDON_ERR_MISALIGNED (for the model bytes: HDON_ERR_FORMAT).
 *   - a length larger than any buffer can be (more than PTRDIFF_MAX bytes, e.g. a negative
 *     count cast to size_t): the status of that length (HDON_ERR_SENSOR_COUNT,
 *     HDON_ERR_POINT_DIM, HDON_ERR_OUTPUT_LEN, HDON_ERR_WORKSPACE_TOO_SHORT).
 * A call that returns an error leaves *out (the hdon_model or hdon_target it would fill) as
 * it was. Of a longer buffer than needed, the library only touches the first n_points * d_out
 * floats of an output (times batch for the batch calls) and the first
 * hdon_model_workspace_len(model, batch) floats of a workspace. */

/* Loads a model from `len` bytes at `bytes` (4-byte aligned). Validates the structure always
 * and the CRC32C checksums if verify_checksums != 0. Writes the model to *out. No allocation,
 * no copy of the bytes. Non-finite sensor values and points are rejected by every later call
 * (HDON_ERR_NONFINITE_SENSOR / _POINT). Returns HDON_OK, HDON_ERR_NULL, HDON_ERR_MISALIGNED
 * (out), HDON_ERR_FORMAT (malformed, corrupt, truncated or misaligned bytes),
 * HDON_ERR_WORKSPACE_MISMATCH, HDON_ERR_UNSUPPORTED or HDON_ERR_INVALID_MODEL. */
int hdon_model_open(const void *bytes, size_t len, int verify_checksums, hdon_model *out);

/* Sensor values per input function (m). 0 if model is NULL. */
size_t hdon_model_n_sensors(const hdon_model *model);

/* Query point dimension (d_y). 0 if model is NULL. */
size_t hdon_model_d_y(const hdon_model *model);

/* Output components per point (d_out). 0 if model is NULL. */
size_t hdon_model_d_out(const hdon_model *model);

/* Exact workspace length in floats (not bytes) for `batch` input functions; hdon_generate
 * uses batch = 1. The same number is recorded in the file (`hdon inspect` prints it), for a
 * buffer sized at compile time. 0 if model is NULL; SIZE_MAX if the length overflows size_t. */
size_t hdon_model_workspace_len(const hdon_model *model, size_t batch);

/* Runs the input-function-dependent networks once: sensors float[n_sensors] (physical
 * values), workspace float[workspace_len] with workspace_len >= hdon_model_workspace_len(model,
 * 1) (contents on entry ignored; 4-byte alignment suffices). Writes a target handle to *out;
 * a target generated earlier in the same workspace is invalid afterwards. Returns HDON_OK,
 * HDON_ERR_NULL, HDON_ERR_MISALIGNED, HDON_ERR_SENSOR_COUNT, HDON_ERR_WORKSPACE_TOO_SHORT or
 * HDON_ERR_NONFINITE_SENSOR. */
int hdon_generate(const hdon_model *model, const float *sensors, size_t n_sensors,
                  float *workspace, size_t workspace_len, hdon_target *out);

/* Generates the targets of `batch` input functions at once: sensors float[batch][n_sensors],
 * workspace float[workspace_len] with workspace_len >= hdon_model_workspace_len(model, batch),
 * targets hdon_target[batch] (target i lives in its own part of the workspace; all stay valid
 * together). Each target is bit-identical to hdon_generate's on the same sensors, except for
 * HyperDeepONet models with batch >= 4: their hypernetwork runs with
 * the functions in SIMD lanes (summed in another order), so targets equal hdon_generate's to
 * rounding and are the same bits for any batch size and thread count. Runs on the process's
 * rayon thread pool (RAYON_NUM_THREADS threads, default one per core). (std library only) */
int hdon_generate_batch(const hdon_model *model, const float *sensors, size_t batch,
                        size_t n_sensors, float *workspace, size_t workspace_len,
                        hdon_target *targets);

/* Evaluates the target net at n_points points: points float[n_points][d_y], out
 * float[out_len] with out_len >= n_points * d_out (receives [n_points][d_out]). Any number
 * of times; n_points may be 0 (then points/out may be NULL). Returns HDON_OK, HDON_ERR_NULL,
 * HDON_ERR_MISALIGNED, HDON_ERR_POINT_DIM, HDON_ERR_OUTPUT_LEN or HDON_ERR_NONFINITE_POINT
 * (out untouched on every error). Writes the target's tile scratch (in its workspace): one
 * call per target at a time. */
int hdon_eval(hdon_target *target, const float *points, size_t n_points, float *out,
              size_t out_len);

/* Evaluates `batch` targets at the same points, one call instead of `batch` hdon_eval calls:
 * targets hdon_target[batch] (as hdon_generate_batch fills them), points float[n_points][d_y],
 * out float[out_len] with out_len >= batch * n_points * d_out; target i writes
 * out[i * n_points * d_out ..][n_points][d_out] (the layout float[batch][n_points][d_out]).
 * Each target gets exactly hdon_eval's bits. On the calling thread, no allocation. The
 * targets' shapes (all the same d_y and d_out) and out_len are checked before anything is
 * written; an error of one target's evaluation (e.g. a rejected non-finite point) returns at
 * that target, with the blocks of the targets before it written. batch may be 0. */
int hdon_eval_batch(hdon_target *targets, size_t batch, const float *points, size_t n_points,
                    float *out, size_t out_len);

/* A team of worker threads for hdon_eval_on, hdon_eval_batch_on and hdon_generate_on
 * (heap-allocated by the library). The team calls are in the std library only. */
typedef struct hdon_team hdon_team;

/* Starts a team of `threads` threads: the calling thread of each call on it and threads - 1
 * workers, which after each call poll for the next one for spin_us microseconds before they
 * sleep (a busy core each meanwhile; calls that come within spin_us start at once instead of
 * waiting 15-50 us for a sleeping thread to wake). Give a team no more threads than the cores
 * the program owns. Returns NULL if threads is above HDON_MAX_THREADS (a negative count
 * converted to size_t, say) or a thread cannot be started. (std library only) */
hdon_team *hdon_team_new(size_t threads, uint64_t spin_us);

/* Stops and joins the team's workers and frees it. NULL: nothing. No call may be running on
 * the team. (std library only) */
void hdon_team_free(hdon_team *team);

/* hdon_eval with the points split over the team's threads (chunks of up to 512 points): the
 * same bits as hdon_eval, the same statuses (HDON_ERR_NULL for a NULL team). 512 points or
 * fewer run on the calling thread. One call runs on a team at a time: a call made while the
 * team is busy (e.g. from another thread) runs on its calling thread alone. Allocates a small
 * tile scratch per thread. (std library only) */
int hdon_eval_on(const hdon_team *team, hdon_target *target, const float *points,
                 size_t n_points, float *out, size_t out_len);

/* hdon_eval_batch on the team's threads: each block the same bits as its target's hdon_eval,
 * the same argument checks (before anything is written) and HDON_ERR_NULL for a NULL team.
 * With at least 4 targets per thread the threads take whole targets (64 targets x 1,000
 * points on a team of 2 with 1 ms spin, on a 2-core VM, called in alternation with
 * hdon_eval_batch: 1.73-1.81x faster, median of 300 pairs); with fewer,
 * each target's points are split as by hdon_eval_on. If targets fail (e.g. a rejected
 * non-finite point), the status is that of the lowest-numbered failing target seen, and
 * blocks of other targets may have been written. Allocates nothing, except what hdon_eval_on
 * allocates when the points are split. (std library only) */
int hdon_eval_batch_on(const hdon_team *team, hdon_target *targets, size_t batch,
                       const float *points, size_t n_points, float *out, size_t out_len);

/* hdon_generate with the rows of a HyperDeepONet's last hypernetwork layer (theta; usually
 * most of the generate) split over the team's threads, up to 1024 rows at a time: the same
 * bits and statuses as hdon_generate (HDON_ERR_NULL for a NULL team). Other families, and
 * last layers of less than 1 MiB of weights, run hdon_generate on the calling thread (their
 * generate is shorter than a sleeping worker's wake-up). A 256 x 8577 f32 layer (8.8 MB) on
 * 2 threads of a 2-core VM: 186 us instead of 348. One call runs on a team at a time, as for
 * hdon_eval_on. Allocates nothing. (std library only) */
int hdon_generate_on(const hdon_team *team, const hdon_model *model, const float *sensors,
                     size_t n_sensors, float *workspace, size_t workspace_len,
                     hdon_target *out);

/* A static, NUL-terminated English description of a status code (never NULL). */
const char *hdon_error_message(int code);

#ifdef __cplusplus
}
#endif

#endif /* HDON_H */
