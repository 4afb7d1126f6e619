//! Retrieval on a SQuAD-format set (XQuAD, MLQA …): each paragraph is a document, each question
//! must find its own paragraph. Questions may come from another file of the same set in another
//! language (XQuAD's files are parallel: the same articles, paragraphs and question ids in the
//! same order), which measures cross-lingual retrieval: a German question over English
//! paragraphs.
//!
//! Article titles are left out of the documents: XQuAD keeps them in English in every language,
//! and they would carry English words into German or Chinese paragraphs.

use std::collections::HashMap;
use std::path::Path;

use brain_engine::Engine;
use serde::Deserialize;

use crate::BenchError;
use crate::beir::{Dataset, EvalReport, EvalStep, evaluate};

#[derive(Deserialize)]
struct SquadFile {
    data: Vec<Article>,
}

#[derive(Deserialize)]
struct Article {
    paragraphs: Vec<Paragraph>,
}

#[derive(Deserialize)]
struct Paragraph {
    context: String,
    qas: Vec<Question>,
}

#[derive(Deserialize)]
struct Question {
    id: String,
    question: String,
}

fn read(path: &Path) -> Result<SquadFile, BenchError> {
    let bytes = std::fs::read(path).map_err(|source| BenchError::DatasetFile { path: path.to_path_buf(), source })?;
    serde_json::from_slice(&bytes).map_err(|e| BenchError::Dataset(format!("{}: not a SQuAD-format file: {e}", path.display())))
}

fn stem(path: &Path) -> String {
    path.file_stem().and_then(|s| s.to_str()).unwrap_or("squad").to_string()
}

/// The paragraphs of `passages` as the corpus, the questions of `questions` as queries.
fn load(passages: &Path, questions: &Path) -> Result<Dataset, BenchError> {
    let (p, q) = (read(passages)?, read(questions)?);
    let paragraphs = |f: &SquadFile| f.data.iter().map(|a| a.paragraphs.len()).collect::<Vec<_>>();
    if paragraphs(&p) != paragraphs(&q) {
        return Err(BenchError::Dataset(format!(
            "{} and {} are not parallel: their articles hold different numbers of paragraphs",
            passages.display(),
            questions.display()
        )));
    }
    let mut corpus = Vec::new();
    let mut queries = Vec::new();
    let mut qrels: HashMap<String, HashMap<String, u32>> = HashMap::new();
    for (a, (pa, qa)) in p.data.iter().zip(&q.data).enumerate() {
        for (i, (pp, qp)) in pa.paragraphs.iter().zip(&qa.paragraphs).enumerate() {
            let id = format!("a{a}p{i}");
            corpus.push((id.clone(), String::new(), pp.context.clone()));
            let same_questions = pp.qas.len() == qp.qas.len() && pp.qas.iter().zip(&qp.qas).all(|(x, y)| x.id == y.id);
            if !same_questions {
                return Err(BenchError::Dataset(format!("paragraph {id}: the two files ask different questions (ids differ)")));
            }
            for question in &qp.qas {
                queries.push((question.id.clone(), question.question.clone()));
                qrels.insert(question.id.clone(), HashMap::from([(id.clone(), 1)]));
            }
        }
    }
    let name = format!("squad-{}", stem(passages));
    Ok(Dataset { name, corpus, queries, qrels })
}

/// Evaluate every search mode with the questions of `questions` (default: the passages' own).
pub async fn squad(
    engine: &Engine,
    passages: &Path,
    questions: Option<&Path>,
    progress: impl FnMut(EvalStep) + Send,
) -> Result<EvalReport, BenchError> {
    let questions = questions.unwrap_or(passages);
    let dataset = {
        let (p, q) = (passages.to_path_buf(), questions.to_path_buf());
        tokio::task::spawn_blocking(move || load(&p, &q)).await??
    };
    let split = format!("questions {}", stem(questions));
    evaluate(engine, dataset, &split, &crate::beir::Tuning::default(), Vec::new(), progress).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, json: &str) -> std::path::PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, json).unwrap();
        path
    }

    #[test]
    fn parallel_files_pair_each_question_with_its_paragraph() {
        let dir = tempfile::tempdir().unwrap();
        let en = write(
            dir.path(),
            "x.en.json",
            r#"{"data":[{"title":"T","paragraphs":[{"context":"One.","qas":[{"id":"q1","question":"Which?","answers":[]}]},{"context":"Two.","qas":[{"id":"q2","question":"What?","answers":[]}]}]}]}"#,
        );
        let de = write(
            dir.path(),
            "x.de.json",
            r#"{"data":[{"title":"T","paragraphs":[{"context":"Eins.","qas":[{"id":"q1","question":"Welche?"}]},{"context":"Zwei.","qas":[{"id":"q2","question":"Was?"}]}]}]}"#,
        );
        let d = load(&en, &de).unwrap();
        assert_eq!(d.corpus[1], ("a0p1".to_string(), String::new(), "Two.".to_string()));
        assert_eq!(d.queries[1], ("q2".to_string(), "Was?".to_string()));
        assert_eq!(d.qrels["q2"], HashMap::from([("a0p1".to_string(), 1)]));
        let other = write(
            dir.path(),
            "y.json",
            r#"{"data":[{"paragraphs":[{"context":"Eins.","qas":[{"id":"zz","question":"?"}]},{"context":"Zwei.","qas":[]}]}]}"#,
        );
        assert!(load(&en, &other).err().unwrap().to_string().contains("different questions"));
    }
}
