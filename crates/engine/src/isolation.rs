//! Parsing in worker processes, so that no file can take the engine down.
//!
//! `catch_unwind` stops panics, but not an abort, a stack overflow, a segfault in a C library or
//! a runaway allocation. Those end a worker process instead of the app: the pool notices, records
//! the file as failed with the reason, starts a fresh worker and goes on. Each worker runs under
//! a memory limit (`RLIMIT_DATA`), and a worker that exceeds the time budget is killed, which
//! also frees its CPU (a thread could only be abandoned).
//!
//! A worker is the front end's own executable started with [`WORKER_ARG`]. Every front end
//! chooses [`Parsers`] in its [`EngineOptions`](crate::EngineOptions) (there is no default, so
//! none can forget it), and one that chooses worker processes calls
//! [`Parsers::serve_worker_if_requested`] first thing in `main`. A worker greets the engine when
//! it starts; an executable that does not (it would be a second copy of the app) is stopped and
//! reported. Unit-test binaries choose [`Parsers::Threads`]: panics are still caught.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

use brain_parse::ParsedDocument;
use serde::{Deserialize, Serialize};

use crate::ocr::{EngineOcr, OcrConfig, PageRead, TesseractSlot};
use crate::pdf_render::Pdftoppm;

/// The argument that turns the executable into a parse worker.
pub const WORKER_ARG: &str = "--brain-parse-worker";
const MEMORY_ENV: &str = "BRAIN_PARSE_MEMORY_MB";

/// The first line a worker writes: proof that the executable serves parse requests.
const GREETING: &str = "brain-parse-worker 1";
/// How long a new worker may take to greet.
const GREETING_TIMEOUT: Duration = Duration::from_secs(20);

/// Where files are parsed: a required choice of every front end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Parsers {
    /// In worker processes (this executable, started with [`WORKER_ARG`]): a parser that aborts,
    /// overflows its stack, segfaults or runs out of memory fails its file only. The front end's
    /// `main` must call [`Parsers::serve_worker_if_requested`] first.
    WorkerProcesses,
    /// On threads of this process, panics caught: for test binaries, which cannot serve workers.
    Threads,
}

impl Parsers {
    /// If this process was started as a parse worker, serve requests until stdin closes, then
    /// exit. Call it before anything else in `main`.
    pub fn serve_worker_if_requested() {
        if std::env::args().nth(1).as_deref() == Some(WORKER_ARG) {
            worker_main();
            std::process::exit(0);
        }
    }
}

#[derive(Serialize, Deserialize)]
struct Request {
    path: PathBuf,
    ocr: OcrConfig,
    /// Keep each sheet whole in `tables` (a question over a sheet; indexing does not).
    #[serde(default)]
    keep_tables: bool,
}

#[derive(Serialize, Deserialize)]
enum Response {
    /// A page read by OCR (more responses follow for the same file).
    Page(PageRead),
    Parsed(ParsedDocument),
    Failed(String),
}

/// Read and parse one file, with OCR (or keeping its sheets' tables, which need none);
/// `tesseract` is kept between files.
fn parse_file(
    request: Request,
    bytes: &[u8],
    tesseract: &mut TesseractSlot,
    on_page: &mut dyn FnMut(PageRead),
) -> Result<ParsedDocument, String> {
    let Request { path, ocr, keep_tables } = request;
    if keep_tables {
        return brain_parse::parse_keeping_tables(&path, bytes).map_err(|e| e.to_string());
    }
    let path = path.as_path();
    let mut recognizer = EngineOcr::new(ocr, tesseract, on_page);
    let mut renderer = Pdftoppm::default();
    let ocr = brain_parse::Ocr { recognize: &mut recognizer, render: &mut renderer };
    brain_parse::parse_with(path, bytes, Some(ocr)).map_err(|e| e.to_string())
}

#[allow(unsafe_code)]
fn worker_main() {
    // A worker must not outlive the engine that started it (`kill -9` of the engine included):
    // it would go on parsing a file nobody waits for. A closed stdin ends the loop below only
    // between files, so a watchdog notices the parent's death (the worker is re-parented). Not
    // PR_SET_PDEATHSIG: it fires when the spawning *thread* ends, and workers outlive batches.
    #[cfg(unix)]
    {
        // SAFETY: getppid takes no argument, cannot fail and touches no memory of ours.
        let parent = unsafe { libc::getppid() };
        let _ = std::thread::Builder::new().name("parent-watch".into()).spawn(move || {
            loop {
                std::thread::sleep(Duration::from_millis(500));
                // SAFETY: as above.
                if unsafe { libc::getppid() } != parent {
                    std::process::exit(0);
                }
            }
        });
    }
    if let Some(mb) = std::env::var(MEMORY_ENV).ok().and_then(|v| v.parse::<u64>().ok()) {
        limit_memory(mb);
    }
    // The parent reads the reason of a crash from stderr; keep panic noise out of it (panics
    // are caught and reported as responses).
    std::panic::set_hook(Box::new(|_| {}));
    let stdin = std::io::stdin();
    let mut stdout = std::io::stdout().lock();
    if writeln!(stdout, "{GREETING}").and_then(|_| stdout.flush()).is_err() {
        return;
    }
    let mut tesseract = None;
    for line in stdin.lock().lines() {
        let Ok(line) = line else { break };
        let response = match serde_json::from_str::<Request>(&line) {
            Ok(request) if fault_injected(&request.path) => unreachable!("fault injection ends the process"),
            Ok(request) => match std::fs::read(&request.path) {
                Ok(bytes) => {
                    let mut report = |page: PageRead| {
                        if let Ok(json) = serde_json::to_string(&Response::Page(page)) {
                            let _ = writeln!(stdout, "{json}").and_then(|_| stdout.flush());
                        }
                    };
                    match parse_file(request, &bytes, &mut tesseract, &mut report) {
                        Ok(doc) => Response::Parsed(doc),
                        Err(e) => Response::Failed(e),
                    }
                }
                Err(e) => Response::Failed(format!("cannot read: {e}")),
            },
            Err(e) => Response::Failed(format!("bad request to the parse worker: {e}")),
        };
        let Ok(json) = serde_json::to_string(&response) else { break };
        if writeln!(stdout, "{json}").and_then(|_| stdout.flush()).is_err() {
            break;
        }
    }
}

/// Fault injection for the tests of this module and of the CLI: a worker asked to parse a file
/// whose name is in `BRAIN_TEST_PARSE_ABORT` aborts, one in `BRAIN_TEST_PARSE_ALLOCATE`
/// allocates without bound, one in `BRAIN_TEST_PARSE_HANG` never answers. Real parsers do this on hostile files
/// that no fixture reproduces reliably; the handling must be tested all the same.
fn fault_injected(path: &Path) -> bool {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
    let listed = |var: &str| std::env::var(var).is_ok_and(|v| v.split(',').any(|n| n == name));
    if listed("BRAIN_TEST_PARSE_ABORT") {
        std::process::abort();
    }
    if listed("BRAIN_TEST_PARSE_HANG") {
        loop {
            std::thread::sleep(Duration::from_secs(3600));
        }
    }
    if listed("BRAIN_TEST_PARSE_ALLOCATE") {
        let mut hog: Vec<Vec<u8>> = Vec::new();
        loop {
            let mut block = Vec::with_capacity(64 << 20);
            block.resize(64 << 20, 1u8);
            hog.push(block);
        }
    }
    false
}

#[cfg(unix)]
#[allow(unsafe_code)]
fn limit_memory(mb: u64) {
    let bytes = mb.saturating_mul(1024 * 1024) as libc::rlim_t;
    let limit = libc::rlimit { rlim_cur: bytes, rlim_max: bytes };
    // SAFETY: setrlimit only reads the struct.
    unsafe {
        libc::setrlimit(libc::RLIMIT_DATA, &limit);
    }
}

#[cfg(not(unix))]
fn limit_memory(_mb: u64) {}

/// One worker process.
struct Worker {
    child: Child,
    stdin: ChildStdin,
    responses: mpsc::Receiver<String>,
    stderr: Arc<Mutex<String>>,
}

impl Worker {
    fn spawn(memory_mb: u64) -> std::io::Result<Worker> {
        let exe = std::env::current_exe()?;
        let mut child = Command::new(exe)
            .arg(WORKER_ARG)
            .env(MEMORY_ENV, memory_mb.to_string())
            // Tesseract's OpenMP threads spin; parallelism comes from the worker processes.
            .env("OMP_THREAD_LIMIT", "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()?;
        let stdin = child.stdin.take().expect("piped");
        let stdout = child.stdout.take().expect("piped");
        let mut stderr_pipe = child.stderr.take().expect("piped");
        let (tx, responses) = mpsc::channel();
        std::thread::Builder::new().name("parse-worker-out".into()).spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        })?;
        let stderr = Arc::new(Mutex::new(String::new()));
        let sink = Arc::clone(&stderr);
        std::thread::Builder::new().name("parse-worker-err".into()).spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = stderr_pipe.read(&mut buf) {
                if n == 0 {
                    break;
                }
                let mut s = sink.lock().unwrap_or_else(|p| p.into_inner());
                s.push_str(&String::from_utf8_lossy(&buf[..n]));
                // Keep the tail only: the reason of a crash is at the end.
                if s.len() > 8192 {
                    let cut = s.len() - 4096;
                    let cut = (cut..s.len()).find(|&i| s.is_char_boundary(i)).unwrap_or(s.len());
                    s.drain(..cut);
                }
            }
        })?;
        let mut worker = Worker { child, stdin, responses, stderr };
        match worker.responses.recv_timeout(GREETING_TIMEOUT) {
            Ok(line) if line == GREETING => Ok(worker),
            _ => {
                let _ = worker.child.kill();
                Err(std::io::Error::other(format!(
                    "{} did not start as a parse worker: its main must call Parsers::serve_worker_if_requested first",
                    std::env::current_exe().map(|p| p.display().to_string()).unwrap_or_default()
                )))
            }
        }
    }

    fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Why the process ended, in words for the file's owner.
    fn death_reason(mut self, memory_mb: u64) -> String {
        let status = self.child.wait();
        // The stderr reader may still be draining the pipe.
        std::thread::sleep(Duration::from_millis(20));
        let stderr = self.stderr.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let ended = match status {
            #[cfg(unix)]
            Ok(s) if std::os::unix::process::ExitStatusExt::signal(&s).is_some() => {
                Ended::Signal(std::os::unix::process::ExitStatusExt::signal(&s).unwrap_or_default())
            }
            Ok(s) => Ended::Other(s.to_string()),
            Err(e) => Ended::Other(e.to_string()),
        };
        reason_of_death(&stderr, ended, memory_mb)
    }
}

/// How a worker process ended.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Ended {
    Signal(i32),
    /// An exit status or a failure to wait, in words.
    Other(String),
}

/// The reason a file's owner reads when its parser process died: what its last words on stderr
/// say (Rust's allocation failure and stack overflow messages), else how it ended.
fn reason_of_death(stderr: &str, ended: Ended, memory_mb: u64) -> String {
    if stderr.contains("memory allocation of") || stderr.contains("out of memory") {
        return format!("needed more than the {memory_mb} MB memory budget for parsing (raise parse_memory_mb to allow more)");
    }
    if stderr.contains("has overflowed its stack") {
        return "the parser crashed: its stack overflowed (the file nests too deeply)".into();
    }
    match ended {
        Ended::Signal(signal) => format!("the parser crashed on this file (signal {signal}{})", signal_name(signal)),
        Ended::Other(how) => format!("the parser process ended unexpectedly ({how})"),
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn signal_name(signal: i32) -> &'static str {
    match signal {
        6 => ", abort",
        9 => ", killed",
        11 => ", segmentation fault",
        7 => ", bus error",
        4 => ", illegal instruction",
        _ => "",
    }
}

/// The parsers of an engine: idle workers, reused across files and syncs, or threads.
pub(crate) struct ParserPool {
    mode: Parsers,
    idle: Mutex<Vec<Worker>>,
}

impl ParserPool {
    pub(crate) fn new(mode: Parsers) -> Self {
        ParserPool { mode, idle: Mutex::new(Vec::new()) }
    }

    /// Parse `path` (whose content is `bytes`) within `memory_mb`, and within `timeout` between
    /// two signs of progress (a page read by OCR is one: a long scan goes on as long as it
    /// advances). `on_page` hears of each page OCR reads.
    pub(crate) fn parse(
        &self,
        path: &Path,
        bytes: Vec<u8>,
        timeout: Duration,
        memory_mb: u64,
        ocr: &OcrConfig,
        on_page: &mut dyn FnMut(PageRead),
    ) -> Result<ParsedDocument, String> {
        let request = Request { path: path.to_path_buf(), ocr: ocr.clone(), keep_tables: false };
        self.run(request, bytes, timeout, memory_mb, on_page)
    }

    /// [`ParserPool::parse`] for a question over a sheet: the file's sheets kept whole as tables
    /// (`ParsedDocument::tables`), no OCR.
    pub(crate) fn parse_keeping_tables(
        &self,
        path: &Path,
        bytes: Vec<u8>,
        timeout: Duration,
        memory_mb: u64,
    ) -> Result<ParsedDocument, String> {
        let request = Request { path: path.to_path_buf(), ocr: OcrConfig { cache_dir: None, languages: Vec::new() }, keep_tables: true };
        self.run(request, bytes, timeout, memory_mb, &mut |_| {})
    }

    fn run(
        &self,
        request: Request,
        bytes: Vec<u8>,
        timeout: Duration,
        memory_mb: u64,
        on_page: &mut dyn FnMut(PageRead),
    ) -> Result<ParsedDocument, String> {
        match self.mode {
            Parsers::WorkerProcesses => self.parse_in_worker(&request, timeout, memory_mb, on_page),
            Parsers::Threads => parse_on_thread(request, bytes, timeout, on_page),
        }
    }

    fn parse_in_worker(
        &self,
        request: &Request,
        timeout: Duration,
        memory_mb: u64,
        on_page: &mut dyn FnMut(PageRead),
    ) -> Result<ParsedDocument, String> {
        let taken = self.idle.lock().unwrap_or_else(|p| p.into_inner()).pop();
        let mut worker = match taken {
            Some(w) => w,
            None => Worker::spawn(memory_mb).map_err(|e| format!("cannot start a parser process: {e}"))?,
        };
        let request = serde_json::to_string(request).map_err(|e| e.to_string())?;
        if writeln!(worker.stdin, "{request}").and_then(|_| worker.stdin.flush()).is_err() {
            // A worker that died while idle: use a fresh one once.
            worker = Worker::spawn(memory_mb).map_err(|e| format!("cannot start a parser process: {e}"))?;
            writeln!(worker.stdin, "{request}")
                .and_then(|_| worker.stdin.flush())
                .map_err(|e| format!("cannot talk to the parser process: {e}"))?;
        }
        loop {
            match worker.responses.recv_timeout(timeout) {
                Ok(line) => {
                    let response: Response =
                        serde_json::from_str(&line).map_err(|e| format!("garbled answer from the parser process: {e}"))?;
                    let done = match response {
                        Response::Page(page) => {
                            on_page(page);
                            continue;
                        }
                        Response::Parsed(doc) => Ok(doc),
                        Response::Failed(reason) => Err(reason),
                    };
                    self.idle.lock().unwrap_or_else(|p| p.into_inner()).push(worker);
                    return done;
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    worker.kill();
                    return Err(format!(
                        "took longer than {} s to parse; stopped (raise parse_timeout_secs to allow more)",
                        timeout.as_secs()
                    ));
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => return Err(worker.death_reason(memory_mb)),
            }
        }
    }
}

/// Parse on a thread of its own, so that a panic is caught and a parser that runs away is
/// abandoned after `timeout` (recorded as failed; the thread finishes on its own).
fn parse_on_thread(
    request: Request,
    bytes: Vec<u8>,
    timeout: Duration,
    on_page: &mut dyn FnMut(PageRead),
) -> Result<ParsedDocument, String> {
    let (tx, rx) = mpsc::channel::<Result<Response, String>>();
    std::thread::Builder::new()
        .name("parse".into())
        .spawn(move || {
            let pages = tx.clone();
            let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                let mut tesseract = None;
                let mut report = |page: PageRead| drop(pages.send(Ok(Response::Page(page))));
                parse_file(request, &bytes, &mut tesseract, &mut report)
            }));
            let result = result.unwrap_or_else(|panic| Err(format!("the parser crashed: {}", brain_parse::panic_detail(&panic))));
            let _ = tx.send(result.map(Response::Parsed));
        })
        .map_err(|e| format!("cannot start a parser thread: {e}"))?;
    loop {
        match rx.recv_timeout(timeout) {
            Ok(Ok(Response::Page(page))) => on_page(page),
            Ok(Ok(Response::Parsed(doc))) => return Ok(doc),
            Ok(Ok(Response::Failed(e))) | Ok(Err(e)) => return Err(e),
            Err(_) => {
                return Err(format!("took longer than {} s to parse; skipped (raise parse_timeout_secs to allow more)", timeout.as_secs()));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_ocr() -> OcrConfig {
        OcrConfig { cache_dir: None, languages: vec!["eng".into()] }
    }

    #[test]
    fn a_dead_worker_is_explained_by_its_last_words_then_by_its_signal() {
        let oom = reason_of_death("memory allocation of 67108864 bytes failed\n", Ended::Signal(6), 512);
        assert!(oom.starts_with("needed more than the 512 MB memory budget"), "{oom}");
        let stack = reason_of_death("thread 'main' has overflowed its stack\n", Ended::Signal(6), 512);
        assert!(stack.contains("stack overflowed"), "{stack}");
        assert_eq!(reason_of_death("", Ended::Signal(11), 512), "the parser crashed on this file (signal 11, segmentation fault)");
        assert_eq!(
            reason_of_death("", Ended::Other("exit status: 3".into()), 512),
            "the parser process ended unexpectedly (exit status: 3)"
        );
    }

    #[test]
    fn on_threads_a_file_is_parsed_and_a_bad_one_fails_alone() {
        let pool = ParserPool::new(Parsers::Threads);
        let parse =
            |name: &str, bytes: &[u8]| pool.parse(Path::new(name), bytes.to_vec(), Duration::from_secs(10), 256, &no_ocr(), &mut |_| {});
        let doc = parse("a.md", b"# Leave\n\nStaff get 27 days.").unwrap();
        assert!(doc.sections.iter().any(|s| s.text.contains("27 days")), "{:?}", doc.sections);
        let failed = parse("empty.txt", b"").unwrap_err();
        assert!(failed.contains("empty file"), "{failed}");
    }

    #[test]
    fn an_executable_that_is_not_a_parse_worker_is_stopped_and_reported() {
        // This test binary is no parse worker: it does not greet.
        let pool = ParserPool::new(Parsers::WorkerProcesses);
        let error =
            pool.parse(Path::new("/nonexistent/a.md"), Vec::new(), Duration::from_secs(10), 256, &no_ocr(), &mut |_| {}).unwrap_err();
        assert!(error.contains("did not start as a parse worker") && error.contains("serve_worker_if_requested"), "{error}");
    }
}
