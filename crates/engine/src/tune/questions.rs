//! Questions the answer model writes for passages of the index: the pairs that need no labels
//! (the "synthetic questions" of LlamaIndex's `finetune_embedding` and of InPars).
//!
//! One short greedy generation per passage (a question ends at its first line), so the same
//! passage gives the same question on every run. The writer yields the CPU to answers (`yielding`,
//! as indexing does): it starts a question only while no answer is being generated in any process
//! on the data dir, and stops one the moment an answer starts (`tune::ask_for_question`).

use brain_llm::{ChatMessage, GenerateOptions, Role};

const SYSTEM: &str = "You write the questions people type into their company's document search.";
/// Words of a passage shown to the model: enough for its point, a bounded prompt.
const PASSAGE_WORDS: usize = 180;
/// Passages shorter than this say too little to ask about (a heading, a table's stub).
pub(crate) const MIN_PASSAGE_WORDS: usize = 25;

/// The chat that asks for one question about `passage`.
pub(crate) fn prompt(passage: &str, context: Option<&str>) -> Vec<ChatMessage> {
    let words: Vec<&str> = passage.split_whitespace().take(PASSAGE_WORDS).collect();
    let from = context.map(|c| format!(" (from {c})")).unwrap_or_default();
    let user = format!(
        "Passage{from}:\n\"\"\"\n{}\n\"\"\"\n\nWrite one question that this passage answers, the way a colleague who has not read it would \
         ask it: in their own everyday words, not the passage's phrases. The question must make sense on its own: name what it is about, and do not mention the passage, the text or the \
         study. Reply with the question only.",
        words.join(" ")
    );
    vec![ChatMessage { role: Role::System, content: SYSTEM.into() }, ChatMessage { role: Role::User, content: user }]
}

/// Sampling for a question: greedy, one line, short.
pub(crate) fn options() -> GenerateOptions {
    GenerateOptions { max_tokens: 48, stop: vec!["\n".into()], ..GenerateOptions::default() }
}

/// Questions that point at the passage instead of naming their subject ("What is the main
/// finding of this passage?") match every passage alike: they teach nothing.
const POINTING_AT_THE_PASSAGE: &[&str] =
    &["this passage", "the passage", "this text", "the text above", "this study", "this article", "this excerpt", "the above"];

/// The question in the model's output: its first line, without a "Question:" label, numbering or
/// quotes, up to its question mark; `None` when that is not a question of 3 to 40 words, or one
/// that points at the passage instead of naming its subject.
pub(crate) fn parse_question(output: &str) -> Option<String> {
    let line = output.lines().map(str::trim).find(|l| !l.is_empty())?;
    let mut line = line.trim_start_matches(|c: char| c.is_ascii_digit() || matches!(c, '.' | ')' | '-' | '*' | '#')).trim();
    for label in ["question:", "q:"] {
        if line.get(..label.len()).is_some_and(|start| start.eq_ignore_ascii_case(label)) {
            line = line[label.len()..].trim();
        }
    }
    let end = line.find(['?', '？'])?;
    let mark = line[end..].chars().next()?;
    let question = line[..end + mark.len_utf8()].trim_matches(|c: char| matches!(c, '"' | '\'' | '*' | '“' | '”' | '`')).trim();
    // Chinese and Japanese write no spaces: two characters count as a word.
    let words = question.split_whitespace().count().max(question.chars().filter(|c| brain_store::is_cjk(*c)).count() / 2);
    let lower = question.to_lowercase();
    let points = POINTING_AT_THE_PASSAGE.iter().any(|p| lower.contains(p));
    ((3..=40).contains(&words) && !points).then(|| question.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_question_is_read_from_what_the_model_writes() {
        assert_eq!(
            parse_question("How many electric vans run from the Dunmore depot?").as_deref(),
            Some("How many electric vans run from the Dunmore depot?")
        );
        assert_eq!(parse_question("\n  Question: \"What is the per diem in Boston?\"").as_deref(), Some("What is the per diem in Boston?"));
        assert_eq!(parse_question("1. Who approves a sabbatical? It is the head.").as_deref(), Some("Who approves a sabbatical?"));
        assert_eq!(parse_question("**Q:** When is the review due?").as_deref(), Some("When is the review due?"));
        assert_eq!(parse_question("公司的差旅补贴标准是多少？").as_deref(), Some("公司的差旅补贴标准是多少？"), "no spaces, still words");
    }

    #[test]
    fn what_is_not_a_question_is_refused() {
        assert_eq!(parse_question("The passage describes the travel policy."), None);
        assert_eq!(parse_question("Why?"), None);
        assert_eq!(parse_question("What is the main finding of this passage regarding aging?"), None);
        assert_eq!(parse_question("What is the purpose of this study?"), None);
        assert_eq!(parse_question(""), None);
        let rambling = format!("{}?", "word ".repeat(45));
        assert_eq!(parse_question(&rambling), None);
    }

    #[test]
    fn the_prompt_shows_a_bounded_passage_and_its_place() {
        let passage = "word ".repeat(500);
        let chat = prompt(&passage, Some("handbook.md › Travel"));
        assert_eq!(chat.len(), 2);
        assert!(chat[1].content.contains("(from handbook.md › Travel)"));
        let shown = chat[1].content.split("\"\"\"").nth(1).unwrap();
        assert_eq!(shown.split_whitespace().count(), PASSAGE_WORDS);
    }
}
