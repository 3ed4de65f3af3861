"""Analysis over the store's facts: ties with spans, the network as of a date, and what
changed between two dates (``allegiance.analysis.ties``)."""
from allegiance.analysis.ties import (  # noqa: F401
    build_ties, changes, in_force, load, network_as_of, place_in_time, tie_id,
)
