"""fmu_models package."""
