"""simulation package."""



def __getattr__(name: str):
    # ``simulation.demo_tour``: the line what-if tour for ``make demo`` (imported on first use)
    if name == "demo_tour":
        from simulation.line import demo_tour

        return demo_tour
    raise AttributeError(f"module 'simulation' has no attribute {name!r}")
