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
meta_rule("SL509", "query-slower", Severity.WARNING,
          "(verify --queries) A listed statement is slower after the migration beyond the threshold and the noise, "
          "or now fails.")
meta_rule("SL510", "write-overhead", Severity.WARNING,
          "(verify --rows) Inserting 1,000 rows into a table the migration gave a new index, constraint, trigger or "
          "foreign key is slower beyond write-threshold.")
meta_rule("SL511", "unused-new-index", Severity.WARNING,
          "(verify --queries) An index the migration creates that no listed statement's plan uses afterwards.")
