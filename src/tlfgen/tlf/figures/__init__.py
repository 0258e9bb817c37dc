"""TLF stage: figures (Kaplan-Meier, forest, waterfall, swimmer, CONSORT flow) drawn with matplotlib.

Each ``create_*_figure`` function takes ADaM DataFrames and a typed figure spec
(``spec.py``) and returns a matplotlib ``Figure`` together with the data it drew,
read back from the matplotlib artists (step coordinates, bar heights, at-risk
numbers, annotation strings), so tests check what is on the page.
``run.py`` loads ``specs/tlf/figures.yaml``, reads the ADaM datasets, saves
PNG (300 dpi) and SVG files with byte-stable metadata (``style.py``) and adds
figures to a python-docx document. Statistics come from ``tlfgen.stats``.
"""
