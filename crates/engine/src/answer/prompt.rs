//! The prompt of an answer: the system prompt (the model's rules), each source as one numbered
//! block naming its file and place, the recent turns of the conversation, and the question —
//! as many sources as fit the model's context with room left for the answer.

use brain_llm::{ChatMessage, Role};

use crate::error::Result;
use crate::inference::Generate;
use crate::retrieval::{Hit, context};

/// The model's instructions. They live in the system message only: what the user message holds
/// is sources and the question, so a small model that repeats its prompt repeats no rule (and
/// the groundedness check drops a sentence that does).
pub(crate) const SYSTEM_PROMPT: &str = "You answer questions about the user's documents using only the numbered sources in the message. \
Start with the answer itself in one short sentence. Only if the question asks for more (reasons, a change, a comparison, several periods), add at most two short sentences with the figures the sources give for it. \
Write in the language of the question, even when the sources are in another language. \
Copy every number, amount, date and name exactly as the source writes it, with its unit and its period. \
End each sentence with the number of the source it comes from in square brackets, like [2]. \
For a change, a ratio, a percentage, a sum or an average, do not compute it yourself: write the calculation with the figures of the sources between double angle brackets, like <<(1,577 - 1,462) / 1,462 * 100>>, and it is computed for you. \
If the sources do not contain the answer, reply only: I could not find this in your documents.";

/// One source as the model sees it: its number, the file and place it comes from (so that the
/// answer can tell look-alike documents apart: five companies' "Total net sales"), then its
/// words on one line — except a table's rows, each on its own line, so that a row's figures
/// stay with its label and its columns' headers.
fn source_block(n: usize, hit: &Hit) -> String {
    let text = rows_on_lines(strip_heading_line(hit.text.trim()));
    let file = std::path::Path::new(&hit.path).file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default();
    let mut location = hit.location.clone();
    location.heading = location.heading.as_deref().map(shortened_heading);
    let place = location.describe();
    let header = if place.is_empty() { file } else { format!("{file}, {place}") };
    format!("[{n}] ({header}) {text}\n")
}

/// Words of a source's heading the prompt keeps. A filing's table heading runs to 30 words and
/// more ("Item 1. Financial Statements Apple Inc. CONDENSED CONSOLIDATED STATEMENTS OF OPERATIONS
/// (Unaudited) (In millions, except number of shares …)"), every source read before the first
/// token; its opening words say what the table is and in what units.
const HEADING_WORDS: usize = 14;

fn shortened_heading(heading: &str) -> String {
    let words: Vec<&str> = heading.split_whitespace().collect();
    if words.len() <= HEADING_WORDS { words.join(" ") } else { format!("{} …", words[..HEADING_WORDS].join(" ")) }
}

/// The text's lines joined by spaces, but a table row (as the excerpt tells one: cells between
/// bars, or a line of figures) on a line of its own.
fn rows_on_lines(text: &str) -> String {
    let lines: Vec<String> = text.lines().map(crate::wrapped::one_line).filter(|l| !l.is_empty()).collect();
    super::excerpt::rows_on_lines(lines.iter().map(|line| (line.as_str(), crate::wrapped::is_row(line), false)))
}

/// A chunk that starts with its own Markdown heading repeats what the source header says.
fn strip_heading_line(text: &str) -> &str {
    match text.split_once('\n') {
        Some((first, rest)) if first.starts_with('#') => rest.trim_start(),
        _ => text,
    }
}

/// The start every answer's prompt shares: the chat template's opening and the system prompt,
/// rendered as a prompt is (what `Llm::prime` computes once per loaded model).
pub(crate) fn prompt_start(model: &dyn Generate) -> Result<String> {
    let full = model.format_chat(&[
        ChatMessage { role: Role::System, content: SYSTEM_PROMPT.to_string() },
        ChatMessage { role: Role::User, content: String::new() },
    ])?;
    // Up to the end of the system prompt: what follows depends on the question.
    let end = full.find(SYSTEM_PROMPT).map_or(0, |i| i + SYSTEM_PROMPT.len());
    Ok(full[..end].to_string())
}

fn user_message(question: &str, blocks: &[String]) -> String {
    format!("Sources:\n{}\nQuestion: {question}", blocks.join("\n"))
}

/// The chat of a first question over `sources` as the model is given it (before its chat
/// template): what a training set for the answer model must look like (`tune::export`).
pub(crate) fn messages(question: &str, sources: &[Hit]) -> Vec<ChatMessage> {
    let blocks: Vec<String> = sources.iter().enumerate().map(|(i, hit)| source_block(i + 1, hit)).collect();
    vec![
        ChatMessage { role: Role::System, content: SYSTEM_PROMPT.to_string() },
        ChatMessage { role: Role::User, content: user_message(question, &blocks) },
    ]
}

/// Build the prompt with as many sources as fit in the context, leaving room for the answer.
/// Returns the prompt and the sources it numbers.
pub(crate) fn build(
    model: &dyn Generate,
    question: &str,
    history: &[(String, String)],
    sources: &[Hit],
    max_answer_tokens: u32,
) -> Result<(String, Vec<Hit>)> {
    let budget = (model.context_size() as usize).saturating_sub(max_answer_tokens as usize + 16);
    let mut messages = vec![ChatMessage { role: Role::System, content: SYSTEM_PROMPT.to_string() }];
    // Keep the most recent turns that fit in a quarter of the budget.
    let mut turns: Vec<ChatMessage> = Vec::new();
    let mut history_tokens = 0;
    for (q, a) in history.iter().rev() {
        let cost = model.count_tokens(q) + model.count_tokens(a) + 8;
        if history_tokens + cost > budget / 4 {
            break;
        }
        history_tokens += cost;
        turns.splice(
            0..0,
            [ChatMessage { role: Role::User, content: q.clone() }, ChatMessage { role: Role::Assistant, content: a.clone() }],
        );
    }
    messages.extend(turns);

    let render = |sources: &[Hit]| -> Result<String> {
        let blocks: Vec<String> = sources.iter().enumerate().map(|(i, hit)| source_block(i + 1, hit)).collect();
        let mut m = messages.clone();
        m.push(ChatMessage { role: Role::User, content: user_message(question, &blocks) });
        model.format_chat(&m)
    };
    let used = context::assemble(sources, |candidate| Ok(model.count_tokens(&render(candidate)?) <= budget))?;
    Ok((render(&used)?, used))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inference::fakes::ScriptedModel;
    use crate::retrieval::test_hit as hit;

    #[test]
    fn sources_are_numbered_with_file_and_place_and_history_comes_before_the_question() {
        let model = ScriptedModel::answering("");
        let mut first = hit("/docs/leave.md", "## Sabbatical\nA sabbatical lasts up to eight weeks.");
        first.location.heading = Some("Leave > Sabbatical".into());
        let history = vec![("Who approves leave?".to_string(), "The department head [1].".to_string())];
        let (prompt, used) = build(&model, "How long can it last?", &history, &[first, hit("/docs/b.md", "Other text.")], 64).unwrap();
        assert_eq!(used.len(), 2);
        assert!(prompt.starts_with(&prompt_start(&model).unwrap()), "the shared start comes first: {prompt}");
        assert!(prompt.contains("[1] (leave.md, Leave > Sabbatical) A sabbatical lasts up to eight weeks."), "{prompt}");
        assert!(!prompt.contains("## Sabbatical"), "the heading line is in the header already: {prompt}");
        let (asked_before, question) = (prompt.find("Who approves leave?").unwrap(), prompt.find("Question: How long").unwrap());
        assert!(asked_before < question, "{prompt}");
    }

    #[test]
    fn a_long_heading_is_shortened_in_the_prompt() {
        let mut table = hit("/10q/2023 Q1 AAPL.pdf", "Net sales: Total net sales | Three Months Ended December 31, 2022: 117,154");
        table.location.page = Some(4);
        table.location.heading = Some(
            "Item 1. Financial Statements Apple Inc. CONDENSED CONSOLIDATED STATEMENTS OF OPERATIONS (Unaudited) \
             (In millions, except number of shares which are reflected in thousands and per share amounts)"
                .into(),
        );
        let block = source_block(1, &table);
        assert!(
            block.starts_with("[1] (2023 Q1 AAPL.pdf, page 4, Item 1. Financial Statements Apple Inc. CONDENSED CONSOLIDATED STATEMENTS OF OPERATIONS (Unaudited) (In millions, …) Net sales"),
            "{block}"
        );
    }

    #[test]
    fn a_table_keeps_a_row_per_line_and_prose_is_one_line() {
        let text = "Net income | 2023: 6,188 | 2022: 656\nGross profit | 2023: 9,462 | 2022: 2,915\nSee the\nnotes.";
        assert_eq!(rows_on_lines(text), "Net income | 2023: 6,188 | 2022: 656\nGross profit | 2023: 9,462 | 2022: 2,915\nSee the notes.");
        assert_eq!(rows_on_lines("Prose  that\nwraps   here."), "Prose that wraps here.");
    }

    #[test]
    fn sources_that_do_not_fit_are_left_out() {
        let model = ScriptedModel { context_size: 250, ..ScriptedModel::answering("") };
        let long = "word ".repeat(40);
        let sources: Vec<Hit> = (0..5).map(|i| hit(&format!("/d/{i}.md"), &long)).collect();
        let (prompt, used) = build(&model, "What?", &[], &sources, 32).unwrap();
        assert!(!used.is_empty() && used.len() < 5, "{} sources used", used.len());
        assert!(model.count_tokens(&prompt) <= 250 - 32 - 16);
    }
}
