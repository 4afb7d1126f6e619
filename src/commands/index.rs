//! `brain index`, `watch`, `inspect`, `status` and `check`: the index and its state.

use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use brain_engine::{EmbedderFit, Engine, IndexEvent, MULTILINGUAL_EMBEDDER};
use indicatif::{ProgressBar, ProgressStyle};

use crate::output::{cancel_flag, note, print_json};

pub async fn index(engine: &Engine, json: bool, rebuild: bool) -> anyhow::Result<i32> {
    let cancel = cancel_flag();
    let mut events = engine.subscribe();
    let quiet = json;
    let (done, mut finished) = tokio::sync::oneshot::channel::<()>();
    let printer = tokio::spawn(async move {
        let bar = if quiet { ProgressBar::hidden() } else { ProgressBar::new(0) };
        bar.set_style(
            ProgressStyle::with_template("{spinner} [{bar:30}] {pos}/{len} files  {wide_msg}")
                .expect("valid template")
                .progress_chars("=> "),
        );
        let mut failures = Vec::new();
        let mut chosen = None;
        loop {
            // Until the sync has returned (a sync that chose another embedder after its `Idle`
            // goes on with a second pass). Biased: the events it sent before returning are all
            // read before its end is.
            let event = tokio::select! {
                biased;
                event = events.recv() => event,
                _ = &mut finished => break,
            };
            match event {
                Ok(IndexEvent::Scanned { queued, .. }) => bar.set_length(queued as u64),
                Ok(IndexEvent::FileIndexing { path }) => bar.set_message(path),
                Ok(IndexEvent::Progress { done, .. }) => bar.set_position(done as u64),
                Ok(IndexEvent::FileFailed { path, error }) => failures.push((path, error)),
                Ok(IndexEvent::FolderMissing { path }) => note(&bar, format!("warning: folder missing, its files are kept: {path}")),
                Ok(IndexEvent::WaitingForIndex { holder }) => {
                    note(&bar, format!("waiting for {} to finish writing the index…", holder.as_deref().unwrap_or("another process")))
                }
                Ok(IndexEvent::IndexRepaired { violations, duplicate_documents_removed, duplicate_chunks_removed, documents_to_redo }) => {
                    note(
                        &bar,
                        format!(
                            "repaired {violations} problem(s) an interrupted run or a second writer left: {duplicate_documents_removed} duplicate document row(s), {duplicate_chunks_removed} duplicate chunk row(s) removed; {documents_to_redo} file(s) redone"
                        ),
                    )
                }
                Ok(IndexEvent::EmbedderChosen { embedder, languages, built_again, for_questions }) => {
                    let what = if built_again { "building the index again" } else { "indexing them" };
                    let whose = if for_questions { "the last questions asked" } else { "the documents' passages" };
                    note(&bar, format!("{whose} are {}: {what} with {embedder}", brain_engine::describe_shares(&languages)));
                    // After a first pass, the second pass's outcome is the one that counts.
                    failures.clear();
                    chosen = Some((embedder, built_again, for_questions));
                }
                Ok(_) => {}
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
            }
        }
        bar.finish_and_clear();
        (failures, chosen)
    });
    let result = if rebuild { engine.rebuild(&cancel).await } else { engine.sync(&cancel).await };
    let _ = done.send(());
    let summary = match result {
        Ok(s) => s,
        Err(e) => {
            printer.abort();
            return Err(e.into());
        }
    };
    let (failures, chosen) = printer.await.unwrap_or_default();
    if json {
        let failures: Vec<_> = failures.iter().map(|(path, error)| serde_json::json!({ "path": path, "error": error })).collect();
        let (chosen, built_again, for_questions) =
            chosen.map_or((None, false, false), |(embedder, again, questions)| (Some(embedder), again, questions));
        print_json(
            &serde_json::json!({ "summary": summary, "failures": failures, "embedder_chosen": chosen, "built_again": built_again, "chosen_for_questions": for_questions }),
        )?;
    } else {
        println!(
            "{} files: {} indexed, {} failed, {} removed, {} unchanged; {} chunks written in {:.1} s",
            summary.files,
            summary.indexed,
            summary.failed,
            summary.removed,
            summary.unchanged,
            summary.chunks,
            summary.elapsed_ms as f64 / 1000.0
        );
        for (path, error) in &failures {
            println!("  failed: {path}: {error}");
        }
    }
    Ok(0)
}

pub async fn watch(engine: &Engine, json: bool) -> anyhow::Result<i32> {
    let stop = cancel_flag();
    let mut events = engine.subscribe();
    let printer = tokio::spawn(async move {
        loop {
            match events.recv().await {
                Ok(event) => {
                    if json {
                        println!("{}", serde_json::to_string(&event).unwrap_or_default());
                    } else {
                        match &event {
                            IndexEvent::FileIndexed { path, chunks } => println!("indexed  {path} ({chunks} chunks)"),
                            IndexEvent::FileFailed { path, error } => println!("failed   {path}: {error}"),
                            IndexEvent::FileRemoved { path } => println!("removed  {path}"),
                            IndexEvent::FolderMissing { path } => println!("missing  {path} (its files are kept)"),
                            IndexEvent::SyncFailed { error, .. } => println!("error    {error}"),
                            IndexEvent::Idle(s) if s.indexed + s.failed + s.removed > 0 => {
                                println!(
                                    "idle     {} indexed, {} failed, {} removed in {} ms",
                                    s.indexed, s.failed, s.removed, s.elapsed_ms
                                )
                            }
                            _ => {}
                        }
                    }
                    let _ = std::io::stdout().flush();
                }
                Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => eprintln!("(missed {n} events)"),
                Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
            }
        }
    });
    if !json {
        eprintln!("watching {} folder(s); Ctrl-C to stop", engine.folders()?.len());
    }
    // Learning while idle (settings: `learn_after_idle_secs`) runs beside the watcher and stops
    // with it.
    let watching = async {
        let watched = engine.watch(Arc::clone(&stop)).await;
        stop.store(true, Ordering::Relaxed);
        watched
    };
    let (watched, ()) = tokio::join!(watching, engine.learn_while_idle(Arc::clone(&stop)));
    watched?;
    // Let the printer drain what the last sync published.
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    printer.abort();
    Ok(0)
}

pub async fn check(engine: &Engine, repair: bool, json: bool) -> anyhow::Result<i32> {
    let outcome = engine.check(repair, &cancel_flag()).await?;
    let remaining = outcome.after.as_ref().unwrap_or(&outcome.found);
    let code = if remaining.is_ok() { 0 } else { 1 };
    if json {
        print_json(&outcome)?;
        return Ok(code);
    }
    let f = &outcome.found;
    println!("{} document rows, {} chunk rows checked", f.documents, f.chunks);
    if f.is_ok() {
        println!("ok: every invariant holds");
    }
    for v in &f.violations {
        println!("  {v}");
    }
    if let Some(r) = &outcome.repaired {
        println!(
            "repaired: {} duplicate document row(s) and {} duplicate chunk row(s) removed, {} orphan chunk(s) removed, {} file(s) to redo at the next `brain index`",
            r.duplicate_documents_removed, r.duplicate_chunks_removed, r.orphan_chunks_removed, r.documents_to_redo
        );
    } else if !f.is_ok() {
        println!("run `brain check --repair` (or `brain index`) to repair it");
    }
    Ok(code)
}

pub async fn inspect(engine: &Engine, json: bool) -> anyhow::Result<i32> {
    let snapshot = engine.snapshot().await?;
    if json {
        print_json(&serde_json::json!({ "documents": snapshot }))?;
    } else {
        for d in &snapshot {
            println!(
                "{}  {}  {} chunk(s){}",
                d.status,
                d.path,
                d.chunks.len(),
                d.error.as_deref().map(|e| format!("  ({e})")).unwrap_or_default()
            );
        }
    }
    Ok(0)
}

pub async fn status(engine: &Engine, json: bool) -> anyhow::Result<i32> {
    let status = engine.status().await?;
    if json {
        print_json(&status)?;
    } else {
        println!("data dir: {}", status.data_dir);
        if let Some(uri) = &status.shared_index {
            println!("shared index: {uri}");
        }
        for f in &status.folders {
            println!(
                "{}{}: {} indexed, {} failed, {} pending",
                f.path,
                if f.present { "" } else { " (missing)" },
                f.files.indexed,
                f.files.failed,
                f.files.pending
            );
        }
        println!(
            "total: {} files indexed, {} failed, {} pending, {} chunks",
            status.files.indexed, status.files.failed, status.files.pending, status.chunks
        );
        if !status.failures.is_empty() {
            println!("failures:");
            for f in &status.failures {
                println!("  {}: {}", f.path, f.error);
            }
        }
        if !status.notes.is_empty() {
            println!("notes (indexed, but worth a look):");
            for f in &status.notes {
                println!("  {}: {}", f.path, f.error);
            }
        }
        let o = &status.ocr;
        match &o.problem {
            None => println!("OCR: reads {} (installed: {})", o.languages.join("+"), o.installed.join(", ")),
            Some(problem) => println!("OCR: {problem}"),
        }
        if let Some(a) = &status.adapter {
            println!(
                "query adapter (brain tune): {} — {}; trained on {} pairs",
                if a.in_use { "in use" } else { "not used" },
                a.reason,
                a.trained_pairs
            );
        }
        if let Some(l) = &status.languages {
            let what = match l.embedder {
                EmbedderFit::Reads => "the embedder in use reads them".to_string(),
                EmbedderFit::ChosenForThem => "the multilingual embedder was chosen for these languages".to_string(),
                EmbedderFit::NotFetched => format!(
                    "the default embedder reads English only: `brain models fetch --embedder {MULTILINGUAL_EMBEDDER}` and the next `brain index` builds the index with the multilingual one"
                ),
                EmbedderFit::KeptByUser => format!(
                    "the embedder in use reads English only and was chosen in the settings: `brain models use --embedder {MULTILINGUAL_EMBEDDER}` reads them all"
                ),
            };
            println!("languages: {} of {} passages sampled; {what}", l.profile.describe(), l.profile.told);
            if l.questions.told > 0 {
                println!("  of the last {} questions asked: {}", l.questions.told, l.questions.describe());
            }
        }
        if status.rebuild_needed {
            println!("the index was built with another embedding model: `brain index --rebuild` rebuilds it with this one");
        }
        let i = &status.integrity;
        if !i.checked {
            println!("integrity: not checked, {} is writing the index", i.writer.as_deref().unwrap_or("another process"));
        } else if !i.ok {
            println!("integrity: broken (the next `brain index` or `brain check --repair` repairs it):");
            for v in &i.violations {
                println!("  {v}");
            }
        }
    }
    Ok(0)
}
