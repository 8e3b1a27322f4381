"""Engines run a plan: in memory (`memory`) or batch by batch on a process pool (`local`)."""
