"""SDTM stage: imports the derivation modules so the registry knows every SDTM derivation."""

from tlfgen.sdtm import algorithms, dictionary, reference, timing, trial_summary  # noqa: F401
