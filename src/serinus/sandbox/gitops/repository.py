"""The Git repository the sandbox applies: made a repository, read at a commit, asked for news.

``serinus sandbox up --gitops DIR`` makes DIR a Git repository (``git init``, branch ``main``)
when it is not one yet, and follows the branch checked out there then, as Flux's
source-controller follows ``spec.ref.branch``: only what is committed on that branch counts,
never the working tree. :meth:`Repository.head` is the branch's commit now,
:meth:`Repository.export` writes a commit's files into a folder (``git archive``, so nothing of
the working tree leaks in), :meth:`Repository.subject` the first line of its message.

Everything runs the machine's ``git`` with ``safe.directory`` set to the repository, so a
repository owned by another user (a sandbox run as root on a user's checkout) is still read.
"""

from __future__ import annotations

import asyncio
import dataclasses
import io
import os
import pathlib
import shutil
import tarfile

from serinus.errors import SerinusError

GIT_TIMEOUT = 30.0
DEFAULT_BRANCH = "main"


class GitError(SerinusError):
    """git failed; the message says what it was asked and what it answered."""


@dataclasses.dataclass(frozen=True)
class Repository:
    path: pathlib.Path
    branch: str

    @classmethod
    async def prepare(cls, path: pathlib.Path) -> Repository:
        """The repository at ``path``, made one (on branch ``main``) when it is not yet.

        Raises:
            GitError: no git on PATH, or ``path`` is a file, or HEAD is detached.
        """
        if shutil.which("git") is None:
            raise GitError("git: not found on PATH; the GitOps mode of the sandbox needs git")
        path = await asyncio.to_thread(_folder, path)
        top = await _git(path, "rev-parse", "--show-toplevel", check=False)
        if top is None or await asyncio.to_thread(os.path.realpath, top) != str(path):
            await _git(path, "init", "--quiet", f"--initial-branch={DEFAULT_BRANCH}")
        branch = await _git(path, "symbolic-ref", "--quiet", "--short", "HEAD", check=False)
        if not branch:
            raise GitError(
                f"--gitops {path}: HEAD is detached; check out the branch the sandbox should "
                "follow (git switch main)"
            )
        return cls(path, branch)

    @property
    def url(self) -> str:
        return self.path.as_uri()

    async def head(self) -> str | None:
        """The commit the branch points at now (None before the first commit)."""
        return await _git(
            self.path,
            "rev-parse",
            "--verify",
            "--quiet",
            f"refs/heads/{self.branch}^{{commit}}",
            check=False,
        )

    async def subject(self, commit: str) -> str:
        """The first line of the commit's message."""
        return await _git(self.path, "log", "-1", "--format=%s", commit) or ""

    async def export(self, commit: str, into: pathlib.Path) -> None:
        """Write the files of ``commit`` into the folder ``into``."""
        archive = await _git_bytes(self.path, "archive", "--format=tar", commit) or b""
        await asyncio.to_thread(_unpack, archive, into)

    def revision(self, commit: str) -> str:
        """Flux's way of naming it: ``main@sha1:<commit>``."""
        return f"{self.branch}@sha1:{commit}"


def _folder(path: pathlib.Path) -> pathlib.Path:
    path = pathlib.Path(os.path.realpath(path))
    if path.exists() and not path.is_dir():
        raise GitError(f"--gitops {path}: expected a directory, found a file")
    path.mkdir(parents=True, exist_ok=True)
    return path


def _unpack(archive: bytes, into: pathlib.Path) -> None:
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")


async def _git(path: pathlib.Path, *args: str, check: bool = True) -> str | None:
    output = await _git_bytes(path, *args, check=check)
    return None if output is None else output.decode(errors="replace").strip()


async def _git_bytes(path: pathlib.Path, *args: str, check: bool = True) -> bytes | None:
    command = ["git", "-c", f"safe.directory={path}", "-C", str(path), *args]
    try:
        process = await asyncio.create_subprocess_exec(
            *command,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(process.communicate(), timeout=GIT_TIMEOUT)
    except (OSError, TimeoutError) as error:
        raise GitError(f"git {' '.join(args)} in {path} failed: {error}") from None
    if process.returncode != 0:
        if not check:
            return None
        why = err.decode(errors="replace").strip()[-300:]
        raise GitError(f"git {' '.join(args)} in {path} exited with {process.returncode}: {why}")
    return out
