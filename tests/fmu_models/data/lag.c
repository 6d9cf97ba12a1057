/* First-order lag test FMU for the workbench runtime tests (FMI 2.0 or 3.0, CS + ME).
 *
 *   dx/dt = (k*u - x) / tau,   x(t0) = x0,   y = x
 *
 * Co-simulation uses the exact solution for an input held constant over the
 * communication step (zero-order hold):  x(t+h) = k*u + (x - k*u) * exp(-h/tau).
 * Error switch: when fail_time >= 0 and the model reaches t > fail_time, doStep
 * (CS) or getDerivatives (ME) returns Error, so tests can check failure isolation.
 *
 * Compile with -DFMI_VERSION=2 or -DFMI_VERSION=3 and -I <fmpy>/c-code; link
 * together with lag_stubs.c (unsupported API functions that return Error).
 * Value references: 0 time (FMI 3 only), 1 u, 2 y, 3 k, 4 tau, 5 x0, 6 x, 7 der(x), 8 fail_time.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>

#if FMI_VERSION == 3
#include "fmi3Functions.h"
typedef fmi3Status Status;
#define S_OK fmi3OK
#define S_ERR fmi3Error
#else
#include "fmi2Functions.h"
typedef fmi2Status Status;
#define S_OK fmi2OK
#define S_ERR fmi2Error
#endif

typedef struct {
    double time, u, k, tau, x0, x, fail_time;
} Data;

typedef struct {
    Data d;
    char name[64];
#if FMI_VERSION == 3
    fmi3InstanceEnvironment env;
    fmi3LogMessageCallback log;
#else
    fmi2CallbackFunctions cb;
#endif
} Inst;

static void defaults(Data *d) {
    d->time = 0; d->u = 0; d->k = 1; d->tau = 10; d->x0 = 300; d->x = 300; d->fail_time = -1;
}

static void logerr(Inst *m, const char *msg) {
#if FMI_VERSION == 3
    if (m->log) m->log(m->env, fmi3Error, "logStatusError", msg);
#else
    if (m->cb.logger) m->cb.logger(m->cb.componentEnvironment, m->name, fmi2Error, "logStatusError", msg);
#endif
}

static double der(const Data *d) { return (d->k * d->u - d->x) / d->tau; }

static int failing(Inst *m, double t) {
    if (m->d.fail_time >= 0 && t > m->d.fail_time) {
        char buf[128];
        snprintf(buf, sizeof buf, "fail_time %g s reached at t = %g s", m->d.fail_time, t);
        logerr(m, buf);
        return 1;
    }
    return 0;
}

static Status get_r(Inst *m, const unsigned *vr, size_t n, double *v) {
    for (size_t i = 0; i < n; i++) {
        switch (vr[i]) {
        case 0: v[i] = m->d.time; break;
        case 1: v[i] = m->d.u; break;
        case 2: case 6: v[i] = m->d.x; break;
        case 3: v[i] = m->d.k; break;
        case 4: v[i] = m->d.tau; break;
        case 5: v[i] = m->d.x0; break;
        case 7: v[i] = der(&m->d); break;
        case 8: v[i] = m->d.fail_time; break;
        default: logerr(m, "unknown value reference"); return S_ERR;
        }
    }
    return S_OK;
}

static Status set_r(Inst *m, const unsigned *vr, size_t n, const double *v) {
    for (size_t i = 0; i < n; i++) {
        switch (vr[i]) {
        case 1: m->d.u = v[i]; break;
        case 3: m->d.k = v[i]; break;
        case 4:
            if (!(v[i] > 0)) { logerr(m, "tau must be > 0"); return S_ERR; }
            m->d.tau = v[i]; break;
        case 5: m->d.x0 = v[i]; m->d.x = v[i]; break;
        case 8: m->d.fail_time = v[i]; break;
        default: logerr(m, "value reference is not settable"); return S_ERR;
        }
    }
    return S_OK;
}

static Status do_step(Inst *m, double t, double h) {
    if (failing(m, t + h)) return S_ERR;
    double ku = m->d.k * m->d.u;
    m->d.x = ku + (m->d.x - ku) * exp(-h / m->d.tau);
    m->d.time = t + h;
    return S_OK;
}

static Inst *make(const char *name) {
    Inst *m = (Inst *)calloc(1, sizeof(Inst));
    if (!m) return NULL;
    defaults(&m->d);
    strncpy(m->name, name ? name : "lag", sizeof m->name - 1);
    return m;
}

static Status serialize(Inst *m, void *state, unsigned char *out, size_t size) {
    (void)m;
    if (size < sizeof(Data)) return S_ERR;
    memcpy(out, state, sizeof(Data));
    return S_OK;
}

#if FMI_VERSION == 3
/* ---------------------------------------------------------------- FMI 3.0 */
const char *fmi3GetVersion(void) { return fmi3Version; }
fmi3Status fmi3SetDebugLogging(fmi3Instance i, fmi3Boolean on, size_t n, const fmi3String c[]) { (void)i; (void)on; (void)n; (void)c; return fmi3OK; }

static Inst *inst3(fmi3String name, fmi3InstanceEnvironment env, fmi3LogMessageCallback log) {
    Inst *m = make(name);
    if (m) { m->env = env; m->log = log; }
    return m;
}
fmi3Instance fmi3InstantiateModelExchange(fmi3String name, fmi3String token, fmi3String res, fmi3Boolean vis, fmi3Boolean lg, fmi3InstanceEnvironment env, fmi3LogMessageCallback log) {
    (void)token; (void)res; (void)vis; (void)lg; return inst3(name, env, log);
}
fmi3Instance fmi3InstantiateCoSimulation(fmi3String name, fmi3String token, fmi3String res, fmi3Boolean vis, fmi3Boolean lg, fmi3Boolean ev, fmi3Boolean er, const fmi3ValueReference r[], size_t nr, fmi3InstanceEnvironment env, fmi3LogMessageCallback log, fmi3IntermediateUpdateCallback iu) {
    (void)token; (void)res; (void)vis; (void)lg; (void)ev; (void)er; (void)r; (void)nr; (void)iu; return inst3(name, env, log);
}
void fmi3FreeInstance(fmi3Instance i) { free(i); }
fmi3Status fmi3EnterInitializationMode(fmi3Instance i, fmi3Boolean td, fmi3Float64 tol, fmi3Float64 t0, fmi3Boolean sd, fmi3Float64 t1) {
    (void)td; (void)tol; (void)sd; (void)t1; Inst *m = i; m->d.time = t0; m->d.x = m->d.x0; return fmi3OK;
}
fmi3Status fmi3ExitInitializationMode(fmi3Instance i) { (void)i; return fmi3OK; }
fmi3Status fmi3EnterEventMode(fmi3Instance i) { (void)i; return fmi3OK; }
fmi3Status fmi3Terminate(fmi3Instance i) { (void)i; return fmi3OK; }
fmi3Status fmi3Reset(fmi3Instance i) { defaults(&((Inst *)i)->d); return fmi3OK; }
fmi3Status fmi3GetFloat64(fmi3Instance i, const fmi3ValueReference vr[], size_t n, fmi3Float64 v[], size_t nv) { (void)nv; return get_r(i, vr, n, v); }
fmi3Status fmi3SetFloat64(fmi3Instance i, const fmi3ValueReference vr[], size_t n, const fmi3Float64 v[], size_t nv) { (void)nv; return set_r(i, vr, n, v); }
fmi3Status fmi3GetFMUState(fmi3Instance i, fmi3FMUState *s) {
    Data *d = *s ? (Data *)*s : (Data *)malloc(sizeof(Data));
    if (!d) return fmi3Error;
    *d = ((Inst *)i)->d; *s = d; return fmi3OK;
}
fmi3Status fmi3SetFMUState(fmi3Instance i, fmi3FMUState s) { ((Inst *)i)->d = *(Data *)s; return fmi3OK; }
fmi3Status fmi3FreeFMUState(fmi3Instance i, fmi3FMUState *s) { (void)i; free(*s); *s = NULL; return fmi3OK; }
fmi3Status fmi3SerializedFMUStateSize(fmi3Instance i, fmi3FMUState s, size_t *size) { (void)i; (void)s; *size = sizeof(Data); return fmi3OK; }
fmi3Status fmi3SerializeFMUState(fmi3Instance i, fmi3FMUState s, fmi3Byte out[], size_t size) { return serialize(i, s, out, size); }
fmi3Status fmi3DeserializeFMUState(fmi3Instance i, const fmi3Byte in[], size_t size, fmi3FMUState *s) {
    (void)i; if (size != sizeof(Data)) return fmi3Error;
    Data *d = (Data *)malloc(sizeof(Data)); memcpy(d, in, sizeof(Data)); *s = d; return fmi3OK;
}
fmi3Status fmi3EnterContinuousTimeMode(fmi3Instance i) { (void)i; return fmi3OK; }
fmi3Status fmi3EnterStepMode(fmi3Instance i) { (void)i; return fmi3OK; }
fmi3Status fmi3CompletedIntegratorStep(fmi3Instance i, fmi3Boolean ns, fmi3Boolean *e, fmi3Boolean *t) { (void)i; (void)ns; *e = fmi3False; *t = fmi3False; return fmi3OK; }
fmi3Status fmi3SetTime(fmi3Instance i, fmi3Float64 t) { ((Inst *)i)->d.time = t; return fmi3OK; }
fmi3Status fmi3SetContinuousStates(fmi3Instance i, const fmi3Float64 x[], size_t n) { (void)n; ((Inst *)i)->d.x = x[0]; return fmi3OK; }
fmi3Status fmi3GetContinuousStateDerivatives(fmi3Instance i, fmi3Float64 dx[], size_t n) {
    Inst *m = i; (void)n; if (failing(m, m->d.time)) return fmi3Error; dx[0] = der(&m->d); return fmi3OK;
}
fmi3Status fmi3GetEventIndicators(fmi3Instance i, fmi3Float64 z[], size_t n) { (void)i; (void)z; (void)n; return fmi3OK; }
fmi3Status fmi3GetContinuousStates(fmi3Instance i, fmi3Float64 x[], size_t n) { (void)n; x[0] = ((Inst *)i)->d.x; return fmi3OK; }
fmi3Status fmi3GetNominalsOfContinuousStates(fmi3Instance i, fmi3Float64 x[], size_t n) { (void)i; (void)n; x[0] = 1.0; return fmi3OK; }
fmi3Status fmi3GetNumberOfEventIndicators(fmi3Instance i, size_t *n) { (void)i; *n = 0; return fmi3OK; }
fmi3Status fmi3GetNumberOfContinuousStates(fmi3Instance i, size_t *n) { (void)i; *n = 1; return fmi3OK; }
fmi3Status fmi3UpdateDiscreteStates(fmi3Instance i, fmi3Boolean *a, fmi3Boolean *b, fmi3Boolean *c, fmi3Boolean *d, fmi3Boolean *e, fmi3Float64 *f) {
    (void)i; *a = fmi3False; *b = fmi3False; *c = fmi3False; *d = fmi3False; *e = fmi3False; *f = 0; return fmi3OK;
}
fmi3Status fmi3DoStep(fmi3Instance i, fmi3Float64 t, fmi3Float64 h, fmi3Boolean ns, fmi3Boolean *ev, fmi3Boolean *term, fmi3Boolean *early, fmi3Float64 *last) {
    Inst *m = i; (void)ns; *ev = fmi3False; *term = fmi3False; *early = fmi3False;
    fmi3Status s = do_step(m, t, h); *last = m->d.time; return s;
}
#else
/* ---------------------------------------------------------------- FMI 2.0 */
const char *fmi2GetTypesPlatform(void) { return fmi2TypesPlatform; }
const char *fmi2GetVersion(void) { return fmi2Version; }
fmi2Status fmi2SetDebugLogging(fmi2Component c, fmi2Boolean on, size_t n, const fmi2String cat[]) { (void)c; (void)on; (void)n; (void)cat; return fmi2OK; }
fmi2Component fmi2Instantiate(fmi2String name, fmi2Type type, fmi2String guid, fmi2String res, const fmi2CallbackFunctions *cb, fmi2Boolean vis, fmi2Boolean lg) {
    (void)type; (void)guid; (void)res; (void)vis; (void)lg;
    Inst *m = make(name); if (m && cb) m->cb = *cb; return m;
}
void fmi2FreeInstance(fmi2Component c) { free(c); }
fmi2Status fmi2SetupExperiment(fmi2Component c, fmi2Boolean td, fmi2Real tol, fmi2Real t0, fmi2Boolean sd, fmi2Real t1) {
    (void)td; (void)tol; (void)sd; (void)t1; ((Inst *)c)->d.time = t0; return fmi2OK;
}
fmi2Status fmi2EnterInitializationMode(fmi2Component c) { Inst *m = c; m->d.x = m->d.x0; return fmi2OK; }
fmi2Status fmi2ExitInitializationMode(fmi2Component c) { (void)c; return fmi2OK; }
fmi2Status fmi2Terminate(fmi2Component c) { (void)c; return fmi2OK; }
fmi2Status fmi2Reset(fmi2Component c) { defaults(&((Inst *)c)->d); return fmi2OK; }
fmi2Status fmi2GetReal(fmi2Component c, const fmi2ValueReference vr[], size_t n, fmi2Real v[]) { return get_r(c, vr, n, v); }
fmi2Status fmi2SetReal(fmi2Component c, const fmi2ValueReference vr[], size_t n, const fmi2Real v[]) { return set_r(c, vr, n, v); }
fmi2Status fmi2GetFMUstate(fmi2Component c, fmi2FMUstate *s) {
    Data *d = *s ? (Data *)*s : (Data *)malloc(sizeof(Data));
    if (!d) return fmi2Error;
    *d = ((Inst *)c)->d; *s = d; return fmi2OK;
}
fmi2Status fmi2SetFMUstate(fmi2Component c, fmi2FMUstate s) { ((Inst *)c)->d = *(Data *)s; return fmi2OK; }
fmi2Status fmi2FreeFMUstate(fmi2Component c, fmi2FMUstate *s) { (void)c; free(*s); *s = NULL; return fmi2OK; }
fmi2Status fmi2SerializedFMUstateSize(fmi2Component c, fmi2FMUstate s, size_t *size) { (void)c; (void)s; *size = sizeof(Data); return fmi2OK; }
fmi2Status fmi2SerializeFMUstate(fmi2Component c, fmi2FMUstate s, fmi2Byte out[], size_t size) { return serialize(c, s, (unsigned char *)out, size); }
fmi2Status fmi2DeSerializeFMUstate(fmi2Component c, const fmi2Byte in[], size_t size, fmi2FMUstate *s) {
    (void)c; if (size != sizeof(Data)) return fmi2Error;
    Data *d = (Data *)malloc(sizeof(Data)); memcpy(d, in, sizeof(Data)); *s = d; return fmi2OK;
}
fmi2Status fmi2EnterEventMode(fmi2Component c) { (void)c; return fmi2OK; }
fmi2Status fmi2NewDiscreteStates(fmi2Component c, fmi2EventInfo *e) {
    (void)c; memset(e, 0, sizeof *e); return fmi2OK;
}
fmi2Status fmi2EnterContinuousTimeMode(fmi2Component c) { (void)c; return fmi2OK; }
fmi2Status fmi2CompletedIntegratorStep(fmi2Component c, fmi2Boolean ns, fmi2Boolean *e, fmi2Boolean *t) { (void)c; (void)ns; *e = fmi2False; *t = fmi2False; return fmi2OK; }
fmi2Status fmi2SetTime(fmi2Component c, fmi2Real t) { ((Inst *)c)->d.time = t; return fmi2OK; }
fmi2Status fmi2SetContinuousStates(fmi2Component c, const fmi2Real x[], size_t n) { (void)n; ((Inst *)c)->d.x = x[0]; return fmi2OK; }
fmi2Status fmi2GetDerivatives(fmi2Component c, fmi2Real dx[], size_t n) {
    Inst *m = c; (void)n; if (failing(m, m->d.time)) return fmi2Error; dx[0] = der(&m->d); return fmi2OK;
}
fmi2Status fmi2GetEventIndicators(fmi2Component c, fmi2Real z[], size_t n) { (void)c; (void)z; (void)n; return fmi2OK; }
fmi2Status fmi2GetContinuousStates(fmi2Component c, fmi2Real x[], size_t n) { (void)n; x[0] = ((Inst *)c)->d.x; return fmi2OK; }
fmi2Status fmi2GetNominalsOfContinuousStates(fmi2Component c, fmi2Real x[], size_t n) { (void)c; (void)n; x[0] = 1.0; return fmi2OK; }
fmi2Status fmi2DoStep(fmi2Component c, fmi2Real t, fmi2Real h, fmi2Boolean ns) { (void)ns; return do_step(c, t, h); }
#endif
