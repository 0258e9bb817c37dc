"""SDTM stage: imports the derivation modules so the registry knows every SDTM derivation."""

from tlfgen.sdtm import reference, timing  # noqa: F401
