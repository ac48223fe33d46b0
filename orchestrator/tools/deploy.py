"""Deploying pathway packages: read files, validate all of them, then store new versions or nothing.

A package's scenarios (``*.scenario.json``, see ``scenarios.py``) run once it compiles, before anything
is stored: a version whose own scenarios fail is refused like an invalid one, and one that passes
records what they covered.
"""

import io
import re
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select

from .. import engine
from ..core import projection
from ..core.database import write
from ..engine import PackageInvalid, Problem
from ..extensions import db
from ..models import Pathway, PathwayVersion

KEY = re.compile(r"^[a-z0-9][a-z0-9_-]{0,99}$")
SAFE_NAME = re.compile(r"^[\w.-]+$")
PACKAGE_FILES = (".bpmn", ".dmn")
SCENARIO = ".scenario.json"
ONLY = ("only .bpmn, .dmn, .json (forms) and .md (content pages) files can be deployed, "
        "and scenarios (.scenario.json)")
MAX_FILES = 200
MAX_UNPACKED = 20 * 1024 * 1024


@dataclass
class Package:
    key: str
    files: dict[str, bytes]
    forms: dict[str, bytes]
    forms_dir: Path
    pages: dict[str, bytes] = field(default_factory=dict)  # Markdown content pages by file name
    scenarios: dict[str, bytes] = field(default_factory=dict)  # *.scenario.json by file name

    def form(self, name: str) -> bytes | None:
        """A form by file name: the package's own first, then the shared forms folder."""
        if not SAFE_NAME.match(name) or name.startswith("."):
            return None
        if name in self.forms:
            return self.forms[name]
        path = self.forms_dir / name
        return path.read_bytes() if path.is_file() else None


@dataclass
class Deployed:
    pathway: Pathway
    version: PathwayVersion
    created: bool


def from_dir(path: Path, forms_dir: Path) -> Package:
    files, forms, pages, scenarios = {}, {}, {}, {}
    for p in sorted(path.iterdir()):
        target = _sorted_into(p.name, files, forms, pages, scenarios) if p.is_file() else None
        if target is not None:
            target[p.name] = p.read_bytes()
    return Package(path.name, files, forms, forms_dir, pages, scenarios)


def packages_in(root: Path, forms_dir: Path) -> list[Package]:
    """A folder with BPMN files is one package; a folder of such folders is many."""
    if not root.is_dir():
        raise PackageInvalid([Problem(str(root), "no such folder")])
    if any(p.suffix == ".bpmn" for p in root.iterdir()):
        return [from_dir(root, forms_dir)]
    found = [from_dir(p, forms_dir) for p in sorted(root.iterdir())
             if p.is_dir() and any(f.suffix == ".bpmn" for f in p.iterdir())]
    if not found:
        raise PackageInvalid([Problem(str(root), "no pathway package (a folder with .bpmn files) here")])
    return found


def from_zip(data: bytes, key: str, forms_dir: Path) -> Package:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = [m for m in archive.infolist() if not m.is_dir()]
    except (zipfile.BadZipFile, ValueError) as exc:
        raise PackageInvalid([Problem("(upload)", f"not a zip archive: {exc}")]) from None
    if len(members) > MAX_FILES or sum(m.file_size for m in members) > MAX_UNPACKED:
        raise PackageInvalid([Problem("(upload)", f"archive unpacks to more than {MAX_FILES} files or "
                                                  f"{MAX_UNPACKED // 2**20} MB")])
    files, forms, pages, scenarios = {}, {}, {}, {}
    for member in members:
        name = Path(member.filename).name
        target = _sorted_into(name, files, forms, pages, scenarios)
        if target is None:
            raise PackageInvalid([Problem(member.filename, ONLY)])
        if name in target:
            raise PackageInvalid([Problem(member.filename, f"a second file named {name} in the archive")])
        target[name] = _read_member(archive, member)
    return Package(key, files, forms, forms_dir, pages, scenarios)


def _sorted_into(name: str, files: dict, forms: dict, pages: dict, scenarios: dict) -> dict | None:
    """Which of a package's parts a file belongs to, by its name; None for a file no part takes."""
    return files if name.endswith(PACKAGE_FILES) else scenarios if name.endswith(SCENARIO) \
        else forms if name.endswith(".json") else pages if name.endswith(".md") else None


def _read_member(archive: zipfile.ZipFile, member: zipfile.ZipInfo) -> bytes:
    try:
        return archive.read(member)
    except (zipfile.BadZipFile, zlib.error, RuntimeError, NotImplementedError, EOFError, ValueError) as exc:
        raise PackageInvalid([Problem(member.filename, f"cannot be read from the archive: {exc}")]) from None


def from_files(uploads: dict[str, bytes], key: str, forms_dir: Path) -> Package:
    files, forms, pages, scenarios, other = {}, {}, {}, {}, []
    for name, data in sorted(uploads.items()):
        target = _sorted_into(name, files, forms, pages, scenarios)
        if target is None:
            other.append(name)
        else:
            target[name] = data
    if other:
        raise PackageInvalid([Problem(n, ONLY) for n in other])
    return Package(key, files, forms, forms_dir, pages, scenarios)


def deploy(packages: list[Package], actor: str, scenarios: bool = True) -> list[Deployed]:
    """Compile every package first and run its scenarios (unless ``scenarios`` is false: a simulation's own
    deploy); store only when all are valid and pass (all or nothing)."""
    from . import scenarios as playing  # it deploys into its throwaway database through this module

    problems, compiled = [], []
    for package in packages:
        if not KEY.match(package.key):
            problems.append(Problem(package.key, "a pathway key is lower-case letters, digits, - and _"))
            continue
        try:
            result = engine.compile_files(package.files, package.form, package.pages)
            _check_message_team(result)
            _check_self_care_reminders(result)
            coverage = playing.check(package, result) if scenarios and package.scenarios else None
            compiled.append((package, result, coverage))
        except PackageInvalid as exc:
            problems += [Problem(f"{package.key}/{p.file}", p.reason, p.element, p.line) for p in exc.problems]
    if problems:
        raise PackageInvalid(problems)
    with write():  # compiled and played outside: the write lock is held only while storing
        return [store(package.key, result, actor, coverage) for package, result, coverage in compiled]


def _check_message_team(result: engine.CompiledPathway) -> None:
    """Messages go to the team the pathway names: one that follows it, or nobody would see them."""
    team, following = result.settings.get("message_team"), projection.teams(result.task_meta, result.kind)
    if team and result.kind != "self-care" and team not in following:
        filename = next(n for n in sorted(result.sources) if n.endswith(".bpmn"))
        raise PackageInvalid([Problem(filename, f"messageTeam '{team}' is not a team that follows "
                                      f"the pathway (its professional lanes and candidate groups: "
                                      f"{', '.join(sorted(following)) or 'none'})", result.process_id)])


def _check_self_care_reminders(result: engine.CompiledPathway) -> None:
    """No professional follows a self-care pathway: a reminder it addresses to a care team would reach no one
    it should, so it is named rather than deployed."""
    if result.kind != "self-care":
        return
    filename = next(n for n in sorted(result.sources) if n.endswith(".bpmn"))
    problems = []
    for spec, meta in sorted(result.task_meta.items()):
        if not meta.get("reminder"):
            continue
        task_meta = result.task_meta.get(meta.get("attached_to") or "", {})
        role = meta.get("lane") or task_meta.get("lane")
        if role and projection.audience(role, task_meta.get("candidate_groups") or []) != "client":
            problems.append(Problem(filename, f"a self-care pathway's reminders are for the client only, but this "
                                              f"one is in the lane of the team '{role}'", spec))
    if problems:
        raise PackageInvalid(problems)


def store(key: str, result: engine.CompiledPathway, actor: str, coverage: dict | None = None) -> Deployed:
    """The pathway's new version of ``result`` (with what its scenarios covered), or its latest when that has
    the same content: an unchanged redeploy keeps the version and its coverage."""
    pathway = db.session.scalar(select(Pathway).where(Pathway.key == key))
    if pathway is None:
        pathway = Pathway(key=key, name=result.name)
        db.session.add(pathway)
    latest = pathway.latest
    if latest is not None and latest.content_hash == result.content_hash:
        return Deployed(pathway, latest, created=False)
    version = PathwayVersion(
        pathway=pathway, number=(latest.number + 1) if latest else 1, content_hash=result.content_hash,
        process_id=result.process_id, name=result.name, spec=result.spec, task_meta=result.task_meta,
        forms=result.forms, sources=result.sources, messages=result.messages, time_zone=result.time_zone,
        kind=result.kind, settings=result.settings, content=result.content, coverage=coverage, deployed_by=actor,
    )
    pathway.name = result.name
    db.session.add(version)
    db.session.flush()
    return Deployed(pathway, version, created=True)
