"""Validation problems: each names the file, element, line and reason."""

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Problem:
    file: str
    reason: str
    element: str | None = None
    line: int | None = None

    def as_dict(self) -> dict:
        return asdict(self)

    def __str__(self) -> str:
        where = self.file + (f":{self.line}" if self.line else "")
        what = f" [{self.element}]" if self.element else ""
        return f"{where}{what}: {self.reason}"


class PackageInvalid(Exception):
    """A pathway package failed validation; nothing of it was stored."""

    def __init__(self, problems: list[Problem]):
        super().__init__("; ".join(str(p) for p in problems))
        self.problems = problems
