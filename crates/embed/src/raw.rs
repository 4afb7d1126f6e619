//! The bare ONNX model, for benchmarks: the same tokenizer and batches, no pooling, no
//! normalisation, no fastembed. `brain bench` reports the embedder's throughput as a ratio to
//! this, so the overhead we add over the model itself is visible.

use std::path::Path;

use ort::session::Session;
use ort::value::Tensor;
use tokenizers::Tokenizer;

use crate::{EmbedError, EmbedderFiles, onnxruntime_environment};

/// A plain ONNX Runtime session over `model.onnx`.
pub struct RawModel {
    session: Session,
    needs_token_type_ids: bool,
}

impl RawModel {
    pub fn load(files: &EmbedderFiles, threads: Option<usize>) -> Result<Self, EmbedError> {
        let environment = onnxruntime_environment(&files.onnxruntime)?;
        let error = |reason: String| EmbedError::Model { dir: files.model_dir.clone(), reason };
        let model_path = files.model_dir.join("model.onnx");
        let threads = threads.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
        let session = Session::builder(&environment)
            .map_err(|e| error(e.to_string()))?
            .with_optimization_level(ort::session::builder::GraphOptimizationLevel::Level3)
            .map_err(|e| error(e.to_string()))?
            .with_intra_threads(threads)
            .map_err(|e| error(e.to_string()))?
            .with_config_entry("session.intra_op.allow_spinning", "0")
            .map_err(|e| error(e.to_string()))?
            .commit_from_file(Path::new(&model_path))
            .map_err(|e| error(e.to_string()))?;
        let needs_token_type_ids = session.inputs().iter().any(|i| i.name() == "token_type_ids");
        Ok(RawModel { session, needs_token_type_ids })
    }

    /// Run the model over `texts` in batches of `batch_size`, discarding the outputs.
    pub fn run(&mut self, tokenizer: &Tokenizer, texts: &[String], batch_size: usize) -> Result<(), EmbedError> {
        for batch in texts.chunks(batch_size.max(1)) {
            let encodings = tokenizer.encode_batch(batch.to_vec(), true).map_err(|e| EmbedError::Embed(e.to_string()))?;
            let rows = encodings.len();
            let cols = encodings.iter().map(|e| e.len()).max().unwrap_or(0);
            let mut ids = vec![0i64; rows * cols];
            let mut mask = vec![0i64; rows * cols];
            let mut types = vec![0i64; rows * cols];
            for (r, e) in encodings.iter().enumerate() {
                for (c, ((&id, &m), &t)) in e.get_ids().iter().zip(e.get_attention_mask()).zip(e.get_type_ids()).enumerate() {
                    ids[r * cols + c] = id as i64;
                    mask[r * cols + c] = m as i64;
                    types[r * cols + c] = t as i64;
                }
            }
            let shape = [rows as i64, cols as i64];
            let tensor = |v: Vec<i64>| Tensor::from_array((shape, v)).map_err(|e| EmbedError::Embed(e.to_string()));
            let mut inputs = ort::inputs!["input_ids" => tensor(ids)?, "attention_mask" => tensor(mask)?];
            if self.needs_token_type_ids {
                inputs.push(("token_type_ids".into(), tensor(types)?.into()));
            }
            self.session.run(inputs).map_err(|e| EmbedError::Embed(e.to_string()))?;
        }
        Ok(())
    }
}
