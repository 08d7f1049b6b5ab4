"""Realistic simulated mobile traffic, written through the real event store."""

from eventkit.demo.simulate import Simulation, SimulationConfig, SimUser, simulate

__all__ = ["SimUser", "Simulation", "SimulationConfig", "simulate"]
