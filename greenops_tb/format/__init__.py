"""The on-disk contract: the record schema, its CSV, JSON and TensorBoard encodings, the hash chain.

``fields`` is the field table every encoder and decoder follows; ``schema`` the record; ``text`` its JSON;
``columns`` and ``rows`` its CSV (layout, rows read back; cells written); ``tags`` and ``summary`` its
TensorBoard layout and summaries (written and parsed); ``hashchain`` the CSV's chain.
"""
