#!/usr/bin/env python3
"""The Docugami SEC 10-Q QA set as `brain eval qa` questions (JSON lines), from its CSV.

    bench/qa/docugami-10q.py ../shared/data/docugami-sec-10q/qna_data.csv > /tmp/10q.jsonl

Each row becomes {question, answer, files, type, answerable}: `files` is the row's glob over the
PDF names, `type` single-chunk / multi-chunk / multi-doc. The reference answers are long prose;
`brain eval qa` grades them by their figures.
"""
import csv
import json
import re
import sys

# "(SOURCE: 2022 Q3 AAPL.pdf)", "SOURCE(S): ...": file names, not figures of the answer.
SOURCE_NOTE = re.compile(r"\(?\s*SOURCE(?:\(S\))?S?:[^)\n]*\)?", re.IGNORECASE)

KINDS = {"Single-Doc Single-Chunk RAG": "single-chunk", "Single-Doc Multi-Chunk RAG": "multi-chunk", "Multi-Doc RAG": "multi-doc"}

with open(sys.argv[1], encoding="utf-8-sig") as f:
    for row in csv.DictReader(f):
        print(json.dumps({
            "question": row["Question"].strip(),
            "answer": SOURCE_NOTE.sub("", row["Answer"]).strip(),
            "files": [g.strip() for g in row["Source Docs"].split(",") if g.strip()],
            "type": KINDS.get(row["Question Type"], row["Question Type"]),
            "answerable": True,
        }))
