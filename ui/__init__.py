"""Shared dashboard code: per-session state, figure builders, network rendering and page widgets."""
