"""What the planner needs from the metadata store, as typed protocols.

The planner never sees the store's tables or their JSON columns: it asks the store
(state/store.py) for records and each record for its input rows. Planning may not import
the state package, so the contract lives here and the store fulfils it.

    StoreView.plan_records(paths)   path -> RecordView for the outputs that have a record
                                    (falls back to get_many for stores without it)
    StoreView.incomplete_paths()    outputs marked incomplete by a run that did not finish
    RecordView.params               the canonical params text (paramtext.canonical_params)
    RecordView.code_hash            the body's code hash, or None
    RecordView.input_rows()         [path, mtime_ns, size, checksum-or-None] per input
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Protocol

__all__ = ["RecordView", "StoreView"]


class RecordView(Protocol):
    @property
    def params(self) -> str: ...

    @property
    def code_hash(self) -> str | None: ...

    def input_rows(self) -> Sequence[Any]: ...


class StoreView(Protocol):
    def plan_records(self, paths: Iterable[str]) -> Mapping[str, RecordView]: ...

    def incomplete_paths(self) -> Iterable[str]: ...
