/*
 * fmi3_api.c -- FMI 3.0 Model Exchange + Co-Simulation interface over fmu_core.
 * Value references are unique across types; vr 0 is the independent variable time.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "fmi3Functions.h"
#include "fmu_core.h"

typedef struct {
    ModelState s;
    fmi3InstanceEnvironment env;
    fmi3LogMessageCallback logger;
    char *name;
    int logging;
} Instance;

#define MSG_LEN 512

static void log_msg(Instance *in, fmi3Status st, const char *fmt, ...) {
    if (!in || !in->logger) return;
    if (st == fmi3OK && !in->logging) return;
    char buf[MSG_LEN];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    in->logger(in->env, st, st == fmi3OK ? "logAll" : "logStatusError", buf);
}

#define INST(c) Instance *in = (Instance *)(c); if (!in) return fmi3Error
#define UNSUPPORTED(fn) do { log_msg(in, fmi3Error, fn ": not supported by model %s", MODEL_NAME); return fmi3Error; } while (0)

const char *fmi3GetVersion(void) { return fmi3Version; }

fmi3Status fmi3SetDebugLogging(fmi3Instance c, fmi3Boolean loggingOn, size_t n, const fmi3String categories[]) {
    INST(c);
    (void)n; (void)categories;
    in->logging = loggingOn ? 1 : 0;
    return fmi3OK;
}

static Instance *instantiate(fmi3String name, fmi3String token, fmi3Boolean loggingOn,
                             fmi3InstanceEnvironment env, fmi3LogMessageCallback logger, int is_cs) {
    Instance tmp;
    memset(&tmp, 0, sizeof tmp);
    tmp.env = env; tmp.logger = logger;
    if (!token || strcmp(token, INSTANTIATION_TOKEN) != 0) {
        log_msg(&tmp, fmi3Error, "instantiate: token %s does not match %s", token ? token : "(null)", INSTANTIATION_TOKEN);
        return NULL;
    }
    Instance *in = (Instance *)calloc(1, sizeof(Instance));
    if (!in) return NULL;
    in->env = env; in->logger = logger;
    const char *nm = name ? name : MODEL_NAME;
    in->name = (char *)malloc(strlen(nm) + 1);
    if (in->name) strcpy(in->name, nm);
    in->logging = loggingOn ? 1 : 0;
    core_reset(&in->s);
    in->s.is_cs = is_cs;
    return in;
}

fmi3Instance fmi3InstantiateModelExchange(fmi3String instanceName, fmi3String instantiationToken,
                                          fmi3String resourcePath, fmi3Boolean visible, fmi3Boolean loggingOn,
                                          fmi3InstanceEnvironment instanceEnvironment, fmi3LogMessageCallback logMessage) {
    (void)resourcePath; (void)visible;
    return instantiate(instanceName, instantiationToken, loggingOn, instanceEnvironment, logMessage, 0);
}

fmi3Instance fmi3InstantiateCoSimulation(fmi3String instanceName, fmi3String instantiationToken,
                                         fmi3String resourcePath, fmi3Boolean visible, fmi3Boolean loggingOn,
                                         fmi3Boolean eventModeUsed, fmi3Boolean earlyReturnAllowed,
                                         const fmi3ValueReference requiredIntermediateVariables[],
                                         size_t nRequiredIntermediateVariables,
                                         fmi3InstanceEnvironment instanceEnvironment, fmi3LogMessageCallback logMessage,
                                         fmi3IntermediateUpdateCallback intermediateUpdate) {
    (void)resourcePath; (void)visible; (void)eventModeUsed; (void)earlyReturnAllowed;
    (void)requiredIntermediateVariables; (void)nRequiredIntermediateVariables; (void)intermediateUpdate;
    return instantiate(instanceName, instantiationToken, loggingOn, instanceEnvironment, logMessage, 1);
}

fmi3Instance fmi3InstantiateScheduledExecution(fmi3String instanceName, fmi3String instantiationToken,
                                               fmi3String resourcePath, fmi3Boolean visible, fmi3Boolean loggingOn,
                                               fmi3InstanceEnvironment instanceEnvironment, fmi3LogMessageCallback logMessage,
                                               fmi3ClockUpdateCallback clockUpdate, fmi3LockPreemptionCallback lockPreemption,
                                               fmi3UnlockPreemptionCallback unlockPreemption) {
    (void)instanceName; (void)instantiationToken; (void)resourcePath; (void)visible; (void)loggingOn;
    (void)clockUpdate; (void)lockPreemption; (void)unlockPreemption;
    if (logMessage) logMessage(instanceEnvironment, fmi3Error, "logStatusError",
                               "fmi3InstantiateScheduledExecution: scheduled execution is not supported");
    return NULL;
}

void fmi3FreeInstance(fmi3Instance c) {
    Instance *in = (Instance *)c;
    if (!in) return;
    free(in->name);
    free(in);
}

fmi3Status fmi3EnterInitializationMode(fmi3Instance c, fmi3Boolean toleranceDefined, fmi3Float64 tolerance,
                                       fmi3Float64 startTime, fmi3Boolean stopTimeDefined, fmi3Float64 stopTime) {
    INST(c);
    (void)toleranceDefined; (void)tolerance;
    in->s.time = startTime;
    in->s.t_stop = stopTimeDefined ? stopTime : 0.0;
    core_enter_initialization(&in->s);
    return fmi3OK;
}

fmi3Status fmi3ExitInitializationMode(fmi3Instance c) {
    INST(c);
    core_exit_initialization(&in->s);
    return fmi3OK;
}

fmi3Status fmi3EnterEventMode(fmi3Instance c) {
    INST(c);
    in->s.mode = MODE_EVENT;
    return fmi3OK;
}

fmi3Status fmi3Terminate(fmi3Instance c) {
    INST(c);
    in->s.mode = MODE_TERMINATED;
    return fmi3OK;
}

fmi3Status fmi3Reset(fmi3Instance c) {
    INST(c);
    int cs = in->s.is_cs;
    core_reset(&in->s);
    in->s.is_cs = cs;
    return fmi3OK;
}

/* ------------------------------------------------------------ get / set */
fmi3Status fmi3GetFloat64(fmi3Instance c, const fmi3ValueReference vr[], size_t nvr, fmi3Float64 values[], size_t nValues) {
    INST(c);
    char msg[MSG_LEN];
    if (nValues < nvr) return fmi3Error;
    core_update(&in->s);
    for (size_t i = 0; i < nvr; i++) {
        if (core_check_vr(vr[i], msg, sizeof msg)) { log_msg(in, fmi3Error, "fmi3GetFloat64: %s", msg); return fmi3Error; }
        values[i] = vr[i] == 0 ? in->s.time : in->s.v[vr[i]];
    }
    return fmi3OK;
}

fmi3Status fmi3SetFloat64(fmi3Instance c, const fmi3ValueReference vr[], size_t nvr, const fmi3Float64 values[], size_t nValues) {
    INST(c);
    char msg[MSG_LEN];
    if (nValues < nvr) return fmi3Error;
    for (size_t i = 0; i < nvr; i++) {
        if (core_check_set(&in->s, vr[i], msg, sizeof msg)) { log_msg(in, fmi3Error, "fmi3SetFloat64: %s", msg); return fmi3Error; }
        if (VAR_TYPE[vr[i]] != TYPE_REAL) { log_msg(in, fmi3Error, "fmi3SetFloat64: %s is not a Float64", VAR_NAME[vr[i]]); return fmi3Error; }
        in->s.v[vr[i]] = values[i];
    }
    in->s.dirty = 1;
    return fmi3OK;
}

fmi3Status fmi3GetBoolean(fmi3Instance c, const fmi3ValueReference vr[], size_t nvr, fmi3Boolean values[], size_t nValues) {
    INST(c);
    char msg[MSG_LEN];
    if (nValues < nvr) return fmi3Error;
    core_update(&in->s);
    for (size_t i = 0; i < nvr; i++) {
        if (core_check_vr(vr[i], msg, sizeof msg)) { log_msg(in, fmi3Error, "fmi3GetBoolean: %s", msg); return fmi3Error; }
        values[i] = in->s.v[vr[i]] != 0.0;
    }
    return fmi3OK;
}

fmi3Status fmi3SetBoolean(fmi3Instance c, const fmi3ValueReference vr[], size_t nvr, const fmi3Boolean values[], size_t nValues) {
    INST(c);
    char msg[MSG_LEN];
    if (nValues < nvr) return fmi3Error;
    for (size_t i = 0; i < nvr; i++) {
        if (core_check_set(&in->s, vr[i], msg, sizeof msg)) { log_msg(in, fmi3Error, "fmi3SetBoolean: %s", msg); return fmi3Error; }
        if (VAR_TYPE[vr[i]] != TYPE_BOOLEAN) { log_msg(in, fmi3Error, "fmi3SetBoolean: %s is not a Boolean", VAR_NAME[vr[i]]); return fmi3Error; }
        in->s.v[vr[i]] = values[i] ? 1.0 : 0.0;
    }
    in->s.dirty = 1;
    return fmi3OK;
}

#define NO_TYPE_GET(fn, T) \
    fmi3Status fn(fmi3Instance c, const fmi3ValueReference vr[], size_t nvr, T values[], size_t nValues) { \
        INST(c); (void)vr; (void)values; (void)nValues; if (nvr == 0) return fmi3OK; UNSUPPORTED(#fn); }
#define NO_TYPE_SET(fn, T) \
    fmi3Status fn(fmi3Instance c, const fmi3ValueReference vr[], size_t nvr, const T values[], size_t nValues) { \
        INST(c); (void)vr; (void)values; (void)nValues; if (nvr == 0) return fmi3OK; UNSUPPORTED(#fn); }

NO_TYPE_GET(fmi3GetFloat32, fmi3Float32)
NO_TYPE_GET(fmi3GetInt8, fmi3Int8)
NO_TYPE_GET(fmi3GetUInt8, fmi3UInt8)
NO_TYPE_GET(fmi3GetInt16, fmi3Int16)
NO_TYPE_GET(fmi3GetUInt16, fmi3UInt16)
NO_TYPE_GET(fmi3GetInt32, fmi3Int32)
NO_TYPE_GET(fmi3GetUInt32, fmi3UInt32)
NO_TYPE_GET(fmi3GetInt64, fmi3Int64)
NO_TYPE_GET(fmi3GetUInt64, fmi3UInt64)
NO_TYPE_GET(fmi3GetString, fmi3String)
NO_TYPE_SET(fmi3SetFloat32, fmi3Float32)
NO_TYPE_SET(fmi3SetInt8, fmi3Int8)
NO_TYPE_SET(fmi3SetUInt8, fmi3UInt8)
NO_TYPE_SET(fmi3SetInt16, fmi3Int16)
NO_TYPE_SET(fmi3SetUInt16, fmi3UInt16)
NO_TYPE_SET(fmi3SetInt32, fmi3Int32)
NO_TYPE_SET(fmi3SetUInt32, fmi3UInt32)
NO_TYPE_SET(fmi3SetInt64, fmi3Int64)
NO_TYPE_SET(fmi3SetUInt64, fmi3UInt64)
NO_TYPE_SET(fmi3SetString, fmi3String)

fmi3Status fmi3GetBinary(fmi3Instance c, const fmi3ValueReference vr[], size_t nvr, size_t valueSizes[], fmi3Binary values[], size_t nValues) {
    INST(c); (void)vr; (void)valueSizes; (void)values; (void)nValues;
    if (nvr == 0) return fmi3OK;
    UNSUPPORTED("fmi3GetBinary");
}

fmi3Status fmi3SetBinary(fmi3Instance c, const fmi3ValueReference vr[], size_t nvr, const size_t valueSizes[], const fmi3Binary values[], size_t nValues) {
    INST(c); (void)vr; (void)valueSizes; (void)values; (void)nValues;
    if (nvr == 0) return fmi3OK;
    UNSUPPORTED("fmi3SetBinary");
}

fmi3Status fmi3GetClock(fmi3Instance c, const fmi3ValueReference vr[], size_t nvr, fmi3Clock values[]) {
    INST(c); (void)vr; (void)values;
    if (nvr == 0) return fmi3OK;
    UNSUPPORTED("fmi3GetClock");
}

fmi3Status fmi3SetClock(fmi3Instance c, const fmi3ValueReference vr[], size_t nvr, const fmi3Clock values[]) {
    INST(c); (void)vr; (void)values;
    if (nvr == 0) return fmi3OK;
    UNSUPPORTED("fmi3SetClock");
}

fmi3Status fmi3GetNumberOfVariableDependencies(fmi3Instance c, fmi3ValueReference valueReference, size_t *nDependencies) {
    INST(c); (void)valueReference; (void)nDependencies;
    UNSUPPORTED("fmi3GetNumberOfVariableDependencies");
}

fmi3Status fmi3GetVariableDependencies(fmi3Instance c, fmi3ValueReference dependent, size_t elementIndicesOfDependent[],
                                       fmi3ValueReference independents[], size_t elementIndicesOfIndependents[],
                                       fmi3DependencyKind dependencyKinds[], size_t nDependencies) {
    INST(c); (void)dependent; (void)elementIndicesOfDependent; (void)independents;
    (void)elementIndicesOfIndependents; (void)dependencyKinds; (void)nDependencies;
    UNSUPPORTED("fmi3GetVariableDependencies");
}

/* ---------------------------------------------------------------- FMU state */
fmi3Status fmi3GetFMUState(fmi3Instance c, fmi3FMUState *FMUState) {
    INST(c);
    ModelState *st = (ModelState *)(*FMUState);
    if (!st) st = (ModelState *)malloc(sizeof(ModelState));
    if (!st) { log_msg(in, fmi3Error, "fmi3GetFMUState: out of memory"); return fmi3Error; }
    memcpy(st, &in->s, sizeof(ModelState));
    *FMUState = st;
    return fmi3OK;
}

fmi3Status fmi3SetFMUState(fmi3Instance c, fmi3FMUState FMUState) {
    INST(c);
    if (!FMUState) { log_msg(in, fmi3Error, "fmi3SetFMUState: state is NULL"); return fmi3Error; }
    int cs = in->s.is_cs;
    memcpy(&in->s, FMUState, sizeof(ModelState));
    in->s.is_cs = cs;
    return fmi3OK;
}

fmi3Status fmi3FreeFMUState(fmi3Instance c, fmi3FMUState *FMUState) {
    INST(c);
    if (FMUState && *FMUState) { free(*FMUState); *FMUState = NULL; }
    return fmi3OK;
}

fmi3Status fmi3SerializedFMUStateSize(fmi3Instance c, fmi3FMUState FMUState, size_t *size) {
    INST(c); (void)FMUState;
    *size = core_serialized_size();
    return fmi3OK;
}

fmi3Status fmi3SerializeFMUState(fmi3Instance c, fmi3FMUState FMUState, fmi3Byte serializedState[], size_t size) {
    INST(c);
    if (!FMUState || size < core_serialized_size()) {
        log_msg(in, fmi3Error, "fmi3SerializeFMUState: need a state and %zu bytes", core_serialized_size());
        return fmi3Error;
    }
    core_serialize((const ModelState *)FMUState, (unsigned char *)serializedState);
    return fmi3OK;
}

fmi3Status fmi3DeserializeFMUState(fmi3Instance c, const fmi3Byte serializedState[], size_t size, fmi3FMUState *FMUState) {
    INST(c);
    char msg[MSG_LEN];
    ModelState *st = (ModelState *)(*FMUState);
    int fresh = st == NULL;
    if (fresh) st = (ModelState *)malloc(sizeof(ModelState));
    if (!st) return fmi3Error;
    if (core_deserialize(st, (const unsigned char *)serializedState, size, msg, sizeof msg)) {
        if (fresh) free(st);
        log_msg(in, fmi3Error, "fmi3DeserializeFMUState: %s", msg);
        return fmi3Error;
    }
    *FMUState = st;
    return fmi3OK;
}

fmi3Status fmi3GetDirectionalDerivative(fmi3Instance c, const fmi3ValueReference unknowns[], size_t nUnknowns,
                                        const fmi3ValueReference knowns[], size_t nKnowns, const fmi3Float64 seed[],
                                        size_t nSeed, fmi3Float64 sensitivity[], size_t nSensitivity) {
    INST(c); (void)unknowns; (void)nUnknowns; (void)knowns; (void)nKnowns; (void)seed; (void)nSeed;
    (void)sensitivity; (void)nSensitivity;
    UNSUPPORTED("fmi3GetDirectionalDerivative");
}

fmi3Status fmi3GetAdjointDerivative(fmi3Instance c, const fmi3ValueReference unknowns[], size_t nUnknowns,
                                    const fmi3ValueReference knowns[], size_t nKnowns, const fmi3Float64 seed[],
                                    size_t nSeed, fmi3Float64 sensitivity[], size_t nSensitivity) {
    INST(c); (void)unknowns; (void)nUnknowns; (void)knowns; (void)nKnowns; (void)seed; (void)nSeed;
    (void)sensitivity; (void)nSensitivity;
    UNSUPPORTED("fmi3GetAdjointDerivative");
}

fmi3Status fmi3EnterConfigurationMode(fmi3Instance c) { INST(c); UNSUPPORTED("fmi3EnterConfigurationMode"); }
fmi3Status fmi3ExitConfigurationMode(fmi3Instance c) { INST(c); UNSUPPORTED("fmi3ExitConfigurationMode"); }

fmi3Status fmi3GetIntervalDecimal(fmi3Instance c, const fmi3ValueReference vr[], size_t nvr, fmi3Float64 intervals[], fmi3IntervalQualifier qualifiers[]) {
    INST(c); (void)vr; (void)nvr; (void)intervals; (void)qualifiers; UNSUPPORTED("fmi3GetIntervalDecimal");
}
fmi3Status fmi3GetIntervalFraction(fmi3Instance c, const fmi3ValueReference vr[], size_t nvr, fmi3UInt64 counters[], fmi3UInt64 resolutions[], fmi3IntervalQualifier qualifiers[]) {
    INST(c); (void)vr; (void)nvr; (void)counters; (void)resolutions; (void)qualifiers; UNSUPPORTED("fmi3GetIntervalFraction");
}
fmi3Status fmi3GetShiftDecimal(fmi3Instance c, const fmi3ValueReference vr[], size_t nvr, fmi3Float64 shifts[]) {
    INST(c); (void)vr; (void)nvr; (void)shifts; UNSUPPORTED("fmi3GetShiftDecimal");
}
fmi3Status fmi3GetShiftFraction(fmi3Instance c, const fmi3ValueReference vr[], size_t nvr, fmi3UInt64 counters[], fmi3UInt64 resolutions[]) {
    INST(c); (void)vr; (void)nvr; (void)counters; (void)resolutions; UNSUPPORTED("fmi3GetShiftFraction");
}
fmi3Status fmi3SetIntervalDecimal(fmi3Instance c, const fmi3ValueReference vr[], size_t nvr, const fmi3Float64 intervals[]) {
    INST(c); (void)vr; (void)nvr; (void)intervals; UNSUPPORTED("fmi3SetIntervalDecimal");
}
fmi3Status fmi3SetIntervalFraction(fmi3Instance c, const fmi3ValueReference vr[], size_t nvr, const fmi3UInt64 counters[], const fmi3UInt64 resolutions[]) {
    INST(c); (void)vr; (void)nvr; (void)counters; (void)resolutions; UNSUPPORTED("fmi3SetIntervalFraction");
}
fmi3Status fmi3SetShiftDecimal(fmi3Instance c, const fmi3ValueReference vr[], size_t nvr, const fmi3Float64 shifts[]) {
    INST(c); (void)vr; (void)nvr; (void)shifts; UNSUPPORTED("fmi3SetShiftDecimal");
}
fmi3Status fmi3SetShiftFraction(fmi3Instance c, const fmi3ValueReference vr[], size_t nvr, const fmi3UInt64 counters[], const fmi3UInt64 resolutions[]) {
    INST(c); (void)vr; (void)nvr; (void)counters; (void)resolutions; UNSUPPORTED("fmi3SetShiftFraction");
}

fmi3Status fmi3EvaluateDiscreteStates(fmi3Instance c) { INST(c); return fmi3OK; }

fmi3Status fmi3UpdateDiscreteStates(fmi3Instance c, fmi3Boolean *discreteStatesNeedUpdate, fmi3Boolean *terminateSimulation,
                                    fmi3Boolean *nominalsOfContinuousStatesChanged, fmi3Boolean *valuesOfContinuousStatesChanged,
                                    fmi3Boolean *nextEventTimeDefined, fmi3Float64 *nextEventTime) {
    INST(c);
    core_update(&in->s);
    if (model_event_update(&in->s)) in->s.dirty = 1;
    if (discreteStatesNeedUpdate) *discreteStatesNeedUpdate = fmi3False;
    if (terminateSimulation) *terminateSimulation = fmi3False;
    if (nominalsOfContinuousStatesChanged) *nominalsOfContinuousStatesChanged = fmi3False;
    if (valuesOfContinuousStatesChanged) *valuesOfContinuousStatesChanged = fmi3False;
    if (nextEventTimeDefined) *nextEventTimeDefined = fmi3False;
    if (nextEventTime) *nextEventTime = 0.0;
    return fmi3OK;
}

/* ----------------------------------------------------------- model exchange */
fmi3Status fmi3EnterContinuousTimeMode(fmi3Instance c) { INST(c); in->s.mode = MODE_CONTINUOUS; return fmi3OK; }

fmi3Status fmi3CompletedIntegratorStep(fmi3Instance c, fmi3Boolean noSetFMUStatePriorToCurrentPoint,
                                       fmi3Boolean *enterEventMode, fmi3Boolean *terminateSimulation) {
    INST(c); (void)noSetFMUStatePriorToCurrentPoint;
    core_update(&in->s);
    *enterEventMode = model_event_pending(&in->s) ? fmi3True : fmi3False;
    *terminateSimulation = fmi3False;
    return fmi3OK;
}

fmi3Status fmi3SetTime(fmi3Instance c, fmi3Float64 time) { INST(c); in->s.time = time; in->s.dirty = 1; return fmi3OK; }

fmi3Status fmi3SetContinuousStates(fmi3Instance c, const fmi3Float64 x[], size_t nx) {
    INST(c);
    if (nx != NX) { log_msg(in, fmi3Error, "fmi3SetContinuousStates: nx=%zu, model has %d", nx, NX); return fmi3Error; }
    core_set_states(&in->s, x);
    return fmi3OK;
}

fmi3Status fmi3GetContinuousStateDerivatives(fmi3Instance c, fmi3Float64 derivatives[], size_t nx) {
    INST(c);
    if (nx != NX) { log_msg(in, fmi3Error, "fmi3GetContinuousStateDerivatives: nx=%zu, model has %d", nx, NX); return fmi3Error; }
    core_get_derivatives(&in->s, derivatives);
    return fmi3OK;
}

fmi3Status fmi3GetEventIndicators(fmi3Instance c, fmi3Float64 eventIndicators[], size_t ni) {
    INST(c);
    if (ni != NZ) { log_msg(in, fmi3Error, "fmi3GetEventIndicators: ni=%zu, model has %d", ni, NZ); return fmi3Error; }
    core_update(&in->s);
    core_get_event_indicators(&in->s, eventIndicators);
    return fmi3OK;
}

fmi3Status fmi3GetContinuousStates(fmi3Instance c, fmi3Float64 x[], size_t nx) {
    INST(c);
    if (nx != NX) { log_msg(in, fmi3Error, "fmi3GetContinuousStates: nx=%zu, model has %d", nx, NX); return fmi3Error; }
    core_update(&in->s);
    core_get_states(&in->s, x);
    return fmi3OK;
}

fmi3Status fmi3GetNominalsOfContinuousStates(fmi3Instance c, fmi3Float64 nominals[], size_t nx) {
    INST(c);
    if (nx != NX) return fmi3Error;
    for (int i = 0; i < NX; i++) nominals[i] = STATE_NOMINAL[i];
    return fmi3OK;
}

fmi3Status fmi3GetNumberOfEventIndicators(fmi3Instance c, size_t *n) { INST(c); *n = NZ; return fmi3OK; }
fmi3Status fmi3GetNumberOfContinuousStates(fmi3Instance c, size_t *n) { INST(c); *n = NX; return fmi3OK; }

/* ------------------------------------------------------------- co-simulation */
fmi3Status fmi3EnterStepMode(fmi3Instance c) { INST(c); in->s.mode = MODE_CONTINUOUS; return fmi3OK; }

fmi3Status fmi3GetOutputDerivatives(fmi3Instance c, const fmi3ValueReference vr[], size_t nvr, const fmi3Int32 orders[],
                                    fmi3Float64 values[], size_t nValues) {
    INST(c); (void)vr; (void)nvr; (void)orders; (void)values; (void)nValues;
    UNSUPPORTED("fmi3GetOutputDerivatives");
}

fmi3Status fmi3DoStep(fmi3Instance c, fmi3Float64 currentCommunicationPoint, fmi3Float64 communicationStepSize,
                      fmi3Boolean noSetFMUStatePriorToCurrentPoint, fmi3Boolean *eventHandlingNeeded,
                      fmi3Boolean *terminateSimulation, fmi3Boolean *earlyReturn, fmi3Float64 *lastSuccessfulTime) {
    INST(c); (void)noSetFMUStatePriorToCurrentPoint;
    char msg[MSG_LEN];
    if (eventHandlingNeeded) *eventHandlingNeeded = fmi3False;
    if (terminateSimulation) *terminateSimulation = fmi3False;
    if (earlyReturn) *earlyReturn = fmi3False;
    if (communicationStepSize < 0.0) {
        log_msg(in, fmi3Error, "fmi3DoStep: negative communication step size %g s", communicationStepSize);
        return fmi3Error;
    }
    in->s.time = currentCommunicationPoint;
    if (core_do_step(&in->s, currentCommunicationPoint + communicationStepSize, msg, sizeof msg)) {
        log_msg(in, fmi3Error, "fmi3DoStep: %s", msg);
        if (lastSuccessfulTime) *lastSuccessfulTime = currentCommunicationPoint;
        in->s.mode = MODE_ERROR;
        return fmi3Error;
    }
    if (lastSuccessfulTime) *lastSuccessfulTime = in->s.time;
    return fmi3OK;
}

fmi3Status fmi3ActivateModelPartition(fmi3Instance c, fmi3ValueReference clockReference, fmi3Float64 activationTime) {
    INST(c); (void)clockReference; (void)activationTime;
    UNSUPPORTED("fmi3ActivateModelPartition");
}
