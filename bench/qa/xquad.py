#!/usr/bin/env python3
"""XQuAD (`../shared/data/xquad-en`, `xquad-multi`) as documents and `brain eval qa` questions:
answers in one language, the same questions and paragraphs in each.

    bench/qa/xquad.py ../shared/data/xquad-multi/xquad.de.json /tmp/xq/de  # writes docs/, qa.jsonl

The first paragraph of each of the first 12 articles is asked about (its first two questions),
and the article's first three paragraphs are the documents (Markdown, one per paragraph, the
article's title as heading), so each question has look-alike paragraphs beside its own. The
reference answers are short spans; `brain eval qa` grades them as such (`reference_shown`).
"""
import json
import pathlib
import sys

ARTICLES, PARAGRAPHS, QUESTIONS = 12, 3, 2

data = json.loads(pathlib.Path(sys.argv[1]).read_text(encoding="utf-8"))["data"]
out = pathlib.Path(sys.argv[2])
(out / "docs").mkdir(parents=True, exist_ok=True)
with open(out / "qa.jsonl", "w", encoding="utf-8") as qa:
    for a, article in enumerate(data[:ARTICLES]):
        for p, paragraph in enumerate(article["paragraphs"][:PARAGRAPHS]):
            name = f"{a:02d}-{p}.md"
            (out / "docs" / name).write_text(f"# {article['title']}\n\n{paragraph['context']}\n", encoding="utf-8")
            if p == 0:
                for q in paragraph["qas"][:QUESTIONS]:
                    qa.write(json.dumps({"question": q["question"], "answer": q["answers"][0]["text"], "files": [name]}, ensure_ascii=False) + "\n")
