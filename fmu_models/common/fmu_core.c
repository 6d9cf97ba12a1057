/*
 * fmu_core.c -- variable store, initialisation, serialisation and the
 * co-simulation integrator shared by the shipped models.
 *
 * Co-simulation integrator: the explicit embedded Runge-Kutta pair of
 * Dormand & Prince, RK5(4)7M (J. Comput. Appl. Math. 6 (1980) 19-26), with
 * FSAL, local extrapolation and the standard step-size controller of
 * Hairer, Norsett & Wanner, "Solving Ordinary Differential Equations I",
 * 2nd ed., Springer 1993, sec. II.4 (err <= 1 in the RMS norm with scale
 * atol_i + rtol * max(|y0_i|, |y1_i|), atol_i = rtol * nominal_i). The last
 * accepted internal step size is kept across communication steps. State
 * events (NZ > 0) are located by bisection on the cubic Hermite interpolant
 * of the accepted step (Hairer et al. II.6) and handled by model_event_update.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "fmu_core.h"

#define SER_MAGIC 0x54574d46u /* "TWMF" */
#define MAX_STEPS_PER_CALL 5000000UL

void core_reset(ModelState *s) {
    memset(s, 0, sizeof(*s));
    memcpy(s->v, START_VALUES, sizeof(s->v));
    s->mode = MODE_INSTANTIATED;
    s->dirty = 1;
}

void core_get_states(const ModelState *s, double *x) {
    for (int i = 0; i < NX; i++) x[i] = s->v[STATE_VR[i]];
}

void core_set_states(ModelState *s, const double *x) {
    for (int i = 0; i < NX; i++) s->v[STATE_VR[i]] = x[i];
    s->dirty = 1;
}

void core_update(ModelState *s) {
    if (s->mode == MODE_INSTANTIATED || s->mode == MODE_INITIALIZATION) {
        /* states (initial="calculated") follow the parameters until initialisation ends */
        model_initialize(s);
        s->dirty = 1;
    }
    if (!s->dirty) return;
    double x[NX], dx[NX];
    core_get_states(s, x);
    model_derivatives(s, s->time, x, dx);
    s->n_rhs++;
    for (int i = 0; i < NX; i++) s->v[DER_VR[i]] = dx[i];
    s->v[0] = s->time;
#if NZ > 0
    {
        double z[NZ];
        model_event_indicators(s, x, z);
        for (int j = 0; j < NZ; j++) s->v[Z_VR[j]] = z[j];
    }
#endif
    model_outputs(s);
    s->dirty = 0;
}

void core_enter_initialization(ModelState *s) {
    s->mode = MODE_INITIALIZATION;
    s->dirty = 1;
}

void core_exit_initialization(ModelState *s) {
    model_initialize(s);
    s->dirty = 1;
    s->mode = s->is_cs ? MODE_CONTINUOUS : MODE_EVENT;
    core_update(s);
}

int core_check_vr(unsigned int vr, char *msg, size_t n) {
    if (vr >= NVR) {
        snprintf(msg, n, "value reference %u is out of range (model has 0..%d)", vr, NVR - 1);
        return 1;
    }
    return 0;
}

int core_check_set(const ModelState *s, unsigned int vr, char *msg, size_t n) {
    if (core_check_vr(vr, msg, n)) return 1;
    int kind = VAR_KIND[vr];
    int before_init_end = (s->mode == MODE_INSTANTIATED || s->mode == MODE_INITIALIZATION);
    switch (kind) {
    case KIND_INPUT:
    case KIND_PARAM_TUNABLE:
        return 0;
    case KIND_PARAM_FIXED:
        if (before_init_end) return 0;
        snprintf(msg, n, "variable %s (vr %u) is a fixed parameter and can only be set before "
                 "initialisation ends", VAR_NAME[vr], vr);
        return 1;
    default:
        snprintf(msg, n, "variable %s (vr %u) is calculated by the model and cannot be set",
                 VAR_NAME[vr], vr);
        return 1;
    }
}

void core_get_derivatives(ModelState *s, double *dx) {
    core_update(s);
    for (int i = 0; i < NX; i++) dx[i] = s->v[DER_VR[i]];
}

void core_get_event_indicators(ModelState *s, double *z) {
#if NZ > 0
    double x[NX];
    core_get_states(s, x);
    model_event_indicators(s, x, z);
#else
    (void)s; (void)z;
#endif
}

/* ------------------------------------------------------------------ DOPRI5 */
static const double c2 = 1.0 / 5, c3 = 3.0 / 10, c4 = 4.0 / 5, c5 = 8.0 / 9;
static const double a21 = 1.0 / 5;
static const double a31 = 3.0 / 40, a32 = 9.0 / 40;
static const double a41 = 44.0 / 45, a42 = -56.0 / 15, a43 = 32.0 / 9;
static const double a51 = 19372.0 / 6561, a52 = -25360.0 / 2187, a53 = 64448.0 / 6561,
                    a54 = -212.0 / 729;
static const double a61 = 9017.0 / 3168, a62 = -355.0 / 33, a63 = 46732.0 / 5247,
                    a64 = 49.0 / 176, a65 = -5103.0 / 18656;
static const double a71 = 35.0 / 384, a73 = 500.0 / 1113, a74 = 125.0 / 192,
                    a75 = -2187.0 / 6784, a76 = 11.0 / 84;
static const double e1 = 71.0 / 57600, e3 = -71.0 / 16695, e4 = 71.0 / 1920,
                    e5 = -17253.0 / 339200, e6 = 22.0 / 525, e7 = -1.0 / 40;

static double rtol_of(const ModelState *s) {
    double r = s->v[VR_cs_rtol];
    if (!(r > 0.0)) r = 1e-6;
    if (r < 1e-13) r = 1e-13;
    return r;
}

static double err_scale(double rtol, int i, double a, double b) {
    double m = fabs(a) > fabs(b) ? fabs(a) : fabs(b);
    return rtol * STATE_NOMINAL[i] + rtol * m;
}

static int all_finite(const double *x) {
    for (int i = 0; i < NX; i++) if (!isfinite(x[i])) return 0;
    return 1;
}

/* cubic Hermite interpolation on [t0, t0 + h] at theta in [0, 1] */
static void hermite(const double *y0, const double *f0, const double *y1, const double *f1,
                    double h, double th, double *y) {
    double h00 = (1 + 2 * th) * (1 - th) * (1 - th), h10 = th * (1 - th) * (1 - th);
    double h01 = th * th * (3 - 2 * th), h11 = th * th * (th - 1);
    for (int i = 0; i < NX; i++)
        y[i] = h00 * y0[i] + h10 * h * f0[i] + h01 * y1[i] + h11 * h * f1[i];
}

int core_do_step(ModelState *s, double t_end, char *msg, size_t n) {
    double x[NX], xn[NX], xt[NX], k1[NX], k2[NX], k3[NX], k4[NX], k5[NX], k6[NX], k7[NX];
    double t = s->time;
    const double rtol = rtol_of(s);
    if (t_end <= t) { s->dirty = 1; core_update(s); return 0; }
    core_get_states(s, x);
    model_derivatives(s, t, x, k1);
    s->n_rhs++;
    if (!all_finite(k1)) {
        snprintf(msg, n, "non-finite derivative at t=%.9g s", t);
        return 1;
    }
    double h = s->h;
    if (!(h > 0.0)) {
        /* initial step (Hairer et al. II.4, simplified): h = 0.01 ||y|| / ||f|| */
        double d0 = 0, d1 = 0;
        for (int i = 0; i < NX; i++) {
            double sc = err_scale(rtol, i, x[i], x[i]);
            d0 += (x[i] / sc) * (x[i] / sc);
            d1 += (k1[i] / sc) * (k1[i] / sc);
        }
        d0 = sqrt(d0 / NX); d1 = sqrt(d1 / NX);
        h = (d0 < 1e-5 || d1 < 1e-5) ? 1e-3 : 0.01 * d0 / d1;
        h = fmin(h, t_end - t);
    }
#if NZ > 0
    double z0[NZ], z1[NZ];
    model_event_indicators(s, x, z0);
#endif
    unsigned long count = 0;
    while (t < t_end) {
        if (++count > MAX_STEPS_PER_CALL) {
            snprintf(msg, n, "integrator exceeded %lu steps at t=%.9g s", MAX_STEPS_PER_CALL, t);
            return 1;
        }
        if (t_end - t <= 1e-13 * fmax(1.0, fabs(t_end))) break;
        int last = 0;
        double hh = h;
        if (t + hh >= t_end || t + 1.01 * hh >= t_end) { hh = t_end - t; last = 1; }
        if (hh < 1e-12 * fmax(1.0, fabs(t))) {
            snprintf(msg, n, "integrator step size underflow (h=%.3g s) at t=%.9g s", hh, t);
            return 1;
        }
        for (int i = 0; i < NX; i++) xt[i] = x[i] + hh * a21 * k1[i];
        model_derivatives(s, t + c2 * hh, xt, k2);
        for (int i = 0; i < NX; i++) xt[i] = x[i] + hh * (a31 * k1[i] + a32 * k2[i]);
        model_derivatives(s, t + c3 * hh, xt, k3);
        for (int i = 0; i < NX; i++) xt[i] = x[i] + hh * (a41 * k1[i] + a42 * k2[i] + a43 * k3[i]);
        model_derivatives(s, t + c4 * hh, xt, k4);
        for (int i = 0; i < NX; i++)
            xt[i] = x[i] + hh * (a51 * k1[i] + a52 * k2[i] + a53 * k3[i] + a54 * k4[i]);
        model_derivatives(s, t + c5 * hh, xt, k5);
        for (int i = 0; i < NX; i++)
            xt[i] = x[i] + hh * (a61 * k1[i] + a62 * k2[i] + a63 * k3[i] + a64 * k4[i] + a65 * k5[i]);
        model_derivatives(s, t + hh, xt, k6);
        for (int i = 0; i < NX; i++)
            xn[i] = x[i] + hh * (a71 * k1[i] + a73 * k3[i] + a74 * k4[i] + a75 * k5[i] + a76 * k6[i]);
        model_derivatives(s, t + hh, xn, k7);
        s->n_rhs += 6;
        double err = 0.0;
        int finite = all_finite(xn) && all_finite(k7);
        if (finite) {
            for (int i = 0; i < NX; i++) {
                double ei = hh * (e1 * k1[i] + e3 * k3[i] + e4 * k4[i] + e5 * k5[i] + e6 * k6[i] + e7 * k7[i]);
                double r = ei / err_scale(rtol, i, x[i], xn[i]);
                err += r * r;
            }
            err = sqrt(err / NX);
        }
        if (!finite || err > 1.0) {
            s->n_rejected++;
            double fac = finite ? fmax(0.2, 0.9 * pow(err, -0.2)) : 0.25;
            h = hh * fac;
            continue;
        }
        /* accepted */
        double fac = err > 0 ? 0.9 * pow(err, -0.2) : 5.0;
        fac = fmin(5.0, fmax(0.2, fac));
        double h_next = hh * fac;
#if NZ > 0
        model_event_indicators(s, xn, z1);
        int crossed = 0;
        for (int j = 0; j < NZ; j++) if ((z0[j] < 0.0) != (z1[j] < 0.0)) crossed = 1;
        if (crossed) {
            /* bisection on the Hermite interpolant for the first crossing */
            double lo = 0.0, hi = 1.0, zt[NZ];
            for (int it = 0; it < 60; it++) {
                double mid = 0.5 * (lo + hi);
                hermite(x, k1, xn, k7, hh, mid, xt);
                model_event_indicators(s, xt, zt);
                int c = 0;
                for (int j = 0; j < NZ; j++) if ((z0[j] < 0.0) != (zt[j] < 0.0)) c = 1;
                if (c) hi = mid; else lo = mid;
            }
            hermite(x, k1, xn, k7, hh, hi, xt);
            t = t + hi * hh;
            core_set_states(s, xt);
            s->time = t;
            s->n_steps++;
            model_event_update(s);
            core_get_states(s, x);
            model_derivatives(s, t, x, k1);
            s->n_rhs++;
            model_event_indicators(s, x, z0);
            h = fmax(hh * (1.0 - hi), 1e-6 * hh);
            continue;
        }
        memcpy(z0, z1, sizeof(z0));
#endif
        t = last ? t_end : t + hh;
        memcpy(x, xn, sizeof(x));
        memcpy(k1, k7, sizeof(k1));
        s->n_steps++;
        if (!last || h_next < h) h = h_next; /* do not let a short final step shrink h */
    }
    s->h = h;
    s->time = t_end;
    core_set_states(s, x);
    core_update(s);
    return 0;
}

/* ------------------------------------------------------------ serialisation */
typedef struct {
    unsigned int magic;
    unsigned int nvr;
    unsigned int size;
    unsigned int token_hash;
} SerHeader;

static unsigned int token_hash(void) {
    unsigned int hsh = 2166136261u; /* FNV-1a */
    for (const char *p = INSTANTIATION_TOKEN; *p; p++) { hsh ^= (unsigned char)*p; hsh *= 16777619u; }
    return hsh;
}

size_t core_serialized_size(void) { return sizeof(SerHeader) + sizeof(ModelState); }

void core_serialize(const ModelState *s, unsigned char *buf) {
    SerHeader hd = {SER_MAGIC, NVR, (unsigned int)sizeof(ModelState), token_hash()};
    memcpy(buf, &hd, sizeof(hd));
    memcpy(buf + sizeof(hd), s, sizeof(ModelState));
}

int core_deserialize(ModelState *s, const unsigned char *buf, size_t size, char *msg, size_t n) {
    SerHeader hd;
    if (size != core_serialized_size()) {
        snprintf(msg, n, "serialized FMU state has %zu bytes, expected %zu", size, core_serialized_size());
        return 1;
    }
    memcpy(&hd, buf, sizeof(hd));
    if (hd.magic != SER_MAGIC || hd.nvr != NVR || hd.size != sizeof(ModelState) || hd.token_hash != token_hash()) {
        snprintf(msg, n, "serialized FMU state was not written by this model (%s)", MODEL_NAME);
        return 1;
    }
    memcpy(s, buf + sizeof(hd), sizeof(ModelState));
    return 0;
}
