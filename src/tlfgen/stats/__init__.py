"""Statistics: thin wrappers over statsmodels, scipy and lifelines with named methods."""
