"""tlfgen: raw EDC exports -> SDTM -> ADaM -> tables, listings and figures, traceable end to end."""

__version__ = "0.1.0"
