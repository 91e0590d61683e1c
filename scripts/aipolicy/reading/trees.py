"""Reading the package as it was at a Git ref, or inside a release zip."""
from __future__ import annotations

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


def checkout(root: Path, ref: str) -> Path:
    """The tree of `ref` (a Git ref, or a release zip) in a temporary folder."""
    target = Path(tempfile.mkdtemp(prefix="aipolicy-"))
    path = Path(ref)
    if path.suffix == ".zip" and path.is_file():
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
            raise PackageError(f"{ref}: not a readable zip file ({exc})") from None
        return target
    git(root, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
    top = Path(git(root, "rev-parse", "--show-toplevel").strip())
    prefix = git(root, "rev-parse", "--show-prefix").strip()
    archive = subprocess.run(["git", "-C", str(top), "archive", "--format=tar", ref, *([prefix] if prefix else [])], capture_output=True, timeout=300)
    if archive.returncode != 0:
        raise PackageError(f"git archive {ref}: {archive.stderr.decode(errors='replace').strip()}")
    with tarfile.open(fileobj=__import__("io").BytesIO(archive.stdout)) as tar:
        tar.extractall(target, filter="data")
    return target / prefix if prefix else target
