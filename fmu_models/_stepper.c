/* Co-simulation stepping loop in C for any FMI 2.0 / 3.0 CS FMU.
 *
 * The Python runtime (fmu_models/_stepper.py) passes the FMU's own function
 * pointers (resolved from its shared library), the instance pointer, a
 * precomputed input table (one row per communication step) and an output
 * buffer (one row per recorded point). The loop
 *
 *     for k in 0..n_steps-1:  set inputs(row k); doStep(t_k, t_{k+1} - t_k); every
 *                             record_every steps: get outputs into the next row
 *
 * runs entirely in C, so the cost per communication step is the FMU's doStep
 * plus two array calls -- the same work a hand-written C master does.
 * Communication points are t_k = t0 + k*h (not accumulated), as in FMPy.
 *
 * Outputs of other types (FMI 2 Integer/Boolean, FMI 3 Float32, IntN, Boolean, arrays) are
 * read at the same recorded points through "extra" getters: each wb_extra names one FMI
 * getter of the FMU (fmi2GetInteger, fmi3GetInt8, ...), its value references and a buffer
 * with one row of n_values elements per recorded point.
 *
 * Return value: 0 on success, otherwise the FMI status (2 discard, 3 error,
 * 4 fatal) of the failing call; *failed_call tells which call (1 set, 2 doStep,
 * 3 get) and *steps_done how many steps completed. A doStep that asks to
 * terminate (FMI 3 terminateSimulation) ends the loop early with status 0 and
 * *terminated = 1.
 */
#include <stddef.h>
#include "fmi2FunctionTypes.h"
#include "fmi3FunctionTypes.h"

#define WB_EXPORT __attribute__((visibility("default")))

WB_EXPORT int wb_stepper_version(void) { return 2; }

/* One typed getter read at every recorded point into out + row * row_bytes. */
typedef struct {
    void *fn;                  /* fmi2GetInteger / fmi2GetBoolean / fmi3Get<Type> */
    const unsigned int *vr;    /* value references */
    size_t n_vr;
    size_t n_values;           /* FMI 3: total number of values (arrays); FMI 2: n_vr */
    char *out;
    size_t row_bytes;
} wb_extra;

typedef int wb_get2(void *c, const unsigned int *vr, size_t n, void *values);
typedef int wb_get3(void *c, const unsigned int *vr, size_t n, void *values, size_t n_values);

static int read_extra(int version, void *c, const wb_extra *extra, size_t n_extra, long row) {
    for (size_t e = 0; e < n_extra; e++) {
        const wb_extra *x = extra + e;
        char *dst = x->out + (size_t)row * x->row_bytes;
        int s = version == 2 ? ((wb_get2 *)x->fn)(c, x->vr, x->n_vr, dst)
                             : ((wb_get3 *)x->fn)(c, x->vr, x->n_vr, dst, x->n_values);
        if (s > 1) return s;
    }
    return 0;
}

WB_EXPORT int wb_run_cs2(
    fmi2SetRealTYPE *set_real, fmi2DoStepTYPE *do_step, fmi2GetRealTYPE *get_real,
    fmi2Component c, double t0, double h, long n_steps, long record_every,
    const fmi2ValueReference *in_vr, size_t n_in, const double *u,
    const fmi2ValueReference *out_vr, size_t n_out, double *y,
    long *steps_done, int *failed_call, int *terminated, const wb_extra *extra, size_t n_extra)
{
    int s;
    long row = 1, countdown = record_every;
    double t = t0;
    *steps_done = 0; *failed_call = 0; *terminated = 0;
    for (long k = 0; k < n_steps; k++) {
        double t_next = t0 + (double)(k + 1) * h;
        if (n_in) {
            s = set_real(c, in_vr, n_in, u + (size_t)k * n_in);
            if (s > fmi2Warning) { *failed_call = 1; return s; }
        }
        s = do_step(c, t, t_next - t, fmi2True);
        if (s > fmi2Warning) { *failed_call = 2; return s; }
        t = t_next;
        *steps_done = k + 1;
        if (--countdown == 0) {
            countdown = record_every;
            s = get_real(c, out_vr, n_out, y + (size_t)row * n_out);
            if (s > fmi2Warning) { *failed_call = 3; return s; }
            s = read_extra(2, c, extra, n_extra, row);
            if (s > fmi2Warning) { *failed_call = 4; return s; }
            row++;
        }
    }
    return 0;
}

WB_EXPORT int wb_run_cs3(
    fmi3SetFloat64TYPE *set_f64, fmi3DoStepTYPE *do_step, fmi3GetFloat64TYPE *get_f64,
    fmi3Instance c, double t0, double h, long n_steps, long record_every,
    const fmi3ValueReference *in_vr, size_t n_in, const double *u,
    const fmi3ValueReference *out_vr, size_t n_out, double *y,
    long *steps_done, int *failed_call, int *terminated, const wb_extra *extra, size_t n_extra)
{
    int s;
    long row = 1;
    double t = t0;
    fmi3Boolean event, term, early;
    double last;
    long countdown = record_every;
    *steps_done = 0; *failed_call = 0; *terminated = 0;
    for (long k = 0; k < n_steps; k++) {
        double t_next = t0 + (double)(k + 1) * h;
        if (n_in) {
            s = set_f64(c, in_vr, n_in, u + (size_t)k * n_in, n_in);
            if (s > fmi3Warning) { *failed_call = 1; return s; }
        }
        s = do_step(c, t, t_next - t, fmi3True, &event, &term, &early, &last);
        if (s > fmi3Warning) { *failed_call = 2; return s; }
        t = t_next;
        *steps_done = k + 1;
        if (--countdown == 0 || term) {
            countdown = record_every;
            s = get_f64(c, out_vr, n_out, y + (size_t)row * n_out, n_out);
            if (s > fmi3Warning) { *failed_call = 3; return s; }
            s = read_extra(3, c, extra, n_extra, row);
            if (s > fmi3Warning) { *failed_call = 4; return s; }
            row++;
        }
        if (term) { *terminated = 1; return 0; }
    }
    return 0;
}
