"""tlfgen.lineage.trace_define: define.xml methods of the embedded study traced to their spec rules and derivations.

Expected lines are found by reading the files themselves (define.xml as written, the spec YAML, the
derivation's Python source), so the test checks that each file:line points at what it claims.
"""

from __future__ import annotations

import json

import pytest

from tlfgen.errors import UsageError
from tlfgen.lineage.trace_define import method_ids, trace_define


def _line_of(study, ref: str) -> str:
    file, line = ref.rsplit(":", 1)
    return (study.root / file).read_text(encoding="utf-8").splitlines()[int(line) - 1]


def _source_line(ref: str) -> str:
    import tlfgen

    file, line = ref.rsplit(":", 1)
    root = __import__("pathlib").Path(tlfgen.__file__).parent.parent
    return (root / file).read_text(encoding="utf-8").splitlines()[int(line) - 1]


# 1. ADSL.AGEGR1: MethodDef -> the variable's spec line -> the derive_var_cat step and its function
def test_agegr1_method_reaches_its_step_and_function(trace_ctx):
    study = trace_ctx.study
    result = trace_define(trace_ctx, "ADSL.AGEGR1")
    method = result["method"]
    assert (method["oid"], result["item"], result["variable"]) == ("MT.ADSL.AGEGR1", "IT.ADSL.AGEGR1", "adam.ADSL.AGEGR1")
    assert '<MethodDef OID="MT.ADSL.AGEGR1"' in _line_of(study, method["line"])
    assert 'ItemRef ItemOID="IT.ADSL.AGEGR1"' in _line_of(study, result["item_line"])
    assert method["description"] == "'<65' if AGE < 65, '>=65' if AGE >= 65"  # the spec's method text
    assert _line_of(study, result["spec"]).strip().startswith("- {name: AGEGR1,")
    assert result["spec_text"] == _line_of(study, result["spec"])
    (rule,) = result["rules"]
    assert (rule["rule"], rule["from"]) == ("derive_var_cat (step agegr1)", ["adam.ADSL.AGE"])
    assert _line_of(study, rule["spec"]).strip() == "- id: agegr1"
    assert "derive: derive_var_cat" in rule["spec_text"] and "AGE >= 65" in rule["spec_text"]
    assert rule["function"] == "tlfgen.adam.common.derive_var_cat"
    assert _source_line(rule["source"]).startswith("def derive_var_cat(")


# 2. a value-level method: ADTTE.AVAL for PARAMCD PFS, by --param or by the value-level item's OID
def test_value_level_method_reaches_the_tte_step(trace_ctx):
    by_param = trace_define(trace_ctx, "ADTTE.AVAL", "pfs")
    by_oid = trace_define(trace_ctx, "MT.ADTTE.AVAL.PFS")
    assert by_param == by_oid
    assert (by_param["item"], by_param["variable"]) == ("IT.ADTTE.AVAL.PFS", "adam.ADTTE.AVAL[PFS]")
    steps = {r["rule"] for r in by_param["rules"]}
    assert steps == {"derive_param_tte (step pfs)"}
    assert _line_of(trace_ctx.study, by_param["rules"][0]["spec"]).strip() == "- id: pfs"


# 3. an SDTM method: DM.AGE from BRTHDTC and RFICDTC by compute_age
def test_sdtm_method_reaches_compute_age(trace_ctx):
    result = trace_define(trace_ctx, "MT.DM.AGE")
    assert result["define"] == "sdtm/define.xml" and result["method"]["oid"] == "MT.DM.AGE"
    (rule,) = result["rules"]
    assert rule["from"] == ["sdtm.DM.BRTHDTC", "sdtm.DM.RFICDTC"]
    assert _source_line(rule["source"]).startswith("def compute_age(")


# 4. a copied variable has no method: its origin says where it comes from; unknown names list the closest
def test_predecessor_has_no_method_and_unknown_names_the_closest(trace_ctx):
    result = trace_define(trace_ctx, "ADSL.AGE")
    assert result["method"] is None
    assert result["origin"]["type"] == "Predecessor" and "sdtm.DM.AGE" in result["origin"]["text"]
    with pytest.raises(UsageError, match="unknown variable") as err:
        trace_define(trace_ctx, "MT.ADSL.AGEGRX")
    assert (err.value.hint or "").startswith("closest: ADSL.AGEGR1")
    ids = method_ids(trace_ctx)
    assert "MT.ADSL.AGEGR1" in ids and "MT.DM.AGE" in ids and len(ids) == len(set(ids))


def test_cli_trace_define(lineage_study):
    from typer.testing import CliRunner

    from tlfgen.cli import app

    root = str(lineage_study[0].root)
    result = CliRunner().invoke(app, ["--study", root, "trace", "ADSL.AGEGR1", "--define", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["method"]["oid"] == "MT.ADSL.AGEGR1"
    text = CliRunner().invoke(app, ["--study", root, "trace", "MT.ADTTE.AVAL.PFS"])
    assert text.exit_code == 0 and "derive_param_tte (step pfs)" in text.output
