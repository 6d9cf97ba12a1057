/*
 * degradation.c -- pump bearing damage accumulation (equations and sources: README.md).
 *
 *   dD/dt = (1/L_ref) (P/P_ref)^p (n/n_ref) exp(Ea/R (1/T_ref - 1/T_b))
 *   T_b   = T_process + dT_ref (P/P_ref)(n/n_ref)(1 + c_heat D)
 *   v_rms = v0 + k_v D^m_v,   failed when D >= 1 (state event z = D - 1)
 *   (heating and vibration use min(D, 1): a failed bearing stays at its failed level)
 */
#include <math.h>
#include "fmu_core.h"

#define P(name) (s->v[VR_##name])
#define R_GAS 8.314462618
#define TWO_PI 6.283185307179586
#define FAIL_TOL 1e-9

static double bearing_temperature(const ModelState *s, double D) {
    const double load = P(load) > 0.0 ? P(load) : 0.0;
    const double n = P(speed) > 0.0 ? P(speed) : 0.0;
    const double Dc = D > 0.0 ? (D < 1.0 ? D : 1.0) : 0.0; /* held at the failed level beyond 1 */
    return P(T_process) + P(dT_ref) * (load / P(P_ref)) * (n / P(n_ref)) * (1.0 + P(c_heat) * Dc);
}

static double damage_rate(const ModelState *s, double D) {
    const double load = P(load) > 0.0 ? P(load) : 0.0;
    const double n = P(speed) > 0.0 ? P(speed) : 0.0;
    if (load <= 0.0 || n <= 0.0) return 0.0;
    const double Tb = bearing_temperature(s, D);
    return pow(load / P(P_ref), P(p_life)) * (n / P(n_ref))
         * exp(P(Ea) / R_GAS * (1.0 / P(T_ref) - 1.0 / Tb)) / P(L_ref);
}

void model_initialize(ModelState *s) {
    s->v[VR_D] = P(D0);
    s->v[VR_revolutions] = 0.0;
    s->v[VR_failed] = P(D0) >= 1.0 ? 1.0 : 0.0;
    s->v[VR_t_failure] = P(D0) >= 1.0 ? s->time : 0.0;
}

void model_derivatives(const ModelState *s, double t, const double *x, double *dx) {
    (void)t;
    const double n = P(speed) > 0.0 ? P(speed) : 0.0;
    dx[IX_D] = damage_rate(s, x[IX_D]);
    dx[IX_revolutions] = n / TWO_PI;
}

void model_outputs(ModelState *s) {
    const double D = s->v[VR_D];
    const double Dc = D > 0.0 ? (D < 1.0 ? D : 1.0) : 0.0; /* held at the failed level beyond 1 */
    const double rate = damage_rate(s, D);
    s->v[VR_T_bearing] = bearing_temperature(s, D);
    s->v[VR_vibration_rms] = P(v0) + P(k_v) * pow(Dc, P(m_v));
    s->v[VR_damage_rate] = rate;
    s->v[VR_acceleration_factor] = rate * P(L_ref);
    if (D >= 1.0) s->v[VR_RUL] = 0.0;
    else if (rate > 0.0) s->v[VR_RUL] = (1.0 - D) / rate;
    else s->v[VR_RUL] = 1e300; /* idle machine: no damage accumulates */
}

void model_event_indicators(const ModelState *s, const double *x, double *z) {
    (void)s;
    z[0] = x[IX_D] - 1.0;
}

int model_event_update(ModelState *s) {
    if (s->v[VR_failed] == 0.0 && s->v[VR_D] >= 1.0 - FAIL_TOL) {
        s->v[VR_failed] = 1.0;
        s->v[VR_t_failure] = s->time;
        return 1;
    }
    return 0;
}

int model_event_pending(const ModelState *s) {
    return s->v[VR_failed] == 0.0 && s->v[VR_D] >= 1.0 - FAIL_TOL;
}
