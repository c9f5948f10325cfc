"""SL5xx: what ``schemalint verify`` observes on a real server (raised by verify, not by check)."""

from __future__ import annotations

from schemalint.findings import Severity
from schemalint.rules.base import meta_rule

meta_rule("SL501", "migration-fails", Severity.ERROR,
          "(verify) A statement fails when applied to a scratch database built from the earlier migrations.")
meta_rule("SL502", "observed-table-rewrite", Severity.ERROR,
          "(verify) The statement gave a pre-existing table or index a new relfilenode: it was rewritten.")
meta_rule("SL503", "observed-blocking-lock", Severity.ERROR,
          "(verify) The statement took a SHARE or stronger lock on a pre-existing relation with no lock_timeout.")
meta_rule("SL504", "observed-full-scan", Severity.WARNING,
          "(verify) The statement scanned a pre-existing table in full while holding a lock that blocks writes.")
meta_rule("SL505", "rollback-mismatch", Severity.ERROR,
          "(verify) The migration followed by its rollback leaves the schema different from before.")
meta_rule("SL506", "rollback-fails", Severity.ERROR,
          "(verify) The rollback fails when applied after the migration.")
meta_rule("SL507", "observed-blocked-queries", Severity.ERROR,
          "(verify --probe) Concurrent reads or writes on a pre-existing table waited longer than blocked-threshold.")
meta_rule("SL508", "duration-underestimated", Severity.WARNING,
          "(verify --rows) The file's measured time, scaled to production rows, exceeds its Estimated Duration.")
