"""Load the atlas into pandas, typed from the schemas: the working tree or any released version.

Only pandas, pyarrow and Polars (the reader) are needed here, and pooch for downloads:
importing `aipolicy` to load data never imports frictionless or pandera.
"""
from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path

import pandas as pd

from ..reading import fieldtypes
from ..reading.package import Package, PackageError, read_package
from ..reading.schema import Field
from ..versioning.registry import shipped_registry

REGISTRY = shipped_registry()


def typed_frame(table) -> pd.DataFrame:
    """The table with every column typed from its schema; a value that does not fit its type
    (or its enum) is an error, never a silent missing value. Values are parsed by the same
    Polars expressions that the validator uses (`fieldtypes.typed_expr`)."""
    return typed_frames([table])[table.name]


def typed_frames(tables) -> dict[str, pd.DataFrame]:
    """`typed_frame` of several tables, with the Polars work of all of them in two queries."""
    import polars as pl
    import pyarrow as pa

    from ..checking.engine import member

    def misfits(table) -> pl.LazyFrame:
        found = []
        for name, field in table.fields.items():
            misfit = fieldtypes.bad_expr(name, field)
            if field.enum and field.type == "string":
                misfit = misfit | (pl.col(name).is_not_null() & ~member(pl.col(name), field.enum))
            found.append(misfit.arg_true().first().alias(name))
        return table.data.lazy().select(found)

    for table, first in zip(tables, pl.collect_all([misfits(t) for t in tables])):
        for (name, field), row in zip(table.fields.items(), first.row(0) if len(first) else []):
            if row is not None:
                raise PackageError(f"{table.path}:{table.line(row)}:{table.column_number(name)}: {name} {table.data[name][row]!r} "
                                   f"does not fit the schema ({field.type}{', enum' if field.enum else ''}); run `aipolicy validate` for every problem")
    typed = pl.collect_all([t.data.lazy().select(_typed(name, field) for name, field in t.fields.items()) for t in tables])
    nullable = {pa.int64(): pd.Int64Dtype(), pa.float64(): pd.Float64Dtype(), pa.bool_(): pd.BooleanDtype(),
                pa.string_view(): pd.StringDtype("pyarrow"), pa.large_string(): pd.StringDtype("pyarrow")}
    out = {}
    for table, data in zip(tables, typed):
        frame = data.to_arrow(compat_level=pl.CompatLevel.newest()).to_pandas(types_mapper=nullable.get)
        # Enums arrive as ordered categories (Polars enums are ordered): each column gets its final dtype.
        recast = {name: fieldtypes.pandas_dtype(field) for name, field in table.fields.items()}
        out[table.name] = frame.astype({name: dtype for name, dtype in recast.items() if frame[name].dtype != dtype})
    return out


def _typed(name: str, field: Field):
    """The typed column as Polars hands it to pandas: enums as Polars enums (pandas categories
    in the schema's order), dates as datetimes (pandas datetime64, not Python dates)."""
    import polars as pl

    if field.enum and field.type == "string":
        return pl.col(name).cast(pl.Enum(field.enum)).alias(name)
    expr = fieldtypes.typed_expr(name, field)
    return (expr.cast(pl.Datetime("ms")) if field.type == "date" else expr).alias(name)


def typed_tables(package: Package) -> dict[str, pd.DataFrame]:
    for table in package.tables.values():
        if table.data is None:
            problem = next(iter(table.problems), None)
            raise PackageError(problem.text() if problem else f"{table.path}: cannot be read")
    return typed_frames(list(package.tables.values()))


def _release_dir(version: str, cache: Path | None = None) -> Path:
    from ..versioning.registry import read_registry

    known = read_registry(REGISTRY)
    if version not in known:
        listed = ", ".join(sorted(known)) or "none yet"
        raise PackageError(f"version {version!r} is not a released version of the atlas (released: {listed})")
    release = known[version]
    import pooch

    cache = Path(cache) if cache else Path(pooch.os_cache("aipolicy"))
    try:
        path = pooch.retrieve(release.url, known_hash=f"sha256:{release.sha256}", fname=release.zip, path=cache, progressbar=False)
    except ValueError as exc:  # pooch reports a hash mismatch as ValueError and deletes the file
        raise PackageError(f"download of version {version} failed its sha256 check; nothing was loaded ({exc})") from None
    except Exception as exc:  # network errors, HTTP errors
        raise PackageError(f"download of version {version} from {release.url} failed: {exc}; without network, rebuild it "
                           f"from a clone of the repository with `aipolicy rebuild {version}`, which puts it where this loader looks") from None
    target = cache / Path(release.zip).stem  # the folder the zip unpacks to, named as the zip
    if not (target / "datapackage.json").is_file():
        _extract(Path(path), target, release.sha256)
    return target


def _extract(zip_path: Path, target: Path, sha256: str) -> None:
    digest = hashlib.sha256(zip_path.read_bytes()).hexdigest()
    if digest != sha256:
        zip_path.unlink(missing_ok=True)
        raise PackageError(f"{zip_path.name}: sha256 {digest} does not match the registry ({sha256}); the file was removed")
    tmp = target.with_name(target.name + ".partial")
    import shutil

    shutil.rmtree(tmp, ignore_errors=True)
    try:
        with zipfile.ZipFile(zip_path) as archive:
            prefix = archive.namelist()[0].split("/")[0] + "/"
            for member in archive.infolist():
                name = member.filename[len(prefix):] if member.filename.startswith(prefix) else member.filename
                if not name or name.endswith("/") or ".." in Path(name).parts or name.startswith("/"):
                    continue
                dest = tmp / name
                dest.parent.mkdir(parents=True, exist_ok=True)
                dest.write_bytes(archive.read(member))
    except zipfile.BadZipFile as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise PackageError(f"{zip_path.name}: not a readable zip file ({exc})") from None
    shutil.rmtree(target, ignore_errors=True)
    tmp.rename(target)


def _package(version: str | None, path: str | Path | None, tables: list[str] | None = None, cache: Path | None = None) -> Package:
    if version is not None and path is not None:
        raise ValueError("give either version or path, not both")
    root = _release_dir(version, cache) if version is not None else path
    if root is None:
        here = Path(__file__).resolve().parents[3]
        root = here if (here / "datapackage.json").is_file() else None
    return read_package(root, strict=False, tables=tables)


def load(version: str | None = None, path: str | Path | None = None, *, cache: str | Path | None = None) -> dict[str, pd.DataFrame]:
    """Every table as a typed DataFrame: from `path`, a released `version`, or the package this module sits in."""
    return typed_tables(_package(version, path, cache=Path(cache) if cache else None))


def load_table(name: str, version: str | None = None, path: str | Path | None = None, *, cache: str | Path | None = None) -> pd.DataFrame:
    """One table as a typed DataFrame."""
    package = _package(version, path, tables=[name], cache=Path(cache) if cache else None)
    if name not in package.tables:
        raise PackageError(f"no table {name!r} in the package")
    return typed_tables(package)[name]
