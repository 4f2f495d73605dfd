"""``mmemo reproduce``: the paper's cells as data, the recipes, and the check against the store.

The cheap end-to-end case is the ZeroR group (the clip list alone: Tables 1 and 2 both print
13.33 ± 1.76); Table 2's 16 static cells train 16 models on 1,440 clips and are marked slow.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from mmemo.errors import InputError, NotFoundError
from mmemo.reports.recipes import recipe, resolve_inputs
from mmemo.reports.reproduce import builtin_papers, load_paper

DATA = Path(__file__).resolve().parents[1] / "data"
LUNA = Path(__file__).resolve().parents[2] / "mmemo" / "reports" / "papers" / "luna2022.toml"


# ------------------------------------------------------------------------- the cells file


def test_luna2022_loads_with_every_table_and_group() -> None:
    paper = load_paper("luna2022")
    assert builtin_papers() == ["luna2022"]
    assert "doi:10.3390/app12010327" in paper.citation
    assert {c.table for c in paper.cells} == {"Table 1", "Table 2", "Table 3", "Section 5.3"}
    assert set(paper.groups) >= {"zeror", "table2-static", "table3", "fusion"}
    by_run = {(c.run, c.metric): c.value for c in paper.cells}
    assert by_run[("svc/C=1,norm=minmax", "accuracy")] == 59.93
    assert by_run[("mlp/hidden_layer_sizes=80x80,norm=none", "ci95")] == 2.56
    assert by_run[("fusion", "accuracy")] == 86.70
    assert by_run[("fusion", "precision:sad")] == 71.22
    assert by_run[("fusion", "accuracy:surprised")] == 96.95
    assert sum(c.table == "Table 3" for c in paper.cells) == 24
    assert sum(c.group == "table2-static" for c in paper.cells) == 32
    # table3 shares the fusion group's commands
    assert paper.groups["table3"].steps == paper.groups["fusion"].steps


def _broken(tmp_path: Path, old: str, new: str, count: int = 1) -> Path:
    text = LUNA.read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / "paper.toml"
    path.write_text(text.replace(old, new, count), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            'metric = "ci95"',
            'metric = "ci"',
            r"cell 2 \(Table 1 / ZeroR / 95% CI\): unknown metric ",
        ),
        ("value = 13.33", 'value = "13.33"', r"cell 1: value = '13.33' is not a number"),
        ('group = "zeror"', 'group = "zero"', r"unknown group 'zero'; groups: zeror, "),
        ('metric = "precision:sad"', 'metric = "precision:sadness"', r"unknown class 'sadness'"),
        ("tolerance = 0.005", "tolerance = -1", r"tolerance must be a number >= 0"),
        ("{clips}", "{clip_list}", r"unknown input \{clip_list\}; declared: clips, "),
        ("\n[paper]\n", "\n[papers]\n", r"no \[paper\] table"),
        ('row = "ZeroR"', 'row = "ZeroR', r"not valid TOML"),
        ('run = "zeror"\n', "\n", r"cell 1 lacks run"),
    ],
)
def test_a_malformed_file_is_one_line_naming_the_file_and_problem(
    tmp_path: Path, old: str, new: str, message: str
) -> None:
    path = _broken(tmp_path, old, new)
    with pytest.raises(InputError, match=message) as info:
        load_paper(path)
    assert str(info.value).startswith(f"{path}: ")
    assert "\n" not in str(info.value)


def test_unknown_paper_and_group_list_the_choices() -> None:
    with pytest.raises(NotFoundError, match=r"unknown paper 'luna2020'; expected one of luna2022"):
        load_paper("luna2020")
    with pytest.raises(NotFoundError, match="no cells file"):
        load_paper("missing.toml")
    with pytest.raises(InputError, match=r"unknown group 'tabel2-static'.*did you mean"):
        load_paper("luna2022").select(["tabel2-static"])


# ------------------------------------------------------------------------------- recipes


def test_inputs_are_found_by_the_end_of_their_path(tmp_path: Path) -> None:
    paper = load_paper("luna2022")
    posteriors = tmp_path / "repo" / "data" / "posteriors" / "Fusion" / "posteriors"
    posteriors.mkdir(parents=True)
    corpus = tmp_path / "RAVDESS"  # a given path must exist (issue 23): no command names a
    corpus.mkdir()  # path that is not there
    found = resolve_inputs(paper, [DATA, tmp_path / "repo"], {"ravdess": str(corpus)})
    assert found["clips"] == str(DATA / "luna2022_clips" / "ravdess_av_speech_clips.txt")
    assert found["au_means"] == str(DATA / "luna2022" / "openface_au_means.csv")
    assert found["fusion_posteriors"] == str(posteriors)
    assert found["ravdess"] == str(corpus)
    assert found["xlsr"] == "jonatasgrosman/wav2vec2-large-xlsr-53-english"  # the default
    assert "ft_posteriors" not in found
    with pytest.raises(InputError, match=r"--input clip: luna2022 has no input 'clip'.*clips"):
        resolve_inputs(paper, [], {"clip": "x"})
    lines = recipe(paper, ["fusion"], {"fusion_posteriors": "/their repo/Fusion/posteriors"})
    assert "read_csv('/their repo/Fusion/posteriors/test_fold*.csv'" in lines[1].cmd
    assert lines[0].cmd == "mmemo ingest ravdess <clips>" and lines[0].missing == ("clips",)


def test_recipe_prints_the_commands_the_tests_reproduce_table2_with(cli) -> None:
    result = cli("reproduce", "luna2022", "--recipe", "--only", "table2-static", "--inputs", DATA)
    assert result.code == 0, result.err
    commands = [line for line in result.out.splitlines() if line.startswith("mmemo ")]
    clips = DATA / "luna2022_clips" / "ravdess_av_speech_clips.txt"
    au_means = DATA / "luna2022" / "openface_au_means.csv"
    assert commands == [
        f"mmemo ingest ravdess {clips}",
        f"mmemo import features {au_means} --name au_means --id-col name --columns 'AU.*'",
        "mmemo train static --features au_means --model svc --param C=0.1,1,10 "
        "--norm minmax,none --name svc",
        "mmemo train static --features au_means --model knn --param n_neighbors=10,20,30 "
        "--norm minmax,none --name knn",
        "mmemo train static --features au_means --model mlp "
        "--param hidden_layer_sizes=80,80x80 --norm minmax,none --name mlp",
    ]
    assert "doi:10.3390/app12010327" in result.out
    assert "inputs not found" not in result.out


def test_recipe_of_every_group_names_the_inputs_it_lacks(cli) -> None:
    result = cli("reproduce", "luna2022", "--recipe")
    assert result.code == 0, result.err
    for group in ("zeror", "table2-static", "table1-static", "table1-finetune", "fusion"):
        assert f"# {group}: " in result.out
    assert "mmemo ingest ravdess <clips>" in result.out
    assert re.search(r"#   <fusion_posteriors>: the authors' late-fusion posteriors", result.out)
    # a command shared by two groups is listed once
    assert result.out.count("mmemo ingest ravdess <clips>") == 1


# ---------------------------------------------------------------------- check and --run


@pytest.mark.slow
def test_run_only_zeror_reproduces_its_cells_and_exits_0(cli, store, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    args = ("--store", store.root, "reproduce", "luna2022", "--only", "zeror")
    before = cli(*args)
    assert before.code == 0, before.err  # missing cells are listed, not errors
    assert "0 ok, 0 mismatch, 4 missing" in before.out
    assert cli(*args, "--strict").code == 1

    result = cli(*args, "--run", "--inputs", DATA, "--format", "json")
    assert result.code == 0, result.err
    cells = json.loads(result.out)
    assert [(c["table"], c["column"], c["paper"], c["status"]) for c in cells] == [
        ("Table 1", "accuracy", 13.33, "ok"),
        ("Table 1", "95% CI", 1.76, "ok"),
        ("Table 2", "accuracy", 13.33, "ok"),
        ("Table 2", "95% CI", 1.76, "ok"),
    ]
    assert round(cells[0]["store"], 2) == 13.33 and abs(cells[0]["difference"]) <= 0.005
    assert "mmemo train static --model zeror --name zeror" in result.err

    again = cli(*args, "--run", "--inputs", DATA, "--strict")
    assert again.code == 0, again.err
    assert "skipped (runs exist): mmemo train static --model zeror" in again.err
    assert "4 ok, 0 mismatch, 0 missing" in again.out

    # The other groups' cells are missing: listed, an error only with --strict.
    whole = cli("--store", store.root, "reproduce", "luna2022")
    assert whole.code == 0, whole.err
    assert "4 ok, 0 mismatch, 70 missing" in whole.out
    assert cli("--store", store.root, "reproduce", "luna2022", "--strict").code == 1


@pytest.mark.slow
def test_a_wrong_value_exits_1_naming_the_cell(cli, store, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    wrong = _broken(tmp_path, "value = 1.76", "value = 1.86", count=2)
    result = cli(
        "--store",
        store.root,
        "reproduce",
        wrong,
        "--only",
        "zeror",
        "--run",
        "--input",
        f"clips={DATA / 'luna2022_clips' / 'ravdess_av_speech_clips.txt'}",
    )
    assert result.code == 1
    assert "2 ok, 2 mismatch, 0 missing" in result.out
    assert "mismatch: Table 1 / ZeroR / 95% CI: paper 1.86, store 1.7" in result.err
    assert "run 'zeror', ci95" in result.err


def test_run_without_an_input_says_which_and_how(cli, store) -> None:
    result = cli("--store", store.root, "reproduce", "luna2022", "--only", "fusion", "--run")
    assert result.code == 2
    assert "input(s) clips, fusion_posteriors not found for group(s) fusion" in result.err
    assert "--inputs DIR or --input NAME=PATH" in result.err


def _authors_fusion_files(store, folder: Path) -> None:
    """The store's ZeroR test posteriors written as the authors' fusion files are laid out:
    ``test_fold{K}.csv``, ``;``-separated, ``embs0..embs7`` in emotion-code order, then
    ``video_name``."""
    with store.session() as s:
        rows = s.fetch(
            "SELECT fold, clip_id, scores FROM posteriors "
            "WHERE run = 'zeror' AND split = 'test' ORDER BY fold, clip_id"
        )
    folder.mkdir(parents=True)
    by_fold: dict[int, list[str]] = {}
    for fold, clip, scores in rows:
        by_fold.setdefault(fold, []).append(";".join(repr(float(x)) for x in scores) + f";{clip}")
    for fold, lines in by_fold.items():
        header = ";".join(f"embs{i}" for i in range(8)) + ";video_name"
        (folder / f"test_fold{fold}.csv").write_text("\n".join([header, *lines]) + "\n")


@pytest.mark.slow  # ~35 s here: two ingests and imports through the CLI
def test_fusion_recipe_imports_files_laid_out_as_the_authors_publish_them(
    cli, store, tmp_path, monkeypatch
) -> None:
    """The fusion group's commands (mmemo sql over the per-fold files, then import posteriors)
    run end to end; ZeroR scores stand in for the authors' fusion, so every cell mismatches."""
    monkeypatch.chdir(tmp_path)
    base = ("--store", store.root, "reproduce", "luna2022")
    assert cli(*base, "--only", "zeror", "--run", "--inputs", DATA).code == 0
    repo = tmp_path / "MMEmotionRecognition"
    _authors_fusion_files(store, repo / "data" / "posteriors" / "Fusion" / "posteriors")
    result = cli(
        *base, "--only", "fusion", "--only", "table3", "--run", "--inputs", DATA, "--inputs", repo
    )
    assert result.code == 1, result.err
    assert "0 ok, 25 mismatch" in result.out
    assert "mismatch: Section 5.3 / late fusion" in result.err
    assert "paper 86.7, store 13.3333" in result.err
    report = cli("--store", store.root, "report", "fusion", "--format", "json")
    assert round(json.loads(report.out)[0]["accuracy"], 2) == 13.33


@pytest.mark.slow
def test_run_only_table2_static_reproduces_all_32_cells(cli, store, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = cli(
        "--store",
        store.root,
        "reproduce",
        "luna2022",
        "--only",
        "table2-static",
        "--run",
        "--inputs",
        DATA,
        "--strict",
    )
    assert result.code == 0, result.out + result.err
    assert "32 ok, 0 mismatch, 0 missing" in result.out
