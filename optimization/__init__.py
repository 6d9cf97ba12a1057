"""Recipe optimisation: Optuna campaigns on the twin and model-based optimisation with Pyomo.

Campaigns (black box, on the reactor FMU or the line simulation)::

    from optimization import load_campaign
    result = load_campaign("scenarios/reactor_campaign.yaml").run(workers=2)
    result.best, result.pareto, result.importances, result.trials  # xarray over `trial`

Model-based (Pyomo.DAE + Ipopt on the same reactor equations)::

    from optimization import ReactorRecipe, optimize_reactor, simulate_recipe
    opt = optimize_reactor(ReactorRecipe(jacket_inlet=(340, 335), feed_rate=(1e-4, 0)),
                           impurity_max=0.05, b_total_max=6600)
    simulate_recipe(opt.recipe)          # replay the optimal recipe on the FMU

Line allocation MILP (HiGHS), checked in the line simulation::

    from optimization import optimize_line_allocation, verify_line_allocation
    sol = optimize_line_allocation(load_scenario(path), budget=14, cost={"weld": 3})
    verify_line_allocation(path, sol)    # predicted vs simulated throughput/utilisation

Campaign journals: a torn last record is cut off on resume (backup kept); a damaged record in
the middle raises ``JournalCorruptError``; ``salvage_journal`` copies the readable records into a
new journal; a full disk ends a run with ``StorageFullError`` (finished trials kept)::

    from optimization import salvage_journal
    print(salvage_journal("reactor-yield.journal", "reactor-yield.salvaged.journal"))

Run-to-run control between batches (EWMA / double-EWMA offset controller)::

    from optimization import R2RConfig, r2r_history
    cfg = R2RConfig(target=92.0, gains={"temp": 0.4}, lam=0.3, limits={"temp": (330, 360)})
    r2r_history(quality, recipes, cfg).recipe   # the next batch's recipe

Surrogate-based optimisation (LHS design → quadratic surfaces → Ipopt → twin)::

    from optimization import surrogate_optimum
    surrogate_optimum(load_campaign("scenarios/reactor_campaign.yaml"), samples=30)
"""

from optimization._campaign import Campaign, load_campaign, make_storage
from optimization._config import CampaignConfig
from optimization._crosscheck import campaign_optimum, correct_recipe, replay_correction
from optimization._dynamic import (
    DYNAMIC_STATES,
    ReactorOptimum,
    create_reactor_model,
    optimize_reactor,
    solve_reactor_model,
)
from optimization._envelope import EnvelopeBand
from optimization._line_milp import (
    LineAllocation,
    StationCapacity,
    create_line_allocation_model,
    line_capacity_data,
    optimize_line_allocation,
    solve_line_allocation,
    verify_line_allocation,
)
from optimization._r2r import (
    R2RConfig,
    R2RController,
    R2RStep,
    double_ewma_roots,
    ewma_drift_theory,
    r2r_history,
    r2r_stability,
)
from optimization._reactor import (
    REACTOR_METRICS,
    ReactorRecipe,
    recipe_metrics,
    simulate_recipe,
)
from optimization._reactor import (
    reactor_fmu_path as reactor_fmu_path,  # deprecated: fmu_models.shipped
)
from optimization._results import CampaignResult
from optimization._search_space import (
    ON_SPACE_CHANGE,
    in_search_space,
    search_space,
    search_space_hash,
    space_changes,
)
from optimization._solvers import highs_solver, ipopt_solver, solver_status
from optimization._storage import (
    JournalCorruptError,
    StorageFullError,
    check_journal,
    salvage_journal,
)
from optimization._surrogate import (
    ResponseSurface,
    SurrogateOptimum,
    fit_response_surface,
    latin_hypercube_doe,
    surrogate_optimum,
)

__all__ = [
    "Campaign",
    "ON_SPACE_CHANGE",
    "in_search_space",
    "search_space",
    "search_space_hash",
    "space_changes",
    "CampaignConfig",
    "CampaignResult",
    "load_campaign",
    "make_storage",
    "check_journal",
    "salvage_journal",
    "JournalCorruptError",
    "StorageFullError",
    "EnvelopeBand",
    "ReactorRecipe",
    "REACTOR_METRICS",
    "simulate_recipe",
    "recipe_metrics",
    "ReactorOptimum",
    "DYNAMIC_STATES",
    "create_reactor_model",
    "solve_reactor_model",
    "optimize_reactor",
    "campaign_optimum",
    "correct_recipe",
    "replay_correction",
    "R2RConfig",
    "R2RController",
    "R2RStep",
    "r2r_history",
    "r2r_stability",
    "ewma_drift_theory",
    "double_ewma_roots",
    "StationCapacity",
    "LineAllocation",
    "line_capacity_data",
    "create_line_allocation_model",
    "solve_line_allocation",
    "optimize_line_allocation",
    "verify_line_allocation",
    "ResponseSurface",
    "SurrogateOptimum",
    "latin_hypercube_doe",
    "fit_response_surface",
    "surrogate_optimum",
    "ipopt_solver",
    "highs_solver",
    "solver_status",
]
