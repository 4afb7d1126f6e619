//! How a model's cosine similarities spread on a SQuAD-format file: question against its own
//! paragraph, and against another paragraph (the next one), and claim-like pairs: a question and
//! the sentence of its paragraph that holds the answer. Prints quantiles, to calibrate
//! thresholds between models.
//! Usage: similarity_spread MODEL ONNXRUNTIME SQUAD.json
use brain_embed::{Embedder, EmbedderFiles, EmbedderOptions};

fn quantiles(mut v: Vec<f32>) -> String {
    v.sort_by(f32::total_cmp);
    let q = |p: f32| v[((v.len() - 1) as f32 * p) as usize];
    format!("p10 {:.3} p25 {:.3} p50 {:.3} p75 {:.3} p90 {:.3}", q(0.1), q(0.25), q(0.5), q(0.75), q(0.9))
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let files = EmbedderFiles { model_dir: args[1].clone().into(), onnxruntime: args[2].clone().into() };
    let embedder = Embedder::load(&files, EmbedderOptions::default()).unwrap();
    let data: serde_json::Value = serde_json::from_slice(&std::fs::read(&args[3]).unwrap()).unwrap();
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
    let n = 120.min(paragraphs.len());
    let started = std::time::Instant::now();
    let pv = embedder.embed(&paragraphs[..n]).unwrap();
    eprintln!("{n} paragraphs in {:.1} s", started.elapsed().as_secs_f32());
    let qs: Vec<&(usize, String, String)> = questions.iter().filter(|q| q.0 < n).collect();
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
}
