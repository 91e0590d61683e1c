"""A wheel carries the release registry inside the package, for the loader.

The registry (`releases.json`) is data about the dataset's releases and lives at the root of
the repository, beside the data. A clone (an editable install) reads it there; a built wheel
has no repository around it, so the build copies it into `aipolicy/`.
"""
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py


class BuildWithRegistry(build_py):
    def run(self):
        super().run()
        if not self.editable_mode:
            target = Path(self.build_lib) / "aipolicy" / "releases.json"
            target.write_bytes(Path(__file__).with_name("releases.json").read_bytes())


setup(cmdclass={"build_py": BuildWithRegistry})
