/*
 * dryer.c -- convective batch fluid-bed dryer (equations and sources: README.md).
 *
 * Quasi-steady gas phase, well-mixed bed with NTU transfer units for heat and
 * mass (Lewis relation), characteristic drying curve linear between the
 * critical and equilibrium moisture, saturation pressure from Antoine.
 * States: X T_p m_evap E_air_in E_air_out E_loss.
 */
#include <math.h>
#include "fmu_core.h"

#define P(name) (s->v[VR_##name])
#define T_ZERO 273.15 /* enthalpy reference: 0 degC, liquid water */
#define MW_RATIO 0.62198 /* M_water / M_dry_air = 18.015 / 28.965 */

/* Antoine equation for water, 1..100 degC (log10 p/mmHg = A - B / (C + t/degC)) */
static double p_sat(double T) {
    const double t = T - T_ZERO;
    return 133.322368 * pow(10.0, 8.07131 - 1730.63 / (233.426 + t));
}

static double humidity_sat(double T, double P_total) {
    double ps = p_sat(T);
    if (ps > 0.99 * P_total) ps = 0.99 * P_total; /* boiling: cap, see README */
    return MW_RATIO * ps / (P_total - ps);
}

typedef struct {
    double ys, f, y_out, t_out, m_dot, h_in, h_out, q_loss, q_sens;
} Algebraics;

static void algebraics(const ModelState *s, const double *x, Algebraics *a) {
    const double X = x[IX_X], Tp = x[IX_T_p];
    const double G = P(G_air) > 0.0 ? P(G_air) : 0.0;
    const double Tin = P(T_air_in), Yin = P(Y_in);
    const double eff = 1.0 - exp(-P(NTU));
    a->ys = humidity_sat(Tp, P(P_total));
    double f = (X - P(X_e)) / (P(X_c) - P(X_e));
    a->f = f > 1.0 ? 1.0 : (f < 0.0 ? 0.0 : f);
    a->y_out = Yin + a->f * eff * (a->ys - Yin);
    a->t_out = Tp + (Tin - Tp) * exp(-P(NTU));
    a->m_dot = G * (a->y_out - Yin);
    a->h_in = P(cp_a) * (Tin - T_ZERO) + Yin * (P(dHv0) + P(cp_v) * (Tin - T_ZERO));
    a->h_out = P(cp_a) * (a->t_out - T_ZERO) + a->y_out * (P(dHv0) + P(cp_v) * (a->t_out - T_ZERO));
    a->q_loss = P(UA_loss) * (Tp - P(T_amb));
    a->q_sens = G * (P(cp_a) + Yin * P(cp_v)) * (Tin - a->t_out);
}

void model_initialize(ModelState *s) {
    s->v[VR_X] = P(X0);
    s->v[VR_T_p] = P(T_p0);
    s->v[VR_m_evap] = 0.0;
    s->v[VR_E_air_in] = 0.0;
    s->v[VR_E_air_out] = 0.0;
    s->v[VR_E_loss] = 0.0;
}

void model_derivatives(const ModelState *s, double t, const double *x, double *dx) {
    (void)t;
    Algebraics a;
    algebraics(s, x, &a);
    const double G = P(G_air) > 0.0 ? P(G_air) : 0.0;
    const double X = x[IX_X], Tp = x[IX_T_p];
    const double heat_cap = P(m_dry) * (P(cp_s) + X * P(cp_w));
    dx[IX_X] = -a.m_dot / P(m_dry);
    dx[IX_T_p] = (G * (a.h_in - a.h_out) - a.q_loss + a.m_dot * P(cp_w) * (Tp - T_ZERO)) / heat_cap;
    dx[IX_m_evap] = a.m_dot;
    dx[IX_E_air_in] = G * a.h_in;
    dx[IX_E_air_out] = G * a.h_out;
    dx[IX_E_loss] = a.q_loss;
}

void model_outputs(ModelState *s) {
    double x[NX];
    Algebraics a;
    core_get_states(s, x);
    algebraics(s, x, &a);
    const double X = x[IX_X], Tp = x[IX_T_p];
    s->v[VR_moisture_wb] = X / (1.0 + X);
    s->v[VR_T_air_out] = a.t_out;
    s->v[VR_Y_out] = a.y_out;
    const double pv = a.y_out * P(P_total) / (MW_RATIO + a.y_out);
    s->v[VR_RH_out] = pv / p_sat(a.t_out);
    s->v[VR_Y_sat_p] = a.ys;
    s->v[VR_drying_rate] = a.m_dot;
    s->v[VR_f_falling] = a.f;
    s->v[VR_Q_sensible] = a.q_sens;
    s->v[VR_H_product] = P(m_dry) * (P(cp_s) + X * P(cp_w)) * (Tp - T_ZERO);
}

void model_event_indicators(const ModelState *s, const double *x, double *z) { (void)s; (void)x; (void)z; }
int model_event_update(ModelState *s) { (void)s; return 0; }
int model_event_pending(const ModelState *s) { (void)s; return 0; }
