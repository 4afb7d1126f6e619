//! A [`Rule`]: who may do one thing (read a file, pass through a folder) by POSIX's rules, and
//! its form as reader tokens stored with every chunk.
//!
//! POSIX decides by the first class of entry that matches the person, not by any entry that
//! grants: the owner entry, then named users, then the group class (the owning group and
//! named groups: granted if any of those the person is in grants), then "other". So a file
//! `rw----r--` is readable by everyone except its owner. A list of who is granted cannot say
//! that; the tokens therefore carry denials too, and are read in the same order:
//!
//! | token | meaning |
//! |---|---|
//! | `user:NAME` | NAME may (the owner or a named-user entry grants it) |
//! | `!user:NAME` | NAME may not, whatever the groups or "other" say |
//! | `group:NAME` | members of NAME may (unless denied as a user) |
//! | `!group:NAME` | members of NAME may not, unless a group of theirs grants |
//! | `everyone` | anyone not matched above may |

use std::collections::BTreeSet;

/// Who may do one thing, by POSIX's order of matching (see the module's docs).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rule {
    pub users: BTreeSet<String>,
    pub denied_users: BTreeSet<String>,
    pub groups: BTreeSet<String>,
    pub denied_groups: BTreeSet<String>,
    pub everyone: bool,
}

pub const EVERYONE: &str = "everyone";

impl Rule {
    /// Whether `user`, a member of `groups`, may.
    pub fn allows(&self, user: &str, groups: &[String]) -> bool {
        if self.users.contains(user) {
            return true;
        }
        if self.denied_users.contains(user) {
            return false;
        }
        if groups.iter().any(|g| self.groups.contains(g)) {
            return true;
        }
        if groups.iter().any(|g| self.denied_groups.contains(g)) {
            return false;
        }
        self.everyone
    }

    /// Whether every member of `group` may, as far as this rule alone can tell (denials of
    /// single members stay with the rule's denials). Conservative: "everyone" grants a whole
    /// group only when no group is denied, since a member may also belong to a denied one.
    fn allows_whole_group(&self, group: &str) -> bool {
        self.groups.contains(group) || (self.everyone && self.denied_groups.is_empty())
    }

    /// Who may do both (read a file *and* pass through each folder above it). Tokens cannot
    /// express every intersection, so this one errs on the side of fewer readers, never more:
    /// a user or group is kept when the other rule lets them through (a user's groups come
    /// from `groups_of`), "everyone" only when both say it, and every denial of either stays.
    pub fn and(&self, other: &Rule, groups_of: &mut impl FnMut(&str) -> Vec<String>) -> Rule {
        let mut users = BTreeSet::new();
        for (mine, theirs) in [(self, other), (other, self)] {
            for user in &mine.users {
                if theirs.allows(user, &groups_of(user)) {
                    users.insert(user.clone());
                }
            }
        }
        let groups = self
            .groups
            .iter()
            .filter(|g| other.allows_whole_group(g))
            .chain(other.groups.iter().filter(|g| self.allows_whole_group(g)))
            .cloned()
            .collect();
        Rule {
            users,
            denied_users: self.denied_users.union(&other.denied_users).cloned().collect(),
            groups,
            denied_groups: self.denied_groups.union(&other.denied_groups).cloned().collect(),
            everyone: self.everyone && other.everyone,
        }
        .simplified()
    }

    /// The same rule with what cannot change the outcome dropped: a user granted who would be
    /// granted anyway is not (everyone may and nothing is denied: the one token `everyone`).
    pub fn simplified(mut self) -> Rule {
        if self.everyone && self.denied_users.is_empty() && self.denied_groups.is_empty() {
            self.users.clear();
            self.groups.clear();
        }
        // A user both granted and denied is granted (granting is read first); keep one.
        let granted = self.users.clone();
        self.denied_users.retain(|u| !granted.contains(u));
        let granted = self.groups.clone();
        self.denied_groups.retain(|g| !granted.contains(g));
        self
    }

    /// The tokens stored with a document's chunks, sorted.
    pub fn tokens(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        out.extend(self.users.iter().map(|u| format!("user:{u}")));
        out.extend(self.denied_users.iter().map(|u| format!("!user:{u}")));
        out.extend(self.groups.iter().map(|g| format!("group:{g}")));
        out.extend(self.denied_groups.iter().map(|g| format!("!group:{g}")));
        if self.everyone {
            out.push(EVERYONE.to_string());
        }
        out.sort();
        out
    }

    /// The rule that `tokens` stand for (unknown tokens are ignored: they grant nothing).
    pub fn from_tokens<S: AsRef<str>>(tokens: &[S]) -> Rule {
        let mut rule = Rule::default();
        for token in tokens.iter().filter_map(|t| Token::parse(t.as_ref())) {
            match token {
                Token::Everyone => rule.everyone = true,
                Token::User(u) => _ = rule.users.insert(u.to_string()),
                Token::DeniedUser(u) => _ = rule.denied_users.insert(u.to_string()),
                Token::Group(g) => _ = rule.groups.insert(g.to_string()),
                Token::DeniedGroup(g) => _ = rule.denied_groups.insert(g.to_string()),
            }
        }
        rule
    }
}

/// One reader token, read (the grammar of the module's table, in one place).
pub(crate) enum Token<'a> {
    Everyone,
    User(&'a str),
    DeniedUser(&'a str),
    Group(&'a str),
    DeniedGroup(&'a str),
}

impl<'a> Token<'a> {
    /// `None` for anything else, a prefix without a name and a name with white space included.
    pub(crate) fn parse(token: &'a str) -> Option<Token<'a>> {
        if token == EVERYONE {
            return Some(Token::Everyone);
        }
        let (kind, name) = token.split_once(':')?;
        if name.is_empty() || name.contains(char::is_whitespace) {
            return None;
        }
        Some(match kind {
            "user" => Token::User(name),
            "!user" => Token::DeniedUser(name),
            "group" => Token::Group(name),
            "!group" => Token::DeniedGroup(name),
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(tokens: &[&str]) -> Rule {
        Rule::from_tokens(tokens)
    }

    fn groups(g: &[&str]) -> Vec<String> {
        g.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn the_first_matching_class_decides_as_in_posix() {
        // rw----r-- owned by bob:staff: everyone but bob and staff may read.
        let r = rule(&["!user:bob", "!group:staff", "everyone"]);
        assert!(!r.allows("bob", &groups(&["bob"])));
        assert!(!r.allows("carol", &groups(&["staff"])));
        assert!(r.allows("alice", &groups(&["alice"])));
        // A granting group wins over a denying one.
        let r = rule(&["!group:staff", "group:finance"]);
        assert!(r.allows("carol", &groups(&["staff", "finance"])));
        assert!(!r.allows("carol", &groups(&["staff"])));
        // A user entry wins over the groups.
        let r = rule(&["user:dave", "!group:staff"]);
        assert!(r.allows("dave", &groups(&["staff"])));
    }

    #[test]
    fn tokens_round_trip_sorted() {
        let tokens = vec!["!group:staff".to_string(), "!user:bob".into(), "everyone".into(), "group:finance".into(), "user:alice".into()];
        assert_eq!(Rule::from_tokens(&tokens).tokens(), tokens);
    }

    #[test]
    fn everyone_without_denials_is_one_token() {
        assert_eq!(rule(&["user:bob", "group:staff", "everyone"]).simplified().tokens(), vec!["everyone"]);
        assert_eq!(rule(&["user:bob", "!user:eve", "everyone"]).simplified().tokens(), vec!["!user:eve", "everyone", "user:bob"]);
    }

    #[test]
    fn a_closed_folder_keeps_out_those_the_file_would_let_in() {
        // A 644 file in bob's 750 home (group bob): only bob and the bob group.
        let file = rule(&["everyone"]);
        let home = rule(&["group:bob", "user:bob"]);
        let mut no_groups = |_: &str| Vec::new();
        let both = file.and(&home, &mut no_groups);
        assert_eq!(both.tokens(), vec!["group:bob", "user:bob"]);
        assert!(!both.allows("alice", &groups(&["alice"])));
        assert!(both.allows("ann", &groups(&["bob"])));
    }

    #[test]
    fn a_user_granted_by_one_rule_is_kept_when_the_other_lets_them_through_by_a_group() {
        let file = rule(&["user:alice"]);
        let folder = rule(&["group:finance"]);
        let mut groups_of = |u: &str| if u == "alice" { groups(&["finance"]) } else { Vec::new() };
        assert_eq!(file.and(&folder, &mut groups_of).tokens(), vec!["user:alice"]);
        let mut no_groups = |_: &str| Vec::new();
        assert!(file.and(&folder, &mut no_groups).tokens().is_empty(), "not a member: nobody");
    }

    #[test]
    fn denials_survive_an_intersection() {
        let file = rule(&["!user:bob", "everyone"]);
        let folder = rule(&["everyone"]);
        let mut no_groups = |_: &str| Vec::new();
        let both = file.and(&folder, &mut no_groups);
        assert!(!both.allows("bob", &[]));
        assert!(both.allows("alice", &[]));
    }

    /// The intersection never lets in someone one of the two rules keeps out, over every
    /// combination of a few users, groups and tokens.
    #[test]
    fn an_intersection_never_grants_more_than_both_rules() {
        let tokens = ["user:a", "!user:a", "user:b", "!user:b", "group:g", "!group:g", "group:h", "!group:h", "everyone"];
        let people: [(&str, &[&str]); 4] = [("a", &["g"]), ("b", &["h"]), ("c", &["g", "h"]), ("d", &[])];
        let mut groups_of = |u: &str| people.iter().find(|(n, _)| *n == u).map(|(_, g)| groups(g)).unwrap_or_default();
        // Rules of up to two tokens each, from the table above.
        let mut rules = vec![Rule::default()];
        for (i, a) in tokens.iter().enumerate() {
            rules.push(rule(&[a]));
            for b in &tokens[i + 1..] {
                rules.push(rule(&[a, b]));
            }
        }
        for r1 in &rules {
            for r2 in &rules {
                let both = r1.and(r2, &mut groups_of);
                for (user, g) in &people {
                    let g = groups(g);
                    if both.allows(user, &g) {
                        assert!(r1.allows(user, &g) && r2.allows(user, &g), "{:?} and {:?} let {user} in", r1.tokens(), r2.tokens());
                    }
                }
            }
        }
    }
}
