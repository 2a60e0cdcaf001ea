"""Pure analysis functions: evidence frames in, small typed findings or fixed-column frames out (no I/O).

One module per question: ``onset`` (since when), ``suspects``, ``severity``, ``status``, ``capacity``,
``timeline``, ``fix``, ``canary``, ``recovery``, ``security``, ``alertrules``, ``regression``, ``postmortem``,
``db``; ``text`` escapes source text for markdown.  Import the module you need; nothing is imported here.
"""
