//! Conversations: questions and answers kept across restarts, so that a follow-up question is
//! asked with the earlier turns as history ([`AskRequest::history`]) and a front end can list and
//! reopen them. One JSON file per conversation in `conversations/` in the data dir, written
//! atomically.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::answer::{Answer, AnswerStop, Citation};
use crate::error::{EngineError, Result};
use crate::fsutil;

const DIR: &str = "conversations";
/// Longest title, in characters, taken from the first question.
const TITLE_CHARS: usize = 80;

/// A conversation: its turns, oldest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ts_rs::TS)]
pub struct Conversation {
    pub id: String,
    /// The first question, shortened.
    pub title: String,
    pub created_ms: i64,
    pub updated_ms: i64,
    pub turns: Vec<Turn>,
    /// The person it belongs to when asked through a team server (their user name); `None`: the
    /// index's owner's own. Nobody else may read or continue it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub owner: Option<String>,
}

/// One question and its answer as given (a stopped answer is kept as far as it got).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ts_rs::TS)]
pub struct Turn {
    pub question: String,
    pub answer: String,
    pub citations: Vec<Citation>,
    /// See [`Answer::found`].
    pub found: bool,
    /// See [`Answer::stop`].
    pub stop: AnswerStop,
    /// The answer's claims as checked against the sources (absent in older conversations).
    #[serde(default)]
    pub claims: Vec<crate::grounding::Claim>,
    pub asked_ms: i64,
}

/// What a withheld turn says in place of its answer (see [`crate::Engine::conversation_as`]).
pub const WITHHELD: &str = "This answer is withheld: one of its sources is a file you may no longer read.";

impl Turn {
    /// Keep the question, withhold the answer and everything drawn from its sources.
    pub(crate) fn withhold(&mut self) {
        self.answer = WITHHELD.to_string();
        self.citations.clear();
        self.claims.clear();
        self.found = false;
    }

    pub fn new(question: impl Into<String>, answer: &Answer) -> Self {
        Turn {
            question: question.into(),
            answer: answer.answer.clone(),
            citations: answer.citations.clone(),
            found: answer.found,
            stop: answer.stop,
            claims: answer.claims.clone(),
            asked_ms: fsutil::now_ms(),
        }
    }
}

/// A conversation in a list: no turns.
#[derive(Debug, Clone, PartialEq, Serialize, ts_rs::TS)]
pub struct ConversationSummary {
    pub id: String,
    pub title: String,
    pub created_ms: i64,
    pub updated_ms: i64,
    pub turns: usize,
}

impl Conversation {
    /// The earlier turns as [`AskRequest::history`] wants them. Turns that found nothing are left
    /// out: they carry no facts, and a small model copies "not found" into its next answer.
    pub fn history(&self) -> Vec<(String, String)> {
        self.turns.iter().filter(|t| t.found && !t.answer.trim().is_empty()).map(|t| (t.question.clone(), t.answer.clone())).collect()
    }

    pub fn summary(&self) -> ConversationSummary {
        ConversationSummary {
            id: self.id.clone(),
            title: self.title.clone(),
            created_ms: self.created_ms,
            updated_ms: self.updated_ms,
            turns: self.turns.len(),
        }
    }
}

/// Read-modify-write of a conversation file happens under this lock (one process; the CLI does
/// not write conversations).
static WRITE_LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn dir(data_dir: &Path) -> PathBuf {
    data_dir.join(DIR)
}

/// Ids are made here (time and a counter in hex); anything else is refused before it becomes a
/// path, so an id cannot name a file outside the conversations folder.
fn file(data_dir: &Path, id: &str) -> Result<PathBuf> {
    let valid = !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-');
    if !valid {
        return Err(EngineError::InvalidArgument(format!("not a conversation id: {id:?}")));
    }
    Ok(dir(data_dir).join(format!("{id}.json")))
}

fn title_of(question: &str) -> String {
    let one_line = question.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.chars().count() <= TITLE_CHARS {
        return one_line;
    }
    let cut: String = one_line.chars().take(TITLE_CHARS - 1).collect();
    format!("{}…", cut.trim_end())
}

/// The conversations of `owner` (`None`: the index owner's own, made without a server).
pub(crate) fn list(data_dir: &Path, owner: Option<&str>) -> Result<Vec<ConversationSummary>> {
    let dir = dir(data_dir);
    let entries = match std::fs::read_dir(&dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(EngineError::io(&dir, e)),
    };
    let mut out = Vec::new();
    for entry in entries.flatten() {
        let path = entry.path();
        if path.extension().and_then(|e| e.to_str()) != Some("json") {
            continue;
        }
        match read(&path) {
            // One person's list: the index owner's holds none of the team's through a server.
            Ok(c) if c.owner.as_deref() == owner => out.push(c.summary()),
            Ok(_) => {}
            // One damaged file must not hide the others.
            Err(e) => tracing::warn!("skipping an unreadable conversation: {e}"),
        }
    }
    out.sort_by(|a, b| b.updated_ms.cmp(&a.updated_ms).then_with(|| b.id.cmp(&a.id)));
    Ok(out)
}

fn read(path: &Path) -> Result<Conversation> {
    let bytes = std::fs::read(path).map_err(|e| EngineError::io(path, e))?;
    serde_json::from_slice(&bytes).map_err(|e| EngineError::damaged(path, e))
}

fn write(data_dir: &Path, conversation: &Conversation) -> Result<()> {
    let bytes = serde_json::to_vec_pretty(conversation).map_err(|e| EngineError::Internal(e.to_string()))?;
    fsutil::write_atomic(&file(data_dir, &conversation.id)?, &bytes)
}

pub(crate) fn get(data_dir: &Path, id: &str) -> Result<Conversation> {
    let path = file(data_dir, id)?;
    if !path.is_file() {
        return Err(EngineError::ConversationNotFound(id.to_string()));
    }
    read(&path)
}

pub(crate) fn create(data_dir: &Path, first_question: &str, owner: Option<&str>) -> Result<Conversation> {
    let _guard = WRITE_LOCK.lock().unwrap_or_else(|p| p.into_inner());
    let now = fsutil::now_ms();
    let mut n = 0u32;
    let id = loop {
        let id = format!("{now:012x}-{n:04x}");
        if !file(data_dir, &id)?.exists() {
            break id;
        }
        n += 1;
    };
    let conversation = Conversation {
        id,
        title: title_of(first_question),
        created_ms: now,
        updated_ms: now,
        turns: Vec::new(),
        owner: owner.map(str::to_string),
    };
    write(data_dir, &conversation)?;
    Ok(conversation)
}

pub(crate) fn append(data_dir: &Path, id: &str, turn: Turn) -> Result<Conversation> {
    let _guard = WRITE_LOCK.lock().unwrap_or_else(|p| p.into_inner());
    let mut conversation = get(data_dir, id)?;
    conversation.updated_ms = turn.asked_ms.max(conversation.updated_ms);
    if conversation.turns.is_empty() {
        conversation.title = title_of(&turn.question);
    }
    conversation.turns.push(turn);
    write(data_dir, &conversation)?;
    Ok(conversation)
}

pub(crate) fn delete(data_dir: &Path, id: &str) -> Result<()> {
    let _guard = WRITE_LOCK.lock().unwrap_or_else(|p| p.into_inner());
    let path = file(data_dir, id)?;
    match std::fs::remove_file(&path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(EngineError::ConversationNotFound(id.to_string())),
        Err(e) => Err(EngineError::io(path, e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(text: &str, found: bool) -> Answer {
        Answer {
            answer: text.into(),
            citations: Vec::new(),
            found,
            timings_ms: Default::default(),
            prompt_tokens: 0,
            prompt_tokens_reused: 0,
            answer_tokens: 0,
            stop: if found { AnswerStop::End } else { AnswerStop::NotFound },
            claims: Vec::new(),
            grounded: None,
            calculations: Vec::new(),
            query: None,
            lora: None,
        }
    }

    #[test]
    fn a_withheld_turn_keeps_its_question_only_and_leaves_the_history() {
        let mut shown = answer("Bob's bonus is 4,200 euros [1].", true);
        shown.citations.push(crate::answer::Citation {
            n: 1,
            path: "/srv/private/bob.md".into(),
            location: Default::default(),
            text: "Bob's salary review grants 4,200 euros.".into(),
            cited: true,
            similarity: 0.8,
        });
        let mut conversation = Conversation {
            id: "c1".into(),
            title: "Bob's bonus?".into(),
            created_ms: 0,
            updated_ms: 0,
            turns: vec![Turn::new("Bob's bonus?", &shown), Turn::new("Lunch?", &answer("From noon [1].", true))],
            owner: Some("alice".into()),
        };
        conversation.turns[0].withhold();
        let turn = &conversation.turns[0];
        assert_eq!((turn.question.as_str(), turn.answer.as_str(), turn.found), ("Bob's bonus?", WITHHELD, false));
        assert!(turn.citations.is_empty() && turn.claims.is_empty());
        assert_eq!(conversation.history(), vec![("Lunch?".to_string(), "From noon [1].".to_string())]);
    }

    #[test]
    fn create_append_list_get_delete_survive_a_reopen() {
        let data = tempfile::tempdir().unwrap();
        let first = create(data.path(), "How long can a sabbatical last?", None).unwrap();
        let second = create(data.path(), "Fire drills?", None).unwrap();
        let someone_elses = create(data.path(), "Their question", Some("alice")).unwrap();
        assert_eq!(get(data.path(), &someone_elses.id).unwrap().owner.as_deref(), Some("alice"));
        assert_ne!(first.id, second.id, "ids are unique within a millisecond");
        append(data.path(), &first.id, Turn::new("How long can a sabbatical last?", &answer("Eight weeks [1].", true))).unwrap();
        let mut later = Turn::new("And who approves it?", &answer("Your manager [2].", true));
        later.asked_ms += 10;
        append(data.path(), &first.id, later).unwrap();
        append(data.path(), &first.id, Turn::new("Cake recipe?", &answer(crate::NOT_FOUND, false))).unwrap();

        // Everything is on disk: a fresh read (another process, a restart) sees it.
        let listed = list(data.path(), None).unwrap();
        assert_eq!(listed.len(), 2);
        assert_eq!(listed[0].id, first.id, "most recently used first: {listed:?}");
        assert_eq!(listed[0].turns, 3);
        assert_eq!(listed[0].title, "How long can a sabbatical last?");
        let alices = list(data.path(), Some("alice")).unwrap();
        assert_eq!(alices.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(), vec![someone_elses.id.as_str()], "hers only");
        assert!(list(data.path(), Some("bob")).unwrap().is_empty());
        let loaded = get(data.path(), &first.id).unwrap();
        assert_eq!(loaded.turns[1].answer, "Your manager [2].");
        assert_eq!(
            loaded.history(),
            vec![
                ("How long can a sabbatical last?".to_string(), "Eight weeks [1].".to_string()),
                ("And who approves it?".to_string(), "Your manager [2].".to_string())
            ],
            "turns that found nothing are not history"
        );

        delete(data.path(), &second.id).unwrap();
        assert_eq!(list(data.path(), None).unwrap().len(), 1);
        assert!(matches!(get(data.path(), &second.id), Err(EngineError::ConversationNotFound(_))));
        assert!(matches!(delete(data.path(), &second.id), Err(EngineError::ConversationNotFound(_))));
    }

    #[test]
    fn ids_cannot_escape_the_folder_and_damaged_files_are_skipped() {
        let data = tempfile::tempdir().unwrap();
        for bad in ["../settings", "/etc/passwd", "", "a/b", "x.json"] {
            let err = get(data.path(), bad).unwrap_err();
            assert_eq!(err.code(), crate::ErrorCode::InvalidArgument, "{bad}");
        }
        let ok = create(data.path(), "q", None).unwrap();
        std::fs::write(dir(data.path()).join("0000-0000.json"), b"{not json").unwrap();
        let listed = list(data.path(), None).unwrap();
        assert_eq!(listed.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(), vec![ok.id.as_str()]);
    }

    #[test]
    fn long_questions_make_short_one_line_titles() {
        let title = title_of(&format!("What   is\nthe {} policy?", "very ".repeat(40)));
        assert!(title.chars().count() <= TITLE_CHARS && title.ends_with('…') && !title.contains('\n'), "{title}");
    }
}
