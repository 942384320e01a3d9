"""`snakemake.utils.Paramspace`: a parameter sweep from a pandas DataFrame, one job per row.

Each column becomes a path part `NAME~VALUE` (`param_sep`); parts are folders, except those
named in `filename_params` ("*": all), which are joined with `filename_sep` into the last
part, in the order given:

    Paramspace(df)                              alpha~{alpha}/beta~{beta}/gamma~{gamma}
    Paramspace(df, filename_params=["beta"])    alpha~{alpha}/gamma~{gamma}/beta~{beta}
    Paramspace(df, filename_params="*")         alpha~{alpha}_beta~{beta}_gamma~{gamma}
    Paramspace(df, single_wildcard="space")     {space}   (the same layout inside it)

`instance_patterns` gives each row's path (a missing value reads "NA"); `instance(wildcards)`
turns a job's wildcards back into the row's values, typed as the column (Python's own int,
float, bool and str). Anything else is the DataFrame's (`paramspace.loc[...]`, `.columns`).
pandas is imported only when a Paramspace is used.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from ..core.errors import WorkflowError

__all__ = ["Paramspace"]


class Paramspace:
    def __init__(self, dataframe: Any, filename_params: str | Sequence[str] | None = None,
                 param_sep: str = "~", filename_sep: str = "_",
                 single_wildcard: str | None = None) -> None:
        columns = list(dataframe.columns)
        if isinstance(filename_params, str) and filename_params == "*":
            in_name = list(columns)
        else:
            in_name = list(filename_params or ())
        if any(name not in columns for name in in_name):
            raise KeyError("One or more entries of filename_params are not valid column "
                           "names for the param file.")
        if len(set(in_name)) != len(in_name):
            raise ValueError("filename_params must be unique")
        self.ordered_columns = [c for c in columns if c not in in_name] + in_name
        self.dataframe = dataframe[self.ordered_columns]
        self.param_sep = param_sep
        self.filename_sep = filename_sep
        self.single_wildcard = single_wildcard
        self._folders = len(self.ordered_columns) - len(in_name)

    def _layout(self, parts: list[str], folder_sep: str = "/", name_sep: str | None = None
                ) -> str:
        """Parts in column order: the folders, then the file-name parts joined."""
        name = parts[self._folders:]
        folders = parts[:self._folders] + ([(name_sep or self.filename_sep).join(name)]
                                           if name else [])
        return folder_sep.join(folders)

    @property
    def wildcard_pattern(self) -> str:
        if self.single_wildcard:
            return "{" + self.single_wildcard + "}"
        return self._layout([f"{c}{self.param_sep}{{{c}}}" for c in self.ordered_columns])

    @property
    def instance_patterns(self) -> Iterator[str]:
        import pandas as pd

        def text(value: Any) -> str:
            return "NA" if pd.isna(value) else f"{value}"

        return (self._layout([f"{c}{self.param_sep}{text(v)}"
                              for c, v in zip(self.ordered_columns, row)])
                for row in self.dataframe.itertuples(index=False, name=None))

    def instance(self, wildcards: Mapping[str, str]) -> dict[str, Any]:
        """The row's values for a job's wildcards, typed as their columns."""
        if self.single_wildcard:
            value = wildcards.get(self.single_wildcard)
            if value is None:
                raise WorkflowError(f"Paramspace: the rule has no wildcard "
                                    f"{{{self.single_wildcard}}}")
            regex = self._layout(
                [re.escape(f"{c}{self.param_sep}") + f"(?P<{c}>.+)" for c in self.ordered_columns],
                re.escape("/"), re.escape(self.filename_sep))
            found = re.fullmatch(regex, value)
            if found is None:
                raise WorkflowError(f"Paramspace: {self.single_wildcard}={value!r} does not "
                                    f"have the layout {self._layout(self.ordered_columns)}")
            values: Mapping[str, str] = found.groupdict()
        else:
            values = {k: v for k, v in wildcards.items() if k in self.ordered_columns}
        return {name: self._typed(name, text) for name, text in values.items()}

    def _typed(self, name: str, text: str) -> Any:
        import pandas as pd

        dtype = self.dataframe.dtypes[name]
        if text == "NA":
            return pd.NA
        if dtype.kind == "b":   # astype(bool) would read "False" as True
            return text == "True"
        value = pd.Series([text]).astype(dtype).iloc[0]
        return value.item() if hasattr(value, "item") else value

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") or name == "dataframe":   # (copy/pickle probe these)
            raise AttributeError(name)
        return _wrapped(getattr(self.dataframe, name))

    def __getitem__(self, key: Any) -> Any:
        return _wrapped(self.dataframe[key])


def _wrapped(value: Any) -> Any:
    import pandas as pd

    return Paramspace(value) if isinstance(value, pd.DataFrame) else value
