//! Sign-in by password (`brain serve --pam`): the account's password checked by PAM — the same
//! stack as the machine's own logins (`/etc/pam.d/corporate-brain`, which the package installs:
//! `common-auth` and `common-account`, so LDAP/SSSD/Kerberos work where the machine has them) —
//! and a session token for the browser, kept in memory only (a restart signs everyone out;
//! nothing to leak from disk).
//!
//! Guessing is slowed twice: PAM's own delay after a failure (pam_unix waits ~2 s), and after
//! [`FAILURES_ALLOWED`] failures for one account within [`LOCKOUT`], that account's sign-ins are
//! refused until the window has passed, with no password checked. An unknown account and a
//! wrong password get the same answer.

mod pam;

use std::collections::HashMap;
use std::sync::Mutex;

use crate::tokens::{hash, new_token};

/// The PAM service whose stack checks the passwords.
pub const PAM_SERVICE: &str = "corporate-brain";
/// How long a session token from a sign-in is valid.
pub const SESSION_MS: i64 = 12 * 3_600_000;
/// Failed sign-ins one account may have within [`LOCKOUT`].
pub const FAILURES_ALLOWED: u32 = 5;
/// The window of failures, and how long an account's sign-ins are refused after too many.
pub const LOCKOUT: i64 = 10 * 60_000;
/// Accounts with failures remembered before the expired ones are dropped.
const FAILURES_KEPT: usize = 10_000;
/// What every session token starts with (API tokens start with `cbt_`).
const PREFIX: &str = "cbs_";

/// Why a sign-in was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignInRefusal {
    /// Wrong password or no such account (not told apart).
    Wrong,
    /// Too many failures for this account lately: try again after this many ms.
    Locked { retry_after_ms: i64 },
    /// PAM could not be asked (no such service, a module failing).
    Unavailable(String),
}

/// Check `user`'s password with PAM (blocking: PAM modules wait and may ask the network):
/// authentication, then the account's own checks (locked, expired).
pub fn check_password(service: &str, user: &str, password: &str) -> Result<(), SignInRefusal> {
    pam::authenticate(service, user, password).map_err(|refusal| match refusal {
        pam::Refusal::Denied(code) => {
            tracing::debug!("PAM refused {user}: code {code}");
            SignInRefusal::Wrong
        }
        pam::Refusal::CannotStart(reason) => SignInRefusal::Unavailable(reason),
    })
}

struct Session {
    user: String,
    expires_ms: i64,
}

/// The sessions of signed-in people and the recent failures per account.
#[derive(Default)]
pub struct Sessions {
    /// blake3 of the token → its session.
    live: Mutex<HashMap<String, Session>>,
    /// account → (failures, when the first of them was).
    failures: Mutex<HashMap<String, (u32, i64)>>,
}

impl Sessions {
    /// Refused without asking PAM: the account has failed too often lately.
    pub fn locked(&self, user: &str, now_ms: i64) -> Result<(), SignInRefusal> {
        let failures = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        match failures.get(user) {
            Some(&(count, first)) if count >= FAILURES_ALLOWED && now_ms - first < LOCKOUT => {
                Err(SignInRefusal::Locked { retry_after_ms: first + LOCKOUT - now_ms })
            }
            _ => Ok(()),
        }
    }

    pub fn failed(&self, user: &str, now_ms: i64) {
        let mut failures = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        // Made-up names each add an entry: past windows go once there are many.
        if failures.len() >= FAILURES_KEPT {
            failures.retain(|_, &mut (_, first)| now_ms - first < LOCKOUT);
        }
        let entry = failures.entry(user.to_string()).or_insert((0, now_ms));
        if now_ms - entry.1 >= LOCKOUT {
            *entry = (0, now_ms);
        }
        entry.0 += 1;
    }

    /// A new session for `user` (their failures forgotten): the token and when it expires.
    pub fn start(&self, user: &str, now_ms: i64) -> Result<(String, i64), SignInRefusal> {
        self.failures.lock().unwrap_or_else(|p| p.into_inner()).remove(user);
        let token = new_token(PREFIX).map_err(SignInRefusal::Unavailable)?;
        let expires_ms = now_ms + SESSION_MS;
        let mut live = self.live.lock().unwrap_or_else(|p| p.into_inner());
        live.retain(|_, s| s.expires_ms > now_ms);
        live.insert(hash(&token), Session { user: user.to_string(), expires_ms });
        Ok((token, expires_ms))
    }

    /// The user of a live session token.
    pub fn user_of(&self, token: &str, now_ms: i64) -> Option<String> {
        let live = self.live.lock().unwrap_or_else(|p| p.into_inner());
        live.get(&hash(token)).filter(|s| s.expires_ms > now_ms).map(|s| s.user.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_account_that_fails_too_often_is_locked_for_the_window_and_a_session_names_its_user_until_it_expires() {
        let sessions = Sessions::default();
        for i in 0..FAILURES_ALLOWED {
            assert_eq!(sessions.locked("alice", 1_000 + i64::from(i)), Ok(()));
            sessions.failed("alice", 1_000 + i64::from(i));
        }
        assert!(
            matches!(sessions.locked("alice", 2_000), Err(SignInRefusal::Locked { retry_after_ms }) if retry_after_ms == LOCKOUT - 1_000)
        );
        assert_eq!(sessions.locked("bob", 2_000), Ok(()), "another account is not locked");
        assert_eq!(sessions.locked("alice", 1_000 + LOCKOUT), Ok(()), "the window passes");
        sessions.failed("alice", 1_000 + LOCKOUT);
        assert_eq!(sessions.locked("alice", 2_000 + LOCKOUT), Ok(()), "a new window counts from one");

        let (token, expires) = sessions.start("alice", 5_000).unwrap();
        assert!(token.starts_with("cbs_") && expires == 5_000 + SESSION_MS);
        assert_eq!(sessions.user_of(&token, 6_000).as_deref(), Some("alice"));
        assert_eq!(sessions.user_of(&token, expires), None, "expired");
        assert_eq!(sessions.user_of("cbs_guess", 6_000), None);
        assert_eq!(sessions.locked("alice", 6_000), Ok(()));
    }

    #[test]
    fn failures_of_made_up_names_do_not_pile_up() {
        let sessions = Sessions::default();
        for i in 0..FAILURES_KEPT {
            sessions.failed(&format!("guess{i}"), 0);
        }
        sessions.failed("late", LOCKOUT);
        assert_eq!(sessions.failures.lock().unwrap().len(), 1, "the past window's names are gone");
    }
}
