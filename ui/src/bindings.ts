// Generated from the Rust types by src-tauri/src/bindings.rs: do not edit.

export type ErrorCode = "model_missing" | "runtime_missing" | "model_corrupt" | "embedder" | "llm" | "store" | "folder_not_found" | "folder_not_registered" | "no_folders" | "io" | "damaged_file" | "settings" | "embedder_changed" | "fetch" | "dataset" | "invalid_argument" | "not_openable" | "open_failed" | "not_viewable" | "conversation_not_found" | "forbidden" | "unknown_user" | "shared_index" | "cancelled" | "internal";

export type ErrorPayload = { code: ErrorCode, message: string, };

export type Location = { page?: number, slide?: number, sheet?: string, 
/**
 * First and last row, 1-based, inclusive.
 */
rows?: [number, number], 
/**
 * Heading path, outermost first, joined with " > ".
 */
heading?: string, 
/**
 * First and last line, 1-based, inclusive.
 */
lines?: [number, number], 
/**
 * A chapter or section name (EPUB).
 */
section?: string, 
/**
 * The attachment's file name, for parts of an e-mail.
 */
attachment?: string, 
/**
 * The text was read from an image by OCR, with this mean confidence (0–100).
 */
ocr_confidence?: number, };

export type SearchMode = "hybrid" | "vector" | "keyword";

export type Settings = { 
/**
 * A GGUF file to answer with, instead of the default model in the models dir.
 */
llm: string | null, 
/**
 * A LoRA adapter (GGUF) applied to the answer model: a house style or a domain's language
 * learned elsewhere (see the README's recipe).
 */
llm_lora: string | null, 
/**
 * How strongly the LoRA adapter is applied (1: as trained, 0: not at all).
 */
llm_lora_scale: number, 
/**
 * The embedder, instead of the default: an ONNX sentence-embedding model directory, or an
 * E5S1 file (multilingual-e5-small). A change builds the index again at the next sync,
 * beside the old one, which answers until the new one is complete.
 */
embedder: string | null, 
/**
 * While no embedder is chosen: when a quarter or more of the documents' passages are in
 * other languages than English, which the default embedder cannot read, the multilingual
 * embedder (if fetched) is chosen for them: before a first index is embedded, as a few of
 * its files tell, or after a sync, and the index then built again with it. The same when
 * a quarter or more of the last questions asked (ten at least) are not in English: chosen
 * after the answer, and the index built again by the next sync.
 */
embedder_by_language: boolean, 
/**
 * The ONNX Runtime library, instead of the one in the models dir.
 */
onnxruntime: string | null, 
/**
 * Files larger than this (bytes) are recorded as too large and not read.
 */
max_file_size: number, 
/**
 * Glob patterns (gitignore syntax) excluded in every folder, on top of .gitignore/.ignore.
 */
exclude: Array<string>, 
/**
 * Most tokens per chunk (embedding tokenizer).
 */
chunk_tokens: number, 
/**
 * Tokens shared by neighbouring chunks.
 */
chunk_overlap: number, 
/**
 * Default search mode.
 */
search_mode: SearchMode, 
/**
 * Sources retrieved for an answer.
 */
sources: number, 
/**
 * Chunks whose cosine similarity to the question is below this are not used as sources; if
 * none is left, the answer is "not found" instead of a guess.
 */
min_similarity: number, 
/**
 * LLM context window (tokens); 0 = the model's own, capped at 8192.
 */
context_size: number, 
/**
 * Most tokens in an answer.
 */
max_answer_tokens: number, 
/**
 * LLM layers on the GPU (needs a `cuda` build).
 */
gpu_layers: number, 
/**
 * CPU threads for embedding and generation; 0 = all cores.
 */
threads: number, 
/**
 * Seconds one file may take to parse before it is recorded as failed.
 */
parse_timeout_secs: number, 
/**
 * Memory (MB) a parser process may use for one file before it is stopped and the file
 * recorded as failed.
 */
parse_memory_mb: number, 
/**
 * Show the model's answer even when the sources support none of it (marked unsupported);
 * by default the closest passages are quoted instead.
 */
show_unsupported_answers: boolean, 
/**
 * Answer a question over the rows of a sheet (a count, a sum, the largest) by a query the
 * answer model writes and the engine runs over the whole sheet; off: from passages only.
 */
sheet_queries: boolean, 
/**
 * The same for a table of a PDF's text layer whose structure the parser is sure of ("which
 * segment had the highest operating income?"). Off by default: on real filings the default
 * model picks the wrong table or writes a wrong query more often than it helps.
 */
pdf_table_queries: boolean, 
/**
 * Languages scanned pages and images are read in (Tesseract's names: "eng", "deu");
 * empty: English and the system's language, when their models are installed.
 */
ocr_languages: Array<string>, 
/**
 * Learn the company's language while the assistant is unused this long (seconds): the
 * answer model writes questions about passages and the query adapter is trained again (see
 * `brain tune`), in the app and in `brain watch`. 0: only when asked.
 */
learn_after_idle_secs: number, 
/**
 * The most questions learning while idle writes in a day (about 4 s each on 2 cores).
 */
learn_questions_per_day: number, 
/**
 * Learn while idle on battery power too; by default a laptop learns only while plugged in.
 */
learn_on_battery: boolean, 
/**
 * LoRA adapters for answers drawn from a folder: a department's house style. Last, because
 * TOML writes tables after plain values.
 */
folder_loras: Array<FolderLora>, };

export type FolderLora = { 
/**
 * A registered folder, or a folder inside one (absolute, canonical).
 */
folder: string, 
/**
 * The adapter (GGUF), absolute.
 */
lora: string, 
/**
 * How strongly it is applied (1: as trained, 0: not at all).
 */
scale: number, };

export type FileCounts = { indexed: number, failed: number, 
/**
 * Files on disk not yet (re)indexed, and indexed files no longer on disk: the work the
 * next sync will do.
 */
pending: number, };

export type FailedFile = { path: string, error: string, };

export type FolderStatus = { path: string, 
/**
 * False when the folder is registered but not on disk (unmounted, deleted).
 */
present: boolean, 
/**
 * Paused by the user: not synced or watched; its indexed files are kept.
 */
paused: boolean, files: FileCounts, 
/**
 * The files of this folder that could not be indexed, with the reason, sorted by path.
 */
failures: Array<FailedFile>, };

export type IntegrityStatus = { 
/**
 * False when another process was writing the index: a write in progress is not a fault.
 */
checked: boolean, ok: boolean, 
/**
 * What is broken, in words (empty when ok). The next sync, or `check --repair`, repairs it.
 */
violations: Array<string>, 
/**
 * The process writing the index, when it was not checked.
 */
writer?: string, };

export type OcrStatus = { 
/**
 * Tesseract can be loaded.
 */
available: boolean, 
/**
 * Why not, with the package to install.
 */
problem?: string, 
/**
 * Languages whose models are installed.
 */
installed: Array<string>, 
/**
 * Languages scanned files are read in.
 */
languages: Array<string>, };

export type AdapterStatus = { in_use: boolean, 
/**
 * Why it is, or is not, in use.
 */
reason: string, 
/**
 * The embedder it was trained for.
 */
embedder: string, trained_pairs: number, held_out_pairs: number, 
/**
 * MRR@10 of the held-out pairs' files by vector search, without and with the adapter.
 */
plain_mrr: number, adapted_mrr: number, 
/**
 * How far the map is from the identity (Frobenius norm of its residual).
 */
change: number, 
/**
 * When it was trained, milliseconds since the Unix epoch.
 */
trained_at_ms: number, };

export type LanguageShare = { 
/**
 * ISO 639-3 ("deu").
 */
code: string, 
/**
 * Its name in English ("German").
 */
name: string, 
/**
 * Of the passages (or questions) whose language was told.
 */
share: number, };

export type LanguageProfile = { 
/**
 * Largest share first.
 */
languages: Array<LanguageShare>, 
/**
 * Passages (in a profile of the questions asked: questions) whose language was told, of
 * those read; a row of figures is not.
 */
told: number, };

export type EmbedderFit = "reads" | "chosen_for_them" | "not_fetched" | "kept_by_user";

export type LanguagesStatus = { 
/**
 * The documents'.
 */
profile: LanguageProfile, 
/**
 * The last questions asked (up to 32 whose language could be told).
 */
questions: LanguageProfile, embedder: EmbedderFit, };

export type Status = { folders: Array<FolderStatus>, files: FileCounts, chunks: number, failures: Array<FailedFile>, data_dir: string, 
/**
 * The team's shared index this data dir reads (`s3://bucket/prefix`), if any.
 */
shared_index: string | null, integrity: IntegrityStatus, 
/**
 * The embedding model in use is not the one the index was built with: searching by meaning
 * and indexing need the index rebuilt.
 */
rebuild_needed: boolean, 
/**
 * Notes on indexed files worth a look: pages read by OCR with low confidence, encodings
 * guessed, pages that could not be read.
 */
notes: Array<FailedFile>, 
/**
 * Whether scanned pages and images can be read, and in which languages.
 */
ocr: OcrStatus, 
/**
 * The tuned query adapter (`brain tune`): whether searches use it, and by how much it won
 * on its held-out pairs; `null` when none was trained.
 */
adapter: AdapterStatus | null, 
/**
 * The documents' languages (a sample of passages, told after each sync that changed the
 * index) and whether the embedder in use reads them; `null` before the first sync.
 */
languages: LanguagesStatus | null, };

export type StageTimes = { parse_wait_ms: number, embed_ms: number, write_wait_ms: number, maintain_ms: number, };

export type SyncSummary = { 
/**
 * Files in the registered folders.
 */
files: number, 
/**
 * Files (re)indexed in this sync.
 */
indexed: number, 
/**
 * Files that failed in this sync.
 */
failed: number, 
/**
 * Files removed from the index in this sync.
 */
removed: number, 
/**
 * Files already up to date.
 */
unchanged: number, 
/**
 * Chunks written in this sync.
 */
chunks: number, 
/**
 * Of those, chunks that had to be embedded (the others reused a stored vector of the same
 * text: unchanged parts of an edited file, a renamed file, work saved before a crash).
 */
embedded: number, 
/**
 * Pages read by OCR in this sync (cached pages not counted), and the time OCR took.
 */
ocr_pages: number, ocr_ms: number, 
/**
 * Files whose content was unchanged but whose readers changed (`chmod`, `chown`,
 * `setfacl`): rewritten without parsing or embedding.
 */
readers_changed: number, 
/**
 * Where the indexing time went, as the embedder (the stage that bounds it) saw it.
 */
stages: StageTimes, elapsed_ms: number, };

export type IndexEvent = { "event": "sync_started", folders: number, } | { "event": "waiting_for_index", holder: string | null, } | { "event": "index_repaired", violations: number, duplicate_documents_removed: number, duplicate_chunks_removed: number, documents_to_redo: number, } | { "event": "folder_missing", path: string, } | { "event": "scanned", files: number, queued: number, removed: number, } | { "event": "file_queued", path: string, } | { "event": "file_indexing", path: string, } | { "event": "ocr_page", path: string, done: number, pages: number, } | { "event": "file_indexed", path: string, chunks: number, } | { "event": "file_failed", path: string, error: string, } | { "event": "file_removed", path: string, } | { "event": "embedder_chosen", embedder: string, languages: Array<LanguageShare>, built_again: boolean, for_questions: boolean, } | { "event": "progress", done: number, total: number, } | { "event": "idle" } & SyncSummary | { "event": "sync_failed", code: ErrorCode, error: string, };

export type Availability = "ok" | "missing" | "corrupt";

export type ModelState = { path: string, 
/**
 * True when it is the pinned default in the models dir, false when the user chose it.
 */
default: boolean, state: Availability, };

export type LlmChoice = { name: string, title: string, license: string, path: string, size: number, state: Availability, 
/**
 * The one answering now.
 */
in_use: boolean, 
/**
 * The one used unless the user picks another.
 */
default: boolean, };

export type ModelReport = { llm: ModelState, embedder: ModelState, onnxruntime: ModelState, 
/**
 * Everything is "ok": indexing and answering can run.
 */
ready: boolean, models_dir: string, 
/**
 * The answer models to pick from by name.
 */
llms: Array<LlmChoice>, };

export type FetchStep = { "step": "already_present", package: string, } | { "step": "downloading", package: string, } | { "step": "installed", package: string, files: Array<string>, };

export type ConversationSummary = { id: string, title: string, created_ms: number, updated_ms: number, turns: number, };

export type AppInfo = { version: string, data_dir: string, models_dir: string, data_dir_from_env: boolean, models_dir_from_env: boolean, };

export type PassageView = { path: string, file_name: string, location: Location, 
/**
 * The location in words ("page 3", "Leave > Sick, lines 10–24").
 */
place: string, 
/**
 * The passage as sanitised HTML.
 */
html: string, 
/**
 * The passage as indexed (plain text: the viewer finds it in its document by its words).
 */
text: string, };

export type CitationView = { n: number, cited: boolean, similarity: number, 
/**
 * The source sentences the answer's supported claims citing this source rest on (the
 * check's evidence), for the viewer to mark; empty until the answer is checked.
 */
evidence: Array<string>, path: string, file_name: string, location: Location, 
/**
 * The location in words ("page 3", "Leave > Sick, lines 10–24").
 */
place: string, 
/**
 * The passage as sanitised HTML.
 */
html: string, 
/**
 * The passage as indexed (plain text: the viewer finds it in its document by its words).
 */
text: string, };

export type AnswerStop = "end" | "max_tokens" | "context_full" | "cancelled" | "not_found" | "refused" | "unsupported";

export type AnswerView = { text: string, 
/**
 * The answer as sanitised HTML, its citation markers (as the engine parses them) as chips
 * and its unsupported claims in `<span class="unsupported">`.
 */
html: string, citations: Array<CitationView>, found: boolean, stop: AnswerStop, 
/**
 * Claims of the answer, as the engine checked them against the sources.
 */
claims: number, unsupported: number, };

export type TurnView = { question: string, answer: AnswerView, asked_ms: number, };

export type ConversationView = { id: string, title: string, turns: Array<TurnView>, };

export type AskOutcome = { conversation: ConversationSummary, answer: AnswerView, total_ms: number, };

export type AskEvent = { "kind": "sources", citations: Array<CitationView>, } | { "kind": "token", text: string, } | { "kind": "done", answer: AnswerView, };

export type SearchResultView = { score: number, similarity: number | null, path: string, file_name: string, location: Location, 
/**
 * The location in words ("page 3", "Leave > Sick, lines 10–24").
 */
place: string, 
/**
 * The passage as sanitised HTML.
 */
html: string, 
/**
 * The passage as indexed (plain text: the viewer finds it in its document by its words).
 */
text: string, };

export type TextPiece = { text: string, cited: boolean, evidence: boolean, };

export type TextBlock = { heading: boolean, pieces: Array<TextPiece>, };

export type SheetRow = { row: number, cells: Array<string>, cited: boolean, evidence: boolean, };

export type ViewContent = { "kind": "pages", pages: number, cited: number, } | { "kind": "text", blocks: Array<TextBlock>, found: boolean, } | { "kind": "sheet", sheet: string, columns: Array<string>, rows: Array<SheetRow>, rows_before: number, rows_after: number, };

export type DocumentView = { path: string, 
/**
 * The format's name ("PDF", "Word document").
 */
format: string, content: ViewContent, };

export type MarkBox = { left: number, top: number, width: number, height: number, };

export type PageView = { page: number, width: number, height: number, 
/**
 * The page as a PNG (base64 in JSON and across the app's IPC).
 */
png: string, 
/**
 * Boxes over the passage, one per line of it.
 */
marks: Array<MarkBox>, 
/**
 * Boxes over the evidence inside the passage.
 */
evidence_marks: Array<MarkBox>, 
/**
 * The page's words inside the marks, in reading order.
 */
marked_text: string, 
/**
 * The words were read by OCR (a scanned page).
 */
ocr: boolean, };

export type Verdict = "helpful" | "wrong" | "opened";

export type Feedback = { question: string, paths: Array<string>, verdict: Verdict, };

export type PairCounts = { questions: number, headings: number, labelled: number, 
/**
 * Verdicts on answers' sources (👍/👎), and sources opened from answers.
 */
feedback: number, opened: number, };

export type TuneStep = { "step": "questions", done: number, total: number, } | { "step": "preparing", pairs: number, } | { "step": "training", pairs: number, } | { "step": "judging", pairs: number, };

export type TuneReport = { pairs: PairCounts, questions_written: number, 
/**
 * Pairs whose file or passage is no longer in the index (left out).
 */
stale_pairs: number, adapter: AdapterStatus, questions_ms: number, train_ms: number, };

export type ServerErrorCode = "unauthenticated" | "not_found" | "too_many_attempts" | "sign_in_unavailable" | "tokens";

export type ReadableStatus = { 
/**
 * Indexed documents they may read.
 */
documents: number, 
/**
 * Their passages.
 */
chunks: number, };

export type WhoAmI = { user: string, groups: Array<string>, };

export type SignedIn = { token: string, user: string, expires_ms: number, };

export type AppEvents = { "index-event": IndexEvent, "watch-failed": ErrorPayload, "paths-dropped": Array<string>, };

export type CommandName = "app_info" | "status" | "add_folders" | "pick_folders" | "remove_folder" | "pause_folder" | "resume_folder" | "models" | "fetch_models" | "use_llm" | "pick_model_file" | "pick_model_folder" | "use_lora" | "pick_lora_file" | "pick_subfolder" | "settings" | "save_settings" | "rebuild_index" | "ask" | "stop" | "conversations" | "conversation" | "delete_conversation" | "search" | "open_file" | "reveal_file" | "view_document" | "view_page" | "feedback" | "tune" | "stop_tuning" | "remove_adapter" | "open_team_server";

