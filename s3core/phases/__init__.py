"""The four phases of a simulation step, as functions over the ``Simulation`` that owns the state."""
