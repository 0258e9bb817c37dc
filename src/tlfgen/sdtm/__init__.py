"""SDTM stage: the mapping engine from raw forms to SDTM domains by YAML specs."""
