"""Packages the table catalog into the wheel: the silver job resolves its tables against the
catalog it was deployed with (soundlake/conf/catalog.yaml, read by soundlake.catalog).

The file is the repository's soundlake.yaml, or SOUNDLAKE_CONFIG relative to the repository
root: the rule of soundlake.catalog.repository_catalog, which the deploy-time mutator
(resources/catalog_mutator.py) applies to the same file. Everything else is in pyproject.toml.
"""
import os
import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

REPOSITORY = Path(__file__).resolve().parent.parent


class build_py_with_catalog(build_py):
    def run(self):
        super().run()
        source = REPOSITORY / os.environ.get("SOUNDLAKE_CONFIG", "soundlake.yaml")
        if not source.is_file():
            raise SystemExit(f"soundlake wheel: the table catalog {source} is missing")
        target = Path(self.build_lib) / "soundlake" / "conf" / "catalog.yaml"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)


setup(cmdclass={"build_py": build_py_with_catalog})
