"""The table of job kinds: the one place that names every kind the job runner can run.

``jobs`` knows no kind; each capability defines its own (``skillopt.job.kind()``,
``summaries.job.kind()``) and this table, built by the entry points, is passed down to the runner.
A new kind is one module of its capability and one line here."""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ..jobs.kinds import Kind


def kinds() -> dict[str, Kind]:
    """``{name: Kind}`` of every job kind (imported here, at the runner's start, not at a hook's)."""
    from ..skillopt.job import kind as skill_improve
    from ..skillopt.outcomes import kind as outcomes
    from ..skillopt.skillify import kind as skillify
    from ..summaries.job import kind as summarize

    return {k.name: k for k in (skill_improve(), summarize(), outcomes(), skillify())}
