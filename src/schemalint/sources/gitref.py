"""What git knows about the run's files at a ref (``--since REF``): which changed, which existed, what they
said then. One plumbing for ``--since``, SL013 out-of-order-migration and SL014 applied-migration-edited;
only the ``git`` command, no library."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from schemalint.sources.files import AtRef, MigrationKey, SourceError, SourceFile, migration_key


class Repository:
    """``git`` run in the working tree; every failure is one SourceError line."""

    def __init__(self, ref: str, cwd: Path) -> None:
        self.ref = ref
        self.cwd = cwd
        try:
            self.top = Path(self.git("rev-parse", "--show-toplevel").strip())
        except SourceError as exc:
            if "not a git repository" not in str(exc):
                raise
            raise SourceError(f"--since {ref}: {cwd} is not inside a git repository") from None
        try:
            self.git("rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
        except SourceError:
            shallow = self.git("rev-parse", "--is-shallow-repository").strip() == "true"
            hint = ""
            if shallow or os.environ.get("CI"):
                hint = ("; this is a shallow clone" if shallow else "; in CI the clone may be shallow") + \
                    (": fetch the whole history (actions/checkout: `fetch-depth: 0`) or at least the base branch "
                     f"(`git fetch origin {ref.removeprefix('origin/')}`)")
            raise SourceError(f"--since {ref}: no commit {ref!r} in this repository{hint}") from None

    def git(self, *args: str, text: bool = True) -> str:
        try:
            result = subprocess.run(["git", *args], cwd=self.cwd, capture_output=True, check=False)
        except FileNotFoundError:
            raise SourceError("--since needs git, which is not installed") from None
        if result.returncode != 0:
            message = result.stderr.decode("utf-8", "replace").strip().splitlines()
            raise SourceError(f"--since {self.ref}: git {args[0]} failed: {message[-1] if message else 'error'}")
        return result.stdout.decode("utf-8", "surrogateescape")

    def changed(self) -> set[Path]:
        """Files added, copied, modified or renamed since the ref, plus untracked ones (resolved paths)."""
        names = self.git("diff", "--name-only", "--diff-filter=ACMR", "-z", self.ref, "--").split("\0")
        names += self.git("ls-files", "--others", "--exclude-standard", "--full-name", "-z").split("\0")
        return {(self.top / n).resolve() for n in names if n}

    def renames(self) -> dict[str, str]:
        """new path → old path (repository-relative) for files renamed since the ref."""
        fields = self.git("diff", "--name-status", "-M", "--diff-filter=R", "-z", self.ref, "--").split("\0")
        out: dict[str, str] = {}
        i = 0
        while i + 2 < len(fields):
            if fields[i].startswith("R"):
                out[fields[i + 2]] = fields[i + 1]
                i += 3
            else:
                i += 1
        return out

    def files_at_ref(self) -> set[str]:
        return {n for n in self.git("ls-tree", "-r", "--name-only", "-z", self.ref).split("\0") if n}

    def text_at_ref(self, relative: str) -> str | None:
        try:
            return self.git("show", f"{self.ref}:{relative}")
        except SourceError:
            return None

    def relative(self, path: Path) -> str | None:
        try:
            return path.resolve().relative_to(self.top).as_posix()
        except ValueError:
            return None


def _is_versioned_forward(f: SourceFile) -> bool:
    """A forward migration a runner applies once (not a rollback, a baseline or a Flyway repeatable R__ file,
    which runs again whenever it changes)."""
    return f.role == "up" and not f.baseline and f.path is not None and not f.path.name.startswith("R__")


def mark_since(files: list[SourceFile], ref: str, cwd: Path) -> None:
    """Mark which files are judged (changed since ``ref``), and give each forward file its facts at ``ref``
    for SL013/SL014. ``files`` are in migration order."""
    repo = Repository(ref, cwd)
    changed = repo.changed()
    at_ref = repo.files_at_ref()
    renames = repo.renames()
    existing: list[tuple[MigrationKey, str]] = []  # forward files of the run that existed at the ref
    relative: dict[int, str | None] = {}
    for index, f in enumerate(files):
        f.judged = f.path is None or f.path.resolve() in changed
        rel = repo.relative(f.path) if f.path is not None else None
        relative[index] = rel
        if rel is not None and rel in at_ref and _is_versioned_forward(f):
            existing.append((migration_key(rel), f.display))
    for index, f in enumerate(files):
        rel = relative[index]
        if rel is None or not _is_versioned_forward(f):
            continue
        if rel in at_ref:
            old = repo.text_at_ref(rel) if f.judged else None
            f.at_ref = AtRef(ref, True, old_text=old)
            continue
        key = migration_key(rel)
        later = [(k, display) for k, display in existing if k > key]
        precedes = max(later)[1] if later else None
        renamed_from = renames.get(rel)
        old_text = repo.text_at_ref(renamed_from) if renamed_from is not None else None
        f.at_ref = AtRef(ref, False, old_text=old_text, renamed_from=renamed_from, precedes=precedes)
