"""Columns a newcomer has: by name or by position (said), no header, text, dates and IDs."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np
import pytest

import mlp_xp
from mlp_xp.cli import main
from mlp_xp.data.columns import Counting, looks_like_date, looks_like_id, one_hot
from mlp_xp.data.tables import load_data

FAST = ["--epochs", "3", "--hidden", "4", "--quiet"]
NAMES = ["sqft", "bedrooms", "age", "lot"]
HOODS = ["Suburb", "Downtown", "Rural"]


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def one_error_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


def notes(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.startswith("mlp-xp: note:")]


def houses(n: int = 60, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4))
    return X, X @ np.array([1.0, -2.0, 0.5, 0.0]) + 0.1 * rng.normal(size=n)


def write_csv(path: Path, header: list[str] | None, rows: list[list[object]]) -> Path:
    lines = [] if header is None else [",".join(header)]
    lines += [",".join(str(v) for v in row) for row in rows]
    path.write_text("\n".join(lines) + "\n")
    return path


def predictions(out: str) -> np.ndarray:
    rows = list(csv.reader(io.StringIO(out)))
    return np.array([float(r[-1]) for r in rows[1:]])


@pytest.fixture
def files(tmp_path):
    """The same houses as .npz, as CSV, with the CSV's columns reversed and renamed."""
    X, y = houses()
    rev = X[:, ::-1]
    np.savez(tmp_path / "h.npz", X=X, y=y)
    np.savez(tmp_path / "h_rev.npz", X=rev, y=y)
    write_csv(tmp_path / "h.csv", [*NAMES, "price"], [[*r, t] for r, t in zip(X, y)])
    write_csv(tmp_path / "h_rev.csv", [*NAMES[::-1], "price"], [[*r, t] for r, t in zip(rev, y)])
    write_csv(tmp_path / "h_X.csv", NAMES, X.tolist())
    write_csv(tmp_path / "h_rev_X.csv", NAMES[::-1], rev.tolist())
    write_csv(
        tmp_path / "h_renamed.csv", ["a", "b", "c", "d", "price"], [[*r, t] for r, t in zip(X, y)]
    )
    write_csv(tmp_path / "h_noheader.csv", None, [[*r, t] for r, t in zip(X, y)])
    return tmp_path


def train(capsys, tmp_path, data, name, *extra):
    model = tmp_path / name
    code, _, err = run(capsys, "train", "--data", data, *FAST, "--out", model, *extra)
    assert code == 0, err
    return model


# ------------------------------------------------------------ columns by position, said


def test_an_npz_model_on_a_reversed_csv_notes_the_order_used(capsys, files):
    model = train(capsys, files, files / "h.npz", "npz.safetensors")
    code, out, err = run(capsys, "predict", model, "--data", files / "h_rev_X.csv")
    assert code == 0
    (note,) = notes(err)
    assert "the model's columns have no names" in note
    assert "used by position: lot, age, bedrooms, sqft" in note
    assert "--by-position" in note
    # Asked for deliberately: the same predictions, and no note.
    code, out2, err = run(
        capsys, "predict", model, "--data", files / "h_rev_X.csv", "--by-position"
    )
    assert code == 0
    assert notes(err) == []
    assert out2 == out


def test_evaluate_of_an_npz_model_on_a_csv_takes_its_last_column_as_the_target(capsys, files):
    model = train(capsys, files, files / "h.npz", "npz.npz")
    code, out, err = run(capsys, "evaluate", model, "--data", files / "h.csv")
    assert code == 0, err
    assert "samples 60" in out
    (note,) = notes(err)
    assert "used by position: sqft, bedrooms, age, lot" in note


def test_a_csv_model_on_an_npz_in_another_order_notes_the_order_used(capsys, files):
    model = train(capsys, files, files / "h.csv", "csv.safetensors")
    for command in ("predict", "evaluate"):
        code, _, err = run(capsys, command, model, "--data", files / "h_rev.npz")
        assert code == 0, err
        (note,) = notes(err)
        assert "h_rev.npz's columns have no names" in note
        assert "as the model's columns: sqft, bedrooms, age, lot" in note
    code, _, err = run(capsys, "evaluate", model, "--data", files / "h_rev.npz", "--by-position")
    assert code == 0
    assert notes(err) == []


def test_an_npz_model_on_npz_data_notes_that_neither_side_has_names(capsys, files):
    model = train(capsys, files, files / "h.npz", "npz_on_npz.npz")
    code, _, err = run(capsys, "predict", model, "--data", files / "h_rev.npz")
    assert code == 0, err
    (note,) = notes(err)
    assert "neither the model's nor" in note
    assert "used by position" in note
    code, _, err = run(capsys, "predict", model, "--data", files / "h_rev.npz", "--by-position")
    assert code == 0
    assert notes(err) == []


def test_named_columns_are_found_by_name_in_any_order_without_a_note(capsys, files):
    model = train(capsys, files, files / "h.csv", "csv.npz")
    code, straight, err = run(capsys, "predict", model, "--data", files / "h_X.csv")
    assert code == 0
    code, reversed_, err = run(capsys, "predict", model, "--data", files / "h_rev_X.csv")
    assert code == 0
    assert notes(err) == []
    np.testing.assert_array_equal(predictions(straight), predictions(reversed_))


def test_named_columns_that_differ_are_refused_naming_them(capsys, files):
    model = train(capsys, files, files / "h.csv", "csv.npz")
    for command in ("predict", "evaluate"):
        code, _, err = run(capsys, command, model, "--data", files / "h_renamed.csv")
        assert code == 2
        line = one_error_line(err)
        assert "lacks the feature column(s) ['sqft', 'bedrooms', 'age', 'lot']" in line
        assert "(it has: a, b, c, d, price)" in line
        assert "pass --by-position" in line
    code, out, err = run(
        capsys, "evaluate", model, "--data", files / "h_renamed.csv", "--by-position"
    )
    assert code == 0, err
    assert notes(err) == []
    _, same, _ = run(capsys, "evaluate", model, "--data", files / "h.csv")
    assert out == same


def test_verify_notes_columns_taken_by_position(capsys, files):
    model = train(capsys, files, files / "h.csv", "csv.npz")
    code, _, err = run(capsys, "verify", model, "--data", files / "h.npz")
    assert code == 0, err
    (note,) = notes(err)
    assert "h.npz's columns have no names" in note


# ------------------------------------------------------------------------ no header


def test_a_headerless_csv_is_refused_with_a_hint(capsys, files):
    code, _, err = run(capsys, "train", "--data", files / "h_noheader.csv", *FAST)
    assert code == 2
    line = one_error_line(err)
    assert "the header line holds only numbers" in line
    assert "pass --no-header" in line
    assert "c0 ... c4" in line


def test_no_header_names_columns_by_position_and_is_recorded(capsys, files):
    data = files / "h_noheader.csv"
    model = train(capsys, files, data, "nh.safetensors", "--no-header")
    loaded = mlp_xp.load(model)
    assert loaded.target_name_ == "c4"
    assert loaded.data_info_["no_header"] is True
    assert loaded.data_info_["columns"] == ["c0", "c1", "c2", "c3"]
    assert getattr(loaded, "feature_names_in_", None) is None
    # predict, evaluate and verify read the file as it was read: no flag, no note.
    for command in ("predict", "evaluate", "verify"):
        code, _, err = run(capsys, command, model, "--data", data)
        assert code == 0, err
        assert notes(err) == []
    # A file with a header: refused as read without one; --header reads it, in order.
    code, _, err = run(capsys, "evaluate", model, "--data", files / "h.csv")
    assert code == 2
    assert "the first line looks like a header" in one_error_line(err)
    code, out, err = run(capsys, "evaluate", model, "--data", files / "h.csv", "--header")
    assert code == 0, err
    (note,) = notes(err)
    assert "the model's columns have no names" in note
    _, same, _ = run(capsys, "evaluate", model, "--data", data)
    assert out == same


def test_a_named_model_reads_a_headerless_file_by_position_with_a_note(capsys, files):
    model = train(capsys, files, files / "h.csv", "csv.npz")
    code, out, err = run(
        capsys, "evaluate", model, "--data", files / "h_noheader.csv", "--no-header"
    )
    assert code == 0, err
    (note,) = notes(err)
    assert "h_noheader.csv's columns have no names" in note
    _, same, _ = run(capsys, "evaluate", model, "--data", files / "h.csv")
    assert out == same


def test_no_header_applies_to_csv_files_only(capsys, files):
    code, _, err = run(capsys, "train", "--data", files / "h.npz", "--no-header", *FAST)
    assert code == 2
    assert "--no-header applies to CSV files only" in one_error_line(err)


# ---------------------------------------------------------- features, drop, categorical


def messy(tmp_path: Path, n: int = 60, name: str = "messy.csv", hoods=HOODS) -> Path:
    X, y = houses(n)
    rows = []
    for i, (r, t) in enumerate(zip(X, y)):
        hood = hoods[i % len(hoods)]
        rows.append([i + 1, f"{r[0]:.5f}", hood, f"2024-01-{i % 28 + 1:02d}", f"{r[2]:.5f}", t])
    return write_csv(tmp_path / name, ["id", "sqft", "neighborhood", "sold", "age", "price"], rows)


def test_text_is_refused_naming_categorical_and_drop(capsys, tmp_path):
    code, _, err = run(capsys, "train", "--data", messy(tmp_path), *FAST)
    assert code == 2
    line = one_error_line(err)
    assert "row 1, column 'neighborhood' holds 'Suburb', which is not a number" in line
    assert "--categorical neighborhood" in line
    assert "--drop neighborhood" in line
    assert "dates are never guessed: --drop sold" in line
    assert "column 'id' looks like an ID: --drop id" in line
    assert "--features" in line


def test_drop_and_categorical_train_and_predict_the_same_way(capsys, tmp_path):
    data = messy(tmp_path)
    args = ["--drop", "id", "sold", "--categorical", "neighborhood"]
    model = train(capsys, tmp_path, data, "m.npz", *args)
    loaded = mlp_xp.load(model)
    assert loaded.data_info_["columns"] == ["sqft", "neighborhood", "age"]
    assert loaded.data_info_["categories"] == {"neighborhood": ["Downtown", "Rural", "Suburb"]}
    assert list(loaded.feature_names_in_) == [
        "sqft",
        "neighborhood=Downtown",
        "neighborhood=Rural",
        "neighborhood=Suburb",
        "age",
    ]
    code, out, err = run(capsys, "predict", model, "--data", data)
    assert code == 0, err
    assert notes(err) == []
    # The encoding is the model's: the same rows in another order predict the same.
    lines = data.read_text().splitlines()
    shuffled = write_csv(tmp_path / "s.csv", None, [])
    shuffled.write_text("\n".join([lines[0], *lines[1:][::-1]]) + "\n")
    code, out2, _ = run(capsys, "predict", model, "--data", shuffled)
    assert code == 0
    np.testing.assert_array_equal(predictions(out2), predictions(out)[::-1])
    direct = loaded.predict(load_data(str(data), **_read(loaded)).X)
    np.testing.assert_allclose(predictions(out), np.asarray(direct), rtol=1e-6)
    for command in ("evaluate", "verify"):
        code, _, err = run(capsys, command, model, "--data", data)
        assert code == 0, err


def _read(model) -> dict:
    info = model.data_info_
    return {"features": info["columns"], "categorical": info["categories"]}


@pytest.mark.parametrize("suffix", [".npz", ".safetensors"])
def test_categories_survive_save_and_load(capsys, tmp_path, suffix):
    data = messy(tmp_path)
    model = train(
        capsys,
        tmp_path,
        data,
        f"m{suffix}",
        "--features",
        "sqft",
        "neighborhood",
        "--categorical",
        "neighborhood",
    )
    loaded = mlp_xp.load(model)
    assert loaded.data_info_["categories"] == {"neighborhood": ["Downtown", "Rural", "Suburb"]}
    assert loaded.n_features_in_ == 4


def test_an_unseen_category_is_refused_naming_it(capsys, tmp_path):
    model = train(
        capsys,
        tmp_path,
        messy(tmp_path),
        "m.npz",
        "--drop",
        "id",
        "sold",
        "--categorical",
        "neighborhood",
    )
    other = messy(tmp_path, name="other.csv", hoods=["Suburb", "Uptown"])
    for command in ("predict", "evaluate"):
        code, _, err = run(capsys, command, model, "--data", other)
        assert code == 2
        line = one_error_line(err)
        assert (
            "row 2, column 'neighborhood' holds 'Uptown', a category the model was not trained on"
            in line
        )
        assert "Downtown, Rural, Suburb" in line


def test_a_categorical_model_needs_a_csv(capsys, tmp_path, files):
    model = train(
        capsys,
        tmp_path,
        messy(tmp_path),
        "m.npz",
        "--drop",
        "id",
        "sold",
        "--categorical",
        "neighborhood",
    )
    code, _, err = run(capsys, "predict", model, "--data", files / "h.npz")
    assert code == 2
    assert "one-hot encodes the column(s) neighborhood" in one_error_line(err)


def test_features_reads_only_those_columns_and_accepts_an_id(capsys, tmp_path):
    data = messy(tmp_path)
    model = train(capsys, tmp_path, data, "m.npz", "--features", "age", "id", "sqft")
    loaded = mlp_xp.load(model)
    assert list(loaded.feature_names_in_) == ["age", "id", "sqft"]
    code, _, err = run(capsys, "predict", model, "--data", data)  # text columns unread
    assert code == 0, err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--features", "sqft", "--drop", "id"], "give one of them"),
        (["--drop", "rooms"], "--drop rooms: "),
        (["--drop", "price"], "--drop price: it is the target column"),
        (["--features", "sqft", "price"], "--features price: it is the target column"),
        (
            ["--drop", "id", "sold", "--categorical", "price"],
            "--categorical price: it is not a feature",
        ),
        (["--features", "sqft", "sold"], "leave sold out of --features"),
        (["--features", "sqft", "age", "sqft"], "--features names 'sqft' more than once"),
    ],
)
def test_bad_column_choices_are_refused(capsys, tmp_path, args, message):
    code, _, err = run(capsys, "train", "--data", messy(tmp_path), *FAST, *args)
    assert code == 2
    assert message in one_error_line(err)


def test_columns_apply_to_csv_files_only(capsys, files):
    code, _, err = run(capsys, "train", "--data", files / "h.npz", "--drop", "x0", *FAST)
    assert code == 2
    assert "--drop applies to CSV files only" in one_error_line(err)


def test_a_row_number_column_is_refused_as_an_id(capsys, tmp_path):
    X, y = houses(30)
    data = write_csv(
        tmp_path / "r.csv",
        ["row", "sqft", "price"],
        [[i + 1, r[0], t] for i, (r, t) in enumerate(zip(X, y))],
    )
    code, _, err = run(capsys, "train", "--data", data, *FAST)
    assert code == 2
    line = one_error_line(err)
    assert "column 'row' counts rows (1, 2, ... 30)" in line
    assert "--drop row" in line
    assert run(capsys, "train", "--data", data, *FAST, "--drop", "row")[0] == 0
    assert run(capsys, "train", "--data", data, *FAST, "--features", "row", "sqft")[0] == 0


# ----------------------------------------------------------------------- the rules


@pytest.mark.parametrize(
    "text",
    [
        "2024-01-31",
        "2024/01/31",
        "31.01.2024",
        "01/31/24",
        "2024-01-31T12:30:00Z",
        "2024-1-5 08:15",
    ],
)
def test_dates_are_recognised(text):
    assert looks_like_date(text)


@pytest.mark.parametrize("text", ["Downtown", "1.5", "12:30", "2024", "1-2", "A-12-34"])
def test_other_text_is_not_a_date(text):
    assert not looks_like_date(text)


@pytest.mark.parametrize(
    ("name", "is_id"),
    [
        ("id", True),
        ("ID", True),
        ("customer_id", True),
        ("Order ID", True),
        ("userId", True),
        ("idea", False),
        ("width", False),
        ("paid", False),
        ("valid", False),
    ],
)
def test_id_names(name, is_id):
    assert looks_like_id(name) is is_id


def test_counting_finds_row_numbers_across_blocks_and_only_from_ten_rows():
    values = np.column_stack([np.arange(5, 25), np.arange(20)[::-1] * 1.0, np.arange(20) * 2.0])
    counting = Counting(3)
    counting.add(values[:7])
    counting.add(values[7:])
    message = counting.message("f.csv", ["a", "b", "c"])
    assert message is not None
    assert "column 'a' counts rows (5, 6, ... 24)" in message
    assert "--drop a b" in message
    few = Counting(1)
    few.add(np.arange(9.0)[:, None])
    assert few.message("f.csv", ["a"]) is None
    broken = Counting(1)
    broken.add(np.array([[1.0], [2.0], *([[3.5]] * 10)]))
    assert broken.message("f.csv", ["a"]) is None


def test_one_hot_keeps_the_column_order():
    numeric = np.array([[1.0, 10.0], [2.0, 20.0]], dtype=np.float32)
    coded = {"city": (["a", "b", "c"], np.array([2, 0]))}
    X = one_hot(numeric, ["x", "city", "z"], coded)
    assert X.dtype == np.float32
    np.testing.assert_array_equal(X, [[1, 0, 0, 1, 10], [2, 1, 0, 0, 20]])


def test_resume_reads_the_columns_as_the_checkpoint_records(capsys, tmp_path):
    data, checkpoint = messy(tmp_path), tmp_path / "ck.npz"
    args = ["--drop", "id", "sold", "--categorical", "neighborhood", "--quiet"]
    code, _, err = run(
        capsys, "train", "--data", data, "--epochs", "2", "--hidden", "4", *args,
        "--checkpoint-every", "1", "--checkpoint", checkpoint,
    )  # fmt: skip
    assert code == 0, err
    code, out, err = run(
        capsys, "train", "--data", data, "--resume", checkpoint, "--epochs", "4", "--quiet"
    )
    assert code == 0, err
    assert "MLPRegressor 5-4-1" in out
