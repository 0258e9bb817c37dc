"""TLF stage: table model, Jinja text, DOCX/XLSX writers, tables, listings and figures."""
