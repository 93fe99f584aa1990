"""Session summaries: a condensed record of each captured session in the team memory
(``/summaries/<user>/<session id>.md``), made by the ``summarize`` job. docs/summaries.md."""
