"""Discrete-event line simulation (:mod:`simulation.line`) and reliability life simulation
(:mod:`simulation.life`), both on SimPy and NumPy."""
