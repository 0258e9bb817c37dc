"""Shared fixtures of the SDTM tests: a small study folder with the project's specs and raw forms.

``make_study(tmp_path, edits)`` writes the embedded specs and a three-subject raw export that
follows docs/contracts.md section 2; ``edits`` replace whole files (name -> CSV text) so each
test can break one thing.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tlfgen.spec.study import load_study

ROOT = Path(__file__).resolve().parents[2]
DOMAINS_ALL = ["AE", "CM", "DM", "DS", "EX", "MH", "PR", "QS", "RS", "SC", "SV", "TA", "TE", "TR", "TS", "TU"]
LEAD = "STUDYID,SITEID,SUBJID,FOLDER,RECPOS"
S = "NCT04471480,01"

RAW = {
    "dm.csv": f"""{LEAD},BRTHDAT,SEX,RACE,ETHNIC,SMOKING,ALCOHOL
{S},01001,SCRN,0,12 MAR 1960,Male,Asian,Not Hispanic or Latino,Former,never
{S},01002,SCRN,0,05 JUL 1955, female ,Asian,Not Hispanic or Latino,Never,Never
{S},01003,SCRN,0,20 JAN 1970,Male,ASIAN,Not Hispanic or Latino,Current,Current
""",
    "ic.csv": f"""{LEAD},ICDAT,ENRLDAT,ARMSEL,ELIGYN
{S},01001,SCRN,0,01 AUG 2020,03 AUG 2020,TCAC,Yes
{S},01002,SCRN,0,10 SEP 2020,12 SEP 2020,TCC,Yes
{S},01003,SCRN,0,15 OCT 2020,16 OCT 2020,TCAC,Yes
""",
    "dx.csv": f"""{LEAD},DXDAT,HISTOL,TUMLOC,STAGE,TSTAGE,NSTAGE,MSTAGE,PDL1CPS,DYSPHSC
{S},01001,SCRN,0,10 JUL 2020,Squamous cell carcinoma,Middle thoracic,IV,T3,N1,M1,12,2
{S},01002,SCRN,0,20 AUG 2020,squamous cell carcinoma,Lower thoracic,III,T3,N2,M0,NE,1
{S},01003,SCRN,0,01 OCT 2020,Squamous cell carcinoma,Upper thoracic,IV,T4,N1,M1,0.5,0
""",
    "ecog.csv": f"""{LEAD},ECOGDAT,ECOG
{S},01001,SCRN,0,04 AUG 2020,1
{S},01001,C1D1,0,05 AUG 2020,1
{S},01002,SCRN,0,13 SEP 2020,0
{S},01002,C1D1,0,14 SEP 2020,0
{S},01003,SCRN,0,17 OCT 2020,1
""",
    "mh.csv": f"""{LEAD},MHTERM,MHSTDAT,MHONGO
{S},01001,LOG,1,Hypertension,UN MAR 2015,Yes
{S},01002,LOG,1,Chronic gastritis,UN UNK 2010,No
""",
    "ex.csv": f"""{LEAD},EXCYCLE,EXTRT,EXSTDAT,EXENDAT,EXDOSE,EXDOSU,EXROUTE,EXADJ,EXADJRS
{S},01001,C1D1,1,1,Camrelizumab,05 AUG 2020,05 AUG 2020,200,mg,Intravenous,No,
{S},01001,C1D1,2,1,Anlotinib,05 AUG 2020,18 AUG 2020,8,mg,Oral,No,
{S},01001,C2D1,1,2,Camrelizumab,26 AUG 2020,26 AUG 2020,200,mg,Intravenous,No,
{S},01002,C1D1,1,1,Camrelizumab,14 SEP 2020,14 SEP 2020,200,mg,Intravenous,No,
{S},01002,C1D1,2,1,Paclitaxel,14 SEP 2020,14 SEP 2020,150,mg/m2,Intravenous,Yes,Adverse event
""",
    "tl.csv": f"""{LEAD},TLDAT,TLID,TLLOC,TLNODAL,TLMETH,TLDIAM
{S},01001,SCRN,1,01 AUG 2020,T01,Oesophagus,No,CT,40
{S},01001,SCRN,2,01 AUG 2020,T02,Liver,No,CT,22.5
{S},01001,TA01,1,20 SEP 2020,T01,Oesophagus,No,CT,20
{S},01001,TA01,2,20 SEP 2020,T02,liver ,No,CT,10
{S},01002,SCRN,1,12 SEP 2020,T01,Oesophagus,No,CT,35
""",
    "ntl.csv": f"""{LEAD},NTLDAT,NTLID,NTLLOC,NTLSTAT
{S},01001,SCRN,1,01 AUG 2020,NT01,Bone,Present
{S},01001,TA01,1,20 SEP 2020,NT01,Bone,Present
""",
    "nl.csv": f"""{LEAD},NLDAT,NLID,NLLOC
""",
    "rs.csv": f"""{LEAD},RSDAT,TRGRESP,NTRGRESP,NEWLES,OVRLRESP
{S},01001,TA01,0,20 SEP 2020,PR,NON-CR/NON-PD,No,PR
""",
    "ae.csv": f"""{LEAD},AETERM,AEPT,AESOC,AESTDAT,AEENDAT,AEONGO,AETOXGR,AESER,AESDTH,AESLIFE,AESHOSP,AESDISAB,AESCONG,AESMIE,AERELCAM,AERELANL,AERELTAX,AERELPLT,AEACN,AEOUT
{S},01001,LOG,1,rash,Rash,Skin and subcutaneous tissue disorders,10 AUG 2020,20 AUG 2020,No,2,No,,,,,,,Related,Not related,Not related,Not related,Dose not changed,Recovered/resolved
{S},01001,LOG,2,Nausea,Nausea,Gastrointestinal disorders,UN SEP 2020,,Yes,1,No,,,,,,,Not related,Not related,Not related,Not related,Dose not changed,Not recovered/not resolved
{S},01002,LOG,1,ALT increased,Alanine aminotransferase increased,Investigations,20 SEP 2020,30 SEP 2020,No,3,Yes,No,No,Yes,No,No,No,Not related,Not applicable,Related,Not related,Drug interrupted,Recovered/resolved
""",
    "pr.csv": f"""{LEAD},PRDAT,PRTRT,PRR0,PRPCR
{S},01003,LOG,1,20 JAN 2021,Radical oesophagectomy,Yes,No
""",
    "eot.csv": f"""{LEAD},EOTDAT,EOTREAS
{S},01002,EOT,0,01 DEC 2020,Progressive disease
""",
    "eos.csv": f"""{LEAD},EOSDAT,EOSREAS
{S},01002,LOG,0,01 MAR 2021,Death
""",
    "dth.csv": f"""{LEAD},DTHDAT,DTHCAUSE
{S},01002,LOG,0,01 MAR 2021,Disease progression
""",
    "cm.csv": f"""{LEAD},CMTRT,CMSTDAT,CMENDAT,CMLINE
{S},01002,LOG,1,Docetaxel,15 DEC 2020,,2
""",
    "fu.csv": f"""{LEAD},FUDAT,FUSTAT
{S},01002,FU01,0,29 DEC 2020,Alive
{S},01002,FU02,0,01 MAR 2021,Dead
""",
}


def make_study(root: Path, edits: dict[str, str | bytes] | None = None):
    """A study folder under ``root`` with the project's specs and the small raw export."""
    (root / "specs").mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "specs" / "study.yaml", root / "specs" / "study.yaml")
    for sub in ("sdtm", "ct", "dictionaries"):
        shutil.copytree(ROOT / "specs" / sub, root / "specs" / sub, dirs_exist_ok=True)
    raw = root / "raw"
    raw.mkdir(exist_ok=True)
    files = dict(RAW)
    files.update(edits or {})
    for name, text in files.items():
        if text is None:
            continue
        data = text if isinstance(text, bytes) else text.encode("utf-8")
        (raw / name).write_bytes(data)
    return load_study(root)
