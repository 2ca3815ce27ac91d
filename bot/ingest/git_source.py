"""Follow a site through its git repository: every post, in its source form.

`git+https://host/owner/repo.git` (or `git+file:///path`, `#branch` for a branch) is cloned
shallow into the data folder on first use, then fetched and moved to the remote head on
each run; only the post files changed since the last commit read are read. A force-push
or a lost clone reads every post again, which the store turns into no duplicate (posts are
keyed). The git command line is used (no Python binding is as well kept), always with a
timeout, no prompts, no hooks, no symlinks checked out and no redirects followed.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

from bot.ingest.sources import (
    DEFAULT_MAX_POST_BYTES,
    POST_SUFFIXES,
    RawPost,
    read_file,
)
from storage.records import Failure

GIT_TIMEOUT = 300.0
POSTS_FOLDER = "_posts"
_SAFE_CONFIG = tuple(
    arg
    for setting in (
        *("core.hooksPath=/dev/null", "core.symlinks=false", "core.fsmonitor=false"),
        *("http.followRedirects=false", "protocol.ext.allow=never", "submodule.recurse=false"),
    )
    for arg in ("-c", setting)
)


class GitError(OSError):
    """A git command failed or took too long; the message is git's own last line."""


@dataclass
class GitRead:
    posts: list[RawPost] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    commit: str | None = None
    full: bool = False
    """Every post was read (first run, force-push, lost clone or unknown last commit)."""
    files_read: int = 0
    deleted: int = 0
    files: list[tuple[str, Path]] = field(default_factory=list)
    """(origin, path) of each post file to read, in order."""
    max_bytes: int = DEFAULT_MAX_POST_BYTES

    def iter_files(self) -> Iterator[RawPost | Failure]:
        """Each post file, read when asked for (a whole repository need not fit in memory)."""
        for origin, path in self.files:
            item = read_file(path, max_bytes=self.max_bytes)
            yield (
                Failure(origin, item.error)
                if isinstance(item, Failure)
                else replace(item, origin=origin)
            )


def split_location(source: str) -> tuple[str, str | None]:
    """(repository URL for git, branch or None) of `git+URL[#branch]`."""
    url, _, branch = source.removeprefix("git+").partition("#")
    return url, branch or None


def clone_path(git_dir: Path, source: str) -> Path:
    """Where the clone of `source` lives: one folder per location, named by its hash."""
    return git_dir / hashlib.sha256(source.encode("utf-8")).hexdigest()[:24]


def read_git(
    source: str,
    git_dir: Path,
    last_commit: str | None,
    *,
    timeout: float = GIT_TIMEOUT,
    max_bytes: int = DEFAULT_MAX_POST_BYTES,
    eager: bool = True,
) -> GitRead:
    """The posts changed since `last_commit` (all of them when that cannot be told): read
    into `posts` and `failures`, or with `eager` false listed in `files` for `iter_files`.

    Blocking: the pipeline runs it in a thread.
    """
    url, branch = split_location(source)
    clone = clone_path(git_dir, source)
    runner = _Git(clone, timeout)
    result = GitRead(max_bytes=max_bytes)
    if not (clone / ".git").is_dir():
        clone.parent.mkdir(parents=True, exist_ok=True)
        if clone.exists():
            shutil.rmtree(clone, ignore_errors=True)
        runner.clone(url, branch)
        head = runner.out("rev-parse", "HEAD")
        changed: list[tuple[str, str]] | None = None
    else:
        ref = branch or runner.out("rev-parse", "--abbrev-ref", "HEAD")
        runner.run("fetch", "--no-tags", "--quiet", "origin", f"+{ref}:refs/remotes/origin/{ref}")
        head = runner.out("rev-parse", f"refs/remotes/origin/{ref}")
        runner.run("reset", "--hard", "--quiet", head)
        changed = _changes(runner, last_commit, head)
    result.commit = head
    if changed is None:
        result.full = True
        paths = [p for p in _tracked(runner) if _is_post_path(p, runner)]
    else:
        result.deleted = sum(1 for status, _ in changed if status == "D")
        paths = [p for status, p in changed if status != "D" and _is_post_path(p, runner)]
    for relative in paths:
        path = clone / relative
        if path.is_symlink() or not path.resolve().is_relative_to(clone.resolve()):
            continue
        result.files.append((f"{source}:{relative}", path))
    result.files_read = len(result.files)
    if eager:
        for item in result.iter_files():
            if isinstance(item, Failure):
                result.failures.append(item)
            else:
                result.posts.append(item)
    return result


def _changes(runner: _Git, last_commit: str | None, head: str) -> list[tuple[str, str]] | None:
    """(status, path) of the files that differ since `last_commit`; None when only a full
    read is safe: no last commit, the clone does not have it, or history was rewritten."""
    if not last_commit:
        return None
    if runner.status("cat-file", "-e", f"{last_commit}^{{commit}}") != 0:
        return None
    if last_commit == head:
        return []
    if runner.status("merge-base", "--is-ancestor", last_commit, head) != 0:
        return None  # a force-push: the old commit is not in the new history
    out = runner.out("diff", "--name-status", "--no-renames", "-z", last_commit, head)
    fields = [f for f in out.split("\0") if f]
    return [(fields[i][0], fields[i + 1]) for i in range(0, len(fields) - 1, 2)]


def _tracked(runner: _Git) -> list[str]:
    return sorted(f for f in runner.out("ls-files", "-z").split("\0") if f)


def _is_post_path(relative: str, runner: _Git) -> bool:
    """A post file; in a Jekyll repository (one with `_posts/`), only files under a `_posts`
    folder, which is all Jekyll publishes as posts."""
    parts = relative.split("/")
    if Path(relative).suffix.lower() not in POST_SUFFIXES:
        return False
    if any(part.startswith(".") for part in parts):
        return False
    if runner.jekyll:
        return POSTS_FOLDER in parts[:-1]
    return True


class _Git:
    def __init__(self, clone: Path, timeout: float) -> None:
        self.path, self.timeout = clone, timeout
        self._jekyll: bool | None = None
        self.env = {
            key: value
            for key, value in os.environ.items()
            if key in ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "SSL_CERT_FILE")
        } | {
            "GIT_TERMINAL_PROMPT": "0",
            "GIT_ASKPASS": "/bin/false",
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_OPTIONAL_LOCKS": "0",
        }

    @property
    def jekyll(self) -> bool:
        if self._jekyll is None:
            self._jekyll = (self.path / POSTS_FOLDER).is_dir()
        return self._jekyll

    def clone(self, url: str, branch: str | None) -> None:
        args = ["clone", "--quiet", "--depth", "1", "--no-tags", "--single-branch"]
        if branch:
            args += ["--branch", branch]
        self._checked([*args, "--", url, str(self.path)], cwd=self.path.parent)

    def run(self, *args: str) -> None:
        self._checked(list(args), cwd=self.path)

    def out(self, *args: str) -> str:
        return self._checked(list(args), cwd=self.path).strip("\n")

    def status(self, *args: str) -> int:
        return self._process(list(args), cwd=self.path).returncode

    def _checked(self, args: list[str], *, cwd: Path) -> str:
        done = self._process(args, cwd=cwd)
        if done.returncode != 0:
            last = (done.stderr.strip().splitlines() or ["failed"])[-1]
            raise GitError(f"git {args[0]}: {last[:200]}")
        return done.stdout

    def _process(self, args: list[str], *, cwd: Path) -> subprocess.CompletedProcess[str]:
        try:
            return subprocess.run(
                ["git", *_SAFE_CONFIG, *args],
                cwd=cwd,
                env=self.env,
                capture_output=True,
                text=True,
                timeout=self.timeout,
                stdin=subprocess.DEVNULL,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise GitError(f"git {args[0]}: not done within {self.timeout:g} s") from None
        except FileNotFoundError:
            raise GitError("git is not installed") from None
