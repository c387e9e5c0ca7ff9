"""Publication: the one floor where what leaves a trust's run is decided.

Everything a provider publishes passes through here (findings today; see
``docs/architecture`` in the README). Analysis below this floor uses every pathway; what is
published is suppressed here.
"""

from qi_equity.publication.findings import publish_findings, read_findings, write_findings

__all__ = ["publish_findings", "write_findings", "read_findings"]
