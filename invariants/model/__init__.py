"""The run directory: its file names, and the encode and decode of every record in it.

One owner for the run files: the campaign writes history, fault and final-state records built
here (``encode_*``), and ``analyze`` and the checkers read them back through the decoders here
(``parse_*``, ``load_*``), into one :class:`RunInputs`.
"""
