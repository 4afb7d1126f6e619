//! `brain search` and `brain ask`.

use std::io::Write;
use std::path::PathBuf;

use brain_engine::{AnswerEvent, AnswerStop, AskRequest, Engine, SearchMode, SearchRequest};

use crate::output::{cancel_flag, print_json, snippet};

pub async fn search(
    engine: &Engine,
    query: String,
    k: usize,
    mode: Option<SearchMode>,
    folder: Option<PathBuf>,
    json: bool,
) -> anyhow::Result<i32> {
    let results = engine.search(&SearchRequest { query, k, mode, folder }).await?;
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

pub async fn ask(engine: &Engine, question: String, k: Option<usize>, folder: Option<PathBuf>, json: bool) -> anyhow::Result<i32> {
    let request = AskRequest { question, k, folder, history: Vec::new() };
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
