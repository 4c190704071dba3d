"""``mlp-xp export`` of a model trained with ``--categorical``: the encoding inside the graph."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("ndonnx", reason="the onnx extra: pip install 'mlp_xp[onnx]'")
ort = pytest.importorskip("onnxruntime", reason="the onnx extra: pip install 'mlp_xp[onnx]'")

import mlp_xp  # noqa: E402
from mlp_xp.cli import main  # noqa: E402

FAST = ["--epochs", "20", "--hidden", "8", "--quiet"]
CITIES = ["Paris", "Lyon", "Nice", "Brest"]


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def table(path: Path, n: int = 80, cities=CITIES, numeric: bool = True) -> Path:
    rng = np.random.default_rng(3)
    lines = ["size,city,rooms,label" if numeric else "city,label"]
    for i in range(n):
        city = cities[i % len(cities)]
        size = rng.normal()
        label = "big" if size + (city == "Paris") > 0.5 else "small"
        lines.append(
            f"{size:.5f},{city},{rng.integers(1, 6)},{label}" if numeric else f"{city},{label}"
        )
    path.write_text("\n".join(lines) + "\n")
    return path


def rows_of(out: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(out)))


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """A classifier trained with --categorical city, and its graph checked on the CSV."""
    folder = tmp_path_factory.mktemp("categorical")
    data = table(folder / "t.csv")
    model, graph = folder / "m.safetensors", folder / "m.onnx"
    assert (
        main(
            [
                *map(str, ["train", "--data", data, *FAST, "--categorical", "city"]),
                "--out",
                str(model),
            ]
        )
        == 0
    )
    assert main(["export", str(model), "--onnx", str(graph), "--data", str(data)]) == 0
    return data, model, graph


def test_the_graph_takes_the_text_columns_and_encodes_them_as_the_model(exported):
    _, model, graph = exported
    session = ort.InferenceSession(str(graph))
    inputs = {i.name: (i.shape, i.type) for i in session.get_inputs()}
    assert inputs == {
        "X": (["batch", 2], "tensor(float)"),
        "X_categorical": (["batch", 1], "tensor(string)"),
    }
    meta = json.loads(session.get_modelmeta().custom_metadata_map["data_info"])
    assert meta["categories"] == {"city": ["Brest", "Lyon", "Nice", "Paris"]}
    # The graph on raw columns, as a deployment would call it, against the model.
    loaded = mlp_xp.load(model)
    X = np.array([[0.3, 2.0], [-1.0, 5.0]], dtype=np.float32)
    cities = np.array([["Paris"], ["Brest"]], dtype=object)
    label, proba = session.run(None, {"X": X, "X_categorical": cities})
    encoded = np.array([[0.3, 0, 0, 0, 1, 2.0], [-1.0, 1, 0, 0, 0, 5.0]], dtype=np.float32)
    want = mlp_xp.backend.to_host(loaded.predict_proba(encoded))
    np.testing.assert_allclose(proba, want, atol=1e-5)
    assert list(label) == list(loaded.predict(encoded))


def test_predict_on_the_graph_reads_the_csv_as_on_the_model(capsys, exported):
    data, model, graph = exported
    code, on_graph, err = run(capsys, "predict", graph, "--data", data)
    assert code == 0, err
    code, on_model, _ = run(capsys, "predict", model, "--data", data)
    assert [r[0] for r in rows_of(on_graph)] == [r[0] for r in rows_of(on_model)]


def test_predict_on_the_graph_refuses_an_unseen_category(capsys, tmp_path, exported):
    _, _, graph = exported
    other = table(tmp_path / "o.csv", cities=["Paris", "Metz"])
    code, _, err = run(capsys, "predict", graph, "--data", other)
    assert code == 2
    assert "column 'city' holds 'Metz', a category the model was not trained on" in err


def test_a_model_of_text_columns_only_exports_checked_on_a_sample(capsys, tmp_path):
    data = table(tmp_path / "t.csv", numeric=False)
    model, graph = tmp_path / "m.npz", tmp_path / "m.onnx"
    code, _, err = run(
        capsys, "train", "--data", data, *FAST, "--categorical", "city", "--out", model
    )
    assert code == 0, err
    code, out, err = run(capsys, "export", model, "--onnx", graph, "--rows", "200")
    assert code == 0, err
    assert "200 seeded rows" in out
    session = ort.InferenceSession(str(graph))
    assert [i.name for i in session.get_inputs()] == ["X_categorical"]
    code, _, err = run(capsys, "predict", graph, "--data", data)
    assert code == 0, err
