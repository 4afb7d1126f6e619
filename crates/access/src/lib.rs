//! `brain-access`: who may read a file and who a person is, in one vocabulary of principals
//! (`user:NAME`, `group:NAME`, `everyone`), so that retrieval can show each person only what
//! the file system lets them read.
//!
//! Key design decisions:
//! - **The file system's own permissions are the source of truth.** A file's readers are read
//!   from its owner, group, mode bits and POSIX ACL (what Samba stores for Windows ACLs on a
//!   Linux share), and from the search (x) permission of every folder above it, as the indexer
//!   sees them ([`ReadersOf`]). Nothing is configured twice.
//! - **Readers are tokens stored with every chunk**, so the permission check is a pre-filter
//!   inside the vector and keyword searches (a list column with a label-list index), not a pass
//!   over results: the k results are the best k the person may read. POSIX decides by the first
//!   class of entry that matches (a file `---r--r--` is closed to its owner), so the tokens carry
//!   denials as well as grants ([`Rule`] says how they are read).
//! - **Fail closed.** Where tokens cannot express a combination exactly (a file readable by a
//!   user inside a folder open to a group), the stored readers are fewer, never more; a chunk
//!   without readers matches no person.
//! - A person's groups are looked up when they ask ([`Person::named`]), so adding someone to a
//!   group opens that group's files to them without re-indexing anything.

mod file;
mod rule;

pub use file::ReadersOf;
pub use rule::{EVERYONE, Rule};

use std::ffi::CString;
use std::path::PathBuf;

use nix::unistd::{Gid, Group, Uid, User};

#[derive(Debug, thiserror::Error)]
pub enum AccessError {
    #[error("no user named {0:?} on this system")]
    UnknownUser(String),
    #[error("cannot read the permissions of {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
}

/// Someone a search is made for: their user name and the names of their groups.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    pub user: String,
    pub groups: Vec<String>,
}

impl Person {
    /// The person of this name in the system's user database (with NSS: LDAP and the like
    /// included), with every group they are in now.
    pub fn named(name: &str) -> Result<Person, AccessError> {
        match User::from_name(name) {
            Ok(Some(_)) => Ok(Person { user: name.to_string(), groups: groups_of_user(name) }),
            _ => Err(AccessError::UnknownUser(name.to_string())),
        }
    }

    /// Whether a document with these reader tokens is theirs to read.
    pub fn may_read<S: AsRef<str>>(&self, readers: &[S]) -> bool {
        Rule::from_tokens(readers).allows(&self.user, &self.groups)
    }
}

/// Whether `token` is a reader token: `everyone`, or `user:`, `group:`, `!user:`, `!group:`
/// and a name.
pub fn is_reader_token(token: &str) -> bool {
    rule::Token::parse(token).is_some()
}

/// The user id this process acts as.
pub fn effective_uid() -> u32 {
    nix::unistd::geteuid().as_raw()
}

/// The name of a user id, or the id itself where the system has no name for it (as exacl and
/// `ls` write it), so that a file of a deleted user still has an owner token.
pub fn user_name(uid: u32) -> String {
    match User::from_uid(Uid::from_raw(uid)) {
        Ok(Some(u)) => u.name,
        _ => uid.to_string(),
    }
}

/// The name of a group id, or the id itself.
pub fn group_name(gid: u32) -> String {
    match Group::from_gid(Gid::from_raw(gid)) {
        Ok(Some(g)) => g.name,
        _ => gid.to_string(),
    }
}

/// The names of every group `user` is in (primary and supplementary); none for an unknown user.
pub fn groups_of_user(user: &str) -> Vec<String> {
    let Ok(Some(u)) = User::from_name(user) else { return Vec::new() };
    let Ok(name) = CString::new(user) else { return Vec::new() };
    let gids = nix::unistd::getgrouplist(&name, u.gid).unwrap_or_else(|_| vec![u.gid]);
    let mut names: Vec<String> = gids.into_iter().map(|g| group_name(g.as_raw())).collect();
    names.sort();
    names.dedup();
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_is_a_person_in_the_root_group_and_strangers_are_not_people() {
        let root = Person::named("root").unwrap();
        assert!(root.groups.contains(&"root".to_string()), "{root:?}");
        assert!(matches!(Person::named("no-such-user-here"), Err(AccessError::UnknownUser(_))));
        assert_eq!(user_name(0), "root");
        assert_eq!(user_name(4_000_000), "4000000");
    }

    #[test]
    fn may_read_reads_the_tokens() {
        let alice = Person { user: "alice".into(), groups: vec!["finance".into()] };
        assert!(alice.may_read(&["group:finance"]));
        assert!(alice.may_read(&["everyone"]));
        assert!(!alice.may_read(&["!user:alice", "everyone"]));
        assert!(!alice.may_read::<&str>(&[]));
    }
}
