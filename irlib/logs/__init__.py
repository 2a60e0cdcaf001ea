"""Log analytics: read common log formats into records, then find error classes, stack-trace groups and templates.

- ``irlib.logs.readers``: bytes to lines (files, gzip, stdin, chunks; encodings, CRLF, ANSI).
- ``irlib.logs.formats`` / ``records``: format detection and parsing into the records frame (``RECORDS_SCHEMA``).
- ``irlib.logs.timestamps``: every timestamp shape into one UTC column.
- ``irlib.logs.analysis``: the pure frames the notebooks use (``records_from_lines``, ``error_classes``,
  ``stack_signatures``, ``templates``, ``assign_templates``, ``template_counts``, ``new_since``, ``top_errors``).
- ``irlib.logs.stream``: whole-file analysis in bounded memory.

Importing this package does nothing but define names.
"""
