//! Per-person API tokens: made by the index's owner (`brain serve tokens add USER`), shown
//! once, stored only as their blake3 hash in `serve-tokens.json` (mode 600) in the data dir.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::ServeError;

const FILE: &str = "serve-tokens.json";
/// What every token starts with, so that one pasted into the wrong place is recognisable.
const PREFIX: &str = "cbt_";

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct TokenRecord {
    pub user: String,
    /// blake3 of the token, hex.
    pub hash: String,
    pub created_ms: i64,
    /// After this the token is refused; `None`: until removed.
    pub expires_ms: Option<i64>,
}

/// Why a request's token was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    Missing,
    Unknown,
    Expired,
}

fn path(data_dir: &Path) -> PathBuf {
    data_dir.join(FILE)
}

pub fn load(data_dir: &Path) -> Result<Vec<TokenRecord>, ServeError> {
    let path = path(data_dir);
    match std::fs::read(&path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| ServeError::Tokens(format!("{} is damaged: {e}", path.display()))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(ServeError::Tokens(format!("{}: {e}", path.display()))),
    }
}

fn save(data_dir: &Path, records: &[TokenRecord]) -> Result<(), ServeError> {
    let path = path(data_dir);
    let fail = |e: std::io::Error| ServeError::Tokens(format!("{}: {e}", path.display()));
    let bytes = serde_json::to_vec_pretty(records).map_err(|e| ServeError::Tokens(e.to_string()))?;
    let temporary = path.with_extension("json.new");
    let mut file = std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(&temporary).map_err(fail)?;
    file.write_all(&bytes).map_err(fail)?;
    file.sync_all().map_err(fail)?;
    std::fs::rename(&temporary, &path).map_err(fail)
}

/// What is stored of a token (API or session): its blake3, hex.
pub(crate) fn hash(token: &str) -> String {
    blake3::hash(token.as_bytes()).to_hex().to_string()
}

/// A new random token (256 bits, hex) starting with `prefix`.
pub(crate) fn new_token(prefix: &str) -> Result<String, String> {
    let mut secret = [0u8; 32];
    getrandom::fill(&mut secret).map_err(|e| format!("no randomness for a token: {e}"))?;
    Ok(format!("{prefix}{}", secret.iter().map(|b| format!("{b:02x}")).collect::<String>()))
}

/// A new token for `user`, valid for `days` (`None`: until removed). Returns the token: it is
/// not stored and cannot be shown again.
pub fn add(data_dir: &Path, user: &str, days: Option<u32>, now_ms: i64) -> Result<String, ServeError> {
    let token = new_token(PREFIX).map_err(ServeError::Tokens)?;
    let mut records = load(data_dir)?;
    records.push(TokenRecord {
        user: user.to_string(),
        hash: hash(&token),
        created_ms: now_ms,
        expires_ms: days.map(|d| now_ms + i64::from(d) * 86_400_000),
    });
    save(data_dir, &records)?;
    Ok(token)
}

/// Remove every token of `user`; how many there were.
pub fn remove(data_dir: &Path, user: &str) -> Result<usize, ServeError> {
    let mut records = load(data_dir)?;
    let before = records.len();
    records.retain(|r| r.user != user);
    save(data_dir, &records)?;
    Ok(before - records.len())
}

/// The user a presented token belongs to.
pub fn user_of(records: &[TokenRecord], token: Option<&str>, now_ms: i64) -> Result<String, Refusal> {
    let token = token.filter(|t| !t.is_empty()).ok_or(Refusal::Missing)?;
    let wanted = hash(token);
    let record = records.iter().find(|r| r.hash == wanted).ok_or(Refusal::Unknown)?;
    if record.expires_ms.is_some_and(|e| e <= now_ms) {
        return Err(Refusal::Expired);
    }
    Ok(record.user.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn a_token_is_stored_hashed_owner_only_and_names_its_user_until_it_expires_or_is_removed() {
        let dir = tempfile::tempdir().unwrap();
        let forever = add(dir.path(), "alice", None, 1_000).unwrap();
        let a_day = add(dir.path(), "bob", Some(1), 1_000).unwrap();
        let text = std::fs::read_to_string(path(dir.path())).unwrap();
        assert!(!text.contains(&forever) && !text.contains(&a_day), "only hashes are stored");
        assert_eq!(std::fs::metadata(path(dir.path())).unwrap().permissions().mode() & 0o777, 0o600);
        let records = load(dir.path()).unwrap();
        assert_eq!(user_of(&records, Some(&forever), 2_000), Ok("alice".to_string()));
        assert_eq!(user_of(&records, Some(&a_day), 2_000), Ok("bob".to_string()));
        assert_eq!(user_of(&records, Some(&a_day), 1_000 + 86_400_000), Err(Refusal::Expired));
        assert_eq!(user_of(&records, Some("cbt_guess"), 2_000), Err(Refusal::Unknown));
        assert_eq!(user_of(&records, None, 2_000), Err(Refusal::Missing));
        assert_eq!(remove(dir.path(), "alice").unwrap(), 1);
        assert_eq!(user_of(&load(dir.path()).unwrap(), Some(&forever), 2_000), Err(Refusal::Unknown));
    }
}
