"""ADaM stage: derivation library (derive_*/compute_*) and the engine that runs ADaM specs."""
