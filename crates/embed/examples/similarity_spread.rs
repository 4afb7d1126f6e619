//! How a model's cosine similarities spread on a SQuAD-format file: question against its own
//! paragraph, and against another paragraph (the next one), and claim-like pairs: a question and
//! the sentence of its paragraph that holds the answer. Prints quantiles, to calibrate
//! thresholds between models.
//!
//! With a second file of the same paragraphs and questions in another language (XQuAD), the
//! same pairs across languages: the other language's question against this file's paragraphs,
//! and its answer sentence (a claim that says what the source says, translated) against this
//! file's answer sentence and against another sentence of the same paragraph (same topic,
//! another statement).
//! Usage: similarity_spread MODEL ONNXRUNTIME SQUAD.json [TRANSLATED_SQUAD.json]
use brain_embed::{Embedder, EmbedderFiles, EmbedderOptions};

fn quantiles(mut v: Vec<f32>) -> String {
    v.sort_by(f32::total_cmp);
    let q = |p: f32| v[((v.len() - 1) as f32 * p) as usize];
    format!("p10 {:.3} p25 {:.3} p50 {:.3} p75 {:.3} p90 {:.3}", q(0.1), q(0.25), q(0.5), q(0.75), q(0.9))
}

/// A paragraph's first question: (the paragraph's index, the question, the sentence of the
/// paragraph that holds the answer).
type Asked = (usize, String, String);

/// Each paragraph's text, and its first question.
fn read_squad(path: &str) -> (Vec<String>, Vec<Asked>) {
    let data: serde_json::Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    let mut paragraphs = Vec::new();
    let mut questions = Vec::new();
    for article in data["data"].as_array().unwrap() {
        for p in article["paragraphs"].as_array().unwrap() {
            let context = p["context"].as_str().unwrap().to_string();
            for qa in p["qas"].as_array().unwrap().iter().take(1) {
                let answer = qa["answers"][0]["text"].as_str().unwrap_or("");
                let sentence = context.split_inclusive(['.', '。']).find(|s| s.contains(answer)).unwrap_or("").trim().to_string();
                questions.push((paragraphs.len(), qa["question"].as_str().unwrap().to_string(), sentence));
            }
            paragraphs.push(context);
        }
    }
    (paragraphs, questions)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let files = EmbedderFiles { model_dir: args[1].clone().into(), onnxruntime: args[2].clone().into() };
    let embedder = Embedder::load(&files, EmbedderOptions::default()).unwrap();
    let (paragraphs, questions) = read_squad(&args[3]);
    let n = 120.min(paragraphs.len());
    let started = std::time::Instant::now();
    let pv = embedder.embed(&paragraphs[..n]).unwrap();
    eprintln!("{n} paragraphs in {:.1} s", started.elapsed().as_secs_f32());
    let qs: Vec<&Asked> = questions.iter().filter(|q| q.0 < n).collect();
    let qv = embedder.embed_queries(&qs.iter().map(|q| q.1.as_str()).collect::<Vec<_>>()).unwrap();
    let sv = embedder.embed_queries(&qs.iter().map(|q| q.2.as_str()).collect::<Vec<_>>()).unwrap();
    let other_sv: Vec<Vec<f32>> = (0..sv.len()).map(|i| sv[(i + 7) % sv.len()].clone()).collect();
    let own: Vec<f32> = qs.iter().zip(&qv).map(|(q, v)| brain_embed::cosine(v, &pv[q.0])).collect();
    let other: Vec<f32> = qs.iter().zip(&qv).map(|(q, v)| brain_embed::cosine(v, &pv[(q.0 + 37) % n])).collect();
    let sentence: Vec<f32> = qv.iter().zip(&sv).map(|(a, b)| brain_embed::cosine(a, b)).collect();
    let other_sentence: Vec<f32> = qv.iter().zip(&other_sv).map(|(a, b)| brain_embed::cosine(a, b)).collect();
    println!("question-own paragraph:     {}", quantiles(own));
    println!("question-other paragraph:   {}", quantiles(other));
    println!("question-answer sentence:   {}", quantiles(sentence));
    println!("question-other sentence:    {}", quantiles(other_sentence));
    if let Some(translated) = args.get(4) {
        across_languages(&embedder, &paragraphs[..n], &questions, &pv, translated);
    }
}

/// The pairs above with the question and the claim in the translation's language.
fn across_languages(embedder: &Embedder, paragraphs: &[String], questions: &[Asked], pv: &[Vec<f32>], translated: &str) {
    let n = paragraphs.len();
    let (_, their_questions) = read_squad(translated);
    // Pairs whose both answer sentences were found, by paragraph.
    let pairs: Vec<(&Asked, &Asked)> = questions
        .iter()
        .zip(&their_questions)
        .filter(|(ours, theirs)| ours.0 < n && ours.0 == theirs.0 && !ours.2.is_empty() && !theirs.2.is_empty())
        .collect();
    let texts = |f: &dyn Fn(&(&Asked, &Asked)) -> String| -> Vec<Vec<f32>> {
        embedder.embed_queries(&pairs.iter().map(f).collect::<Vec<_>>()).unwrap()
    };
    let their_q = texts(&|p| p.1.1.clone());
    let their_sentence = texts(&|p| p.1.2.clone());
    let our_sentence = texts(&|p| p.0.2.clone());
    // Another sentence of the same paragraph: the longest that is not the answer's.
    let our_other = texts(&|p| {
        let context = &paragraphs[p.0.0];
        context
            .split_inclusive(['.', '。'])
            .map(str::trim)
            .filter(|s| *s != p.0.2 && s.len() > 20)
            .max_by_key(|s| s.len())
            .unwrap_or("")
            .to_string()
    });
    let cos = |a: &[Vec<f32>], b: &dyn Fn(usize) -> Vec<f32>| -> Vec<f32> {
        a.iter().enumerate().map(|(i, v)| brain_embed::cosine(v, &b(i))).collect()
    };
    println!("{} pairs across languages ({translated}):", pairs.len());
    println!("their question-own paragraph:    {}", quantiles(cos(&their_q, &|i| pv[pairs[i].0.0].clone())));
    println!("their question-other paragraph:  {}", quantiles(cos(&their_q, &|i| pv[(pairs[i].0.0 + 37) % n].clone())));
    println!("their answer sentence-ours:      {}", quantiles(cos(&their_sentence, &|i| our_sentence[i].clone())));
    println!("their answer sentence-our other: {}", quantiles(cos(&their_sentence, &|i| our_other[i].clone())));
    println!("our answer sentence-our other:   {}", quantiles(cos(&our_sentence, &|i| our_other[i].clone())));
    println!("their question-our sentence:     {}", quantiles(cos(&their_q, &|i| our_sentence[i].clone())));
}
