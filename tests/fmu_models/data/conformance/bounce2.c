/* FMI 2.0 conformance FMU "bounce2" (CS + ME), written for the workbench runtime tests:
 * a ball dropped from h0 that bounces with restitution e, an event-heavy model.
 *
 *   dh/dt = v,  dv/dt = -g;   when h reaches 0 falling:  v := -e*v, bounces += 1;
 *   a bounce slower than 0.1 m/s leaves the ball resting (h = v = 0).
 *
 * Model exchange: event indicator z = h (state events, located by the integrator).
 * Co-simulation: the flight between bounces is solved exactly (ballistic parabola,
 * impact time from h + v*s - g*s^2/2 = 0), so CS and ME agree to the ME tolerance.
 * Self-termination: with max_bounces >= 0 the bounce that reaches it ends the simulation:
 * fmi2DoStep returns fmi2Discard with fmi2Terminated = true and fmi2LastSuccessfulTime =
 * the bounce time; in ME, fmi2NewDiscreteStates sets terminateSimulation. Like some exported
 * FMUs, fmi2Reset does NOT clear the terminated flag.
 * g <= 0 makes fmi2ExitInitializationMode return Error.
 * Value references: 1 h, 2 der(h), 3 v, 4 der(v), 5 g, 6 e, 7 bounces, 8 max_bounces, 9 h0.
 */
#include <math.h>
#include <float.h>
#include <stdlib.h>
#include <string.h>
#include "fmi2Functions.h"

#define V_REST 0.1

typedef struct {
    double time, h, v, g, e, h0, last;
    int bounces, max_bounces, resting;
} Data;

typedef struct {
    Data d;
    int terminated;              /* deliberately kept by fmi2Reset */
    fmi2CallbackFunctions cb;
    char name[64];
} Inst;

static void defaults(Data *d) {
    memset(d, 0, sizeof *d);
    d->g = 9.81; d->e = 0.8; d->h0 = 1; d->h = 1; d->max_bounces = -1;
}

static void say(Inst *m, fmi2Status s, const char *msg) {
    if (m->cb.logger) m->cb.logger(m->cb.componentEnvironment, m->name, s, "logStatusError", msg);
}

/* a bounce at the current time; returns 1 when it ends the simulation */
static int bounce(Inst *m) {
    Data *d = &m->d;
    d->v = -d->e * d->v;
    d->h = DBL_MIN;
    d->bounces++;
    if (d->v < V_REST) { d->resting = 1; d->h = 0; d->v = 0; }
    if (d->max_bounces >= 0 && d->bounces >= d->max_bounces) m->terminated = 1;
    return m->terminated;
}

static double der_v(const Data *d) { return d->resting ? 0 : -d->g; }

fmi2Status fmi2GetReal(fmi2Component c, const fmi2ValueReference vr[], size_t n, fmi2Real v[]) {
    Inst *m = c;
    for (size_t j = 0; j < n; j++) switch (vr[j]) {
        case 1: v[j] = m->d.h; break;
        case 2: v[j] = m->d.v; break;
        case 3: v[j] = m->d.v; break;
        case 4: v[j] = der_v(&m->d); break;
        case 5: v[j] = m->d.g; break;
        case 6: v[j] = m->d.e; break;
        case 9: v[j] = m->d.h0; break;
        default: say(m, fmi2Error, "bad value reference"); return fmi2Error;
    }
    return fmi2OK;
}
fmi2Status fmi2SetReal(fmi2Component c, const fmi2ValueReference vr[], size_t n, const fmi2Real v[]) {
    Inst *m = c;
    for (size_t j = 0; j < n; j++) switch (vr[j]) {
        case 5: m->d.g = v[j]; break;
        case 6: m->d.e = v[j]; break;
        case 9: m->d.h0 = v[j]; m->d.h = v[j]; break;
        default: say(m, fmi2Error, "value reference is not settable"); return fmi2Error;
    }
    return fmi2OK;
}
fmi2Status fmi2GetInteger(fmi2Component c, const fmi2ValueReference vr[], size_t n, fmi2Integer v[]) {
    Inst *m = c;
    for (size_t j = 0; j < n; j++) switch (vr[j]) {
        case 7: v[j] = m->d.bounces; break;
        case 8: v[j] = m->d.max_bounces; break;
        default: say(m, fmi2Error, "bad value reference"); return fmi2Error;
    }
    return fmi2OK;
}
fmi2Status fmi2SetInteger(fmi2Component c, const fmi2ValueReference vr[], size_t n, const fmi2Integer v[]) {
    Inst *m = c;
    for (size_t j = 0; j < n; j++) {
        if (vr[j] != 8) { say(m, fmi2Error, "value reference is not settable"); return fmi2Error; }
        m->d.max_bounces = v[j];
    }
    return fmi2OK;
}

/* ---- life cycle */
const char *fmi2GetTypesPlatform(void) { return fmi2TypesPlatform; }
const char *fmi2GetVersion(void) { return fmi2Version; }
fmi2Status fmi2SetDebugLogging(fmi2Component c, fmi2Boolean on, size_t n, const fmi2String cat[]) { (void)c; (void)on; (void)n; (void)cat; return fmi2OK; }
fmi2Component fmi2Instantiate(fmi2String name, fmi2Type type, fmi2String guid, fmi2String res, const fmi2CallbackFunctions *cb, fmi2Boolean vis, fmi2Boolean lg) {
    (void)type; (void)guid; (void)res; (void)vis; (void)lg;
    Inst *m = (Inst *)calloc(1, sizeof(Inst));
    if (!m) return NULL;
    defaults(&m->d);
    if (cb) m->cb = *cb;
    strncpy(m->name, name ? name : "bounce2", sizeof m->name - 1);
    return m;
}
void fmi2FreeInstance(fmi2Component c) { free(c); }
fmi2Status fmi2SetupExperiment(fmi2Component c, fmi2Boolean td, fmi2Real tol, fmi2Real t0, fmi2Boolean sd, fmi2Real t1) {
    (void)td; (void)tol; (void)sd; (void)t1; ((Inst *)c)->d.time = t0; ((Inst *)c)->d.last = t0; return fmi2OK;
}
fmi2Status fmi2EnterInitializationMode(fmi2Component c) { (void)c; return fmi2OK; }
fmi2Status fmi2ExitInitializationMode(fmi2Component c) {
    Inst *m = c;
    if (!(m->d.g > 0)) { say(m, fmi2Error, "g must be > 0"); return fmi2Error; }
    m->d.h = m->d.h0; m->d.v = 0;
    return fmi2OK;
}
fmi2Status fmi2Terminate(fmi2Component c) { (void)c; return fmi2OK; }
fmi2Status fmi2Reset(fmi2Component c) { defaults(&((Inst *)c)->d); return fmi2OK; }   /* keeps `terminated` */

/* ---- model exchange */
fmi2Status fmi2EnterEventMode(fmi2Component c) { (void)c; return fmi2OK; }
fmi2Status fmi2NewDiscreteStates(fmi2Component c, fmi2EventInfo *e) {
    Inst *m = c;
    memset(e, 0, sizeof *e);
    if (!m->d.resting && m->d.h <= 0 && m->d.v < 0) { bounce(m); e->valuesOfContinuousStatesChanged = fmi2True; }
    e->terminateSimulation = m->terminated ? fmi2True : fmi2False;
    return fmi2OK;
}
fmi2Status fmi2EnterContinuousTimeMode(fmi2Component c) { (void)c; return fmi2OK; }
fmi2Status fmi2CompletedIntegratorStep(fmi2Component c, fmi2Boolean ns, fmi2Boolean *e, fmi2Boolean *t) { (void)c; (void)ns; *e = fmi2False; *t = fmi2False; return fmi2OK; }
fmi2Status fmi2SetTime(fmi2Component c, fmi2Real t) { ((Inst *)c)->d.time = t; return fmi2OK; }
fmi2Status fmi2SetContinuousStates(fmi2Component c, const fmi2Real x[], size_t n) { (void)n; Inst *m = c; m->d.h = x[0]; m->d.v = x[1]; return fmi2OK; }
fmi2Status fmi2GetContinuousStates(fmi2Component c, fmi2Real x[], size_t n) { (void)n; Inst *m = c; x[0] = m->d.h; x[1] = m->d.v; return fmi2OK; }
fmi2Status fmi2GetDerivatives(fmi2Component c, fmi2Real dx[], size_t n) { (void)n; Inst *m = c; dx[0] = m->d.v; dx[1] = der_v(&m->d); return fmi2OK; }
fmi2Status fmi2GetEventIndicators(fmi2Component c, fmi2Real z[], size_t n) { (void)n; Inst *m = c; z[0] = m->d.resting ? 1.0 : m->d.h; return fmi2OK; }
fmi2Status fmi2GetNominalsOfContinuousStates(fmi2Component c, fmi2Real x[], size_t n) { (void)c; (void)n; x[0] = 1; x[1] = 1; return fmi2OK; }

/* ---- co-simulation: exact flight between bounces */
fmi2Status fmi2DoStep(fmi2Component c, fmi2Real t, fmi2Real h, fmi2Boolean ns) {
    Inst *m = c; Data *d = &m->d; (void)ns;
    if (m->terminated) { d->last = t; return fmi2Discard; }
    double left = h;
    d->time = t;
    while (left > 0 && !d->resting) {
        double s = (d->v + sqrt(d->v * d->v + 2 * d->g * d->h)) / d->g;   /* time to the floor */
        if (s > left) break;
        d->time += s; left -= s; d->h = 0; d->v -= d->g * s;
        if (bounce(m)) { d->last = d->time; return fmi2Discard; }
    }
    if (!d->resting) { d->h += d->v * left - 0.5 * d->g * left * left; d->v -= d->g * left; }
    d->time = t + h; d->last = d->time;
    return fmi2OK;
}
fmi2Status fmi2GetRealStatus(fmi2Component c, const fmi2StatusKind s, fmi2Real *v) {
    if (s != fmi2LastSuccessfulTime) return fmi2Error;
    *v = ((Inst *)c)->d.last; return fmi2OK;
}
fmi2Status fmi2GetBooleanStatus(fmi2Component c, const fmi2StatusKind s, fmi2Boolean *v) {
    if (s != fmi2Terminated) return fmi2Error;
    *v = ((Inst *)c)->terminated ? fmi2True : fmi2False; return fmi2OK;
}
