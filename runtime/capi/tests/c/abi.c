/*
 * abi.c - what a C (or C++) compiler makes of hdon.h: the sizes and alignments of the opaque
 * structs and the value of every status code, printed one per line for the Rust test
 * (tests/c_example.rs) to compare with the library's own; and a call through each prototype
 * with arguments the library rejects, whose statuses it prints too. Compiled both as C99 and
 * as C++11, warnings as errors.
 */
#include <stddef.h>
#include <stdio.h>

#include "hdon.h"

struct model_align { char c; hdon_model m; };
struct target_align { char c; hdon_target t; };

int main(void) {
    static hdon_model model;
    hdon_target target;
    float f[4] = {0.0f, 0.0f, 0.0f, 0.0f};
    static const int codes[] = {
        HDON_OK, HDON_ERR_NULL, HDON_ERR_FORMAT, HDON_ERR_KERNEL, HDON_ERR_SENSOR_COUNT,
        HDON_ERR_POINT_DIM, HDON_ERR_OUTPUT_LEN, HDON_ERR_WORKSPACE_TOO_SHORT,
        HDON_ERR_NONFINITE_SENSOR, HDON_ERR_NONFINITE_POINT, HDON_ERR_WORKSPACE_MISMATCH,
        HDON_ERR_UNSUPPORTED, HDON_ERR_INVALID_MODEL, HDON_ERR_MISALIGNED};
    size_t i;
    printf("hdon_model %u %u\n", (unsigned)sizeof(hdon_model),
           (unsigned)offsetof(struct model_align, m));
    printf("hdon_target %u %u\n", (unsigned)sizeof(hdon_target),
           (unsigned)offsetof(struct target_align, t));
    for (i = 0; i < sizeof codes / sizeof codes[0]; i++) {
        printf("status %d %s\n", codes[i], hdon_error_message(codes[i]));
    }
    /* Each function through its prototype; every call is rejected. */
    printf("model_open %d\n", hdon_model_open(f, sizeof f, 1, &model));
    printf("model_getters %u\n", (unsigned)(hdon_model_n_sensors(NULL) + hdon_model_d_y(NULL) +
                                            hdon_model_d_out(NULL) +
                                            hdon_model_workspace_len(NULL, 1)));
    printf("generate %d\n", hdon_generate(NULL, f, 1, f, 4, &target));
    printf("generate_batch %d\n", hdon_generate_batch(NULL, f, 1, 1, f, 4, &target));
    printf("eval %d\n", hdon_eval(NULL, f, 1, f, 4));
    printf("eval_batch %d\n", hdon_eval_batch(NULL, 1, f, 1, f, 4));
    printf("eval_on %d\n", hdon_eval_on(NULL, &target, f, 1, f, 4));
    printf("eval_batch_on %d\n", hdon_eval_batch_on(NULL, &target, 1, f, 1, f, 4));
    printf("generate_on %d\n", hdon_generate_on(NULL, &model, f, 1, f, 4, &target));
    printf("max_threads %u %d\n", (unsigned)HDON_MAX_THREADS,
           hdon_team_new((size_t)HDON_MAX_THREADS + 1, 0) == NULL);
    printf("team_new_minus_one %d\n", hdon_team_new((size_t)-1, 0) == NULL);
    hdon_team_free(NULL);
    hdon_team_free(hdon_team_new(1, 0));
    return 0;
}
