//! Which LoRA adapter writes an answer: a department's house style, chosen by where the answer
//! comes from.
//!
//! Key design decision: the choice is made after retrieval and before generation, from the
//! folder of the answer's best source: the best source is what the answer mostly says, so its
//! department's style is the one a reader expects. (A question asked within a folder finds its
//! sources there, so it needs no rule of its own.) Every adapter is read with the model once;
//! switching between them costs no reload (`brain_llm::Adapter`).

use std::path::{Path, PathBuf};

use brain_llm::{Adapter, LoraConfig};

use crate::retrieval::Hit;
use crate::settings::{FolderLora, Settings};

/// The adapter an answer is written with.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct HouseStyle {
    pub adapter: Adapter,
    /// The adapter file, when there is one (the folder's or the model's own).
    pub lora: Option<PathBuf>,
}

/// The adapter for an answer from `sources`, best first: the adapter of the deepest folder with
/// one that holds the best source; else the model's own adapter (`llm_lora`), if any.
pub(crate) fn choose(settings: &Settings, sources: &[Hit]) -> HouseStyle {
    let best = sources.first().map(|hit| Path::new(&hit.path));
    let chosen: Option<&FolderLora> = best.and_then(|best| {
        settings.folder_loras.iter().filter(|f| best.starts_with(&f.folder)).max_by_key(|f| f.folder.components().count())
    });
    match chosen {
        Some(f) => HouseStyle { adapter: Adapter::Lora(LoraConfig { path: f.lora.clone(), scale: f.scale }), lora: Some(f.lora.clone()) },
        None => HouseStyle { adapter: Adapter::AsLoaded, lora: settings.llm_lora.clone() },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::retrieval::test_hit;

    fn settings() -> Settings {
        let style = |folder: &str, lora: &str| FolderLora { folder: folder.into(), lora: lora.into(), scale: 0.5 };
        Settings {
            llm_lora: Some("/adapters/company.gguf".into()),
            folder_loras: vec![style("/docs/legal", "/adapters/legal.gguf"), style("/docs/legal/contracts", "/adapters/contracts.gguf")],
            ..Settings::default()
        }
    }

    fn lora(style: &HouseStyle) -> Option<&str> {
        style.lora.as_deref().and_then(Path::to_str)
    }

    #[test]
    fn the_best_sources_folder_decides_and_the_deepest_folder_wins() {
        let s = settings();
        let (legal, contracts, sales) =
            (test_hit("/docs/legal/nda.md", "a"), test_hit("/docs/legal/contracts/acme.md", "b"), test_hit("/docs/sales/q3.md", "c"));
        let chosen = choose(&s, &[legal.clone(), sales.clone()]);
        assert_eq!(chosen.adapter, Adapter::Lora(LoraConfig { path: "/adapters/legal.gguf".into(), scale: 0.5 }));
        assert_eq!(lora(&choose(&s, &[contracts, legal.clone()])), Some("/adapters/contracts.gguf"));
        let other = choose(&s, &[sales.clone(), legal]);
        assert_eq!(other.adapter, Adapter::AsLoaded, "a source elsewhere: the model's own adapter");
        assert_eq!(lora(&other), Some("/adapters/company.gguf"));
        let plain = choose(&Settings { llm_lora: None, ..s.clone() }, &[sales]);
        assert_eq!((plain.adapter, plain.lora), (Adapter::AsLoaded, None));
        // A folder name that only starts like an adapter's folder is another folder.
        assert_eq!(choose(&s, &[test_hit("/docs/legal-archive/old.md", "d")]).adapter, Adapter::AsLoaded);
    }
}
