//! End-to-end tests of the `brain` CLI on the real embedder, LanceDB and llama.cpp with the real
//! model files, over corpora the tests write themselves.

mod common;

use std::path::Path;

use common::{Brain, file_name, pdf_with_pages, write};
use serde_json::Value;

/// A fictional company's documents: each fact lives in exactly one file and place.
fn write_handbook(root: &Path) {
    write(
        &root.join("handbook/leave-policy.md"),
        "# Leave Policy\n\
         \n\
         Quillfeather Logistics grants leave to every permanent employee.\n\
         \n\
         ## Annual leave\n\
         \n\
         Employees receive 26 days of paid annual leave each year. Requests go through the HR portal\n\
         at least ten working days ahead.\n\
         \n\
         ## Sick leave\n\
         \n\
         Report sickness to your line manager before 10:00. From the fourth day of absence a\n\
         medical certificate is required.\n\
         \n\
         ## Sabbatical\n\
         \n\
         After five years of continuous service, staff may take an unpaid sabbatical of up to\n\
         eight weeks. Apply to the people team six months before the planned start.\n",
    );
    write(
        &root.join("handbook/expenses.md"),
        "# Travel and Expenses\n\
         \n\
         ## Mileage\n\
         \n\
         Private car journeys are reimbursed at 0.42 per kilometre. Claim them on form QX-7731 within\n\
         one month of the trip.\n\
         \n\
         ## Hotels\n\
         \n\
         Book hotels through the travel desk. The nightly limit is 140 in capital cities and 110\n\
         elsewhere.\n",
    );
    write(
        &root.join("handbook/security.txt"),
        "Security at the depots\n\
         \n\
         Every visitor must be escorted while inside a depot. Forklift keys are kept in the locked\n\
         cabinet next to the dispatch office, and the night shift supervisor holds the only spare.\n",
    );
    write(
        &root.join("reports/quarterly-review.pdf"),
        pdf_with_pages(&[
            "Quarterly review. Revenue grew in every region this quarter.",
            "The Rotterdam warehouse expansion added twelve thousand square metres of storage.",
            "Outlook: two new cross-docking hubs are planned for next year.",
        ]),
    );
    write(
        &root.join("tools/route_planner.py"),
        "def shortest_route(depots, start):\n    \"\"\"Plan a delivery route visiting every depot once, nearest first.\"\"\"\n    route = [start]\n    return route\n",
    );
}

fn location(v: &Value) -> &Value {
    &v["location"]
}

#[test]
fn index_search_and_answer_offline() {
    let brain = Brain::offline();
    let docs = tempfile::tempdir().unwrap();
    write_handbook(docs.path());
    brain.add_folder(docs.path());

    let index = brain.json(&["index"]);
    assert_eq!(index["summary"]["indexed"], 5, "{index}");
    assert_eq!(index["summary"]["failed"], 0, "{index}");

    // An exact, rare term is found by keyword search, in its file and place.
    let hits = brain.search("QX-7731", "keyword");
    assert!(!hits.is_empty(), "keyword search found nothing");
    assert_eq!(file_name(&hits[0]), "expenses.md");
    assert_eq!(location(&hits[0])["heading"], "Travel and Expenses > Mileage");
    let lines = location(&hits[0])["lines"].as_array().expect("lines");
    assert!(lines[0].as_u64().unwrap() >= 3 && lines[1].as_u64().unwrap() <= 7, "{lines:?}");
    assert!(hits[0]["text"].as_str().unwrap().contains("QX-7731"));
    assert!(Path::new(hits[0]["path"].as_str().unwrap()).is_absolute());

    // A paraphrase with none of the document's words finds the right file, in every mode that embeds.
    for mode in ["hybrid", "vector"] {
        let hits = brain.search("how much unpaid time off can long-serving staff take", mode);
        assert_eq!(file_name(&hits[0]), "leave-policy.md", "{mode}: {hits:?}");
        assert_eq!(location(&hits[0])["heading"], "Leave Policy > Sabbatical", "{mode}");
    }

    // PDF text is found with its page.
    let hits = brain.search("Rotterdam warehouse expansion storage", "hybrid");
    assert_eq!(file_name(&hits[0]), "quarterly-review.pdf");
    assert_eq!(location(&hits[0])["page"], 2);

    // Restricting to a folder restricts the results.
    let reports = docs.path().join("reports");
    let hits = brain.json(&["search", "annual leave days", "--folder", reports.to_str().unwrap()])["results"].clone();
    for h in hits.as_array().unwrap() {
        assert!(h["path"].as_str().unwrap().contains("/reports/"), "{h}");
    }

    // A question gets a non-empty answer that cites the file and place holding the fact.
    let answer = brain.json(&["ask", "How long can a sabbatical last?"]);
    assert_no_instruction_echo(&answer);
    assert!(!answer["answer"].as_str().unwrap().trim().is_empty(), "{answer}");
    assert_eq!(answer["found"], true, "{answer}");
    let citations = answer["citations"].as_array().unwrap();
    let sabbatical = citations
        .iter()
        .find(|c| file_name(c) == "leave-policy.md" && c["location"]["heading"] == "Leave Policy > Sabbatical")
        .unwrap_or_else(|| panic!("no citation of the sabbatical section: {answer}"));
    assert!(sabbatical["n"].as_u64().unwrap() >= 1);
    assert!(sabbatical["text"].as_str().unwrap().contains("eight weeks"));
    assert!(answer["timings_ms"]["total_ms"].as_u64().is_some());
    // The system prompt's state was computed when the model loaded, and the question's prompt
    // started after it.
    let reused = answer["prompt_tokens_reused"].as_u64().unwrap();
    assert!(reused >= 20 && reused < answer["prompt_tokens"].as_u64().unwrap(), "{answer}");

    // Something the documents do not hold is "not found", not an invention.
    let absent = brain.json(&["ask", "What is the recipe for a chocolate cake?"]);
    assert_eq!(absent["found"], false, "{absent}");
    assert_eq!(absent["answer"], "I could not find this in your documents.");
    assert_eq!(absent["citations"].as_array().unwrap().len(), 0);

    let status = brain.json(&["status"]);
    assert_eq!(status["files"]["indexed"], 5, "{status}");
    assert_eq!(status["files"]["failed"], 0);
    assert!(status["chunks"].as_u64().unwrap() >= 5);
    assert_eq!(status["folders"][0]["path"], docs.path().canonicalize().unwrap().to_str().unwrap());
    // English documents: the default embedder reads them, and stays.
    assert_eq!(status["languages"]["profile"]["languages"][0]["code"], "eng", "{status}");
    assert_eq!(status["languages"]["embedder"], "reads", "{status}");
    assert!(index["embedder_chosen"].is_null(), "{index}");

    // A second sync of an unchanged folder does nothing.
    let again = brain.json(&["index"]);
    assert_eq!(again["summary"]["unchanged"], 5, "{again}");
    assert_eq!(again["summary"]["indexed"], 0, "{again}");
    assert!(index["summary"]["stages"]["embed_ms"].as_u64().unwrap() > 0, "{index}");

    // Every indexed file has its identity (what the search for the documents a question names
    // reads): its name below its folder, its title and headings (a short file's text is its
    // content, not what it is: only a long document's first page joins its identity).
    let identity_of = |name: &str| {
        let documents = brain.json(&["inspect"])["documents"].as_array().unwrap().clone();
        let document = documents.iter().find(|d| file_name(d) == name).unwrap_or_else(|| panic!("{name} in {documents:?}"));
        document["identity"].as_str().map(str::to_string)
    };
    let identity = identity_of("leave-policy.md").expect("an identity");
    assert!(identity.starts_with("handbook/leave-policy\nLeave Policy\n") && identity.contains("Sabbatical"), "{identity}");
    // An index made before identities existed (no identities table, an older format) gets them
    // at the next sync, every vector reused.
    std::fs::remove_dir_all(brain.data.path().join("lancedb/identities.lance")).unwrap();
    let meta_path = brain.data.path().join("index.json");
    let mut meta: Value = serde_json::from_slice(&std::fs::read(&meta_path).unwrap()).unwrap();
    meta["format"] = 2.into();
    std::fs::write(&meta_path, serde_json::to_vec(&meta).unwrap()).unwrap();
    assert_eq!(identity_of("leave-policy.md"), None, "the old index has none");
    let migrated = brain.json(&["index"]);
    assert_eq!((&migrated["summary"]["indexed"], &migrated["summary"]["embedded"]), (&5.into(), &0.into()), "{migrated}");
    assert_eq!(identity_of("leave-policy.md"), Some(identity));

    // The scale benchmark builds an index from this one's chunks and vectors, past a (lowered)
    // ANN threshold, and reports in the JSON scripts read.
    let scale = brain.bench_json(&["scale", "--chunks", "3000", "--ann-min-rows", "1000", "--queries", "10"]);
    assert_eq!(scale["chunks"], 3000, "{scale}");
    assert_eq!(scale["vector_index"], "IVF_RQ", "{scale}");
    assert!(scale["ann_recall_at_10"].as_f64().unwrap() >= 0.8, "{scale}");
    for mode in ["hybrid", "vector", "keyword", "hybrid_filtered"] {
        assert!(scale["search_ms"][mode]["p95"].as_f64().unwrap() >= scale["search_ms"][mode]["p50"].as_f64().unwrap(), "{scale}");
    }
    for key in ["build_s", "disk_bytes", "rss_mb", "update_visible_ms"] {
        assert!(scale[key].as_f64().unwrap() > 0.0, "{key}: {scale}");
    }
}

/// What the model's instructions say, none of which may appear in an answer.
const INSTRUCTION_WORDS: &[&str] =
    &["square brackets", "numbered sources", "reply only", "short sentences", "cite the context", "Answer briefly"];

fn assert_no_instruction_echo(answer: &Value) {
    let text = answer["answer"].as_str().unwrap().to_lowercase();
    for words in INSTRUCTION_WORDS {
        assert!(!text.contains(&words.to_lowercase()), "the prompt leaked into the answer ({words}): {answer}");
    }
}

/// The figures of a text as plain digit strings ("1,577.00" → "1577"), the way the check
/// compares them (a second, independent implementation).
fn figures(text: &str) -> std::collections::BTreeSet<String> {
    let mut out = std::collections::BTreeSet::new();
    for token in text.split(|c: char| !(c.is_ascii_digit() || c == ',' || c == '.')) {
        let t = token.trim_matches(|c| c == ',' || c == '.').replace(',', "");
        if t.chars().any(|c| c.is_ascii_digit()) {
            let t = if t.contains('.') { t.trim_end_matches('0').trim_end_matches('.').to_string() } else { t };
            out.insert(t.trim_start_matches('0').to_string());
        }
    }
    out
}

#[test]
fn every_claim_of_an_answer_is_checked_against_its_sources() {
    let brain = Brain::offline();
    let docs = tempfile::tempdir().unwrap();
    write_handbook(docs.path());
    write(&docs.path().join("fleet/vans.md"), "Harbor Lane Freight runs 37 electric vans from the Dunmore depot.\n");
    brain.add_folder(docs.path());
    brain.json(&["index"]);

    // A terse right answer ("37 [1]" is what a small model writes) is shown, with its citation:
    // the check reads it with its question.
    let vans = brain.json(&["ask", "How many electric vans run from the Dunmore depot?"]);
    assert_eq!(vans["found"], true, "{vans}");
    assert_eq!(vans["stop"], "end", "{vans}");
    assert!(figures(vans["answer"].as_str().unwrap()).contains("37"), "{vans}");
    let cited: Vec<&Value> = vans["citations"].as_array().unwrap().iter().filter(|c| c["cited"] == true).collect();
    assert!(cited.iter().any(|c| file_name(c) == "vans.md"), "the answer cites the fleet file: {vans}");
    assert_eq!(vans["grounded"].as_f64(), Some(1.0), "{vans}");

    // A question the documents answer: every claim supported, cited, with its evidence.
    let answer = brain.json(&["ask", "What is the nightly hotel limit in capital cities?"]);
    assert_no_instruction_echo(&answer);
    assert_eq!(answer["found"], true, "{answer}");
    assert!(answer["answer"].as_str().unwrap().contains("140"), "the figure as the source writes it: {answer}");
    let claims = answer["claims"].as_array().unwrap();
    assert!(!claims.is_empty(), "{answer}");
    let citations = answer["citations"].as_array().unwrap();
    for claim in claims {
        assert_eq!(claim["supported"], true, "{claim} in {answer}");
        let n = claim["sources"][0].as_u64().unwrap_or_else(|| panic!("a supported claim names its source: {claim}"));
        let source = citations.iter().find(|c| c["n"].as_u64() == Some(n)).unwrap();
        assert_eq!(file_name(source), "expenses.md", "{claim}");
        assert_eq!(source["cited"], true, "the answer cites what supports it (added if the model did not): {answer}");
        assert!(claim["evidence"].as_str().is_some_and(|e| source["text"].as_str().unwrap().contains(e)), "{claim}");
    }
    assert_eq!(answer["grounded"].as_f64(), Some(1.0), "{answer}");

    // A question that asks for a figure the documents do not hold, next to look-alike passages
    // (expense rules with other figures): refused, or any invented claim is marked unsupported.
    for question in ["What is the daily meal allowance on business trips?", "How many euros per night is the hotel limit in Tokyo in 2031?"]
    {
        let tempted = brain.json(&["ask", question]);
        assert_no_instruction_echo(&tempted);
        let shown = tempted["answer"].as_str().unwrap();
        if tempted["found"] == true {
            let sources: String = tempted["citations"].as_array().unwrap().iter().map(|c| c["text"].as_str().unwrap()).collect();
            for claim in tempted["claims"].as_array().unwrap() {
                let invented: Vec<String> = figures(claim["text"].as_str().unwrap()).difference(&figures(&sources)).cloned().collect();
                if !invented.is_empty() {
                    assert_eq!(claim["supported"], false, "a figure in no source ({invented:?}) must be marked: {tempted}");
                }
            }
        } else {
            assert!(shown.starts_with("I could not find this in your documents."), "{tempted}");
        }
    }
}

/// Pseudo-random bytes from a fixed seed (xorshift), so the fixture is the same every run.
fn noise(len: usize, mut seed: u64) -> Vec<u8> {
    (0..len)
        .map(|_| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed >> 24) as u8
        })
        .collect()
}

#[test]
fn bad_files_are_recorded_and_nothing_indexed_is_lost() {
    let brain = Brain::new();
    let docs = tempfile::tempdir().unwrap();
    let root = docs.path().canonicalize().unwrap();
    write(&root.join("good/onboarding.md"), "# Onboarding\n\nNew starters receive a laptop and a depot badge on their first morning.\n");
    write(&root.join("good/canteen.txt"), "The canteen serves a vegetarian lunch menu every weekday from noon.\n");
    brain.add_folder(&root);
    let first = brain.json(&["index"]);
    assert_eq!(first["summary"]["indexed"], 2, "{first}");
    let chunks_before = brain.json(&["status"])["chunks"].as_u64().unwrap();

    // Now the hostile files arrive next to the good ones.
    write(&root.join("bad/random.bin"), noise(64 * 1024, 7));
    write(&root.join("bad/not-really.pdf"), "This file only pretends to be a PDF.\n");
    let mut soup = b"header ".to_vec();
    soup.extend(noise(4096, 11).iter().map(|b| b | 0x80));
    write(&root.join("bad/broken-encoding.txt"), soup);
    write(&root.join("bad/empty.md"), "");
    write(&root.join("bad/huge.txt"), "all work and no play makes a dull log line\n".repeat(20 * 1024 * 1024 / 43 + 1));
    std::os::unix::fs::symlink(&root, root.join("bad/loop")).unwrap();
    write(&root.join("good/later.md"), "# Parking\n\nStaff parking permits are renewed every April at reception.\n");

    let second = brain.command(&["index", "--json"]).output().unwrap();
    assert!(second.status.success(), "index must exit 0 despite bad files: {}", String::from_utf8_lossy(&second.stderr));

    let failures = common::failures(&brain);
    let reason = |name: &str| common::reason(&failures, name);
    assert!(reason("random.bin").contains("binary content"), "{failures:?}");
    assert!(reason("not-really.pdf").starts_with("not a PDF"), "{failures:?}");
    assert!(reason("broken-encoding.txt").contains("invalid UTF-8"), "{failures:?}");
    assert!(reason("empty.md").contains("empty file"), "{failures:?}");
    assert!(reason("huge.txt").starts_with("too large"), "{failures:?}");
    assert!(reason("loop").contains("symlink loop"), "{failures:?}");
    assert_eq!(failures.len(), 6, "{failures:?}");
    let status = brain.json(&["status"]);
    assert_eq!(status["files"]["indexed"], 3, "{status}");
    assert!(status["chunks"].as_u64().unwrap() > chunks_before);

    // Every good file is searchable, the ones indexed before the bad files came included.
    for (query, expected) in [
        ("laptop and badge for new starters", "onboarding.md"),
        ("vegetarian lunch menu", "canteen.txt"),
        ("parking permits renewal", "later.md"),
    ] {
        let hits = brain.search(query, "hybrid");
        assert_eq!(file_name(&hits[0]), expected, "{query}");
    }
}

#[test]
fn missing_and_corrupt_models_name_the_fix() {
    let real = common::models_dir();
    // No models at all: a JSON error with a stable code and the command that fixes it.
    let mut brain = Brain::new();
    let empty_models = tempfile::tempdir().unwrap();
    brain.models = empty_models.path().to_path_buf();
    let docs = tempfile::tempdir().unwrap();
    write(&docs.path().join("drills.md"), "# Fire drills\n\nFire drills happen on the first Monday of every month at 11:00.\n");
    brain.add_folder(docs.path());
    let out = brain.command(&["index", "--json"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(err["error"]["code"], "model_missing", "{err}");
    assert!(err["error"]["hint"].as_str().unwrap().contains("brain models fetch"), "the CLI names the command that fixes it: {err}");

    // A damaged copy of the pinned LLM is caught before llama.cpp sees it.
    let models = tempfile::tempdir().unwrap();
    for entry in ["all-MiniLM-L6-v2-int8", "onnxruntime"] {
        std::os::unix::fs::symlink(real.join(entry), models.path().join(entry)).unwrap();
    }
    let default_llm = brain_testkit::default_llm_file();
    let mut head = vec![0u8; 4 << 20];
    std::io::Read::read_exact(&mut std::fs::File::open(real.join(&default_llm)).unwrap(), &mut head).unwrap();
    std::fs::write(models.path().join(&default_llm), &head).unwrap();
    brain.models = models.path().to_path_buf();
    brain.run(&["index"]);
    let out = brain.command(&["ask", "When do fire drills happen?", "--json"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(err["error"]["code"], "model_corrupt", "{err}");
    assert!(err["error"]["hint"].as_str().unwrap().contains("brain models fetch"), "the CLI names the command that fixes it: {err}");

    // Any GGUF the user points at is used instead of the default (here the catalog's smallest,
    // which `.ci/setup` fetches for this), and a non-GGUF is refused.
    let not_gguf = models.path().join("notes.gguf");
    std::fs::write(&not_gguf, "hello").unwrap();
    let out = brain.command(&["ask", "When do fire drills happen?", "--json", "--llm", not_gguf.to_str().unwrap()]).output().unwrap();
    let err: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(err["error"]["code"], "model_corrupt", "{err}");
    let answer =
        brain.json(&["ask", "When do fire drills happen?", "--llm", real.join("SmolLM2-135M-Instruct.Q4_1.gguf").to_str().unwrap()]);
    assert!(answer["answer"].as_str().is_some(), "{answer}");
}

#[test]
fn answer_models_are_picked_by_name_or_file() {
    let brain = Brain::offline();
    let in_use = |brain: &Brain| brain.json(&["models", "status"])["in_use"]["llm"].as_str().unwrap().to_string();
    let list = brain.json(&["models", "list"]);
    let names: Vec<&str> = list["llms"].as_array().unwrap().iter().map(|m| m["name"].as_str().unwrap()).collect();
    assert!(names.contains(&"smollm2-135m") && names.contains(&"qwen2.5-coder-1.5b"), "{list}");
    let default = list["llms"].as_array().unwrap().iter().find(|m| m["default"] == true).unwrap();
    assert_eq!(default["in_use"], true, "{list}");

    // By name: fetching an installed model verifies it (offline), and `use` makes it stick.
    let fetched = brain.run(&["models", "fetch", "--llm", "smollm2-135m"]);
    assert!(String::from_utf8_lossy(&fetched.stdout).contains("smollm2-135m (SmolLM2-135M-Instruct, Q4_1): present and verified"));
    brain.run(&["models", "use", "--llm", "smollm2-135m"]);
    assert!(in_use(&brain).ends_with("SmolLM2-135M-Instruct.Q4_1.gguf"), "{}", in_use(&brain));
    // A name the catalog does not have is refused with the names it has.
    let out = brain.command(&["models", "use", "--llm", "gpt-9"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let error = String::from_utf8_lossy(&out.stderr);
    assert!(
        error.contains("\"gpt-9\" is neither a GGUF file nor an answer model's name") && error.contains("qwen2.5-coder-1.5b"),
        "{error}"
    );
    // Any GGUF file, for one run (the global --llm) or for good.
    let file = brain.models.join(brain_testkit::default_llm_file());
    let once = brain.json(&["--llm", file.to_str().unwrap(), "models", "status"]);
    assert_eq!(once["in_use"]["llm"], file.to_str().unwrap(), "{once}");
    brain.run(&["models", "use", "--llm", file.to_str().unwrap()]);
    assert_eq!(in_use(&brain), file.to_str().unwrap());
    brain.run(&["models", "use", "--defaults"]);
    assert_eq!(in_use(&brain), default["path"].as_str().unwrap());

    // A LoRA adapter the model refuses is an error naming it, and nothing changes.
    let not_an_adapter = brain.data.path().join("house-style.gguf");
    write(&not_an_adapter, "not a GGUF file");
    let out = brain.command(&["models", "use", "--lora", not_an_adapter.to_str().unwrap()]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let error = String::from_utf8_lossy(&out.stderr);
    assert!(error.contains("house-style.gguf is not a LoRA adapter of this model: it is not a GGUF file"), "{error}");
    assert_eq!(brain.json(&["models", "status"])["lora"], Value::Null);
}

#[test]
fn answers_drawn_from_a_folder_are_written_with_its_lora_adapter() {
    let brain = Brain::offline();
    let docs = tempfile::tempdir().unwrap();
    let (legal, sales) = (docs.path().join("legal"), docs.path().join("sales"));
    write(&legal.join("nda.md"), "# Non-disclosure agreements\n\nSigned NDAs are kept for seven years in the legal archive.\n");
    write(&sales.join("targets.md"), "# Sales targets\n\nThe third-quarter sales target is 4.2 million euros.\n");
    brain.add_folder(docs.path());
    brain.run(&["index"]);
    brain.run(&["models", "use", "--llm", "smollm2-135m"]);
    let model = brain.models.join(brain_testkit::llm_file("smollm2-135m"));
    let house_style = brain.data.path().join("legal-style.gguf");
    brain_testkit::write_lora(&model, &house_style, 0, 0);
    let house_style = house_style.canonicalize().unwrap();

    // Refused before anything changes: a folder outside the registered ones, an adapter the
    // model does not take.
    let outside = tempfile::tempdir().unwrap();
    let out = brain
        .command(&["models", "use", "--lora", house_style.to_str().unwrap(), "--folder", outside.path().to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("folder is not registered"), "{}", String::from_utf8_lossy(&out.stderr));
    let mismatched = brain.data.path().join("other-model.gguf");
    brain_testkit::write_lora(&model, &mismatched, 8, 0);
    let out =
        brain.command(&["models", "use", "--lora", mismatched.to_str().unwrap(), "--folder", legal.to_str().unwrap()]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("other-model.gguf is not a LoRA adapter of this model"));
    assert_eq!(brain.json(&["models", "status"])["folder_loras"], serde_json::json!([]));

    brain.run(&["models", "use", "--lora", house_style.to_str().unwrap(), "--scale", "0.5", "--folder", legal.to_str().unwrap()]);
    let status = brain.json(&["models", "status"]);
    assert_eq!(status["folder_loras"][0]["lora"], house_style.to_str().unwrap(), "{status}");
    assert_eq!(status["lora"], Value::Null, "the model's own adapter is unchanged");

    // The model is loaded with its own (no) adapter and the system prompt computed with it: an
    // answer written with the legal folder's adapter computes its whole prompt again.
    let nda = brain.json(&["ask", "How long are signed NDAs kept?"]);
    assert!(file_name(&nda["citations"][0]) == "nda.md", "{nda}");
    assert_eq!(nda["lora"], house_style.to_str().unwrap(), "{nda}");
    assert_eq!(nda["prompt_tokens_reused"], 0, "a state computed without the adapter is never used with it: {nda}");
    let target = brain.json(&["ask", "What is the third-quarter sales target?"]);
    assert!(file_name(&target["citations"][0]) == "targets.md", "{target}");
    assert_eq!(target["lora"], Value::Null, "{target}");
    assert!(target["prompt_tokens_reused"].as_u64().unwrap() > 0, "{target}");

    brain.run(&["models", "use", "--no-lora", "--folder", legal.to_str().unwrap()]);
    assert_eq!(brain.json(&["models", "status"])["folder_loras"], serde_json::json!([]));
    let plain = brain.json(&["ask", "How long are signed NDAs kept?"]);
    assert_eq!(plain["lora"], Value::Null, "{plain}");
    assert!(plain["prompt_tokens_reused"].as_u64().unwrap() > 0, "{plain}");
}

/// A fleet of 200 depots, one row each: name, region, vans, fuel budget. The figures follow a
/// formula, so that the test computes what a right answer is.
fn depot_rows() -> Vec<(String, &'static str, u32, f64)> {
    const REGIONS: [&str; 4] = ["North", "South", "East", "West"];
    const NAMES: [&str; 20] = [
        "Ash", "Birch", "Cedar", "Dale", "Elm", "Fern", "Glen", "Holly", "Iris", "Juniper", "Kestrel", "Larch", "Maple", "Nettle", "Oak",
        "Pine", "Quill", "Rowan", "Sorrel", "Thorn",
    ];
    const ENDINGS: [&str; 10] = ["ford", "by", "ton", "wick", "ham", "stead", "field", "mouth", "bury", "combe"];
    (0..200u32)
        .map(|i| {
            let name = format!("{}{} depot", NAMES[i as usize % 20], ENDINGS[i as usize / 20]);
            // 7 is prime to 4: regions are not a plain cycle of the rows.
            let region = REGIONS[((i * 7 + i / 3) % 4) as usize];
            // The most vans (63) at one row only (i = 117).
            let vans = if i == 117 { 63 } else { 3 + (i * 37) % 57 };
            let budget = 5_000.0 + f64::from((i * 7_919) % 145_000) + 0.25;
            (name, region, vans, budget)
        })
        .collect()
}

#[test]
fn questions_over_a_sheet_are_answered_by_a_query_over_every_row() {
    let brain = Brain::new();
    let docs = tempfile::tempdir().unwrap();
    let rows = depot_rows();
    let mut csv = String::from("Depot,Region,Vans,Fuel budget (EUR)\n");
    for (name, region, vans, budget) in &rows {
        csv.push_str(&format!("{name},{region},{vans},\"{budget:.2}\"\n"));
    }
    write(&docs.path().join("fleet-depots.csv"), csv);
    write(&docs.path().join("fleet-policy.md"), "# Fleet policy\n\nVans are serviced every six months at their home depot.\n");
    brain.add_folder(docs.path());
    let index = brain.json(&["index"]);
    assert_eq!(index["summary"]["indexed"], 2, "{index}");

    let north = rows.iter().filter(|r| r.1 == "North").count();
    let busiest = &rows[117].0;
    let total_vans: u32 = rows.iter().map(|r| r.2).sum();
    for (question, expected, rows_read) in [
        ("How many depots are in the North region?", north.to_string(), north),
        ("Which depot has the most vans?", busiest.clone(), rows.len()),
        ("What is the total number of vans across all depots?", total_vans.to_string(), rows.len()),
    ] {
        let answer = brain.json(&["ask", question]);
        assert_eq!(answer["found"], true, "{question}: {answer}");
        let query = &answer["query"];
        assert!(query["sql"].as_str().is_some_and(|s| s.to_uppercase().starts_with("SELECT")), "{question}: {answer}");
        let text = answer["answer"].as_str().unwrap();
        assert!(text.replace(',', "").contains(&expected), "{question}: expected {expected} in {text}");
        assert_eq!(query["rows_read"], rows_read, "{question}: {answer}");
        let citation = &answer["citations"][0];
        assert_eq!(file_name(citation), "fleet-depots.csv", "{answer}");
        assert_eq!(citation["location"]["sheet"], "fleet-depots", "{answer}");
    }
    // A question about one fact is answered from passages, as before.
    let policy = brain.json(&["ask", "How often are vans serviced?"]);
    assert!(policy.get("query").is_none(), "{policy}");
    assert!(policy["answer"].as_str().unwrap().contains("six months"), "{policy}");
}

#[test]
fn a_question_over_a_pdf_tables_rows_is_answered_by_a_query_over_its_cells() {
    let brain = Brain::new();
    // Off by default (see the README's figures on real filings); this is the path when on.
    write(&brain.data.path().join("settings.toml"), "pdf_table_queries = true\n");
    let docs = tempfile::tempdir().unwrap();
    let rows: &[&[&str]] = &[
        &["Region", "Q1 2023", "Q2 2023"],
        &["Northgate", "1,200", "1,350"],
        &["Southmoor", "980", "1,010"],
        &["Eastwick", "12,450", "2,600"],
        &["Westholm", "75", "80"],
        &["Midvale", "2,210", "2,940"],
    ];
    let pdf = brain_testkit::pdf_with(&[brain_testkit::PdfPage::Text(&["Regional sales report"]), brain_testkit::PdfPage::Table(rows)]);
    std::fs::write(docs.path().join("regional-sales.pdf"), pdf).unwrap();
    brain.add_folder(docs.path());
    assert_eq!(brain.json(&["index"])["summary"]["indexed"], 1);

    // Q2's largest is Midvale (2,940), not Eastwick, the largest of Q1 and of any single cell.
    let answer = brain.json(&["ask", "Which region had the highest sales in Q2 2023?"]);
    assert_eq!(answer["found"], true, "{answer}");
    let query = &answer["query"];
    assert!(query["sql"].as_str().is_some_and(|s| s.to_uppercase().starts_with("SELECT")), "{answer}");
    let text = answer["answer"].as_str().unwrap();
    assert!(text.contains("Midvale") && text.contains("page 2"), "{text}");
    // The rows it read: all five, or the one a `WHERE q2 = (SELECT MAX(q2) …)` kept.
    assert!(query["rows_read"].as_u64().is_some_and(|n| (1..=5).contains(&n)), "{answer}");
    let citation = &answer["citations"][0];
    assert_eq!(file_name(citation), "regional-sales.pdf", "{answer}");
    assert_eq!((citation["location"]["page"].as_u64(), citation["location"].get("sheet")), (Some(2), None), "{answer}");

    // One region's figure is read from the passage, where the answer's check sees it.
    let one = brain.json(&["ask", "What were Westholm's sales in Q2 2023?"]);
    assert!(one.get("query").is_none(), "{one}");
}

/// Issue 22: with the multilingual embedder, an English question finds a German passage, and the
/// answer comes in English with its claims checked against the German source. Issue 19: German
/// documents get the multilingual embedder without being asked, unless the user chose another.
#[test]
fn an_english_question_finds_and_answers_from_a_german_document() {
    let brain = Brain::offline();
    let docs = tempfile::tempdir().unwrap();
    write(
        &docs.path().join("reisen/richtlinie.md"),
        "# Reiserichtlinie\n\nFür Übernachtungen in Hauptstädten erstattet die Firma höchstens 140 Euro pro Nacht. \
         In allen anderen Städten liegt die Grenze bei 95 Euro pro Nacht. Die Hotelrechnung muss der Abrechnung beiliegen.\n",
    );
    write(
        &docs.path().join("personal/urlaub.md"),
        "# Urlaub\n\nJede Vollzeitkraft hat Anspruch auf 28 Urlaubstage im Jahr. Nicht genommene Tage verfallen am 31. März des Folgejahres.\n",
    );
    write(
        &docs.path().join("it/laptops.md"),
        "# Laptops\n\nEin verlorener Laptop muss innerhalb einer Stunde dem IT-Service gemeldet werden. Geräte werden alle vier Jahre ersetzt.\n",
    );
    brain.add_folder(docs.path());

    // No embedder chosen: a few of the files are read before anything is embedded, their
    // passages are German, so the multilingual embedder is chosen and the first index is built
    // with it, once (not with the default English-only one first, and then again).
    let indexed = brain.json(&["index"]);
    assert_eq!(indexed["summary"]["indexed"], 3, "{indexed}");
    assert_eq!(indexed["embedder_chosen"], "multilingual-e5-small", "{indexed}");
    assert_eq!(indexed["built_again"], false, "{indexed}");
    assert!(!brain.data.path().join("next-index").exists(), "the new index moved into place");
    let status = brain.json(&["status"]);
    assert_eq!(status["languages"]["profile"]["languages"][0]["code"], "deu", "{status}");
    assert_eq!(status["languages"]["embedder"], "chosen_for_them", "{status}");
    assert_eq!(status["rebuild_needed"], false, "{status}");
    let again = brain.json(&["index"]);
    assert_eq!((again["summary"]["indexed"].as_u64(), again["embedder_chosen"].is_null()), (Some(0), true), "{again}");
    // Back to the default models: the documents still want the multilingual embedder, which is
    // chosen again before anything is embedded, so the index it built is kept (not built with
    // the default and then again).
    brain.run(&["models", "use", "--defaults"]);
    let defaults = brain.json(&["index"]);
    assert_eq!(
        (defaults["summary"]["indexed"].as_u64(), defaults["embedder_chosen"].as_str(), defaults["built_again"].as_bool()),
        (Some(0), Some("multilingual-e5-small"), Some(false)),
        "{defaults}"
    );
    assert_eq!(brain.json(&["status"])["languages"]["embedder"], "chosen_for_them");

    // By meaning alone (no shared word): the German hotel rule comes first for each English question.
    for question in
        ["How much does the company refund per night for a hotel in a capital city?", "How many vacation days do employees get?"]
    {
        let hits = brain.search(question, "vector");
        let expected = if question.contains("hotel") { "richtlinie.md" } else { "urlaub.md" };
        assert_eq!(file_name(&hits[0]), expected, "{question}: {hits:?}");
    }

    let answer = brain.json(&["ask", "What is the maximum hotel cost per night in capital cities?"]);
    assert_eq!(answer["found"], true, "{answer}");
    let text = answer["answer"].as_str().unwrap();
    assert!(figures(text).contains("140"), "{answer}");
    let english = ["the", "is", "per", "night", "maximum", "capital"]
        .iter()
        .filter(|w| text.to_lowercase().split(|c: char| !c.is_alphanumeric()).any(|t| t == **w))
        .count();
    assert!(english >= 2, "the answer is in the question's language: {text}");
    let cited: Vec<&Value> = answer["citations"].as_array().unwrap().iter().filter(|c| c["cited"] == true).collect();
    assert!(cited.iter().any(|c| file_name(c) == "richtlinie.md" && c["text"].as_str().unwrap().contains("140 Euro")), "{answer}");
    // Every claim was checked against the German source, and the one that answers holds.
    let claims = answer["claims"].as_array().unwrap();
    assert!(!claims.is_empty() && claims[0]["supported"] == true, "{answer}");

    // A question the German documents do not answer is refused, or its claims are marked.
    let absent = brain.json(&["ask", "What is the dress code for the annual gala dinner in Monaco?"]);
    if absent["found"] == true {
        assert!(absent["claims"].as_array().unwrap().iter().any(|c| c["supported"] == false), "{absent}");
    }

    // The user's choice wins, and never leaves search without an index: with the English-only
    // embedder named, searches use the multilingual index until the next sync has built the index
    // again, and that sync keeps the named embedder.
    brain.run(&["models", "use", "--embedder", "all-MiniLM-L6-v2"]);
    assert_eq!(brain.json(&["status"])["languages"]["embedder"], "kept_by_user");
    assert_eq!(file_name(&brain.search("How many vacation days do employees get?", "vector")[0]), "urlaub.md");
    let kept = brain.json(&["index"]);
    assert_eq!((kept["summary"]["indexed"].as_u64(), kept["embedder_chosen"].is_null()), (Some(3), true), "{kept}");
    assert_eq!(brain.json(&["status"])["languages"]["embedder"], "kept_by_user");

    // An English index to which German folders come later: indexed with the default embedder,
    // then the German files' passages make the multilingual one chosen after the sync that
    // indexed them, and the whole index is built again with it, in the same run.
    let later = Brain::offline();
    let english = tempfile::tempdir().unwrap();
    write(&english.path().join("handbook.md"), "# Handbook\n\nEvery employee gets 28 days of annual leave per year.\n");
    later.add_folder(english.path());
    let first = later.json(&["index"]);
    assert_eq!((first["summary"]["indexed"].as_u64(), first["embedder_chosen"].is_null()), (Some(1), true), "{first}");
    later.add_folder(docs.path());
    let again = later.json(&["index"]);
    assert_eq!(again["embedder_chosen"], "multilingual-e5-small", "{again}");
    assert_eq!(
        (again["built_again"].as_bool(), again["summary"]["indexed"].as_u64()),
        (Some(true), Some(4)),
        "every file embedded again: {again}"
    );
    let hotel = later.search("How much does the company refund per night for a hotel in a capital city?", "vector");
    assert_eq!(file_name(&hotel[0]), "richtlinie.md", "{hotel:?}");
}

/// An English corpus asked in German: the English-only default embedder cannot match the
/// questions to its passages, so once ten questions are told and a quarter or more are not
/// English, the multilingual embedder is chosen after the answer (nothing is held up) and the
/// next index builds the index again with it; then a German question finds its English passage
/// by meaning, and the user reads its figure.
#[test]
fn questions_asked_in_another_language_choose_the_multilingual_embedder() {
    let brain = Brain::offline();
    let docs = tempfile::tempdir().unwrap();
    write(
        &docs.path().join("travel.md"),
        "# Travel policy\n\nFor overnight stays in capital cities the company refunds at most 140 euros per night. \
         In all other cities the limit is 95 euros per night. The hotel invoice must be attached to the expense report.\n",
    );
    write(
        &docs.path().join("leave.md"),
        "# Annual leave\n\nEvery full-time employee is entitled to 28 days of annual leave per year. Days not taken expire on 31 March of the following year.\n",
    );
    write(
        &docs.path().join("laptops.md"),
        "# Laptops\n\nA lost laptop must be reported to the IT service desk within one hour. Devices are replaced every four years.\n",
    );
    brain.add_folder(docs.path());
    let first = brain.json(&["index"]);
    assert_eq!((first["summary"]["indexed"].as_u64(), first["embedder_chosen"].is_null()), (Some(3), true), "English documents: {first}");

    // Nine questions in German: too few to tell a user's language from the detector's mistakes.
    let german = [
        "Wer hat im Jahr 1954 die Fußballweltmeisterschaft gewonnen?",
        "Wann öffnet die Kantine am Samstagmorgen?",
        "Wie heißt der Hund des Hausmeisters?",
        "Welche Farbe haben die neuen Stühle im Besprechungsraum?",
        "Wo finde ich den Schlüssel für den Fahrradkeller?",
        "Wie viele Parkplätze gibt es vor dem Hauptgebäude?",
        "Wer organisiert das Sommerfest in diesem Jahr?",
        "Welche Pflanzen stehen im Eingangsbereich?",
        "Wie lange dauert die Mittagspause am Freitag?",
    ];
    for question in german {
        brain.json(&["ask", question]);
    }
    let status = brain.json(&["status"]);
    assert_eq!(status["languages"]["questions"]["told"], 9, "{status}");
    assert_eq!(status["languages"]["questions"]["languages"][0]["code"], "deu", "{status}");
    assert_eq!(status["languages"]["embedder"], "reads", "{status}");
    assert!(
        !std::fs::read_to_string(brain.data.path().join("languages.json")).unwrap().contains("Kantine"),
        "languages only, not questions"
    );

    // The tenth: chosen after the answer, said by the CLI; the settings name it now.
    let question = "Wie viel erstattet die Firma höchstens pro Nacht für ein Hotel in einer Hauptstadt?";
    let asked = brain.run(&["ask", question]);
    let said = String::from_utf8_lossy(&asked.stderr);
    assert!(said.contains("multilingual-e5-small is chosen") && said.contains("German 100 %"), "{said}");
    let status = brain.json(&["status"]);
    assert_eq!(status["languages"]["embedder"], "chosen_for_them", "{status}");
    assert_eq!(status["languages"]["profile"]["languages"][0]["code"], "eng", "{status}");

    // The next index builds it again (every file embedded with it); nothing more is chosen.
    let again = brain.json(&["index"]);
    assert_eq!((again["summary"]["indexed"].as_u64(), again["embedder_chosen"].is_null()), (Some(3), true), "{again}");
    assert_eq!(brain.json(&["status"])["rebuild_needed"], false);
    let hits = brain.search(question, "vector");
    assert_eq!(file_name(&hits[0]), "travel.md", "by meaning alone, across the languages: {hits:?}");
    // The English rule is the first source of the German question, and the answer is shown:
    // the gate and the claim check read a German question and an English source on the scale
    // of a pair in one language (they refused it before).
    let answer = brain.json(&["ask", question]);
    assert_eq!(file_name(&answer["citations"][0]), "travel.md", "{answer}");
    assert!(figures(answer["answer"].as_str().unwrap()).contains("140"), "{answer}");
    assert_eq!(answer["stop"], "end", "shown, not quoted passages: {answer}");
    assert_eq!(answer["claims"][0]["supported"], true, "{answer}");
}

/// Projects a company calls by code names that say nothing of what they are: the language a
/// general embedder cannot know and a tuned query adapter can learn. (code name, subject, lead)
const PROJECTS: &[(&str, &str, &str)] = &[
    ("Bluebird", "the customer loyalty programme and its reward points", "Maria Okafor"),
    ("Granite", "the migration of the payroll system to the new vendor", "Tomas Lindqvist"),
    ("Lantern", "the solar panels on the roofs of the northern depots", "Aiko Tanaka"),
    ("Marmalade", "the redesign of the delivery van interiors for driver comfort", "Pedro Alves"),
    ("Nightjar", "the overnight sorting shift at the central hub", "Fatima Zahra"),
    ("Quartz", "the audit of supplier contracts for hidden fees", "Jonas Becker"),
    ("Saffron", "the canteen menu and the food waste composting scheme", "Leila Haddad"),
    ("Tundra", "the cold storage expansion for frozen pharmaceuticals", "Oskar Nilsen"),
    ("Velvet", "the graduate recruitment and mentoring scheme", "Chloe Martin"),
    ("Wombat", "the replacement of paper delivery notes with handheld scanners", "Daniel Reyes"),
    ("Aurora", "the electric charging points in the staff car park", "Ingrid Berg"),
    ("Cobalt", "the cyber security training for warehouse staff", "Samuel Osei"),
    ("Driftwood", "the sale of the old harbour warehouse", "Nora Kowalski"),
    ("Ember", "the fire safety inspection of every depot", "Victor Dubois"),
    ("Falcon", "the drone deliveries to the offshore islands", "Hana Novak"),
    ("Juniper", "the employee wellbeing and counselling service", "Ravi Menon"),
    ("Kestrel", "the route planning software for regional drivers", "Elena Petrova"),
    ("Lighthouse", "the customer complaints hotline and its response times", "Omar Farouk"),
    ("Mosaic", "the translation of the staff handbook into six languages", "Julia Rossi"),
    ("Orchard", "the tree planting programme to offset fleet emissions", "Liam Byrne"),
    ("Pebble", "the small parcel lockers at railway stations", "Sofia Lindgren"),
    ("Riverstone", "the flood defences around the riverside depot", "Kwame Asante"),
    ("Thistle", "the pension scheme changes for part-time staff", "Ewan Campbell"),
    ("Zephyr", "the ventilation upgrade in the sorting halls", "Mina Park"),
];

/// Ways of asking about a project by its code name (the last one only at the end, by search).
const ASKING: &[&str] = &[
    "Who leads {}?",
    "What is {} about?",
    "What is the budget of {}?",
    "When did {} start?",
    "Where can I read about project {}?",
    "Is {} finished yet?",
    "Tell me more about the {} project",
];

#[test]
fn a_query_adapter_learns_the_companys_code_names_and_is_used_only_when_it_wins() {
    let brain = Brain::new();
    let docs = tempfile::tempdir().unwrap();
    let root = std::fs::canonicalize(docs.path()).unwrap();
    for (i, (_, subject, lead)) in PROJECTS.iter().enumerate() {
        // The documents never use the code names: their titles say what the projects are.
        write(
            &root.join(format!("projects/project-{i:02}.md")),
            format!(
                "# {}\n\nThis project covers {subject}. It is led by {lead} and started in {} 2025 with a budget of {} thousand.\n\n\
                 ## Progress\n\nThe team reports monthly to the operations board; the next milestone is due in the autumn.\n",
                &subject[4..],
                ["January", "March", "May", "July", "September", "November"][i % 6],
                120 + 15 * i
            ),
        );
    }
    brain.add_folder(&root);
    brain.run(&["index"]);
    let path_of = |i: usize| root.join(format!("projects/project-{i:02}.md")).display().to_string();

    // The plain embedder cannot know what a code name stands for.
    let top_file = |brain: &Brain, query: &str| brain.search(query, "vector").first().map(|h| h["path"].as_str().unwrap().to_string());
    let found = |brain: &Brain| {
        PROJECTS.iter().enumerate().filter(|(i, (code, _, _))| top_file(brain, &ASKING[6].replace("{}", code)) == Some(path_of(*i))).count()
    };
    let plain_found = found(&brain);

    // Labelled pairs: every project asked about in all but the last way.
    let pairs: String = PROJECTS
        .iter()
        .enumerate()
        .flat_map(|(i, (code, _, _))| {
            ASKING[..6]
                .iter()
                .map(move |ask| serde_json::json!({ "query": ask.replace("{}", code), "path": path_of(i) }).to_string() + "\n")
        })
        .collect();
    let pairs_file = docs.path().join("pairs.jsonl");
    write(&pairs_file, pairs);
    let report = brain.json(&["tune", "--questions", "0", "--pairs", pairs_file.to_str().unwrap()]);
    let adapter = &report["adapter"];
    assert_eq!(report["pairs"]["labelled"], PROJECTS.len() * 6, "{report}");
    assert!(adapter["held_out_pairs"].as_u64().unwrap() >= 20, "{report}");
    assert!(adapter["adapted_mrr"].as_f64().unwrap() > adapter["plain_mrr"].as_f64().unwrap(), "{report}");
    assert_eq!(adapter["in_use"], true, "{report}");
    assert_eq!(brain.json(&["status"])["adapter"]["in_use"], true);

    // Searches now rank by it, also for a way of asking it never saw.
    let tuned_found = found(&brain);
    eprintln!("found by code name: {plain_found} plain, {tuned_found} tuned of {}; {adapter}", PROJECTS.len());
    assert!(tuned_found > plain_found + PROJECTS.len() / 4, "found by code name: {plain_found} plain, {tuned_found} tuned");
    // The similarity the gate reads is still the plain one: the same hit scores the same.
    let query = ASKING[6].replace("{}", PROJECTS[0].0);
    let tuned_hits = brain.search(&query, "vector");

    // Dropped, searches go back to the plain embedder; a damaged adapter is left out, not fatal.
    assert_eq!(brain.json(&["tune", "--remove"])["removed"], true);
    assert_eq!(found(&brain), plain_found);
    let plain_hits = brain.search(&query, "vector");
    let similarity = |hits: &[Value], path: &str| hits.iter().find(|h| h["path"] == path).map(|h| h["similarity"].as_f64().unwrap());
    if let (Some(a), Some(b)) = (similarity(&tuned_hits, &path_of(0)), similarity(&plain_hits, &path_of(0))) {
        assert!((a - b).abs() < 1e-4, "similarity {a} with the adapter, {b} without");
    }
    brain.run(&["tune", "--questions", "0"]);
    std::fs::write(brain.data.path().join("tune/adapter.safetensors"), b"damaged").unwrap();
    assert_eq!(brain.search(&query, "vector").len(), 5, "searches go on without a damaged adapter");

    // Questions the (smallest) answer model writes: kept as they come, never twice for a passage.
    let small = brain.models.join(brain_testkit::llm_file("smollm2-135m"));
    let small = small.to_str().unwrap();
    let first = brain.json(&["--llm", small, "tune", "--questions", "3"]);
    let second = brain.json(&["--llm", small, "tune", "--questions", "3"]);
    let written = first["questions_written"].as_u64().unwrap() + second["questions_written"].as_u64().unwrap();
    assert_eq!(second["pairs"]["questions"].as_u64().unwrap(), written, "{second}");
    let kept = std::fs::read_to_string(brain.data.path().join("tune/pairs.jsonl")).unwrap();
    let asked: Vec<String> = kept
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|p| p["origin"] == "question")
        .map(|p| p["chunk_hash"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(asked.len() as u64, written);
    assert_eq!(asked.iter().collect::<std::collections::HashSet<_>>().len(), asked.len(), "a passage asked about twice");
    assert!(written >= 2, "the model wrote {written} questions for 6 passages: {kept}");

    // A training set for the answer model: every kept pair, its passage among distractors in the
    // engine's own prompt, the answer quoting and citing it (or, one in five, a refusal).
    let out = docs.path().join("training.jsonl");
    let export = brain.json(&["tune", "export", out.to_str().unwrap()]);
    let total = PROJECTS.len() as u64 * 6 + written;
    assert_eq!(export["examples"].as_u64().unwrap(), total, "{export}");
    let examples: Vec<Value> = std::fs::read_to_string(&out).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(examples.len() as u64, total);
    let (mut cited, mut refused) = (0, 0);
    for example in &examples {
        let m = example["messages"].as_array().unwrap();
        let roles: Vec<&str> = m.iter().map(|x| x["role"].as_str().unwrap()).collect();
        assert_eq!(roles, ["system", "user", "assistant"]);
        let (user, answer) = (m[1]["content"].as_str().unwrap(), m[2]["content"].as_str().unwrap());
        assert!(user.starts_with("Sources:\n[1] ("), "{user}");
        if answer == "I could not find this in your documents." {
            refused += 1;
            continue;
        }
        // Labelled pairs: the file the answer cites is the pair's own.
        let Some((i, _)) = PROJECTS.iter().enumerate().find(|(_, (code, _, _))| user.contains(&ASKING[0].replace("{}", code))) else {
            continue;
        };
        let n = answer.rsplit('[').next().unwrap().trim_end_matches(']');
        assert!(user.contains(&format!("[{n}] (project-{i:02}.md")), "cites [{n}] for project {i}: {user}\n{answer}");
        cited += 1;
    }
    assert_eq!(refused, export["refusals"].as_u64().unwrap());
    assert!(refused > 0 && cited > 0, "{refused} refusals, {cited} checked citations");

    // What people say of answers trains it too: 👍 on the sources of answers about the code
    // names (brain feedback, as the app's buttons), and nothing else.
    assert_eq!(brain.json(&["tune", "--remove"])["removed"], true);
    for (i, (code, _, _)) in PROJECTS.iter().enumerate() {
        for ask in &ASKING[..6] {
            let kept = brain.json(&["feedback", &ask.replace("{}", code), "--helpful", &path_of(i)]);
            assert_eq!(kept["new_pairs"], 1, "{kept}");
        }
    }
    let again = brain.json(&["feedback", &ASKING[0].replace("{}", PROJECTS[0].0), "--helpful", &path_of(0)]);
    assert_eq!(again["new_pairs"], 0, "a verdict given twice is kept once");
    // A source marked wrong is held against its question, not trained for it.
    let wrong = brain.json(&["feedback", &ASKING[0].replace("{}", PROJECTS[0].0), "--wrong", &path_of(1)]);
    assert_eq!(wrong["new_pairs"], 1);
    let outside = brain.command(&["feedback", "anything?", "--helpful", "/etc/passwd", "--json"]).output().unwrap();
    assert!(String::from_utf8_lossy(&outside.stdout).contains("not_openable"), "only files in the folders");
    let report = brain.json(&["tune", "--questions", "0", "--only", "feedback"]);
    assert_eq!(report["pairs"]["feedback"], PROJECTS.len() * 6 + 1, "{report}");
    assert_eq!(report["adapter"]["in_use"], true, "{report}");
    let from_feedback = found(&brain);
    assert!(from_feedback > plain_found + PROJECTS.len() / 4, "found by code name: {plain_found} plain, {from_feedback} from feedback");
}

/// `brain view PATH --passage TEXT …` as JSON, for a search hit: its page, or its sheet and rows.
fn view_of(brain: &Brain, hit: &Value, evidence: Option<&str>) -> Value {
    let location = &hit["location"];
    let mut args =
        vec!["view".to_string(), hit["path"].as_str().unwrap().to_string(), "--passage".into(), hit["text"].as_str().unwrap().into()];
    if let Some(evidence) = evidence {
        args.extend(["--evidence".into(), evidence.into()]);
    }
    if let Some(page) = location["page"].as_u64() {
        args.extend(["--page".into(), page.to_string()]);
    }
    if let Some(sheet) = location["sheet"].as_str() {
        let rows = &location["rows"];
        args.extend(["--sheet".into(), sheet.into(), "--rows".into(), format!("{}-{}", rows[0], rows[1])]);
    }
    brain.json(&args.iter().map(String::as_str).collect::<Vec<_>>())
}

fn top_hit_in(brain: &Brain, query: &str, file: &str) -> Value {
    let hits = brain.search(query, "hybrid");
    hits.iter().find(|h| file_name(h) == file).cloned().unwrap_or_else(|| panic!("no hit in {file} for {query:?}: {hits:?}"))
}

/// What a text view marks, and all it shows.
fn marked_and_shown(view: &Value) -> (String, String) {
    let pieces = || view["document"]["content"]["blocks"].as_array().unwrap().iter().flat_map(|b| b["pieces"].as_array().unwrap().iter());
    let marked = pieces().filter(|p| p["cited"] == true).map(|p| p["text"].as_str().unwrap()).collect::<Vec<_>>().join(" ");
    let shown = pieces().map(|p| p["text"].as_str().unwrap()).collect::<Vec<_>>().join("");
    (marked, shown)
}

#[test]
fn the_viewer_shows_every_format_with_the_cited_passage_marked_where_it_stands() {
    use brain_testkit::{PdfPage, depot_memo_pdf, depots_xlsx, pdf_with, travel_policy_docx};
    let brain = Brain::new();
    let docs = tempfile::tempdir().unwrap();
    let root = docs.path().canonicalize().unwrap();
    write(
        &root.join("review.pdf"),
        pdf_with(&[
            PdfPage::Text(&["Quarterly review of Northwind Trading."]),
            PdfPage::Text(&[
                "Revenue grew eleven percent.",
                "The Rotterdam warehouse expansion added 4000 square metres of storage.",
                "Staff numbers stayed the same.",
            ]),
        ]),
    );
    write(&root.join("memo.pdf"), depot_memo_pdf());
    write(&root.join("travel.docx"), travel_policy_docx());
    write(&root.join("depots.xlsx"), depots_xlsx(80, 61));
    write(&root.join("broken.pdf"), b"%PDF-1.7\nnot really a PDF\n");
    brain.add_folder(&root);
    let index = brain.json(&["index"]);
    assert_eq!((index["summary"]["indexed"].as_u64(), index["summary"]["failed"].as_u64()), (Some(4), Some(1)), "{index}");

    // A PDF page: drawn, the passage's line boxed where it stands on the page (the second line of
    // text, about a sixth of the way down an A4 page), its words and no others.
    let hit = top_hit_in(&brain, "Rotterdam warehouse expansion", "review.pdf");
    assert_eq!(hit["location"]["page"], 2, "{hit}");
    let png = docs.path().join("page.png");
    let mut args = vec!["view", hit["path"].as_str().unwrap(), "--passage", hit["text"].as_str().unwrap(), "--page", "2", "--png"];
    args.extend([png.to_str().unwrap(), "--evidence", "The Rotterdam warehouse expansion added 4000 square metres of storage."]);
    let view = brain.json(&args);
    assert_eq!(view["document"]["content"], serde_json::json!({ "kind": "pages", "pages": 2, "cited": 2 }), "{view}");
    let page = &view["page"];
    assert_eq!((page["page"].as_u64(), page["ocr"].as_bool()), (Some(2), Some(false)), "{view}");
    assert!(page["marked_text"].as_str().unwrap().contains("Rotterdam warehouse expansion added 4000 square metres"), "{view}");
    let marks = page["marks"].as_array().unwrap();
    assert!(!marks.is_empty(), "{view}");
    for mark in marks {
        let (top, height) = (mark["top"].as_f64().unwrap(), mark["height"].as_f64().unwrap());
        assert!(top > 0.12 && top + height < 0.26 && mark["width"].as_f64().unwrap() > 0.2, "a box over the page's lines of text: {mark}");
    }
    // The evidence is boxed again, on the same line.
    let evidence = page["evidence_marks"].as_array().unwrap();
    assert_eq!(evidence.len(), 1, "{view}");
    assert!((evidence[0]["top"].as_f64().unwrap() - marks[0]["top"].as_f64().unwrap()).abs() < 0.05, "{view}");
    let drawn = std::fs::read(&png).unwrap();
    assert!(drawn.starts_with(b"\x89PNG") && drawn.len() > 5_000, "the page drawn as a PNG");
    assert_eq!(u32::from_be_bytes(drawn[20..24].try_into().unwrap()), 1400, "an A4 page drawn 1400 pixels high");

    // A scanned page: the passage's words found by OCR and boxed.
    let hit = top_hit_in(&brain, "When does the Dunmore depot close for maintenance?", "memo.pdf");
    let view = view_of(&brain, &hit, None);
    assert_eq!(view["page"]["ocr"], true, "{view}");
    let marked = view["page"]["marked_text"].as_str().unwrap();
    assert!(marked.contains("Dunmore depot closes for maintenance"), "{view}");
    assert!(!view["page"]["marks"].as_array().unwrap().is_empty());

    // A Word document: its text with its headings, the passage marked and nothing else.
    let hit = top_hit_in(&brain, "Who approves flights?", "travel.docx");
    let view = view_of(&brain, &hit, Some("Flights need the finance director's approval before anything is booked."));
    assert_eq!(view["document"]["content"]["kind"], "text", "{view}");
    assert_eq!(view["document"]["content"]["found"], true, "{view}");
    let (marked, shown) = marked_and_shown(&view);
    assert!(marked.contains("Flights need the finance director's approval before anything is booked."), "{marked}");
    assert!(shown.contains("Book trains in second class"), "{shown}");
    let pieces: Vec<&Value> =
        view["document"]["content"]["blocks"].as_array().unwrap().iter().flat_map(|b| b["pieces"].as_array().unwrap().iter()).collect();
    let evidence: String = pieces.iter().filter(|p| p["evidence"] == true).map(|p| p["text"].as_str().unwrap()).collect();
    assert_eq!(evidence, "Flights need the finance director's approval before anything is booked.", "{view}");
    let headings: Vec<&str> = view["document"]["content"]["blocks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|b| b["heading"] == true)
        .map(|b| b["pieces"][0]["text"].as_str().unwrap())
        .collect();
    assert_eq!(headings, ["Travel Policy", "Flights"], "{view}");

    // A sheet: its rows as a table, the cited rows marked (Larchfield's among them), not all.
    let hit = top_hit_in(&brain, "Larchfield depot manager", "depots.xlsx");
    let view = view_of(&brain, &hit, Some("Depot: Larchfield | Vans: 12 | Manager: Tomasz Nowak"));
    let content = &view["document"]["content"];
    assert_eq!((content["kind"].as_str(), content["sheet"].as_str()), (Some("sheet"), Some("Depots")), "{view}");
    assert_eq!(content["columns"], serde_json::json!(["Depot", "Vans", "Manager"]));
    let rows = content["rows"].as_array().unwrap();
    let cited: Vec<&Value> = rows.iter().filter(|r| r["cited"] == true).collect();
    assert!(cited.iter().any(|r| r["cells"] == serde_json::json!(["Larchfield", "12", "Tomasz Nowak"])), "{view}");
    assert!(!cited.is_empty() && cited.len() < rows.len(), "{} of {} rows cited", cited.len(), rows.len());
    let evidence: Vec<&Value> = rows.iter().filter(|r| r["evidence"] == true).map(|r| &r["cells"]).collect();
    assert_eq!(evidence, [&serde_json::json!(["Larchfield", "12", "Tomasz Nowak"])], "the one row the evidence is");
    assert_eq!(rows.len(), 80, "every row of a small sheet is shown");
    // A passage of the header row only is marked in the sheet's text instead.
    let xlsx = root.join("depots.xlsx");
    let header = brain.json(&["view", xlsx.to_str().unwrap(), "--passage", "Depot | Vans | Manager", "--sheet", "Depots", "--rows", "1-1"]);
    assert_eq!(
        (header["document"]["content"]["kind"].as_str(), header["document"]["content"]["found"].as_bool()),
        (Some("text"), Some(true)),
        "{header}"
    );

    // Files outside the folders are refused; a file poppler cannot read is a clear error.
    let refused = brain.command(&["view", "/etc/passwd", "--json"]).output().unwrap();
    let refused: Value = serde_json::from_slice(&refused.stdout).unwrap();
    assert_eq!(refused["error"]["code"], "not_openable", "{refused}");
    let broken = root.join("broken.pdf");
    let broken = brain.command(&["view", broken.to_str().unwrap(), "--json"]).output().unwrap();
    let broken: Value = serde_json::from_slice(&broken.stdout).unwrap();
    assert_eq!(broken["error"]["code"], "not_viewable", "{broken}");
    assert!(
        broken["error"]["message"].as_str().unwrap().contains("broken.pdf cannot be shown: pdfinfo could not read this file"),
        "{broken}"
    );
}
