"""The package's files as they were at a Git ref, or inside a release zip; and `git` itself."""
from __future__ import annotations

import io
import subprocess
import tarfile
import tempfile
import zipfile
from pathlib import Path

from .package import PackageError


def git(root: Path, *args: str) -> str:
    try:
        result = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, timeout=120)
    except FileNotFoundError:
        raise PackageError("git is not installed") from None
    if result.returncode != 0:
        raise PackageError(f"git {' '.join(args)}: {result.stderr.strip() or 'failed'}")
    return result.stdout


def tree(root: Path, ref: str) -> Path:
    """The package as it is at `ref`, a Git ref or a release zip, in a temporary folder."""
    path = Path(ref)
    if path.suffix == ".zip" and path.is_file():
        return tree_of_zip(path)
    return tree_at_commit(root, ref)


def tree_of_zip(path: Path) -> Path:
    """The package inside a release zip (its one top folder), unpacked into a temporary folder."""
    target = Path(tempfile.mkdtemp(prefix="aipolicy-"))
    try:
        with zipfile.ZipFile(path) as archive:
            for member in archive.infolist():
                parts = Path(member.filename).parts[1:]
                if not parts or member.is_dir() or ".." in parts:
                    continue
                dest = target.joinpath(*parts)
                dest.parent.mkdir(parents=True, exist_ok=True)
                dest.write_bytes(archive.read(member))
    except zipfile.BadZipFile as exc:
        raise PackageError(f"{path}: not a readable zip file ({exc})") from None
    return target


def tree_at_commit(root: Path, ref: str) -> Path:
    """The files of the package at Git ref `ref` (`git archive`), in a temporary folder."""
    target = Path(tempfile.mkdtemp(prefix="aipolicy-"))
    git(root, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
    top = Path(git(root, "rev-parse", "--show-toplevel").strip())
    prefix = git(root, "rev-parse", "--show-prefix").strip()
    archive = subprocess.run(["git", "-C", str(top), "archive", "--format=tar", ref, *([prefix] if prefix else [])], capture_output=True, timeout=300)
    if archive.returncode != 0:
        raise PackageError(f"git archive {ref}: {archive.stderr.decode(errors='replace').strip()}")
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(target, filter="data")
    return target / prefix if prefix else target
