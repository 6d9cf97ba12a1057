/* Hand-written C master for an FMI 2.0 co-simulation FMU: the physical limit
 * that benchmarks/fmu_runs.py compares the Python runtime against.
 *
 * bench_runs() dlopens the FMU's shared library, instantiates it once and, for
 * each run, resets it, sets up the experiment (tolerance as the runtime and
 * FMPy pass it: the DefaultExperiment's), sets the parameters, initialises, and loops
 * "set inputs, doStep, getReal outputs" for n_steps communication steps,
 * storing every output row in y (n_runs x (n_steps+1) x n_out).
 */
#include <dlfcn.h>
#include <stdarg.h>
#include <stdlib.h>
#include "fmi2Functions.h"

static void logger(fmi2ComponentEnvironment env, fmi2String name, fmi2Status status,
                   fmi2String category, fmi2String message, ...)
{
    (void)env; (void)name; (void)status; (void)category; (void)message;
}

#define LOAD(T, name) T *name = (T *)dlsym(so, #name); if (!name) return -2;

int bench_runs(const char *lib, const char *guid, const char *resources,
               int n_runs, double tol, double t0, double h, long n_steps,
               const fmi2ValueReference *par_vr, size_t n_par, const double *par,
               const fmi2ValueReference *in_vr, size_t n_in, const double *u,
               const fmi2ValueReference *out_vr, size_t n_out, double *y)
{
    void *so = dlopen(lib, RTLD_NOW | RTLD_LOCAL);
    if (!so) return -1;
    LOAD(fmi2InstantiateTYPE, fmi2Instantiate)
    LOAD(fmi2SetupExperimentTYPE, fmi2SetupExperiment)
    LOAD(fmi2EnterInitializationModeTYPE, fmi2EnterInitializationMode)
    LOAD(fmi2ExitInitializationModeTYPE, fmi2ExitInitializationMode)
    LOAD(fmi2SetRealTYPE, fmi2SetReal)
    LOAD(fmi2GetRealTYPE, fmi2GetReal)
    LOAD(fmi2DoStepTYPE, fmi2DoStep)
    LOAD(fmi2ResetTYPE, fmi2Reset)
    LOAD(fmi2FreeInstanceTYPE, fmi2FreeInstance)
    fmi2CallbackFunctions cb = {logger, calloc, free, NULL, NULL};
    fmi2Component c = fmi2Instantiate("harness", fmi2CoSimulation, guid, resources, &cb, fmi2False, fmi2False);
    if (!c) return -3;
    int status = 0;
    double t1 = t0 + (double)n_steps * h;
    for (int r = 0; r < n_runs && status <= fmi2Warning; r++) {
        double *yr = y + (size_t)r * (size_t)(n_steps + 1) * n_out;
        if (r > 0) fmi2Reset(c);
        fmi2SetupExperiment(c, tol > 0 ? fmi2True : fmi2False, tol, t0, fmi2True, t1);
        if (n_par) fmi2SetReal(c, par_vr, n_par, par + (size_t)r * n_par);
        fmi2EnterInitializationMode(c);
        if (n_in) fmi2SetReal(c, in_vr, n_in, u);
        fmi2ExitInitializationMode(c);
        fmi2GetReal(c, out_vr, n_out, yr);
        double t = t0;
        for (long k = 0; k < n_steps; k++) {
            double t_next = t0 + (double)(k + 1) * h;
            if (n_in) fmi2SetReal(c, in_vr, n_in, u + (size_t)k * n_in);
            status = fmi2DoStep(c, t, t_next - t, fmi2True);
            if (status > fmi2Warning) break;
            t = t_next;
            fmi2GetReal(c, out_vr, n_out, yr + (size_t)(k + 1) * n_out);
        }
    }
    fmi2FreeInstance(c);
    return status;
}
