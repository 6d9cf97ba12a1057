/*
 * fmi2_api.c -- FMI 2.0 Model Exchange + Co-Simulation interface over fmu_core.
 * One binary implements both kinds; the FMU state is a copy of ModelState.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "fmi2Functions.h"
#include "fmu_core.h"

typedef struct {
    ModelState s;
    fmi2CallbackFunctions cb;
    char *name;
    int logging;
} Instance;

#define MSG_LEN 512

static void log_msg(Instance *in, fmi2Status st, const char *fmt, ...) {
    if (!in || !in->cb.logger) return;
    if (st == fmi2OK && !in->logging) return;
    char buf[MSG_LEN];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    in->cb.logger(in->cb.componentEnvironment, in->name, st,
                  st == fmi2OK ? "logAll" : "logStatusError", "%s", buf);
}

static void *alloc_mem(Instance *in, size_t n, size_t sz) {
    if (in && in->cb.allocateMemory) return in->cb.allocateMemory(n, sz);
    return calloc(n, sz);
}

static void free_mem(Instance *in, void *p) {
    if (!p) return;
    if (in && in->cb.freeMemory) in->cb.freeMemory(p);
    else free(p);
}

#define INST(c) Instance *in = (Instance *)(c); if (!in) return fmi2Error

const char *fmi2GetTypesPlatform(void) { return fmi2TypesPlatform; }
const char *fmi2GetVersion(void) { return fmi2Version; }

fmi2Status fmi2SetDebugLogging(fmi2Component c, fmi2Boolean loggingOn, size_t n,
                               const fmi2String categories[]) {
    INST(c);
    (void)n; (void)categories;
    in->logging = loggingOn ? 1 : 0;
    return fmi2OK;
}

fmi2Component fmi2Instantiate(fmi2String instanceName, fmi2Type fmuType, fmi2String fmuGUID,
                              fmi2String resourceLocation, const fmi2CallbackFunctions *functions,
                              fmi2Boolean visible, fmi2Boolean loggingOn) {
    (void)resourceLocation; (void)visible;
    Instance tmp;
    memset(&tmp, 0, sizeof(tmp));
    if (functions) tmp.cb = *functions;
    tmp.name = (char *)(instanceName ? instanceName : MODEL_NAME);
    if (!fmuGUID || strcmp(fmuGUID, INSTANTIATION_TOKEN) != 0) {
        log_msg(&tmp, fmi2Error, "fmi2Instantiate: GUID %s does not match %s",
                fmuGUID ? fmuGUID : "(null)", INSTANTIATION_TOKEN);
        return NULL;
    }
    Instance *in = (Instance *)alloc_mem(&tmp, 1, sizeof(Instance));
    if (!in) return NULL;
    memset(in, 0, sizeof(*in));
    in->cb = tmp.cb;
    const char *nm = instanceName ? instanceName : MODEL_NAME;
    in->name = (char *)alloc_mem(&tmp, strlen(nm) + 1, 1);
    if (in->name) strcpy(in->name, nm);
    in->logging = loggingOn ? 1 : 0;
    core_reset(&in->s);
    in->s.is_cs = (fmuType == fmi2CoSimulation);
    return in;
}

void fmi2FreeInstance(fmi2Component c) {
    Instance *in = (Instance *)c;
    if (!in) return;
    fmi2CallbackFreeMemory fm = in->cb.freeMemory;
    if (fm) { fm(in->name); fm(in); }
    else { free(in->name); free(in); }
}

fmi2Status fmi2SetupExperiment(fmi2Component c, fmi2Boolean toleranceDefined, fmi2Real tolerance,
                               fmi2Real startTime, fmi2Boolean stopTimeDefined, fmi2Real stopTime) {
    INST(c);
    (void)toleranceDefined; (void)tolerance;
    in->s.time = startTime;
    in->s.t_stop = stopTimeDefined ? stopTime : 0.0;
    in->s.dirty = 1;
    return fmi2OK;
}

fmi2Status fmi2EnterInitializationMode(fmi2Component c) {
    INST(c);
    core_enter_initialization(&in->s);
    return fmi2OK;
}

fmi2Status fmi2ExitInitializationMode(fmi2Component c) {
    INST(c);
    core_exit_initialization(&in->s);
    return fmi2OK;
}

fmi2Status fmi2Terminate(fmi2Component c) {
    INST(c);
    in->s.mode = MODE_TERMINATED;
    return fmi2OK;
}

fmi2Status fmi2Reset(fmi2Component c) {
    INST(c);
    int cs = in->s.is_cs;
    core_reset(&in->s);
    in->s.is_cs = cs;
    return fmi2OK;
}

fmi2Status fmi2GetReal(fmi2Component c, const fmi2ValueReference vr[], size_t nvr, fmi2Real value[]) {
    INST(c);
    char msg[MSG_LEN];
    core_update(&in->s);
    for (size_t i = 0; i < nvr; i++) {
        if (core_check_vr(vr[i], msg, sizeof msg)) { log_msg(in, fmi2Error, "fmi2GetReal: %s", msg); return fmi2Error; }
        value[i] = in->s.v[vr[i]];
    }
    return fmi2OK;
}

fmi2Status fmi2GetInteger(fmi2Component c, const fmi2ValueReference vr[], size_t nvr, fmi2Integer value[]) {
    INST(c);
    (void)vr; (void)value;
    if (nvr == 0) return fmi2OK;
    log_msg(in, fmi2Error, "fmi2GetInteger: model %s has no Integer variables", MODEL_NAME);
    return fmi2Error;
}

fmi2Status fmi2GetBoolean(fmi2Component c, const fmi2ValueReference vr[], size_t nvr, fmi2Boolean value[]) {
    INST(c);
    char msg[MSG_LEN];
    core_update(&in->s);
    for (size_t i = 0; i < nvr; i++) {
        if (core_check_vr(vr[i], msg, sizeof msg)) { log_msg(in, fmi2Error, "fmi2GetBoolean: %s", msg); return fmi2Error; }
        value[i] = in->s.v[vr[i]] != 0.0 ? fmi2True : fmi2False;
    }
    return fmi2OK;
}

fmi2Status fmi2GetString(fmi2Component c, const fmi2ValueReference vr[], size_t nvr, fmi2String value[]) {
    INST(c);
    (void)vr; (void)value;
    if (nvr == 0) return fmi2OK;
    log_msg(in, fmi2Error, "fmi2GetString: model %s has no String variables", MODEL_NAME);
    return fmi2Error;
}

fmi2Status fmi2SetReal(fmi2Component c, const fmi2ValueReference vr[], size_t nvr, const fmi2Real value[]) {
    INST(c);
    char msg[MSG_LEN];
    for (size_t i = 0; i < nvr; i++) {
        if (core_check_set(&in->s, vr[i], msg, sizeof msg)) { log_msg(in, fmi2Error, "fmi2SetReal: %s", msg); return fmi2Error; }
        if (VAR_TYPE[vr[i]] != TYPE_REAL) { log_msg(in, fmi2Error, "fmi2SetReal: %s is not a Real", VAR_NAME[vr[i]]); return fmi2Error; }
        in->s.v[vr[i]] = value[i];
    }
    in->s.dirty = 1;
    return fmi2OK;
}

fmi2Status fmi2SetInteger(fmi2Component c, const fmi2ValueReference vr[], size_t nvr, const fmi2Integer value[]) {
    INST(c);
    (void)vr; (void)value;
    if (nvr == 0) return fmi2OK;
    log_msg(in, fmi2Error, "fmi2SetInteger: model %s has no Integer variables", MODEL_NAME);
    return fmi2Error;
}

fmi2Status fmi2SetBoolean(fmi2Component c, const fmi2ValueReference vr[], size_t nvr, const fmi2Boolean value[]) {
    INST(c);
    char msg[MSG_LEN];
    for (size_t i = 0; i < nvr; i++) {
        if (core_check_set(&in->s, vr[i], msg, sizeof msg)) { log_msg(in, fmi2Error, "fmi2SetBoolean: %s", msg); return fmi2Error; }
        if (VAR_TYPE[vr[i]] != TYPE_BOOLEAN) { log_msg(in, fmi2Error, "fmi2SetBoolean: %s is not a Boolean", VAR_NAME[vr[i]]); return fmi2Error; }
        in->s.v[vr[i]] = value[i] ? 1.0 : 0.0;
    }
    in->s.dirty = 1;
    return fmi2OK;
}

fmi2Status fmi2SetString(fmi2Component c, const fmi2ValueReference vr[], size_t nvr, const fmi2String value[]) {
    INST(c);
    (void)vr; (void)value;
    if (nvr == 0) return fmi2OK;
    log_msg(in, fmi2Error, "fmi2SetString: model %s has no String variables", MODEL_NAME);
    return fmi2Error;
}

/* ---------------------------------------------------------------- FMU state */
fmi2Status fmi2GetFMUstate(fmi2Component c, fmi2FMUstate *FMUstate) {
    INST(c);
    ModelState *st = (ModelState *)(*FMUstate);
    if (!st) {
        st = (ModelState *)alloc_mem(in, 1, sizeof(ModelState));
        if (!st) { log_msg(in, fmi2Error, "fmi2GetFMUstate: out of memory"); return fmi2Error; }
    }
    memcpy(st, &in->s, sizeof(ModelState));
    *FMUstate = st;
    return fmi2OK;
}

fmi2Status fmi2SetFMUstate(fmi2Component c, fmi2FMUstate FMUstate) {
    INST(c);
    if (!FMUstate) { log_msg(in, fmi2Error, "fmi2SetFMUstate: state is NULL"); return fmi2Error; }
    int cs = in->s.is_cs;
    memcpy(&in->s, FMUstate, sizeof(ModelState));
    in->s.is_cs = cs;
    return fmi2OK;
}

fmi2Status fmi2FreeFMUstate(fmi2Component c, fmi2FMUstate *FMUstate) {
    INST(c);
    if (FMUstate && *FMUstate) { free_mem(in, *FMUstate); *FMUstate = NULL; }
    return fmi2OK;
}

fmi2Status fmi2SerializedFMUstateSize(fmi2Component c, fmi2FMUstate FMUstate, size_t *size) {
    INST(c);
    (void)FMUstate;
    *size = core_serialized_size();
    return fmi2OK;
}

fmi2Status fmi2SerializeFMUstate(fmi2Component c, fmi2FMUstate FMUstate, fmi2Byte serializedState[], size_t size) {
    INST(c);
    if (!FMUstate || size < core_serialized_size()) {
        log_msg(in, fmi2Error, "fmi2SerializeFMUstate: need a state and %zu bytes", core_serialized_size());
        return fmi2Error;
    }
    core_serialize((const ModelState *)FMUstate, (unsigned char *)serializedState);
    return fmi2OK;
}

fmi2Status fmi2DeSerializeFMUstate(fmi2Component c, const fmi2Byte serializedState[], size_t size, fmi2FMUstate *FMUstate) {
    INST(c);
    char msg[MSG_LEN];
    ModelState *st = (ModelState *)(*FMUstate);
    if (!st) st = (ModelState *)alloc_mem(in, 1, sizeof(ModelState));
    if (!st) return fmi2Error;
    if (core_deserialize(st, (const unsigned char *)serializedState, size, msg, sizeof msg)) {
        if (!*FMUstate) free_mem(in, st);
        log_msg(in, fmi2Error, "fmi2DeSerializeFMUstate: %s", msg);
        return fmi2Error;
    }
    *FMUstate = st;
    return fmi2OK;
}

fmi2Status fmi2GetDirectionalDerivative(fmi2Component c, const fmi2ValueReference vUnknown_ref[], size_t nUnknown,
                                        const fmi2ValueReference vKnown_ref[], size_t nKnown,
                                        const fmi2Real dvKnown[], fmi2Real dvUnknown[]) {
    INST(c);
    (void)vUnknown_ref; (void)nUnknown; (void)vKnown_ref; (void)nKnown; (void)dvKnown; (void)dvUnknown;
    log_msg(in, fmi2Error, "fmi2GetDirectionalDerivative: not provided (providesDirectionalDerivative=false)");
    return fmi2Error;
}

/* ----------------------------------------------------------- model exchange */
fmi2Status fmi2EnterEventMode(fmi2Component c) {
    INST(c);
    in->s.mode = MODE_EVENT;
    return fmi2OK;
}

fmi2Status fmi2NewDiscreteStates(fmi2Component c, fmi2EventInfo *info) {
    INST(c);
    core_update(&in->s);
    if (model_event_update(&in->s)) in->s.dirty = 1;
    info->newDiscreteStatesNeeded = fmi2False;
    info->terminateSimulation = fmi2False;
    info->nominalsOfContinuousStatesChanged = fmi2False;
    info->valuesOfContinuousStatesChanged = fmi2False;
    info->nextEventTimeDefined = fmi2False;
    info->nextEventTime = 0.0;
    return fmi2OK;
}

fmi2Status fmi2EnterContinuousTimeMode(fmi2Component c) {
    INST(c);
    in->s.mode = MODE_CONTINUOUS;
    return fmi2OK;
}

fmi2Status fmi2CompletedIntegratorStep(fmi2Component c, fmi2Boolean noSetFMUStatePriorToCurrentPoint,
                                       fmi2Boolean *enterEventMode, fmi2Boolean *terminateSimulation) {
    INST(c);
    (void)noSetFMUStatePriorToCurrentPoint;
    core_update(&in->s);
    *enterEventMode = model_event_pending(&in->s) ? fmi2True : fmi2False;
    *terminateSimulation = fmi2False;
    return fmi2OK;
}

fmi2Status fmi2SetTime(fmi2Component c, fmi2Real time) {
    INST(c);
    in->s.time = time;
    in->s.dirty = 1;
    return fmi2OK;
}

fmi2Status fmi2SetContinuousStates(fmi2Component c, const fmi2Real x[], size_t nx) {
    INST(c);
    if (nx != NX) { log_msg(in, fmi2Error, "fmi2SetContinuousStates: nx=%zu, model has %d", nx, NX); return fmi2Error; }
    core_set_states(&in->s, x);
    return fmi2OK;
}

fmi2Status fmi2GetDerivatives(fmi2Component c, fmi2Real derivatives[], size_t nx) {
    INST(c);
    if (nx != NX) { log_msg(in, fmi2Error, "fmi2GetDerivatives: nx=%zu, model has %d", nx, NX); return fmi2Error; }
    core_get_derivatives(&in->s, derivatives);
    return fmi2OK;
}

fmi2Status fmi2GetEventIndicators(fmi2Component c, fmi2Real eventIndicators[], size_t ni) {
    INST(c);
    if (ni != NZ) { log_msg(in, fmi2Error, "fmi2GetEventIndicators: ni=%zu, model has %d", ni, NZ); return fmi2Error; }
    core_update(&in->s);
    core_get_event_indicators(&in->s, eventIndicators);
    return fmi2OK;
}

fmi2Status fmi2GetContinuousStates(fmi2Component c, fmi2Real x[], size_t nx) {
    INST(c);
    if (nx != NX) { log_msg(in, fmi2Error, "fmi2GetContinuousStates: nx=%zu, model has %d", nx, NX); return fmi2Error; }
    core_update(&in->s);
    core_get_states(&in->s, x);
    return fmi2OK;
}

fmi2Status fmi2GetNominalsOfContinuousStates(fmi2Component c, fmi2Real x_nominal[], size_t nx) {
    INST(c);
    if (nx != NX) return fmi2Error;
    for (int i = 0; i < NX; i++) x_nominal[i] = STATE_NOMINAL[i];
    return fmi2OK;
}

/* ------------------------------------------------------------- co-simulation */
fmi2Status fmi2SetRealInputDerivatives(fmi2Component c, const fmi2ValueReference vr[], size_t nvr,
                                       const fmi2Integer order[], const fmi2Real value[]) {
    INST(c);
    (void)vr; (void)nvr; (void)order; (void)value;
    log_msg(in, fmi2Error, "fmi2SetRealInputDerivatives: not supported (canInterpolateInputs=false)");
    return fmi2Error;
}

fmi2Status fmi2GetRealOutputDerivatives(fmi2Component c, const fmi2ValueReference vr[], size_t nvr,
                                        const fmi2Integer order[], fmi2Real value[]) {
    INST(c);
    (void)vr; (void)nvr; (void)order; (void)value;
    log_msg(in, fmi2Error, "fmi2GetRealOutputDerivatives: not supported (maxOutputDerivativeOrder=0)");
    return fmi2Error;
}

fmi2Status fmi2DoStep(fmi2Component c, fmi2Real currentCommunicationPoint, fmi2Real communicationStepSize,
                      fmi2Boolean noSetFMUStatePriorToCurrentCommunicationPoint) {
    INST(c);
    (void)noSetFMUStatePriorToCurrentCommunicationPoint;
    char msg[MSG_LEN];
    if (communicationStepSize < 0.0) {
        log_msg(in, fmi2Error, "fmi2DoStep: negative communication step size %g s", communicationStepSize);
        return fmi2Error;
    }
    in->s.time = currentCommunicationPoint;
    if (core_do_step(&in->s, currentCommunicationPoint + communicationStepSize, msg, sizeof msg)) {
        log_msg(in, fmi2Error, "fmi2DoStep: %s", msg);
        in->s.mode = MODE_ERROR;
        return fmi2Error;
    }
    return fmi2OK;
}

fmi2Status fmi2CancelStep(fmi2Component c) {
    INST(c);
    log_msg(in, fmi2Error, "fmi2CancelStep: doStep never returns fmi2Pending");
    return fmi2Error;
}

fmi2Status fmi2GetStatus(fmi2Component c, const fmi2StatusKind s, fmi2Status *value) {
    INST(c);
    (void)s;
    *value = fmi2OK;
    return fmi2OK;
}

fmi2Status fmi2GetRealStatus(fmi2Component c, const fmi2StatusKind s, fmi2Real *value) {
    INST(c);
    if (s == fmi2LastSuccessfulTime) { *value = in->s.time; return fmi2OK; }
    return fmi2Discard;
}

fmi2Status fmi2GetIntegerStatus(fmi2Component c, const fmi2StatusKind s, fmi2Integer *value) {
    INST(c);
    (void)s; (void)value;
    return fmi2Discard;
}

fmi2Status fmi2GetBooleanStatus(fmi2Component c, const fmi2StatusKind s, fmi2Boolean *value) {
    INST(c);
    if (s == fmi2Terminated) { *value = fmi2False; return fmi2OK; }
    return fmi2Discard;
}

fmi2Status fmi2GetStringStatus(fmi2Component c, const fmi2StatusKind s, fmi2String *value) {
    INST(c);
    (void)s; (void)value;
    return fmi2Discard;
}
