"""SDTM stage: imports the derivation modules so the registry knows every SDTM derivation."""

from tlfgen.sdtm import algorithms, reference, timing  # noqa: F401
