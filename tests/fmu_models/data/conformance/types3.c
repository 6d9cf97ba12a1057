/* FMI 3.0 conformance FMU "types3" (CS + ME), written for the workbench runtime tests.
 *
 *   dx/dt = rate, x(t0) = 0                         (Float64 state and output)
 *   f32 = p32 * x                                   (Float32 output)
 *   ya[i] = gains[i] * x, i = 0..2                  (Float64 array output, dims [3])
 *   o_<type> = <type> parameter                     (Int8..UInt64, Boolean, Enumeration)
 *   label_hash = djb2(label)                        (Int64 output of a String parameter)
 *
 * Self-termination: with stop_at >= 0, fmi3DoStep sets terminateSimulation at the end of
 * the step that reaches stop_at; in model exchange, stop_at is a time event at which
 * fmi3UpdateDiscreteStates sets terminateSimulation. Like some exported FMUs, fmi3Reset
 * does NOT clear the terminated flag (a reused instance must be instantiated again).
 * fail_init = true makes fmi3ExitInitializationMode return Error.
 * Value references are listed in build_conformance.py.
 */
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include "fmi3Functions.h"

typedef struct {
    double time, x, rate, gains[3], stop_at;
    float p32;
    int8_t i8; uint8_t u8; int16_t i16; uint16_t u16; int32_t i32; uint32_t u32; int64_t i64; uint64_t u64;
    bool flag, fail_init;
    int64_t mode;
    char label[128];
} Data;

typedef struct {
    Data d;
    bool terminated;             /* deliberately kept by fmi3Reset */
    fmi3InstanceEnvironment env;
    fmi3LogMessageCallback log;
} Inst;

static void defaults(Data *d) {
    memset(d, 0, sizeof *d);
    d->rate = 1; d->gains[0] = 1; d->gains[1] = 2; d->gains[2] = 3; d->stop_at = -1; d->p32 = 0.25f;
    d->i8 = -8; d->u8 = 8; d->i16 = -16; d->u16 = 16; d->i32 = -32; d->u32 = 32; d->i64 = -64; d->u64 = 64;
    d->mode = 1; strcpy(d->label, "abc");
}

static void say(Inst *m, fmi3Status s, const char *msg) { if (m->log) m->log(m->env, s, "logStatusError", msg); }

static int64_t djb2(const char *s) {
    uint64_t h = 5381;
    while (*s) h = h * 33u + (unsigned char)*s++;
    return (int64_t)(h & 0x7fffffffffffffffULL);
}

#define BAD(m) do { say(m, fmi3Error, "bad value reference"); return fmi3Error; } while (0)

fmi3Status fmi3GetFloat64(fmi3Instance i, const fmi3ValueReference vr[], size_t n, fmi3Float64 v[], size_t nv) {
    Inst *m = i; size_t k = 0; (void)nv;
    for (size_t j = 0; j < n; j++) switch (vr[j]) {
        case 0: v[k++] = m->d.time; break;
        case 1: v[k++] = m->d.x; break;
        case 2: v[k++] = m->d.rate; break;
        case 3: v[k++] = m->d.rate; break;
        case 40: for (int a = 0; a < 3; a++) v[k++] = m->d.gains[a]; break;
        case 41: for (int a = 0; a < 3; a++) v[k++] = m->d.gains[a] * m->d.x; break;
        case 50: v[k++] = m->d.stop_at; break;
        default: BAD(m);
    }
    return fmi3OK;
}
fmi3Status fmi3SetFloat64(fmi3Instance i, const fmi3ValueReference vr[], size_t n, const fmi3Float64 v[], size_t nv) {
    Inst *m = i; size_t k = 0; (void)nv;
    for (size_t j = 0; j < n; j++) switch (vr[j]) {
        case 3: m->d.rate = v[k++]; break;
        case 40: for (int a = 0; a < 3; a++) m->d.gains[a] = v[k++]; break;
        case 50: m->d.stop_at = v[k++]; break;
        default: BAD(m);
    }
    return fmi3OK;
}
fmi3Status fmi3GetFloat32(fmi3Instance i, const fmi3ValueReference vr[], size_t n, fmi3Float32 v[], size_t nv) {
    Inst *m = i; (void)nv;
    for (size_t j = 0; j < n; j++) switch (vr[j]) {
        case 4: v[j] = (float)(m->d.p32 * m->d.x); break;
        case 5: v[j] = m->d.p32; break;
        default: BAD(m);
    }
    return fmi3OK;
}
fmi3Status fmi3SetFloat32(fmi3Instance i, const fmi3ValueReference vr[], size_t n, const fmi3Float32 v[], size_t nv) {
    Inst *m = i; (void)nv;
    for (size_t j = 0; j < n; j++) { if (vr[j] != 5) BAD(m); m->d.p32 = v[j]; }
    return fmi3OK;
}
/* Int8..UInt64: parameter at vr P, output o_<type> at vr P + 10 */
#define INT_ACCESS(T, CT, FIELD, P)                                                                        \
fmi3Status fmi3Get##T(fmi3Instance i, const fmi3ValueReference vr[], size_t n, CT v[], size_t nv) {          \
    Inst *m = i; (void)nv;                                                                                  \
    for (size_t j = 0; j < n; j++) { if (vr[j] != P && vr[j] != P + 10) BAD(m); v[j] = m->d.FIELD; }         \
    return fmi3OK;                                                                                          \
}                                                                                                           \
fmi3Status fmi3Set##T(fmi3Instance i, const fmi3ValueReference vr[], size_t n, const CT v[], size_t nv) {    \
    Inst *m = i; (void)nv;                                                                                  \
    for (size_t j = 0; j < n; j++) { if (vr[j] != P) BAD(m); m->d.FIELD = v[j]; }                           \
    return fmi3OK;                                                                                          \
}
INT_ACCESS(Int8, fmi3Int8, i8, 10)
INT_ACCESS(UInt8, fmi3UInt8, u8, 11)
INT_ACCESS(Int16, fmi3Int16, i16, 12)
INT_ACCESS(UInt16, fmi3UInt16, u16, 13)
INT_ACCESS(Int32, fmi3Int32, i32, 14)
INT_ACCESS(UInt32, fmi3UInt32, u32, 15)

fmi3Status fmi3GetInt64(fmi3Instance i, const fmi3ValueReference vr[], size_t n, fmi3Int64 v[], size_t nv) {
    Inst *m = i; (void)nv;
    for (size_t j = 0; j < n; j++) switch (vr[j]) {
        case 16: case 26: v[j] = m->d.i64; break;
        case 32: case 33: v[j] = m->d.mode; break;     /* Enumeration */
        case 35: v[j] = djb2(m->d.label); break;
        default: BAD(m);
    }
    return fmi3OK;
}
fmi3Status fmi3SetInt64(fmi3Instance i, const fmi3ValueReference vr[], size_t n, const fmi3Int64 v[], size_t nv) {
    Inst *m = i; (void)nv;
    for (size_t j = 0; j < n; j++) switch (vr[j]) {
        case 16: m->d.i64 = v[j]; break;
        case 32:
            if (v[j] < 1 || v[j] > 3) { say(m, fmi3Error, "mode must be 1, 2 or 3"); return fmi3Error; }
            m->d.mode = v[j]; break;
        default: BAD(m);
    }
    return fmi3OK;
}
INT_ACCESS(UInt64, fmi3UInt64, u64, 17)

fmi3Status fmi3GetBoolean(fmi3Instance i, const fmi3ValueReference vr[], size_t n, fmi3Boolean v[], size_t nv) {
    Inst *m = i; (void)nv;
    for (size_t j = 0; j < n; j++) switch (vr[j]) {
        case 30: case 31: v[j] = m->d.flag; break;
        case 51: v[j] = m->d.fail_init; break;
        default: BAD(m);
    }
    return fmi3OK;
}
fmi3Status fmi3SetBoolean(fmi3Instance i, const fmi3ValueReference vr[], size_t n, const fmi3Boolean v[], size_t nv) {
    Inst *m = i; (void)nv;
    for (size_t j = 0; j < n; j++) switch (vr[j]) {
        case 30: m->d.flag = v[j]; break;
        case 51: m->d.fail_init = v[j]; break;
        default: BAD(m);
    }
    return fmi3OK;
}
fmi3Status fmi3GetString(fmi3Instance i, const fmi3ValueReference vr[], size_t n, fmi3String v[], size_t nv) {
    Inst *m = i; (void)nv;
    for (size_t j = 0; j < n; j++) { if (vr[j] != 34) BAD(m); v[j] = m->d.label; }
    return fmi3OK;
}
fmi3Status fmi3SetString(fmi3Instance i, const fmi3ValueReference vr[], size_t n, const fmi3String v[], size_t nv) {
    Inst *m = i; (void)nv;
    for (size_t j = 0; j < n; j++) {
        if (vr[j] != 34) BAD(m);
        strncpy(m->d.label, v[j] ? v[j] : "", sizeof m->d.label - 1);
    }
    return fmi3OK;
}

/* ---- life cycle */
static Inst *make(fmi3InstanceEnvironment env, fmi3LogMessageCallback log) {
    Inst *m = (Inst *)calloc(1, sizeof(Inst));
    if (m) { defaults(&m->d); m->env = env; m->log = log; }
    return m;
}
const char *fmi3GetVersion(void) { return fmi3Version; }
fmi3Status fmi3SetDebugLogging(fmi3Instance i, fmi3Boolean on, size_t n, const fmi3String c[]) { (void)i; (void)on; (void)n; (void)c; return fmi3OK; }
fmi3Instance fmi3InstantiateModelExchange(fmi3String name, fmi3String token, fmi3String res, fmi3Boolean vis, fmi3Boolean lg, fmi3InstanceEnvironment env, fmi3LogMessageCallback log) {
    (void)name; (void)token; (void)res; (void)vis; (void)lg; return make(env, log);
}
fmi3Instance fmi3InstantiateCoSimulation(fmi3String name, fmi3String token, fmi3String res, fmi3Boolean vis, fmi3Boolean lg, fmi3Boolean ev, fmi3Boolean er, const fmi3ValueReference r[], size_t nr, fmi3InstanceEnvironment env, fmi3LogMessageCallback log, fmi3IntermediateUpdateCallback iu) {
    (void)name; (void)token; (void)res; (void)vis; (void)lg; (void)ev; (void)er; (void)r; (void)nr; (void)iu; return make(env, log);
}
fmi3Instance fmi3InstantiateScheduledExecution(fmi3String name, fmi3String token, fmi3String res, fmi3Boolean vis, fmi3Boolean lg, fmi3InstanceEnvironment env, fmi3LogMessageCallback log, fmi3ClockUpdateCallback cu, fmi3LockPreemptionCallback lp, fmi3UnlockPreemptionCallback up) {
    (void)name; (void)token; (void)res; (void)vis; (void)lg; (void)cu; (void)lp; (void)up; return make(env, log);
}
void fmi3FreeInstance(fmi3Instance i) { free(i); }
fmi3Status fmi3EnterInitializationMode(fmi3Instance i, fmi3Boolean td, fmi3Float64 tol, fmi3Float64 t0, fmi3Boolean sd, fmi3Float64 t1) {
    Inst *m = i; (void)td; (void)tol; (void)sd; (void)t1; m->d.time = t0; m->d.x = 0; return fmi3OK;
}
fmi3Status fmi3ExitInitializationMode(fmi3Instance i) {
    Inst *m = i;
    if (m->d.fail_init) { say(m, fmi3Error, "fail_init is set: initialisation refused"); return fmi3Error; }
    return fmi3OK;
}
fmi3Status fmi3EnterEventMode(fmi3Instance i) { (void)i; return fmi3OK; }
fmi3Status fmi3Terminate(fmi3Instance i) { (void)i; return fmi3OK; }
fmi3Status fmi3Reset(fmi3Instance i) { defaults(&((Inst *)i)->d); return fmi3OK; }   /* keeps `terminated` */

/* ---- model exchange */
fmi3Status fmi3EnterContinuousTimeMode(fmi3Instance i) { (void)i; return fmi3OK; }
fmi3Status fmi3CompletedIntegratorStep(fmi3Instance i, fmi3Boolean ns, fmi3Boolean *e, fmi3Boolean *t) { (void)i; (void)ns; *e = fmi3False; *t = fmi3False; return fmi3OK; }
fmi3Status fmi3SetTime(fmi3Instance i, fmi3Float64 t) { ((Inst *)i)->d.time = t; return fmi3OK; }
fmi3Status fmi3SetContinuousStates(fmi3Instance i, const fmi3Float64 x[], size_t n) { (void)n; ((Inst *)i)->d.x = x[0]; return fmi3OK; }
fmi3Status fmi3GetContinuousStates(fmi3Instance i, fmi3Float64 x[], size_t n) { (void)n; x[0] = ((Inst *)i)->d.x; return fmi3OK; }
fmi3Status fmi3GetContinuousStateDerivatives(fmi3Instance i, fmi3Float64 dx[], size_t n) { (void)n; dx[0] = ((Inst *)i)->d.rate; return fmi3OK; }
fmi3Status fmi3GetNominalsOfContinuousStates(fmi3Instance i, fmi3Float64 x[], size_t n) { (void)i; (void)n; x[0] = 1.0; return fmi3OK; }
fmi3Status fmi3GetEventIndicators(fmi3Instance i, fmi3Float64 z[], size_t n) { (void)i; (void)z; (void)n; return fmi3OK; }
fmi3Status fmi3GetNumberOfEventIndicators(fmi3Instance i, size_t *n) { (void)i; *n = 0; return fmi3OK; }
fmi3Status fmi3GetNumberOfContinuousStates(fmi3Instance i, size_t *n) { (void)i; *n = 1; return fmi3OK; }
fmi3Status fmi3UpdateDiscreteStates(fmi3Instance i, fmi3Boolean *more, fmi3Boolean *term, fmi3Boolean *nom, fmi3Boolean *val, fmi3Boolean *defined, fmi3Float64 *next) {
    Inst *m = i;
    *more = fmi3False; *nom = fmi3False; *val = fmi3False; *defined = fmi3False; *next = 0;
    if (m->d.stop_at >= 0 && m->d.time >= m->d.stop_at) m->terminated = true;
    *term = m->terminated;
    if (!m->terminated && m->d.stop_at >= 0) { *defined = fmi3True; *next = m->d.stop_at; }
    return fmi3OK;
}

/* ---- co-simulation */
fmi3Status fmi3EnterStepMode(fmi3Instance i) { (void)i; return fmi3OK; }
fmi3Status fmi3DoStep(fmi3Instance i, fmi3Float64 t, fmi3Float64 h, fmi3Boolean ns, fmi3Boolean *ev, fmi3Boolean *term, fmi3Boolean *early, fmi3Float64 *last) {
    Inst *m = i; (void)ns;
    *ev = fmi3False; *early = fmi3False;
    if (!m->terminated) {
        m->d.x += m->d.rate * h;
        m->d.time = t + h;
        if (m->d.stop_at >= 0 && m->d.time >= m->d.stop_at - 1e-12) m->terminated = true;
    }
    *term = m->terminated; *last = m->d.time;
    return fmi3OK;
}

/* The unsupported API functions (FMU state, clocks, derivatives, ...) are in stubs.c. */
