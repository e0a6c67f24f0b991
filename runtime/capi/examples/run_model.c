/*
 * run_model.c - load a .hdon file, generate the target net for one input function and
 * evaluate it at a few points, through the C API (hdon.h). No allocation inside hdon; this
 * program owns every buffer.
 *
 * Build (from the repo root, after `cargo build -p hdon-capi --release`):
 *   cc -O2 -I runtime/capi runtime/capi/examples/run_model.c \
 *      target/release/libhdon.a -lpthread -ldl -lm -o run_model
 * Run:
 *   ./run_model model.hdon [n_points]
 *
 * Input function: u_i = ((7 i) mod 13) / 13 - 1/2 at the model's sensors. Points:
 * y[k][i] = ((3 k + 5 i) mod 11) / 11. Prints a header line, then one output value per line
 * (%.9g, which round-trips f32), point by point.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hdon.h"

static hdon_model model; /* 8 KiB of static storage: no allocation needed for the model */

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s model.hdon [n_points]\n", argv[0]);
        return 2;
    }
    size_t n_points = argc > 2 ? (size_t)strtoul(argv[2], NULL, 10) : 5;

    FILE *f = fopen(argv[1], "rb");
    if (!f) {
        perror(argv[1]);
        return 1;
    }
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    /* The file must be at least 4-byte aligned; malloc guarantees 16. */
    void *bytes = malloc((size_t)len + 1);
    if (!bytes || fread(bytes, 1, (size_t)len, f) != (size_t)len) {
        fprintf(stderr, "cannot read %s\n", argv[1]);
        return 1;
    }
    fclose(f);

    int rc = hdon_model_open(bytes, (size_t)len, 1, &model);
    if (rc != HDON_OK) {
        fprintf(stderr, "hdon_model_open: %s\n", hdon_error_message(rc));
        return 1;
    }
    size_t m = hdon_model_n_sensors(&model);
    size_t d_y = hdon_model_d_y(&model);
    size_t d_out = hdon_model_d_out(&model);
    size_t ws_len = hdon_model_workspace_len(&model, 1);
    printf("m=%zu d_y=%zu d_out=%zu workspace=%zu\n", m, d_y, d_out, ws_len);

    float *sensors = malloc(m * sizeof(float));
    float *workspace = malloc(ws_len * sizeof(float) + 1);
    float *points = malloc(n_points * d_y * sizeof(float) + 1);
    float *out = malloc(n_points * d_out * sizeof(float) + 1);
    if (!sensors || !workspace || !points || !out) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }
    for (size_t i = 0; i < m; i++) {
        sensors[i] = (float)((7 * i) % 13) / 13.0f - 0.5f;
    }
    for (size_t k = 0; k < n_points; k++) {
        for (size_t i = 0; i < d_y; i++) {
            points[k * d_y + i] = (float)((3 * k + 5 * i) % 11) / 11.0f;
        }
    }

    /* A too-short workspace is an error, not a crash. */
    hdon_target target;
    rc = hdon_generate(&model, sensors, m, workspace, ws_len - 1, &target);
    if (rc != HDON_ERR_WORKSPACE_TOO_SHORT) {
        fprintf(stderr, "expected HDON_ERR_WORKSPACE_TOO_SHORT, got %d\n", rc);
        return 1;
    }

    rc = hdon_generate(&model, sensors, m, workspace, ws_len, &target);
    if (rc != HDON_OK) {
        fprintf(stderr, "hdon_generate: %s\n", hdon_error_message(rc));
        return 1;
    }
    rc = hdon_eval(&target, points, n_points, out, n_points * d_out);
    if (rc != HDON_OK) {
        fprintf(stderr, "hdon_eval: %s\n", hdon_error_message(rc));
        return 1;
    }
    /* hdon_eval_batch evaluates many targets in one call; for a batch of one it writes the
     * same bits as hdon_eval. */
    float *again = malloc((n_points * d_out + 1) * sizeof(float));
    if (!again) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }
    rc = hdon_eval_batch(&target, 1, points, n_points, again, n_points * d_out);
    if (rc != HDON_OK || memcmp(again, out, n_points * d_out * sizeof(float)) != 0) {
        fprintf(stderr, "hdon_eval_batch: %s\n",
                rc != HDON_OK ? hdon_error_message(rc) : "differs from hdon_eval");
        return 1;
    }
    /* hdon_eval_on splits the points over a team's threads (a service with cores to spare):
     * the same bits as hdon_eval. Here 2 threads, whose worker polls for 200 us between
     * calls. */
    hdon_team *team = hdon_team_new(2, 200);
    if (!team) {
        fprintf(stderr, "hdon_team_new: cannot start a thread\n");
        return 1;
    }
    memset(again, 0, n_points * d_out * sizeof(float));
    rc = hdon_eval_on(team, &target, points, n_points, again, n_points * d_out);
    hdon_team_free(team);
    if (rc != HDON_OK || memcmp(again, out, n_points * d_out * sizeof(float)) != 0) {
        fprintf(stderr, "hdon_eval_on: %s\n",
                rc != HDON_OK ? hdon_error_message(rc) : "differs from hdon_eval");
        return 1;
    }
    free(again);
    for (size_t j = 0; j < n_points * d_out; j++) {
        printf("%.9g\n", out[j]);
    }

    free(out);
    free(points);
    free(workspace);
    free(sensors);
    free(bytes);
    return 0;
}
