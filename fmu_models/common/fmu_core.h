/*
 * fmu_core.h -- FMI-independent core shared by the shipped models.
 *
 * A model is a set of variables addressed by value reference (VR). Every value,
 * Real or Boolean, lives in one double array `v` indexed by VR; the generated
 * header model_vars.h (from <model>/model.toml) defines the VRs, start values,
 * state/derivative maps and the kind of every variable. The whole simulation
 * state is the plain struct ModelState, so an FMU state is a memcpy of it.
 *
 * A model implements the five model_* functions declared below. The FMI 2.0
 * (fmi2_api.c) and FMI 3.0 (fmi3_api.c) wrappers call the core_* functions.
 */
#ifndef FMU_CORE_H
#define FMU_CORE_H

#include <stddef.h>
#include "model_vars.h"

/* variable kinds (VAR_KIND[] in model_vars.h) */
#define KIND_TIME            0
#define KIND_PARAM_FIXED     1
#define KIND_PARAM_TUNABLE   2
#define KIND_INPUT           3
#define KIND_STATE           4
#define KIND_OUTPUT          5 /* algebraic output or local, calculated */
#define KIND_DERIVATIVE      6
#define KIND_DISCRETE        7 /* discrete output changed only at events */

/* variable types (VAR_TYPE[]) */
#define TYPE_REAL    0
#define TYPE_BOOLEAN 1

typedef enum {
    MODE_INSTANTIATED = 0,
    MODE_INITIALIZATION,
    MODE_EVENT,
    MODE_CONTINUOUS,     /* ME continuous-time mode, CS step mode */
    MODE_TERMINATED,
    MODE_ERROR
} CoreMode;

typedef struct {
    double v[NVR];          /* every variable by value reference */
    double time;
    double h;               /* last accepted internal step size of the CS integrator, 0 = unknown */
    double t_stop;
    int mode;               /* CoreMode */
    int dirty;              /* outputs and derivatives must be recomputed */
    int is_cs;              /* 1 = co-simulation instance */
    unsigned long n_steps;  /* accepted integrator steps since reset */
    unsigned long n_rejected;
    unsigned long n_rhs;
} ModelState;

/* ------------------------------------------------------------ model side */
/* States from parameters at initialisation (write v[STATE_VR[i]] and discrete outputs). */
void model_initialize(ModelState *s);
/* dx/dt at time t for state vector x, parameters and inputs from s->v. */
void model_derivatives(const ModelState *s, double t, const double *x, double *dx);
/* Algebraic outputs from the states in s->v (the core writes the derivatives). */
void model_outputs(ModelState *s);
/* Event indicators z[NZ] for state x (only called if NZ > 0). */
void model_event_indicators(const ModelState *s, const double *x, double *z);
/* Discrete update at an event; returns 1 if a discrete variable changed. */
int model_event_update(ModelState *s);
/* 1 if a state event is due but has not been handled (ME fallback after an integrator step). */
int model_event_pending(const ModelState *s);

/* ------------------------------------------------------------- core side */
typedef void (*core_logger)(void *env, int is_error, const char *message);

void core_reset(ModelState *s);
void core_enter_initialization(ModelState *s);
void core_exit_initialization(ModelState *s);
/* Make outputs and derivatives consistent with the current states (lazy). */
void core_update(ModelState *s);
/* 0 = ok, otherwise an error message is written to msg. */
int core_check_set(const ModelState *s, unsigned int vr, char *msg, size_t n);
int core_check_vr(unsigned int vr, char *msg, size_t n);
void core_get_states(const ModelState *s, double *x);
void core_set_states(ModelState *s, const double *x);
void core_get_derivatives(ModelState *s, double *dx);
void core_get_event_indicators(ModelState *s, double *z);
/* Integrate from s->time to t_end (co-simulation). 0 = ok, else message in msg. */
int core_do_step(ModelState *s, double t_end, char *msg, size_t n);

/* Serialisation: header + raw struct. */
size_t core_serialized_size(void);
void core_serialize(const ModelState *s, unsigned char *buf);
int core_deserialize(ModelState *s, const unsigned char *buf, size_t size, char *msg, size_t n);

#endif
