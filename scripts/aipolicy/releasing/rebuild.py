"""`aipolicy rebuild X.Y.Z`: a registered release, rebuilt offline from its release commit with
that commit's own tooling, verified against the registry, and put where the loaders look.

The commit's tree is exported to a scratch folder and its own `aipolicy build` runs there
(with this interpreter and its installed libraries; the commit's `requirements.lock` names
the exact ones). Every artifact's sha256 must match the registry, or nothing is placed.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

from ..reading.trees import tree_at_commit
from ..versioning.registry import VersionError, commit_of, find, registry


def python_cache() -> Path:
    """The folder `aipolicy.load(version=)` downloads to and reads from."""
    import pooch

    return Path(pooch.os_cache("aipolicy"))


def r_cache() -> Path:
    """The folder `read_aipolicy(version)` uses by default: R's `tools::R_user_dir("aipolicy", "cache")`."""
    if os.environ.get("R_USER_CACHE_DIR"):
        return Path(os.environ["R_USER_CACHE_DIR"]) / "R" / "aipolicy"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches" / "org.R-project.R" / "R" / "aipolicy"
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "R" / "aipolicy"


def rebuild(root: Path, version: str, cache: str | Path | None = None, out: str | Path | None = None) -> dict:
    """Rebuild and verify `version`; put its zip in the loaders' caches (or `cache`), and every
    verified artifact in `out` when given."""
    release = find(registry(root), version)
    commit = commit_of(root, release)
    tree = tree_at_commit(root, commit)
    try:
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tree / "scripts"), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)}
        run = subprocess.run([sys.executable, "-m", "aipolicy", "build", str(tree)], cwd=tree, env=env, capture_output=True, text=True, timeout=1800)
        if run.returncode != 0:
            tail = " ".join((run.stderr or run.stdout).strip().splitlines()[-3:])
            raise VersionError(f"the build of {release.version} with the tooling of its commit {commit[:12]} failed ({tail}); "
                               f"build it in an environment made from that commit's requirements.lock")
        dist = tree / "dist"
        expected = release.artifacts or ()
        if not expected:  # a registry entry that records only the zip
            from ..versioning.registry import Artifact

            expected = (Artifact(release.zip, -1, release.sha256),)
        verified = []
        for artifact in expected:
            path = dist / artifact.name
            if not path.is_file():
                raise VersionError(f"the rebuild of {release.version} did not produce {artifact.name}, which the registry lists")
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            if digest != artifact.sha256:
                raise VersionError(f"the rebuilt {artifact.name} has sha256 {digest}, but the registry says {artifact.sha256}; "
                                   f"nothing was placed (build it in an environment made from the commit's requirements.lock)")
            verified.append(f"{artifact.name} {digest}")
        targets = [Path(cache)] if cache else [python_cache(), r_cache()]
        placed = []
        for target in targets:
            target.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(dist / release.zip, target / release.zip)
            placed.append(str(target / release.zip))
        if out:
            Path(out).mkdir(parents=True, exist_ok=True)
            for artifact in expected:
                shutil.copyfile(dist / artifact.name, Path(out) / artifact.name)
                placed.append(str(Path(out) / artifact.name))
        return {"version": release.version, "commit": commit, "verified": verified, "placed": placed}
    finally:
        shutil.rmtree(tree, ignore_errors=True)
