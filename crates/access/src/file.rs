//! Reading who may read a file from the file system: its owner, group, mode bits and POSIX ACL
//! (exacl, over libacl), and the "search" (x) permission of every folder above it, since a file
//! in a closed folder cannot be opened whatever its own bits say.

use std::collections::HashMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use exacl::{AclEntryKind, AclOption, Perm};

use crate::rule::Rule;
use crate::{AccessError, group_name, groups_of_user, user_name};

/// What a rule is about: reading a file or passing through a folder.
#[derive(Clone, Copy)]
enum Wanted {
    Read,
    Search,
}

impl Wanted {
    fn perm(self) -> Perm {
        match self {
            Wanted::Read => Perm::READ,
            Wanted::Search => Perm::EXECUTE,
        }
    }

    fn mode_bit(self) -> u32 {
        match self {
            Wanted::Read => 0o4,
            Wanted::Search => 0o1,
        }
    }
}

/// Reads the readers of files, remembering each folder's rule (the rule of a folder is the
/// same for every file in it) and each user's groups. One per walk: a rule read before a
/// `chmod` is not reused by the next one.
#[derive(Default)]
pub struct ReadersOf {
    /// Who may reach a folder's entries: its search permission and every folder's above it
    /// (shared, not copied, by every file of the folder).
    folders: HashMap<PathBuf, Rc<Rule>>,
    groups: HashMap<String, Vec<String>>,
    /// Names of owners and owning groups: a share's files have a handful, and each lookup goes
    /// through NSS (a scan of /etc/passwd, or a directory server).
    user_names: HashMap<u32, String>,
    group_names: HashMap<u32, String>,
}

impl ReadersOf {
    pub fn new() -> ReadersOf {
        ReadersOf::default()
    }

    /// The reader tokens of `path` (see [`Rule`]): who may read it and reach it.
    pub fn readers(&mut self, path: &Path) -> Result<Vec<String>, AccessError> {
        let own = self.rule_of(path, Wanted::Read)?;
        let Some(parent) = path.parent() else { return Ok(own.simplified().tokens()) };
        let reach = self.reach(parent)?;
        Ok(self.both(&own, &reach).tokens())
    }

    /// Who may pass through `folder` and every folder above it.
    fn reach(&mut self, folder: &Path) -> Result<Rc<Rule>, AccessError> {
        if let Some(rule) = self.folders.get(folder) {
            return Ok(Rc::clone(rule));
        }
        let own = self.rule_of(folder, Wanted::Search)?;
        let rule = Rc::new(match folder.parent() {
            Some(parent) => {
                let above = self.reach(parent)?;
                self.both(&own, &above)
            }
            None => own.simplified(),
        });
        self.folders.insert(folder.to_path_buf(), Rc::clone(&rule));
        Ok(rule)
    }

    /// [`Rule::and`] with users' groups looked up once per walk.
    fn both(&mut self, one: &Rule, other: &Rule) -> Rule {
        let mut groups = |user: &str| self.groups.entry(user.to_string()).or_insert_with(|| groups_of_user(user)).clone();
        one.and(other, &mut groups)
    }

    /// The rule of one file or folder for `wanted`, from its ACL; from its mode bits where the
    /// file system keeps no POSIX ACL (the same rule: an ACL without extended entries is the
    /// mode).
    fn rule_of(&mut self, path: &Path, wanted: Wanted) -> Result<Rule, AccessError> {
        let meta = std::fs::metadata(path).map_err(|source| AccessError::Io { path: path.to_path_buf(), source })?;
        let owner = self.user_names.entry(meta.uid()).or_insert_with(|| user_name(meta.uid())).clone();
        let group = self.group_names.entry(meta.gid()).or_insert_with(|| group_name(meta.gid())).clone();
        match exacl::getfacl(path, AclOption::ACCESS_ACL) {
            Ok(entries) => Ok(rule_of_acl(&owner, &group, &entries, wanted)),
            Err(_) => Ok(rule_of_mode(&owner, &group, meta.mode(), wanted)),
        }
    }
}

fn rule_of_mode(owner: &str, group: &str, mode: u32, wanted: Wanted) -> Rule {
    let bit = wanted.mode_bit();
    let mut rule = Rule::default();
    grant_or_deny(&mut rule.users, &mut rule.denied_users, owner, mode & (bit << 6) != 0);
    grant_or_deny(&mut rule.groups, &mut rule.denied_groups, group, mode & (bit << 3) != 0);
    rule.everyone = mode & bit != 0;
    rule
}

/// POSIX.1e access check as a rule: the owner entry, named users (limited by the mask), the
/// group class (the owning group and named groups, limited by the mask), other.
fn rule_of_acl(owner: &str, group: &str, entries: &[exacl::AclEntry], wanted: Wanted) -> Rule {
    let perm = wanted.perm();
    let mask = entries.iter().find(|e| e.kind == AclEntryKind::Mask).map(|e| e.perms);
    let masked = |p: Perm| mask.map_or(p, |m| p & m);
    let mut rule = Rule::default();
    // The owner first: a named entry for the owner's own name does not apply to them.
    if let Some(e) = entries.iter().find(|e| e.kind == AclEntryKind::User && e.name.is_empty()) {
        grant_or_deny(&mut rule.users, &mut rule.denied_users, owner, e.perms.contains(perm));
    }
    for e in entries.iter().filter(|e| e.kind == AclEntryKind::User && !e.name.is_empty() && e.name != owner) {
        grant_or_deny(&mut rule.users, &mut rule.denied_users, &e.name, masked(e.perms).contains(perm));
    }
    for e in entries.iter().filter(|e| e.kind == AclEntryKind::Group) {
        let name = if e.name.is_empty() { group } else { e.name.as_str() };
        grant_or_deny(&mut rule.groups, &mut rule.denied_groups, name, masked(e.perms).contains(perm));
    }
    rule.everyone = entries.iter().any(|e| e.kind == AclEntryKind::Other && e.perms.contains(perm));
    rule
}

/// Record `name` as granted or denied; granted wins (two group entries naming one group, or
/// the owning group named again: any granting entry grants).
fn grant_or_deny(
    granted: &mut std::collections::BTreeSet<String>,
    denied: &mut std::collections::BTreeSet<String>,
    name: &str,
    grants: bool,
) {
    if grants {
        denied.remove(name);
        granted.insert(name.to_string());
    } else if !granted.contains(name) {
        denied.insert(name.to_string());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn set_mode(path: &Path, mode: u32) {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
    }

    #[test]
    fn mode_bits_become_tokens() {
        assert_eq!(rule_of_mode("bob", "staff", 0o640, Wanted::Read).tokens(), vec!["group:staff", "user:bob"]);
        assert_eq!(rule_of_mode("bob", "staff", 0o604, Wanted::Read).tokens(), vec!["!group:staff", "everyone", "user:bob"]);
        assert_eq!(rule_of_mode("bob", "staff", 0o711, Wanted::Search).simplified().tokens(), vec!["everyone"]);
    }

    #[test]
    fn an_acl_entry_is_limited_by_the_mask() {
        let entry = |kind, name: &str, perms| exacl::AclEntry { kind, name: name.into(), perms, flags: exacl::Flag::empty(), allow: true };
        let entries = vec![
            entry(AclEntryKind::User, "", Perm::READ | Perm::WRITE),
            entry(AclEntryKind::User, "alice", Perm::READ),
            entry(AclEntryKind::User, "carol", Perm::READ),
            entry(AclEntryKind::Group, "", Perm::READ),
            entry(AclEntryKind::Group, "audit", Perm::READ),
            entry(AclEntryKind::Mask, "", Perm::READ),
            entry(AclEntryKind::Other, "", Perm::empty()),
        ];
        let rule = rule_of_acl("bob", "staff", &entries, Wanted::Read);
        assert_eq!(rule.tokens(), vec!["group:audit", "group:staff", "user:alice", "user:bob", "user:carol"]);
        let mut no_read_mask = entries.clone();
        no_read_mask[5].perms = Perm::empty();
        let rule = rule_of_acl("bob", "staff", &no_read_mask, Wanted::Read);
        assert_eq!(
            rule.tokens(),
            vec!["!group:audit", "!group:staff", "!user:alice", "!user:carol", "user:bob"],
            "the mask limits all but owner and other"
        );
    }

    /// Real files: the process's own user and group, mode bits changed by chmod, and a closed
    /// folder above an open file.
    #[test]
    fn files_and_the_folders_above_them() {
        let dir = tempfile::tempdir().unwrap();
        set_mode(dir.path(), 0o755);
        let file = dir.path().join("memo.txt");
        std::fs::write(&file, "x").unwrap();
        let me = user_name(nix::unistd::geteuid().as_raw());
        let my_group = group_name(nix::unistd::getegid().as_raw());
        // Folders above a temp dir may be closed to others (a CI's home): measure relative to
        // what reaches the temp dir itself.
        let reach = ReadersOf::new().reach(dir.path()).unwrap();

        set_mode(&file, 0o644);
        let open = Rule::from_tokens(&ReadersOf::new().readers(&file).unwrap());
        assert_eq!(open.allows("someone-else", &[]), reach.allows("someone-else", &[]));

        set_mode(&file, 0o600);
        let private = Rule::from_tokens(&ReadersOf::new().readers(&file).unwrap());
        assert!(private.allows(&me, std::slice::from_ref(&my_group)), "{:?}", private.tokens());
        assert!(!private.allows("someone-else", &[]), "{:?}", private.tokens());

        set_mode(&file, 0o644);
        set_mode(dir.path(), 0o700);
        let closed = Rule::from_tokens(&ReadersOf::new().readers(&file).unwrap());
        assert!(!closed.allows("someone-else", &[]), "a closed folder keeps others out: {:?}", closed.tokens());
        set_mode(dir.path(), 0o755);
    }

    #[test]
    fn a_missing_file_is_an_error_naming_it() {
        let err = ReadersOf::new().readers(Path::new("/no/such/file")).unwrap_err();
        assert!(err.to_string().contains("/no/such/file"), "{err}");
    }
}
