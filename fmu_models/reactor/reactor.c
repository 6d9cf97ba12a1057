/*
 * reactor.c -- jacketed exothermic semi-batch reactor (equations: README.md).
 *
 *   A + B -> C   r1 = k1(T) cA cB
 *   C -> D       r2 = k2(T) cC
 *   k_i(T) = k_i,ref exp(-E_i / R (1/T - 1/T_ref))
 *
 * States: nA nB nC nD V T T_jacket I_err n_B_fed E_rxn E_exch E_cool.
 * All SI units. Optional PI controller manipulates the jacket inlet temperature.
 */
#include <math.h>
#include "fmu_core.h"

#define R_GAS 8.314462618 /* J/(mol K), CODATA 2018 */
#define P(name) (s->v[VR_##name])

typedef struct {
    double r1, r2, ua, f_feed, tj_in, d_int, q_rxn, q_exch, q_cool;
} Algebraics;

static void algebraics(const ModelState *s, const double *x, Algebraics *a) {
    const double V = x[IX_V], T = x[IX_T], Tj = x[IX_T_jacket];
    const double cA = x[IX_nA] / V, cB = x[IX_nB] / V, cC = x[IX_nC] / V;
    const double dT = 1.0 / T - 1.0 / P(T_ref);
    const double k1 = P(k1_ref) * exp(-P(E1) / R_GAS * dT);
    const double k2 = P(k2_ref) * exp(-P(E2) / R_GAS * dT);
    a->r1 = k1 * cA * cB;
    a->r2 = k2 * cC;
    const double area = M_PI * P(D_vessel) * P(D_vessel) / 4.0 + 4.0 * V / P(D_vessel);
    a->ua = area / (1.0 / P(U) + P(R_fouling));
    /* dosing totaliser: a latched discrete state set at the event n_B_fed = n_B_dose */
    double f = (P(dosing_done) == 0.0) ? P(F_B) : 0.0;
    a->f_feed = f > 0.0 ? f : 0.0;
    if (P(controller_enabled) != 0.0) {
        const double e = P(T_sp) - T;
        const double raw = P(T_sp) + P(Kc) * (e + x[IX_I_err] / P(tau_I));
        double u = raw;
        if (u > P(Tj_in_max)) u = P(Tj_in_max);
        if (u < P(Tj_in_min)) u = P(Tj_in_min);
        a->tj_in = u;
        /* back-calculation anti-windup (continuous right-hand side, no chattering) */
        a->d_int = e;
        if (P(Kc) > 0.0 && P(T_track) > 0.0)
            a->d_int += P(tau_I) * (u - raw) / (P(Kc) * P(T_track));
    } else {
        a->tj_in = P(T_cool_in);
        a->d_int = 0.0;
    }
    const double fc = P(F_cool) > 0.0 ? P(F_cool) : 0.0;
    a->q_rxn = (-P(dH1) * a->r1 - P(dH2) * a->r2) * V;
    a->q_exch = a->ua * (T - Tj);
    a->q_cool = fc * P(rho_cp_cool) * (Tj - a->tj_in);
}

void model_initialize(ModelState *s) {
    s->v[VR_nA] = P(cA0) * P(V0);
    s->v[VR_nB] = P(cB0) * P(V0);
    s->v[VR_nC] = 0.0;
    s->v[VR_nD] = 0.0;
    s->v[VR_V] = P(V0);
    s->v[VR_T] = P(T0);
    s->v[VR_T_jacket] = P(Tj0);
    s->v[VR_I_err] = 0.0;
    s->v[VR_n_B_fed] = 0.0;
    s->v[VR_E_rxn] = 0.0;
    s->v[VR_E_exch] = 0.0;
    s->v[VR_E_cool] = 0.0;
    s->v[VR_dosing_done] = P(n_B_dose) <= 0.0 ? 1.0 : 0.0;
}

void model_derivatives(const ModelState *s, double t, const double *x, double *dx) {
    (void)t;
    Algebraics a;
    algebraics(s, x, &a);
    const double V = x[IX_V], T = x[IX_T];
    dx[IX_nA] = -a.r1 * V;
    dx[IX_nB] = a.f_feed * P(cB_feed) - a.r1 * V;
    dx[IX_nC] = (a.r1 - a.r2) * V;
    dx[IX_nD] = a.r2 * V;
    dx[IX_V] = a.f_feed;
    dx[IX_T] = (a.f_feed * P(rho_cp) * (P(T_feed) - T) + a.q_rxn - a.q_exch) / (P(rho_cp) * V);
    dx[IX_T_jacket] = (a.q_exch - a.q_cool) / (P(rho_cp_cool) * P(V_jacket));
    dx[IX_I_err] = a.d_int;
    dx[IX_n_B_fed] = a.f_feed * P(cB_feed);
    dx[IX_E_rxn] = a.q_rxn;
    dx[IX_E_exch] = a.q_exch;
    dx[IX_E_cool] = a.q_cool;
}

void model_outputs(ModelState *s) {
    double x[NX];
    Algebraics a;
    core_get_states(s, x);
    algebraics(s, x, &a);
    const double V = x[IX_V];
    const double nA0 = P(cA0) * P(V0);
    s->v[VR_cA] = x[IX_nA] / V;
    s->v[VR_cB] = x[IX_nB] / V;
    s->v[VR_cC] = x[IX_nC] / V;
    s->v[VR_cD] = x[IX_nD] / V;
    s->v[VR_conversion_A] = nA0 > 0.0 ? 1.0 - x[IX_nA] / nA0 : 0.0;
    s->v[VR_yield_C] = nA0 > 0.0 ? x[IX_nC] / nA0 : 0.0;
    const double prod = x[IX_nC] + x[IX_nD];
    s->v[VR_impurity_D] = prod > 0.0 ? x[IX_nD] / prod : 0.0;
    s->v[VR_Q_rxn] = a.q_rxn;
    s->v[VR_Q_exch] = a.q_exch;
    s->v[VR_Q_cool] = a.q_cool;
    s->v[VR_T_jacket_in] = a.tj_in;
    s->v[VR_UA] = a.ua;
    s->v[VR_F_B_actual] = a.f_feed;
    s->v[VR_r1] = a.r1;
    s->v[VR_r2] = a.r2;
}

#define DOSE_TOL(s) (1e-9 * (P(n_B_dose) > 1.0 ? P(n_B_dose) : 1.0))

void model_event_indicators(const ModelState *s, const double *x, double *z) {
    z[0] = x[IX_n_B_fed] - P(n_B_dose);
}

int model_event_update(ModelState *s) {
    if (P(dosing_done) == 0.0 && s->v[VR_n_B_fed] >= P(n_B_dose) - DOSE_TOL(s)) {
        s->v[VR_dosing_done] = 1.0;
        return 1;
    }
    return 0;
}

int model_event_pending(const ModelState *s) {
    return P(dosing_done) == 0.0 && s->v[VR_n_B_fed] >= P(n_B_dose) - DOSE_TOL(s);
}
