"""ADaM stage: imports every derivation module so the registry sees its functions.

``tlfgen.registry.load_builtin_derivations`` imports this module.
"""

from __future__ import annotations

from tlfgen.adam import adae, adsl, common, dates, recist, recist_adrs, recist_bor, tte  # noqa: F401 - registers derivations
from tlfgen.adam import computed, datetimes, treatment_flags  # noqa: F401 - registers derivations
from tlfgen.adam import joined  # noqa: F401, E402 - registers derive_vars_joined
