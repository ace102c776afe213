"""CSV for spreadsheets (ui.export.csv_bytes): a BOM, formula-looking text neutralized, numbers untouched."""

from __future__ import annotations

import csv
import io

import pandas as pd
import pytest

from ui.export import FORMULA_STARTS, csv_bytes, neutral_cell, parquet_bytes

BOM = b"\xef\xbb\xbf"


def _read(data: bytes) -> list[list[str]]:
    assert data.startswith(BOM), "a CSV for spreadsheets starts with the UTF-8 byte-order mark"
    return list(csv.reader(io.StringIO(data[len(BOM) :].decode("utf-8"))))


@pytest.mark.parametrize("start", FORMULA_STARTS, ids=repr)
def test_every_formula_start_gets_a_leading_quote(start):
    text = f'{start}HYPERLINK("http://x")'
    rows = _read(csv_bytes(pd.DataFrame({"text": [text]})))
    assert rows[1] == ["'" + text]


def test_numbers_stay_numbers_and_plain_text_stays_verbatim():
    df = pd.DataFrame(
        {
            "step": [-3, 4, 5],
            "share": [-0.25, 0.5, float("nan")],
            "text": ["=1+1", "国际原子能机构 - 第八级", None],
            "user_id": pd.Series(["-7", "12", "@bot"], dtype="string"),
        }
    )
    rows = _read(csv_bytes(df))
    assert rows[0] == ["step", "share", "text", "user_id"]
    assert rows[1] == ["-3", "-0.25", "'=1+1", "'-7"]  # -3 is a number; "-7" is a text cell
    assert rows[2] == ["4", "0.5", "国际原子能机构 - 第八级", "12"]  # a minus inside the text is harmless
    assert rows[3] == ["5", "", "", "'@bot"]
    assert df.loc[0, "text"] == "=1+1", "the caller's frame is not changed"


def test_a_formula_in_a_column_name_is_neutralized_too():
    assert _read(csv_bytes(pd.DataFrame({"=cmd": [1]})))[0] == ["'=cmd"]


def test_neutral_cell_leaves_non_text_alone():
    assert neutral_cell(-3) == -3 and neutral_cell(-0.5) == -0.5 and neutral_cell(None) is None
    assert neutral_cell("a=b") == "a=b" and neutral_cell("") == ""


def test_parquet_keeps_text_verbatim():
    df = pd.DataFrame({"text": ["=1+1"]})
    assert pd.read_parquet(io.BytesIO(parquet_bytes(df)))["text"].tolist() == ["=1+1"]
