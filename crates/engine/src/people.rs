//! Who a search or an answer is made for. The index's owner (who registered the folders and
//! runs the indexer) sees everything indexed; any other person sees only the files their
//! account may read, by the readers stored with every chunk (see `brain-access`).

use std::os::unix::fs::MetadataExt;

use brain_access::Person;

use crate::Engine;
use crate::error::{EngineError, Result};

impl Engine {
    /// The person `name`, to search and ask as them (`--as NAME`): what they would see, for
    /// root or the index's owner to check. Anyone else is refused: seeing as another person is
    /// seeing their files.
    pub fn person_named(&self, name: &str) -> Result<Person> {
        let me = brain_access::effective_uid();
        let owner = std::fs::metadata(&self.options.data_dir).map(|m| m.uid()).map_err(|e| EngineError::io(&self.options.data_dir, e))?;
        if !may_see_as_others(me, owner) {
            return Err(EngineError::Forbidden(format!(
                "only root or the index's owner ({}) may search as another person",
                brain_access::user_name(owner)
            )));
        }
        Ok(Person::named(name)?)
    }
}

/// Root and the index's owner may; nobody else.
fn may_see_as_others(me: u32, index_owner: u32) -> bool {
    me == 0 || me == index_owner
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_root_and_the_index_owner_may_see_as_others() {
        assert!(may_see_as_others(0, 1000));
        assert!(may_see_as_others(1000, 1000));
        assert!(!may_see_as_others(1001, 1000));
    }
}
