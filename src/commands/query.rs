//! `brain search`, `brain ask` and `brain view`.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use brain_engine::{AnswerEvent, AnswerStop, AskRequest, Engine, IndexEvent, Location, Marked, SearchMode, SearchRequest, ViewContent};

use crate::output::{cancel_flag, print_json, snippet};

pub async fn search(
    engine: &Engine,
    query: String,
    k: usize,
    mode: Option<SearchMode>,
    folder: Option<PathBuf>,
    as_person: Option<String>,
    json: bool,
) -> anyhow::Result<i32> {
    let person = as_person.map(|name| engine.person_named(&name)).transpose()?;
    let results = engine.search(&SearchRequest { query, k, mode, folder, person }).await?;
    if json {
        print_json(&serde_json::json!({ "results": results }))?;
    } else if results.is_empty() {
        println!("no results");
    } else {
        for (i, r) in results.iter().enumerate() {
            println!("{}. {}  [{}]  score {:.4}", i + 1, r.path, r.location.describe(), r.score);
            println!("   {}", snippet(&r.text, 200));
        }
    }
    Ok(0)
}

pub async fn ask(
    engine: &Engine,
    question: String,
    k: Option<usize>,
    folder: Option<PathBuf>,
    as_person: Option<String>,
    json: bool,
) -> anyhow::Result<i32> {
    let person = as_person.map(|name| engine.person_named(&name)).transpose()?;
    let request = AskRequest { question, k, folder, history: Vec::new(), person, benchmark: false };
    // The question's language may choose the multilingual embedder (said after the answer).
    let mut index_events = engine.subscribe();
    let (events, mut received) = tokio::sync::mpsc::unbounded_channel();
    // The answer streams to the terminal as it is generated.
    let printer = tokio::spawn(async move {
        while let Some(event) = received.recv().await {
            if let AnswerEvent::Token { text } = event
                && !json
            {
                print!("{text}");
                let _ = std::io::stdout().flush();
            }
        }
    });
    let answer = engine.ask(&request, cancel_flag(), events).await;
    let _ = printer.await;
    let answer = answer?;
    while let Ok(event) = index_events.try_recv() {
        if let IndexEvent::EmbedderChosen { embedder, languages, built_again, for_questions: true } = event {
            eprintln!(
                "note: the last questions asked are {}: {embedder} is chosen, which finds passages in any language by meaning; the next `brain index` {}",
                brain_engine::describe_shares(&languages),
                if built_again { "builds the index again with it" } else { "indexes with it" }
            );
        }
    }
    if json {
        print_json(&answer)?;
        return Ok(0);
    }
    println!();
    let streamed_differs = answer.stop.replaced_the_answer() || answer.claims.iter().any(|c| !c.supported);
    if streamed_differs || answer.grounded.is_some_and(|g| g < 1.0) {
        print_checked(&answer);
    } else if let Some(g) = answer.grounded {
        println!("\n(checked: {:.0}% of its sentences are in the sources)", g * 100.0);
    }
    if !answer.citations.is_empty() {
        println!("\nSources:");
        for c in &answer.citations {
            println!("  [{}] {} ({}){}", c.n, c.path, c.location.describe(), if c.cited { "" } else { "  (not cited)" });
        }
    }
    Ok(0)
}

/// The answer as the groundedness check left it, when that differs from what streamed.
fn print_checked(answer: &brain_engine::Answer) {
    match answer.stop {
        AnswerStop::Unsupported => {
            println!("\nThe sources do not support that answer, so it is not shown. {}", answer.answer);
            return;
        }
        AnswerStop::Refused => {
            println!("\n{}", answer.answer);
            return;
        }
        _ => {}
    }
    let unsupported: Vec<&brain_engine::Claim> = answer.claims.iter().filter(|c| !c.supported).collect();
    println!(
        "\nChecked against the sources: {} of {} sentence(s) supported.",
        answer.claims.len() - unsupported.len(),
        answer.claims.len()
    );
    for c in unsupported {
        println!("  not in the sources: {}", c.text);
    }
}

/// What `brain view` shows (»passage«, »»evidence««, ▶ cited rows, ▶▶ evidence rows).
pub struct ViewArgs {
    pub path: PathBuf,
    pub passage: String,
    pub evidence: Vec<String>,
    pub page: Option<u32>,
    pub sheet: Option<String>,
    pub rows: Option<String>,
    pub png: Option<PathBuf>,
}

fn parse_rows(rows: &str) -> anyhow::Result<[u32; 2]> {
    let (a, b) = rows.split_once('-').unwrap_or((rows, rows));
    let parse = |n: &str| n.trim().parse::<u32>().with_context(|| format!("--rows {rows}: expected FIRST-LAST, e.g. 12-14"));
    Ok([parse(a)?, parse(b)?])
}

pub async fn view(engine: &Engine, args: ViewArgs, json: bool) -> anyhow::Result<i32> {
    let path = std::path::absolute(&args.path).with_context(|| args.path.display().to_string())?;
    let rows = args.rows.as_deref().map(parse_rows).transpose()?;
    let location = Location { page: args.page, sheet: args.sheet, rows, ..Default::default() };
    let marked = Marked { passage: &args.passage, evidence: &args.evidence };
    let document = engine.view_document(&path, &location, marked).await?;
    let page = match document.content {
        ViewContent::Pages { cited, .. } => Some(engine.view_page(&path, cited, marked).await?),
        _ => None,
    };
    if let (Some(file), Some(page)) = (&args.png, &page) {
        std::fs::write(file, &page.png).with_context(|| file.display().to_string())?;
    }
    if json {
        // The drawing goes to --png, not into the JSON.
        let page = page.map(|p| {
            serde_json::json!({ "page": p.page, "width": p.width, "height": p.height, "marks": p.marks,
                                "evidence_marks": p.evidence_marks, "marked_text": p.marked_text, "ocr": p.ocr })
        });
        print_json(&serde_json::json!({ "document": document, "page": page }))?;
        return Ok(0);
    }
    match (&document.content, page) {
        (ViewContent::Pages { pages, .. }, Some(page)) => {
            let read = if page.ocr { ", words read by OCR" } else { "" };
            println!("{}: page {} of {pages} ({} × {} px{read})", document.path, page.page, page.width, page.height);
            match page.marks.len() {
                0 => println!("the passage is not on this page"),
                n => println!("marked in {n} boxes ({} over the evidence): {}", page.evidence_marks.len(), page.marked_text),
            }
        }
        (ViewContent::Sheet { sheet, columns, rows, rows_before, rows_after }, _) => {
            println!("{}: sheet {sheet} ({rows_before} rows above, {rows_after} below not shown)", document.path);
            println!("     {}", columns.join("\t"));
            for row in rows {
                let mark = match (row.cited, row.evidence) {
                    (_, true) => "▶▶",
                    (true, false) => "▶ ",
                    _ => "  ",
                };
                println!("{mark} {:>4} {}", row.row, row.cells.join("\t"));
            }
        }
        (ViewContent::Text { blocks, found }, _) => {
            for block in blocks {
                let text: String = block
                    .pieces
                    .iter()
                    .map(|p| match (p.cited, p.evidence) {
                        (_, true) => format!("»»{}««", p.text),
                        (true, false) => format!("»{}«", p.text),
                        _ => p.text.clone(),
                    })
                    .collect();
                println!("{}{text}\n", if block.heading { "# " } else { "" });
            }
            if !found && !args.passage.is_empty() {
                println!("(the passage is no longer in this file)");
            }
        }
        (ViewContent::Pages { .. }, None) => unreachable!("a PDF's page is always drawn"),
    }
    Ok(0)
}
