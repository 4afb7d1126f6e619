//! What the BM25 index reads for languages written without spaces: Chinese, Japanese (and
//! Korean, whose words are long runs between spaces) are split into overlapping pairs of
//! characters, as Lucene's CJK bigram filter does. LanceDB's default tokenizer splits at spaces
//! and punctuation, so a Chinese sentence was one token and no keyword search could find a word
//! in it; its dictionary tokenizers (jieba, lindera) need model files fetched from elsewhere.
//! Bigrams need no dictionary, and a query is split the same way, so "北京" finds "北京是…".
//! Text without such characters passes through unchanged.

/// Han ideographs, kana and hangul: scripts whose words are not separated by spaces (or, for
/// hangul, run together with their particles).
pub fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x3040..=0x30FF      // hiragana, katakana
        | 0x3400..=0x4DBF    // CJK extension A
        | 0x4E00..=0x9FFF    // CJK unified ideographs
        | 0xAC00..=0xD7AF    // hangul syllables
        | 0xF900..=0xFAFF    // CJK compatibility ideographs
        | 0x20000..=0x2FA1F  // CJK extensions B–F, compatibility supplement
    )
}

/// `text` with every run of CJK characters replaced by its overlapping bigrams (a run of one
/// character stays as it is), set off by spaces.
pub fn with_cjk_bigrams(text: &str) -> String {
    if !text.chars().any(is_cjk) {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len() * 3);
    let mut run: Vec<char> = Vec::new();
    let flush = |run: &mut Vec<char>, out: &mut String| {
        if run.is_empty() {
            return;
        }
        out.push(' ');
        if run.len() == 1 {
            out.push(run[0]);
        } else {
            for (i, pair) in run.windows(2).enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                out.extend(pair);
            }
        }
        out.push(' ');
        run.clear();
    };
    for c in text.chars() {
        if is_cjk(c) {
            run.push(c);
        } else {
            flush(&mut run, &mut out);
            out.push(c);
        }
    }
    flush(&mut run, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cjk_runs_become_bigrams_and_other_text_stays() {
        assert_eq!(with_cjk_bigrams("Annual leave: 27 days"), "Annual leave: 27 days");
        assert_eq!(with_cjk_bigrams("北京是首都"), " 北京 京是 是首 首都 ");
        assert_eq!(with_cjk_bigrams("在 2023 年"), " 在  2023  年 ");
        assert_eq!(with_cjk_bigrams("東京タワー (Tokyo)"), " 東京 京タ タワ ワー  (Tokyo)");
    }
}
