"""The run directory: its file names, and the encode and decode of every record in it.

One owner for the run files: the scenarios layer writes the scenario, the topology's endpoints
and merchants, history, fault and final-state records built here (``encode_*``), and
``analyze``, the checkers and the tests read them back through the decoders here (``parse_*``,
``load_*``); the checker inputs load into one :class:`RunInputs`.
"""
