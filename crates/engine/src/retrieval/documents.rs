//! Stage 2b, documents before passages: the documents a question names, searched first.
//!
//! Look-alike documents (five companies' quarterly reports, several years of one policy) hold
//! look-alike passages: "Apple's net sales in Q3 2022" matches the net sales table of every
//! filing about equally. But the question names its document, and each document's identity
//! (its name, title, headings, and the names and periods of its first page, made when it is
//! indexed: `pipeline/identity.rs`, stored in the store's `identities` table) says which.
//!
//! How documents are named:
//! 1. The question's distinctive terms ([`crate::terms`]: names, codes, years, quarters). A
//!    question without any ("What is the leave policy?") names no document.
//! 2. Each term is looked up in the identities' BM25 index and weighs its inverse document
//!    frequency (BM25's idf): a company's name held by 4 filings of 20 weighs more than a
//!    quarter held by 10, and a year every filing holds next to nothing. A term held by more
//!    than [`TERM_DOCUMENTS_MAX`] documents is dropped.
//! 3. A document scores the weights of the terms its identity holds, in full for a term in its
//!    own naming (file name, title, headings), by [`BEGINNING_WEIGHT`] for one found only on its
//!    first page: "Handbook 2024" is the 2024 handbook even if the 2023 one announces 2024 on
//!    its cover, and a filing's cover lists a dozen years of notes due. The documents named are
//!    the best, down to the first clear drop in score (the next one below [`CLEAR_DROP`] of the
//!    last one kept): "Apple" names every Apple filing alike, "Apple Q3 2022" the one that holds
//!    all three terms when no other does. No clear drop within [`NAMED_MAX`] documents (or half
//!    of them) and the question names none: it names a kind of document, not a document.
//!
//! What becomes of them: the candidate searches run again within the named documents (with the
//! question stripped of the terms that named them, which within them point at the cover and the
//! certifications rather than at the passage asked for), and their
//! lists join the global ones in fusion. A named document's passages rank first (they are in
//! more lists), yet the global lists are still there, so a question whose answer lies elsewhere,
//! or spans documents, still finds it.
//!
//! Key decisions:
//! - Terms count once per identity, weighed by idf, rather than by BM25's score over the
//!   identities: an identity's length (a handbook's many headings, a filing's bare cover) says
//!   nothing about whether it is the document named, and BM25's length normalisation would
//!   favour the shortest.
//! - Hybrid search only: the vector and keyword modes stay the single lists they are named for
//!   (and the baselines the evaluations compare hybrid with).
//! - Added lists, not a filter: a wrongly named document costs some ranks, never the answer.
//! - Only for documents that hold more passages than a candidate list takes: what the stage is
//!   for is finding a passage inside long look-alike documents; short ones are found by their
//!   passages already (see [`candidates_within`]).

use std::collections::{HashMap, HashSet};

use super::query::Query;
use super::{RetrievalRequest, SearchMode, SearchableIndex, candidates};
use crate::error::Result;
use crate::pipeline::identity::naming_terms;
use crate::retrieval::Hit;
use crate::terms::{Reading, distinctive_terms, without_terms};

/// Most terms of a question looked up.
const QUESTION_TERMS_MAX: usize = 12;
/// A term held by more documents than this names a kind of document, not one.
const TERM_DOCUMENTS_MAX: usize = 200;
/// Most documents a question names.
const NAMED_MAX: usize = 16;
/// A drop in score is clear when the next document scores less than this share of the last one
/// named.
const CLEAR_DROP: f32 = 0.75;
/// Fewest words a question keeps without the terms that named its documents for it to be
/// searched so within them (below that, it is searched as asked).
const MIN_ASKED_WORDS: usize = 3;
/// What a term found only on a document's first page weighs, against one in its own naming.
const BEGINNING_WEIGHT: f32 = 0.5;

/// A document holding a term.
#[derive(Debug, Clone)]
struct Holder {
    path: String,
    /// The term is in the document's own naming (name, title, headings), not only on its first
    /// page.
    in_naming: bool,
}

/// The documents `query` names, best first: none when it names none or the mode is not hybrid.
pub(crate) async fn named_by(index: &SearchableIndex, query: &Query, request: &RetrievalRequest) -> Result<Named> {
    if request.mode != SearchMode::Hybrid {
        return Ok(Named::default());
    }
    let mut found = named(index, &query.text).await?;
    // A search for a person names only documents they may read: one they may not would take
    // its passages out of the global lists and so shape what they are shown.
    if let Some(person) = &request.filter.person {
        let readable = index.store.readable_by(&found.paths, person).await?;
        found.paths.retain(|p| readable.contains(p));
    }
    Ok(found)
}

/// The candidate lists of `query` within the `named` documents; from the `global` lists, the
/// named documents' passages that only the names found are taken out.
pub(crate) async fn candidates_within(
    index: &SearchableIndex,
    query: &Query,
    request: &RetrievalRequest,
    depth: usize,
    named: Named,
    global: &mut [Vec<Hit>],
) -> Result<Vec<Vec<Hit>>> {
    let Named { paths: named, terms } = named;
    if named.is_empty() {
        return Ok(Vec::new());
    }
    // Searching within says which passages of the named documents bear on the question only when
    // they hold more than a list takes. Short documents (abstracts, paragraphs, pages) would
    // come back whole, each passage in two more lists, and fusion would then rank the least
    // relevant of them above better passages elsewhere: naming, not relevance, would decide.
    // Measured: SciFact's hybrid nDCG@10 0.7074 without the stage, 0.6680 with it; XQuAD's
    // cross-lingual questions lost a third of their hits.
    if index.store.chunk_count_within(&named).await? <= depth {
        return Ok(Vec::new());
    }
    let within = RetrievalRequest { filter: request.filter.within(named.clone()), ..request.clone() };
    // Within the documents chosen, the terms that chose them say nothing about which passage:
    // left in, they pull the query towards the passages that repeat the company, the period
    // and the form (the cover, the signatures, the certifications) instead of the one asked for.
    let asked = without_terms(&query.text, &terms);
    let lists = if asked.split_whitespace().count() >= MIN_ASKED_WORDS && asked != query.text {
        let asked = Query::new(index, &asked, request.mode, None).await?;
        candidates::find(index, &asked, &within, depth).await?
    } else {
        candidates::find(index, query, &within, depth).await?
    };
    // A named document's passage stays in the global lists only if the question without the
    // names finds it too: what put the rest there is the names (a cover, "Exhibit 31").
    let found_within: HashSet<&str> = lists.iter().flatten().map(|h| h.id.as_str()).collect();
    for list in global.iter_mut() {
        list.retain(|h| !named.contains(&h.path) || found_within.contains(h.id.as_str()));
    }
    tracing::debug!(?named, ?terms, "documents named by the question");
    Ok(lists)
}

/// The documents a question names, and the terms of the question that named them.
#[derive(Debug, Default)]
pub(crate) struct Named {
    /// Their paths, best first.
    pub paths: Vec<String>,
    /// The question's terms that a named document holds.
    pub terms: Vec<String>,
}

/// The documents `question` names, best first.
pub(crate) async fn named(index: &SearchableIndex, question: &str) -> Result<Named> {
    let mut terms = distinctive_terms(question, Reading::Question);
    terms.truncate(QUESTION_TERMS_MAX);
    if terms.is_empty() {
        return Ok(Named::default());
    }
    let store = &index.store;
    let documents = store.searchable_identities().await?;
    if documents < 2 {
        return Ok(Named::default());
    }
    // One more than the most a useful term holds: a full list means "too many".
    let lookups = terms.iter().map(|term| store.documents_named_by(term, TERM_DOCUMENTS_MAX + 1));
    let found = futures::future::try_join_all(lookups).await?;
    let mut naming: HashMap<String, HashSet<String>> = HashMap::new();
    let held_by: Vec<Vec<Holder>> = terms
        .iter()
        .zip(found)
        .map(|(term, documents)| {
            documents
                .into_iter()
                .map(|(path, identity)| {
                    let in_naming = naming.entry(path.clone()).or_insert_with(|| naming_terms(&identity)).contains(term);
                    Holder { path, in_naming }
                })
                .collect()
        })
        .collect();
    tracing::debug!(question, ?terms, held_by = ?held_by.iter().map(Vec::len).collect::<Vec<_>>(), "question terms");
    let paths = choose(documents, &held_by);
    let terms = terms
        .into_iter()
        .zip(&held_by)
        .filter(|(_, holders)| holders.iter().any(|h| paths.contains(&h.path)))
        .map(|(term, _)| term)
        .collect();
    Ok(Named { paths, terms })
}

/// The documents named, from the documents holding each term (`held_by`, one list per term) in
/// an index of `documents` identities. See the module's docs.
fn choose(documents: usize, held_by: &[Vec<Holder>]) -> Vec<String> {
    let mut scores: HashMap<&str, f32> = HashMap::new();
    for holders in held_by {
        let df = holders.len();
        if df == 0 || df > TERM_DOCUMENTS_MAX {
            continue;
        }
        // BM25's idf; `documents` was counted just before the lookups, a sync may have added some.
        let idf = (1.0 + (documents.saturating_sub(df) as f32 + 0.5) / (df as f32 + 0.5)).ln();
        for holder in holders {
            let weight = if holder.in_naming { idf } else { idf * BEGINNING_WEIGHT };
            *scores.entry(holder.path.as_str()).or_default() += weight;
        }
    }
    let mut ranked: Vec<(&str, f32)> = scores.into_iter().collect();
    // Ties in path order, so the same question names the same documents in the same order.
    ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(b.0)));
    tracing::debug!(best = ?ranked.iter().take(12).collect::<Vec<_>>(), "documents by the question's terms");
    // Never the whole index, nor most of it: then there is nothing to prefer.
    let most = NAMED_MAX.min(documents / 2);
    for last in 0..ranked.len().min(most) {
        let next = ranked.get(last + 1).map_or(0.0, |(_, score)| *score);
        if next < ranked[last].1 * CLEAR_DROP {
            return ranked[..=last].iter().map(|(path, _)| path.to_string()).collect();
        }
    }
    Vec::new()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paths(names: &[&str]) -> Vec<String> {
        names.iter().map(|n| n.to_string()).collect()
    }

    /// Twenty filings: five companies, four quarters.
    fn filings() -> Vec<String> {
        let mut out = Vec::new();
        for company in ["aapl", "amzn", "intc", "msft", "nvda"] {
            for period in ["2022q3", "2023q1", "2023q2", "2023q3"] {
                out.push(format!("/f/{period}-{company}"));
            }
        }
        out
    }

    fn holding(part: &str) -> Vec<String> {
        filings().into_iter().filter(|f| f.contains(part)).collect()
    }

    /// Documents holding a term in their own naming (file name, title, headings).
    fn by_name(paths: Vec<String>) -> Vec<Holder> {
        paths.into_iter().map(|path| Holder { path, in_naming: true }).collect()
    }

    /// Documents holding a term only on their first page.
    fn on_first_page(paths: Vec<String>) -> Vec<Holder> {
        paths.into_iter().map(|path| Holder { path, in_naming: false }).collect()
    }

    #[test]
    fn a_company_names_its_filings_and_a_company_and_period_the_one_filing() {
        // The company is on the covers; the period in the file names ("2022 Q3 AAPL").
        let apple = || on_first_page(holding("aapl"));
        assert_eq!(choose(20, &[apple()]), holding("aapl"), "every Apple filing alike");
        let named = choose(20, &[apple(), by_name(holding("q3")), by_name(holding("2022"))]);
        assert_eq!(named, paths(&["/f/2022q3-aapl"]), "the one filing holding all three terms");
        let named = choose(20, &[apple(), by_name(holding("q1"))]);
        assert_eq!(named, paths(&["/f/2023q1-aapl"]));
    }

    #[test]
    fn a_year_in_the_name_outweighs_the_same_year_on_another_documents_first_page() {
        // Ten documents; "valid until 2024" on the cover of the 2023 handbook.
        let held = vec![
            Holder { path: "/hr/handbook-2024".into(), in_naming: true },
            Holder { path: "/hr/handbook-2023".into(), in_naming: false },
        ];
        assert_eq!(choose(10, &[held]), paths(&["/hr/handbook-2024"]));
        // Held alike, the two are named together.
        let mut both = choose(10, &[by_name(vec!["/hr/handbook-2024".into(), "/hr/handbook-2023".into()])]);
        both.sort();
        assert_eq!(both, paths(&["/hr/handbook-2023", "/hr/handbook-2024"]));
    }

    #[test]
    fn a_term_most_documents_hold_names_none_and_no_clear_drop_names_none() {
        assert!(choose(20, &[by_name(holding("/f/"))]).is_empty(), "every filing holds it");
        assert!(choose(20, &[by_name(holding("2023"))]).is_empty(), "15 of 20 hold it");
        assert!(choose(20, &[]).is_empty());
        // 20 documents of 100 alike: more than may be named, a kind of document.
        let twenty: Vec<String> = (0..20).map(|i| format!("/d/{i:03}")).collect();
        assert!(choose(100, &[by_name(twenty.clone())]).is_empty());
        assert_eq!(
            choose(100, &[by_name(twenty.clone()), by_name(twenty[..3].to_vec())]),
            twenty[..3].to_vec(),
            "unless a second term picks some"
        );
        // One document of two: named; one of one: the whole index, nothing to prefer.
        assert_eq!(choose(2, &[by_name(paths(&["/a"]))]), paths(&["/a"]));
        assert!(choose(1, &[by_name(paths(&["/a"]))]).is_empty());
    }

    /// Five look-alike quarterly reports through the real pipeline (parse, chunk, fake embedder,
    /// identity) into a real LanceDB: the company and the quarter appear on the cover only, and
    /// every report has the same "Total net sales" passage, the others worded closer to the
    /// question than the one it names.
    mod look_alikes {
        use std::path::{Path, PathBuf};
        use std::sync::Arc;
        use std::sync::atomic::AtomicBool;

        use brain_store::{DocumentRecord, IndexLock, SearchFilter, Store, WriteBatch};

        use super::*;
        use crate::inference::fakes::{DIMENSION, WordVectors};
        use crate::pipeline::tests::fake_pipeline;
        use crate::pipeline::{Pipeline, Work, batches};
        use crate::retrieval::{best_chunks, fuse, query};

        const BOILERPLATE: &str = "This report contains forward looking statements that involve risks and uncertainties. \
            Actual results could differ materially from those projected. Readers should not rely on such statements, \
            which speak only as of their date. The registrant undertakes no obligation to revise them, except as required \
            by applicable law, regulation or listing rules.";

        /// A report long enough for its first page to be a cover (see `pipeline/identity.rs`).
        /// A long report (more chunks than a candidate list takes), its sales passage at the end.
        fn report(company: &str, quarter: &str, year: u32, sales: &str) -> String {
            let boilerplate = [BOILERPLATE; 60].join("\n\n");
            format!("{company} Inc.\nQuarterly report for the {quarter} quarter {year}, Form 10-Q.\n\n{boilerplate}\n\n{sales}\n")
        }

        struct Index {
            _dir: tempfile::TempDir,
            docs: PathBuf,
            data: PathBuf,
            pipeline: Pipeline,
            store: Store,
        }

        impl Index {
            async fn new() -> Index {
                let dir = tempfile::tempdir().unwrap();
                let (docs, data) = (dir.path().join("docs"), dir.path().join("data"));
                std::fs::create_dir_all(&docs).unwrap();
                let pipeline = fake_pipeline(&data, Arc::new(WordVectors::default()));
                let store = Store::open(&data.join("lancedb"), DIMENSION).await.unwrap();
                Index { _dir: dir, docs, data, pipeline, store }
            }

            fn path(&self, name: &str) -> String {
                self.docs.join(name).display().to_string()
            }

            /// Write the files, index them (as a sync does: pipeline, then maintenance) and
            /// remove `removed`.
            async fn sync(&self, files: &[(&str, String)], removed: &[&str]) {
                let lock = IndexLock::acquire(&self.data.join("index.lock"), |_| {}, || false).await.unwrap();
                let (writer, recovery) = self.store.writer(lock).await.unwrap();
                let previous = |path: &Path| recovery.documents.iter().find(|d| d.path == path.display().to_string()).cloned();
                let work: Vec<Work> = files
                    .iter()
                    .map(|(name, text)| {
                        let path = self.docs.join(name);
                        std::fs::write(&path, text).unwrap();
                        let size = text.len() as u64;
                        Work::File { previous: previous(&path), path, folder: self.docs.clone(), size, mtime_ns: 1, readers: None }
                    })
                    .collect();
                let writer = Arc::new(writer);
                self.pipeline.run(&writer, batches(work), &AtomicBool::new(false), |_| {}, |_, _| {}).await.unwrap();
                let removed: Vec<String> = removed.iter().map(|n| self.path(n)).collect();
                writer.write(WriteBatch { documents: Vec::new(), removed }).await.unwrap();
                writer.maintain().await.unwrap();
            }

            fn searchable(&self) -> SearchableIndex {
                SearchableIndex { store: self.store.clone(), embedder: Some(Arc::new(WordVectors::default())), adapter: None }
            }

            /// The hits of the global lists alone, as retrieval was without this stage.
            async fn without_documents(&self, request: &RetrievalRequest) -> Vec<Hit> {
                let index = self.searchable();
                let query = query::Query::new(&index, &request.text, request.mode, None).await.unwrap();
                let lists = candidates::find(&index, &query, request, fuse::depth(request.mode, request.k)).await.unwrap();
                fuse::fuse(request.mode, lists, request.k)
            }
        }

        fn request(text: &str) -> RetrievalRequest {
            RetrievalRequest { text: text.into(), mode: SearchMode::Hybrid, k: 10, filter: SearchFilter::default(), vector: None }
        }

        /// The terms line of an identity.
        fn terms(identity: &str) -> Vec<&str> {
            identity.lines().last().unwrap_or_default().split(' ').collect()
        }

        /// The file of the first hit that holds the sales passage.
        fn first_sales_file(hits: &[Hit]) -> String {
            hits.iter().find(|h| h.text.contains("Total net sales")).map(|h| h.path.clone()).expect("a sales passage")
        }

        #[tokio::test]
        async fn a_question_naming_a_company_and_a_quarter_gets_that_reports_passage_first() {
            let index = Index::new().await;
            let closer = "Total net sales in the quarter were";
            let files = [
                ("report-1.txt", report("Acme", "first", 2023, &format!("{closer} 380 million."))),
                ("report-2.txt", report("Globex", "third", 2023, &format!("{closer} 520 million."))),
                ("report-3.txt", report("Initech", "third", 2023, &format!("{closer} 610 million."))),
                ("report-4.txt", report("Acme", "third", 2023, "Total net sales: 410 million.")),
                ("report-5.txt", report("Umbrella", "second", 2023, &format!("{closer} 150 million."))),
            ];
            index.sync(&files, &[]).await;
            let acme_q3 = index.path("report-4.txt");
            let identity = index.store.identity(&acme_q3).await.unwrap().expect("an identity");
            assert!(
                identity.starts_with("report-4\n") && terms(&identity).contains(&"acme") && terms(&identity).contains(&"q3"),
                "{identity}"
            );

            let question = request("What were Acme's total net sales in the third quarter of 2023?");
            assert_eq!(named(&index.searchable(), &question.text).await.unwrap().paths, vec![acme_q3.clone()]);
            let before = index.without_documents(&question).await;
            assert_ne!(first_sales_file(&before), acme_q3, "without the stage, a look-alike's passage comes first");
            let hits = best_chunks(&index.searchable(), &question).await.unwrap();
            assert_eq!(first_sales_file(&hits), acme_q3, "{hits:#?}");
            assert!(hits[0].text.contains("Total net sales"), "the passage asked for comes first, not the cover: {hits:#?}");
            assert!(hits.iter().any(|h| h.path != acme_q3), "the global results are still there");

            // A question that names nothing is searched as before.
            let generic = request("What were total net sales in the quarter?");
            assert!(named(&index.searchable(), &generic.text).await.unwrap().paths.is_empty());
            let ids = |hits: Vec<Hit>| hits.into_iter().map(|h| h.id).collect::<Vec<_>>();
            assert_eq!(ids(best_chunks(&index.searchable(), &generic).await.unwrap()), ids(index.without_documents(&generic).await));
            // So does one in another mode.
            let vector = RetrievalRequest { mode: SearchMode::Vector, ..question.clone() };
            assert_eq!(ids(best_chunks(&index.searchable(), &vector).await.unwrap()), ids(index.without_documents(&vector).await));

            // The report changes: its identity is made anew. Removed: its identity goes.
            index.sync(&[("report-4.txt", report("Acme", "fourth", 2023, "Total net sales: 455 million."))], &[]).await;
            let identity = index.store.identity(&acme_q3).await.unwrap().expect("an identity");
            assert!(terms(&identity).contains(&"q4") && !terms(&identity).contains(&"q3"), "{identity}");
            assert!(!named(&index.searchable(), &question.text).await.unwrap().paths.contains(&acme_q3), "it is no longer about Q3");
            index.sync(&[], &["report-4.txt"]).await;
            assert_eq!(index.store.identity(&acme_q3).await.unwrap(), None);
            let documents: Vec<DocumentRecord> = index.store.documents().await.unwrap();
            assert_eq!(documents.len(), 4);
            assert!(!named(&index.searchable(), "Acme's sales in the fourth quarter").await.unwrap().paths.contains(&acme_q3));
        }

        #[tokio::test]
        async fn short_documents_named_by_a_question_are_found_by_their_passages_alone() {
            let index = Index::new().await;
            let contacts = |company: &str| format!("{company} Inc.\nOffice addresses and telephone numbers of the staff.\n");
            // Short documents named by their file names (a short document's identity is its
            // naming only), and the answer in a document none of the question's names names.
            let files = [
                ("acme-q1-2023.txt", contacts("Acme")),
                ("globex-q3-2023.txt", contacts("Globex")),
                ("acme-q3-2023.txt", contacts("Acme")),
                ("initech-q2-2023.txt", contacts("Initech")),
                ("umbrella-q1-2023.txt", contacts("Umbrella")),
                ("hooli-q2-2023.txt", contacts("Hooli")),
                ("summary.txt", "Total net sales in the third quarter were 120 million, up from the quarter before.\n".to_string()),
            ];
            index.sync(&files, &[]).await;
            let question = request("What were Acme's total net sales in the third quarter of 2023?");
            assert_eq!(named(&index.searchable(), &question.text).await.unwrap().paths, vec![index.path("acme-q3-2023.txt")]);
            // Searched within, the named note would come back whole and rank first by its name
            // alone; the global lists rank the passages by what they say.
            let hits = best_chunks(&index.searchable(), &question).await.unwrap();
            assert_eq!(hits[0].path, index.path("summary.txt"), "{hits:#?}");
            let ids = |hits: Vec<Hit>| hits.into_iter().map(|h| h.id).collect::<Vec<_>>();
            assert_eq!(ids(hits), ids(index.without_documents(&question).await));
        }
    }

    #[test]
    fn two_companies_name_the_filings_of_both() {
        let mut named = choose(20, &[on_first_page(holding("aapl")), on_first_page(holding("msft")), by_name(holding("2023q3"))]);
        named.sort();
        assert_eq!(named, paths(&["/f/2023q3-aapl", "/f/2023q3-msft"]));
    }
}
