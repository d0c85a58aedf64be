"""Prompt data: reasoning-gym and file sources, disjoint splits, chat formatting, resumable stream."""

import json
from dataclasses import replace

import pytest

from rlvr.config import DataConfig, load_config
from rlvr.data import prompts as data

CHATML = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


@pytest.fixture(scope="module")
def tokenizer():
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.WordLevel({"[UNK]": 0, "hi": 1}, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    return PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]")


def write_jsonl(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


# ------------------------------------------------------------------------------------------- sources


def test_reasoning_gym_rows_have_question_and_string_answer():
    rows = data.reasoning_gym_rows("basic_arithmetic", 5, seed=3, task_kwargs={"max_terms": 2, "max_digits": 1})
    assert len(rows) == 5
    for row in rows:
        assert row["question"] and isinstance(row["answer"], str)
        assert row["metadata"]["num_terms"] == 2
    assert rows == data.reasoning_gym_rows("basic_arithmetic", 5, seed=3,
                                           task_kwargs={"max_terms": 2, "max_digits": 1})


def test_reasoning_gym_errors_name_the_task():
    with pytest.raises(data.DataError, match="no_such_task"):
        data.reasoning_gym_rows("no_such_task", 2, seed=0)


def test_reasoning_gym_split_is_disjoint_even_on_a_tiny_task_space():
    # 2 terms of 1 digit with + only: few distinct questions, so independent draws would overlap.
    cfg = DataConfig(task_kwargs={"min_terms": 2, "max_terms": 2, "max_digits": 1, "operators": ["+"]},
                     train_size=60, eval_size=20)
    train, evals = data.load_splits(cfg)
    assert len(evals) == 20 and 0 < len(train) <= 60
    assert not {r["question"] for r in train} & {r["question"] for r in evals}


def test_reasoning_gym_split_sizes_and_determinism():
    cfg = DataConfig(task_kwargs={"max_terms": 3, "max_digits": 2}, train_size=40, eval_size=8, seed=5)
    train, evals = data.load_splits(cfg)
    assert (len(train), len(evals)) == (40, 8)
    assert data.load_splits(cfg) == (train, evals)
    other, _ = data.load_splits(replace(cfg, seed=6))
    assert other != train


def test_file_rows_read_jsonl_and_accept_prompt(tmp_path):
    path = write_jsonl(tmp_path / "rows.jsonl", [
        {"question": "q0", "answer": "1", "schema": {"type": "object", "required": ["a"]}},
        {"prompt": "q1", "answer": "2", "schema": {"type": "array"}},
    ])
    rows = data.file_rows(path, "jsonl")
    assert [r["question"] for r in rows] == ["q0", "q1"]
    assert rows[1]["schema"] == {"type": "array"}  # no None-filled keys from Arrow's column union


def test_file_rows_read_parquet(tmp_path):
    import datasets

    path = tmp_path / "rows.parquet"
    datasets.Dataset.from_list([{"question": f"q{i}", "answer": str(i)} for i in range(4)]).to_parquet(path)
    rows = data.file_rows(path, "parquet")
    assert [r["answer"] for r in rows] == ["0", "1", "2", "3"]


def test_file_rows_missing_question_names_file_and_row(tmp_path):
    path = write_jsonl(tmp_path / "bad.jsonl", [{"question": "ok"}, {"question": "ok2"}, {"text": "no q"}])
    with pytest.raises(data.DataError, match=r"bad.jsonl: line 3: has no 'question'"):
        data.file_rows(path)
    with pytest.raises(data.DataError, match="does not exist"):
        data.file_rows(tmp_path / "absent.jsonl")


def test_file_split_is_deterministic_and_disjoint(tmp_path):
    path = write_jsonl(tmp_path / "rows.jsonl", [{"question": f"q{i}", "answer": str(i)} for i in range(30)])
    cfg = DataConfig(source="jsonl", path=str(path), train_size=100, eval_size=5, seed=1)
    train, evals = data.load_splits(cfg)
    assert (len(train), len(evals)) == (25, 5)
    assert not {r["question"] for r in train} & {r["question"] for r in evals}
    assert data.load_splits(cfg) == (train, evals)
    assert data.load_splits(replace(cfg, train_size=10))[0] == train[:10]
    with pytest.raises(data.DataError, match="leaves no rows"):
        data.load_splits(replace(cfg, eval_size=30))


def test_validate_rows_names_first_bad_row_and_field():
    rows = [{"question": "a", "answer": "1"}, {"question": "b", "answer": None}, {"question": "c"}]
    data.validate_rows(rows[:1], ["question", "answer"], "src")
    with pytest.raises(data.DataError, match=r"src: row 1 lacks required field 'answer'"):
        data.validate_rows(rows, ["question", "answer"], "src")


def test_validate_rows_names_the_row_id():
    with pytest.raises(data.DataError, match=r"src: row 0 \(id t-7\) lacks required field 'tests'"):
        data.validate_rows([{"question": "a", "id": "t-7"}], ["question", "tests"], "src")


def test_eval_path_gives_a_fixed_disjoint_held_out_file(tmp_path):
    train = write_jsonl(tmp_path / "train.jsonl", [{"question": f"q{i}", "answer": str(i)} for i in range(30)])
    held = write_jsonl(tmp_path / "eval.jsonl", [{"question": f"e{i}", "answer": "1"} for i in range(8)]
                       + [{"question": "q3", "answer": "3"}])  # a train question that is also held out
    cfg = DataConfig(source="jsonl", path=str(train), eval_path=str(held), train_size=100, eval_size=9, seed=2)
    rows, evals = data.load_splits(cfg)
    assert len(evals) == 9 and {r["question"] for r in evals} == {f"e{i}" for i in range(8)} | {"q3"}
    assert len(rows) == 29 and "q3" not in {r["question"] for r in rows}
    assert data.load_splits(cfg) == (rows, evals)
    assert data.load_splits(replace(cfg, eval_size=4))[1] == evals[:4]  # a fixed subset, not a new draw


def test_eval_path_in_a_config_file_is_relative_to_it(tmp_path):
    (tmp_path / "d").mkdir()
    path = tmp_path / "c.yaml"
    path.write_text("data:\n  source: jsonl\n  path: d/a.jsonl\n  eval_path: d/b.jsonl\n")
    cfg = load_config(path)
    assert cfg.data.eval_path == str((tmp_path / "d" / "b.jsonl").resolve())
    with pytest.raises(ValueError, match="eval_path needs a file source"):
        load_config(path, ["data.source=reasoning_gym"])


def test_jsonl_rows_come_back_exactly_as_written(tmp_path):
    rows = [{"question": "a", "schema": {"type": "object", "properties": {"x": {"type": "string"}}}},
            {"question": "b", "schema": {"type": "array", "items": {"enum": [1, "1", None]}}}]
    assert data.file_rows(write_jsonl(tmp_path / "r.jsonl", rows)) == rows  # no Arrow column union


def test_a_line_that_is_not_json_is_named(tmp_path):
    path = tmp_path / "r.jsonl"
    path.write_text('{"question": "a"}\n\n{"question": \n')
    with pytest.raises(data.DataError, match=r"r.jsonl: line 3 is not JSON"):
        data.file_rows(path)


def test_check_errors_name_file_line_id_and_field(tmp_path):
    from rlvr.data.checks import row_checker

    path = write_jsonl(tmp_path / "code.jsonl", [{"question": "a", "id": "ok", "tests": ["assert 1"]},
                                                 {"question": "b", "id": "HumanEval/9", "tests": 5}])
    with pytest.raises(data.DataError, match=r"code.jsonl: line 2 \(id HumanEval/9\): field 'tests'"):
        data.file_rows(path, check=row_checker(["code"]))
    cfg = DataConfig(source="jsonl", path=str(path), eval_size=1)
    with pytest.raises(data.DataError, match="line 2"):
        data.load_splits(cfg, check=row_checker(["code"]))


# ------------------------------------------------------------------------------------------- prompts


def test_format_prompt_uses_the_chat_template(tokenizer):
    tokenizer.chat_template = CHATML
    text = data.format_prompt(tokenizer, "What is 2+2?", "Box it.", "Q: {question}")
    assert text == ("<|im_start|>system\nBox it.<|im_end|>\n<|im_start|>user\nQ: What is 2+2?<|im_end|>\n"
                    "<|im_start|>assistant\n")
    assert "system" not in data.format_prompt(tokenizer, "hi", None)


def test_format_prompt_without_template_is_plain_text(tokenizer):
    tokenizer.chat_template = None
    assert data.format_prompt(tokenizer, "What is 2+2?", "Box it.") == "Box it.\n\nWhat is 2+2?"
    assert data.format_prompt(tokenizer, "What is 2+2?", None, "Q: {question}\nA:") == "Q: What is 2+2?\nA:"


def test_format_prompt_fills_other_row_fields_as_json(tokenizer):
    tokenizer.chat_template = None
    text = data.format_prompt(tokenizer, "Call one.", None, "{question}\nTools: {tools}",
                              fields={"tools": [{"name": "f"}], "question": "ignored"})
    assert text == 'Call one.\nTools: [{"name": "f"}]'


# -------------------------------------------------------------------------------------------- stream


def rows_of(n):
    return [{"question": f"q{i}", "i": i} for i in range(n)]


def test_stream_covers_each_epoch_once_in_a_shuffled_order():
    stream = data.PromptStream(rows_of(10), prompts_per_step=5, seed=0)
    epoch = [r["i"] for _ in range(2) for r in stream.next_batch()]
    assert sorted(epoch) == list(range(10)) and epoch != list(range(10))
    nxt = [r["i"] for _ in range(2) for r in stream.next_batch()]
    assert sorted(nxt) == list(range(10)) and nxt != epoch
    assert stream.state()["epoch"] == 1


def test_stream_batches_cross_epoch_boundaries():
    stream = data.PromptStream(rows_of(5), prompts_per_step=3, seed=2)
    seen = [r["i"] for _ in range(5) for r in stream.next_batch()]  # 15 = 3 epochs
    for e in range(3):
        assert sorted(seen[5 * e: 5 * e + 5]) == list(range(5))


def test_stream_is_deterministic_and_seeded():
    def take(seed):
        s = data.PromptStream(rows_of(20), 4, seed)
        return [r["i"] for _ in range(6) for r in s.next_batch()]

    assert take(1) == take(1) and take(1) != take(2)


def test_stream_resumes_at_the_same_position():
    rows = rows_of(7)
    stream = data.PromptStream(rows, 3, seed=4)
    for _ in range(3):
        stream.next_batch()
    state = json.loads(json.dumps(stream.state()))  # survives a checkpoint file
    expected = [stream.next_batch() for _ in range(4)]
    resumed = data.PromptStream.from_state(rows, state)
    assert [resumed.next_batch() for _ in range(4)] == expected
    fresh = data.PromptStream(rows, 3, seed=4)
    fresh.load_state(state)
    assert fresh.next_batch() == expected[0]


def test_stream_refuses_a_state_from_other_data():
    state = data.PromptStream(rows_of(7), 3, seed=4).state()
    with pytest.raises(data.DataError, match="num_rows"):
        data.PromptStream.from_state(rows_of(8), state)
    with pytest.raises(data.DataError, match="prompts_per_step"):
        data.PromptStream(rows_of(7), 2, seed=4).load_state(state)


def test_stream_returns_copies():
    rows = rows_of(3)
    batch = data.PromptStream(rows, 3, seed=0).next_batch()
    batch[0]["prompt"] = "x"
    assert all("prompt" not in r for r in rows)


def test_a_malformed_row_stops_the_run_before_the_model_is_touched(tmp_path):
    """`run.prepare` reads and checks the data before resolving the model (a missing model here): the
    error is the data's, naming file, line, id and field."""
    from rlvr.run.cli import UserError, prepare

    good = {"question": "q", "id": "a", "tests": ["assert f() == 1"], "entry_point": "f"}
    train = write_jsonl(tmp_path / "train.jsonl", [good, {**good, "id": "b", "question": "r"}])
    held = write_jsonl(tmp_path / "eval.jsonl", [{**good, "question": "s", "id": "c"},
                                                 {**good, "question": "t", "id": "HumanEval/3", "entry_point": "1f"}])
    cfg_path = tmp_path / "c.yaml"
    cfg_path.write_text(f"model:\n  path: {tmp_path / 'no-model'}\ndata:\n  source: jsonl\n  path: {train}\n"
                        f"  eval_path: {held}\n  eval_size: 2\nrewards:\n  verifiers: [{{name: code}}]\n")
    with pytest.raises(UserError, match=r"eval.jsonl: line 2 \(id HumanEval/3\): field 'entry_point'"):
        prepare(load_config(cfg_path))
    held.write_text(held.read_text().replace('"1f"', '"f"'))
    with pytest.raises(UserError, match="no-model"):  # the data is fine now: the model is what fails
        prepare(load_config(cfg_path))
