"""What ``check`` claims about each statement, set beside what the server showed ``verify``: the lock on each
existing table (from the lock table every rule's message uses), and the rewrite or full scan the rules that
always claim one raised there. A claim the server contradicts is a schemalint bug, reported as an internal error
naming the rule; the JSON report lists every comparison, and the summary counts them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from schemalint.engine import Engine, InternalError, RunResult, prepare
from schemalint.model.locks import LockMode
from schemalint.run import RunRequest, enabled_codes, gather
from schemalint.verify import observe

# Rules whose finding always claims that the statement rewrites the table, or reads every row of it.
REWRITE_CLAIMS = frozenset(("SL110", "SL111", "SL112"))
SCAN_CLAIMS = frozenset(("SL105", "SL106", "SL108", "SL120"))


@dataclass(slots=True)
class Claim:
    locks: dict[str, LockMode] = field(default_factory=dict)  # "schema.table" → the lock the statement takes
    rewrite: list[str] = field(default_factory=list)  # the rules that say it rewrites
    scan: list[str] = field(default_factory=list)  # the rules that say it scans
    codes: list[str] = field(default_factory=list)  # every rule that spoke about it


def static_claims(request: RunRequest) -> dict[tuple[str, int], Claim]:
    """``check``'s claims for every judged statement of the run, by (file, line)."""
    settings = request.settings
    gathered = gather(RunRequest(request.paths, settings, request.stdin_filename, request.since, use_cache=False,
                                 history=request.history))
    engine = Engine(settings, enabled_codes(settings))
    engine.runner = gathered.runner.runner
    engine.locks_claimed = {}
    result = engine.run(prepare(f) for f in gathered.files)
    claims: dict[tuple[str, int], Claim] = {key: Claim(dict(locks)) for key, locks in engine.locks_claimed.items()}
    for finding in result.findings:
        claim = claims.setdefault((finding.file, finding.span.line), Claim())
        claim.codes.append(finding.code)
        if finding.code in REWRITE_CLAIMS:
            claim.rewrite.append(finding.code)
        if finding.code in SCAN_CLAIMS:
            claim.scan.append(finding.code)
    return claims


def compare(claims: dict[tuple[str, int], Claim], reports: list[Any], result: RunResult) -> list[dict[str, Any]]:
    """Each judged statement's claims against the observation: ``confirmed``, ``mismatch`` or ``not observed``
    (the statement ran outside a transaction verify could watch, or failed, or an earlier statement of its
    transaction already held the lock). Mismatches become internal errors; the summary gets a coverage line."""
    out: list[dict[str, Any]] = []
    for report in reports:
        for row in report.rows:
            claim = claims.get((report.file, row.line))
            if claim is None or not (claim.locks or claim.rewrite or claim.scan):
                continue
            seen: observe.Observation | None = row.observation
            claimed = {"locks": {t: m.label for t, m in claim.locks.items()}, "rewrite": bool(claim.rewrite),
                       "scan": bool(claim.scan)}
            if seen is None or not seen.observed or row.error is not None:
                out.append({"file": report.file, "line": row.line, "codes": claim.codes, "claimed": claimed,
                            "observed": None, "status": "not observed"})
                continue
            observed = {"locks": {t: seen.locks[t].label for t in claim.locks if t in seen.locks},
                        "rewrite": any(name in claim.locks for name in seen.rewritten),
                        "scan": any(name in claim.locks for name in seen.scanned)}
            problems = _differences(claim, seen)
            status = "mismatch" if problems else ("confirmed" if observed["locks"] or not claim.locks
                                                 else "not observed")
            out.append({"file": report.file, "line": row.line, "codes": claim.codes, "claimed": claimed,
                        "observed": observed, "status": status})
            for rule, problem in problems:
                result.internal_errors.append(InternalError(report.file, row.line, 1, rule, problem))
    counts = {status: sum(1 for c in out if c["status"] == status) for status in ("confirmed", "mismatch",
                                                                              "not observed")}
    result.notes.append(f"claims: {len(out)} statement{'s' if len(out) != 1 else ''}: {counts['confirmed']} confirmed, "
                        f"{counts['mismatch']} mismatch{'es' if counts['mismatch'] != 1 else ''}, "
                        f"{counts['not observed']} not observed")
    return out


def _differences(claim: Claim, seen: observe.Observation) -> list[tuple[str, str]]:
    """(rule, what the server showed instead) for each claim it contradicts. A lock is compared only where the
    server showed one on that table (a lock an earlier statement of the transaction holds shows no new one)."""
    problems: list[tuple[str, str]] = []
    for table, mode in claim.locks.items():
        shown = seen.locks.get(table)
        if shown is not None and shown != mode:
            rules = ", ".join(dict.fromkeys(claim.codes)) or "the lock table"
            problems.append((rules, f"the lock table says {mode.label} on {table}; PostgreSQL took {shown.label}"))
    rewritten = any(name in claim.locks for name in seen.rewritten)
    for rule in claim.rewrite:
        if not rewritten:
            problems.append((rule, "claims a table rewrite; PostgreSQL gave the table no new relfilenode"))
    scanned = any(name in claim.locks for name in seen.scanned)
    for rule in claim.scan:
        if not scanned:
            problems.append((rule, "claims a full scan; PostgreSQL counted no sequential scan of the table"))
    return problems
