//! The one driver of `brain` processes, shared by the end-to-end tests (`tests/`) and the crash
//! harness (`brain-bench crash`): start `brain …` on a data dir with the real models and a clean
//! environment, run it to completion and read its JSON, or keep it running and end it — at one of
//! its own crash points, after a delay, by SIGKILL or SIGTERM — and say how it ended.
//!
//! Unix only, like the crash points it serves (a process killed by a signal is told apart from
//! one that exited).

use std::ffi::OsString;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::Value;

/// The environment variable that makes a `brain` kill itself at the `nth` pass of a named crash
/// point (`name:nth`; see `brain_store::crash`).
pub const CRASH_AT_ENV: &str = "BRAIN_TEST_CRASH_AT";

/// How often a running process is polled.
const POLL: Duration = Duration::from_millis(5);

/// What driving a `brain` process can fail with.
#[derive(Debug, thiserror::Error)]
pub enum DriverError {
    #[error("cannot start {}: {source}", exe.display())]
    Start { exe: PathBuf, source: std::io::Error },
    #[error("waiting for brain {args}: {source}")]
    Wait { args: String, source: std::io::Error },
    #[error("brain {args} failed ({status}):\nstdout: {stdout}\nstderr: {stderr}")]
    Failed { args: String, status: ExitStatus, stdout: String, stderr: String },
    #[error("brain {args}: bad JSON ({source}): {stdout}")]
    BadJson { args: String, stdout: String, source: serde_json::Error },
    #[error("brain {args}: {what} within {} s", limit.as_secs())]
    Timeout { args: String, what: &'static str, limit: Duration },
}

type Result<T, E = DriverError> = std::result::Result<T, E>;

/// A `brain` executable run on one data dir and one models dir. Each process gets the same
/// environment: these dirs, quiet logs, and none of the model overrides a developer's shell may
/// hold (`BRAIN_LLM`, `BRAIN_EMBEDDER`, `BRAIN_ONNXRUNTIME`) or a crash point left set.
#[derive(Debug, Clone)]
pub struct BrainRunner {
    pub exe: PathBuf,
    pub data_dir: PathBuf,
    pub models_dir: PathBuf,
    /// More environment for every process (e.g. `BRAIN_TEST_BATCH_FILES`).
    pub env: Vec<(OsString, OsString)>,
    /// Run every process with the network switched off (`unshare -n`).
    pub offline: bool,
}

impl BrainRunner {
    pub fn new(exe: impl Into<PathBuf>, data_dir: impl Into<PathBuf>, models_dir: impl Into<PathBuf>) -> BrainRunner {
        BrainRunner { exe: exe.into(), data_dir: data_dir.into(), models_dir: models_dir.into(), env: Vec::new(), offline: false }
    }

    /// The same executable and environment on another data dir.
    pub fn on_data_dir(&self, data_dir: &Path) -> BrainRunner {
        BrainRunner { data_dir: data_dir.to_path_buf(), ..self.clone() }
    }

    /// `brain ARGS` with this runner's environment, stdin closed; not started.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = if self.offline {
            let mut c = Command::new("unshare");
            c.arg("-n").arg(&self.exe);
            c
        } else {
            Command::new(&self.exe)
        };
        cmd.args(args)
            .env("BRAIN_DATA_DIR", &self.data_dir)
            .env("BRAIN_MODELS_DIR", &self.models_dir)
            .env("BRAIN_LOG", "error")
            .env_remove("BRAIN_LLM")
            .env_remove("BRAIN_EMBEDDER")
            .env_remove("BRAIN_ONNXRUNTIME")
            .env_remove(CRASH_AT_ENV)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null());
        cmd
    }

    /// Run to completion, whatever the exit status.
    pub fn output(&self, args: &[&str]) -> Result<Output> {
        self.command(args).output().map_err(|source| DriverError::Start { exe: self.exe.clone(), source })
    }

    /// Run to completion; an exit status other than success is an error.
    pub fn run(&self, args: &[&str]) -> Result<Output> {
        let out = self.output(args)?;
        if !out.status.success() {
            return Err(DriverError::Failed {
                args: args.join(" "),
                status: out.status,
                stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
                stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
            });
        }
        Ok(out)
    }

    /// Run to completion and parse stdout as JSON (`args` ask for it: `--json`).
    pub fn json(&self, args: &[&str]) -> Result<Value> {
        let out = self.run(args)?;
        parse_json(args, &out.stdout)
    }

    /// `brain folders add FOLDER`.
    pub fn add_folder(&self, folder: &Path) -> Result<()> {
        self.run(&["folders", "add", &folder.to_string_lossy()]).map(drop)
    }

    /// Start `brain ARGS`, its output collected; with `crash_at` (`name:nth`) it kills itself at
    /// that crash point.
    pub fn spawn(&self, args: &[&str], crash_at: Option<&str>) -> Result<Running> {
        let mut cmd = self.command(args);
        if let Some(point) = crash_at {
            cmd.env(CRASH_AT_ENV, point);
        }
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|source| DriverError::Start { exe: self.exe.clone(), source })?;
        // Read on threads: a process that fills a pipe nobody reads would block.
        let stdout = child.stdout.take().map(read_to_end);
        let stderr = child.stderr.take().map(read_to_end);
        Ok(Running { child, stdout, stderr, args: args.join(" ") })
    }

    /// Start `brain watch --json`, its events read as they come; with `crash_at` it kills itself
    /// at that crash point.
    pub fn watch(&self, crash_at: Option<&str>) -> Result<Watcher> {
        let mut cmd = self.command(&["watch", "--json"]);
        if let Some(point) = crash_at {
            cmd.env(CRASH_AT_ENV, point);
        }
        Watcher::start(cmd)
    }

    /// Wait until no file is pending and no process is writing the index (`brain status`), as
    /// seen twice half a second apart: a watcher may be between its debounce and its sync.
    pub fn wait_until_settled(&self, limit: Duration) -> Result<()> {
        let settled =
            |status: &Value| status["files"]["pending"].as_u64() == Some(0) && status["integrity"]["checked"] != Value::Bool(false);
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if settled(&self.json(&["status", "--json"])?) {
                std::thread::sleep(Duration::from_millis(500));
                if settled(&self.json(&["status", "--json"])?) {
                    return Ok(());
                }
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        Err(DriverError::Timeout { args: "status --json".into(), what: "the index did not settle", limit })
    }
}

/// `stdout` of `brain ARGS` as JSON.
pub fn parse_json(args: &[&str], stdout: &[u8]) -> Result<Value> {
    serde_json::from_slice(stdout).map_err(|source| DriverError::BadJson {
        args: args.join(" "),
        stdout: String::from_utf8_lossy(stdout).into_owned(),
        source,
    })
}

/// Whether a process died of SIGKILL (its own crash point, or ours).
pub fn died_of_sigkill(status: &ExitStatus) -> bool {
    std::os::unix::process::ExitStatusExt::signal(status) == Some(libc::SIGKILL)
}

fn read_to_end(mut from: impl Read + Send + 'static) -> JoinHandle<String> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = from.read_to_end(&mut bytes);
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

/// How a process ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ended {
    /// By SIGKILL.
    Killed,
    Exited {
        success: bool,
        stdout: String,
        stderr: String,
    },
}

/// A `brain` process started by [`BrainRunner::spawn`]. Killed if dropped while running.
pub struct Running {
    child: Child,
    stdout: Option<JoinHandle<String>>,
    stderr: Option<JoinHandle<String>>,
    args: String,
}

impl Running {
    /// Wait up to `limit` for the process to end by itself; `None` if it is still running.
    pub fn wait_up_to(&mut self, limit: Duration) -> Result<Option<Ended>> {
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().map_err(|source| self.wait_error(source))? {
                return Ok(Some(self.ended(status)));
            }
            if started.elapsed() >= limit {
                return Ok(None);
            }
            std::thread::sleep(POLL);
        }
    }

    /// Wait for the process to end by itself; past `limit` it is killed and that is an error.
    pub fn wait(mut self, limit: Duration) -> Result<Ended> {
        match self.wait_up_to(limit)? {
            Some(ended) => Ok(ended),
            None => {
                let args = self.args.clone();
                self.kill()?;
                Err(DriverError::Timeout { args, what: "did not finish", limit })
            }
        }
    }

    /// SIGKILL it now, and say how it ended (it may have exited just before).
    pub fn kill(mut self) -> Result<Ended> {
        let _ = self.child.kill();
        let status = self.child.wait().map_err(|source| self.wait_error(source))?;
        Ok(self.ended(status))
    }

    fn ended(&mut self, status: ExitStatus) -> Ended {
        if died_of_sigkill(&status) {
            return Ended::Killed;
        }
        let collect = |h: Option<JoinHandle<String>>| h.and_then(|h| h.join().ok()).unwrap_or_default();
        Ended::Exited { success: status.success(), stdout: collect(self.stdout.take()), stderr: collect(self.stderr.take()) }
    }

    fn wait_error(&self, source: std::io::Error) -> DriverError {
        DriverError::Wait { args: self.args.clone(), source }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        // Nothing is signalled once the process has been waited for.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A running `brain watch --json` (see [`BrainRunner::watch`]). Killed if dropped while running.
pub struct Watcher {
    child: Child,
    events: mpsc::Receiver<Value>,
}

impl Watcher {
    /// Start `cmd`, a process that prints one JSON event per line.
    fn start(mut cmd: Command) -> Result<Watcher> {
        let exe = PathBuf::from(cmd.get_program());
        let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::null()).spawn().map_err(|source| DriverError::Start { exe, source })?;
        let stdout = child.stdout.take().expect("stdout is piped");
        let (tx, events) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Ok(v) = serde_json::from_str::<Value>(&line)
                    && tx.send(v).is_err()
                {
                    break;
                }
            }
        });
        Ok(Watcher { child, events })
    }

    /// The next event, if one comes within `limit`.
    pub fn next_event(&self, limit: Duration) -> Option<Value> {
        self.events.recv_timeout(limit).ok()
    }

    /// Wait for the next event of this kind (`"idle"`, `"file_indexed"`…) and return it; `None`
    /// if `limit` passes or the process ends first.
    pub fn wait_for(&mut self, kind: &str, limit: Duration) -> Option<Value> {
        let deadline = Instant::now() + limit;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.events.recv_timeout(left.min(Duration::from_millis(200))) {
                Ok(v) if v["event"] == kind => return Some(v),
                Ok(_) => {}
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    if Instant::now() >= deadline || self.exited().is_some() {
                        return None;
                    }
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => return None,
            }
        }
    }

    /// How the process ended, if it has.
    pub fn exited(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// SIGKILL it; true if that is what it died of (false: it had ended before).
    pub fn kill(&mut self) -> bool {
        let _ = self.child.kill();
        self.child.wait().is_ok_and(|s| died_of_sigkill(&s))
    }

    /// SIGTERM it and wait up to `grace` for it to stop; `None` if it did not (then it is
    /// killed).
    #[allow(unsafe_code)]
    pub fn terminate(mut self, grace: Duration) -> Option<ExitStatus> {
        // SAFETY: kill(2) on the pid of our own child, which has not been waited for (so the pid
        // is not reused).
        unsafe {
            libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM);
        }
        let deadline = Instant::now() + grace;
        while Instant::now() < deadline {
            if let Some(status) = self.exited() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }
}

impl Drop for Watcher {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A runner of `sh -c SCRIPT`: the driver works on any executable.
    fn sh() -> BrainRunner {
        BrainRunner::new("/bin/sh", "/nonexistent-data", "/nonexistent-models")
    }

    #[test]
    fn every_process_gets_the_runners_environment_and_no_override() {
        let mut runner = sh();
        runner.env.push(("BRAIN_TEST_BATCH_FILES".into(), "4".into()));
        let cmd = runner.command(&["-c", "true"]);
        let envs: Vec<(String, Option<String>)> =
            cmd.get_envs().map(|(k, v)| (k.to_string_lossy().into_owned(), v.map(|v| v.to_string_lossy().into_owned()))).collect();
        for expected in [
            ("BRAIN_DATA_DIR", Some("/nonexistent-data")),
            ("BRAIN_MODELS_DIR", Some("/nonexistent-models")),
            ("BRAIN_LOG", Some("error")),
            ("BRAIN_TEST_BATCH_FILES", Some("4")),
            // Removed (`None`): a developer's shell may set them.
            ("BRAIN_LLM", None),
            ("BRAIN_EMBEDDER", None),
            ("BRAIN_ONNXRUNTIME", None),
            (CRASH_AT_ENV, None),
        ] {
            assert!(envs.contains(&(expected.0.to_string(), expected.1.map(str::to_string))), "{expected:?} in {envs:?}");
        }
        let offline = BrainRunner { offline: true, ..sh() }.command(&["-c", "true"]);
        assert_eq!(offline.get_program(), "unshare");
        assert_eq!(offline.get_args().collect::<Vec<_>>(), ["-n", "/bin/sh", "-c", "true"]);
    }

    #[test]
    fn json_is_read_and_failures_carry_their_output() {
        let v = sh().json(&["-c", "echo '{\"files\": 3}'"]).unwrap();
        assert_eq!(v["files"], 3);
        let err = sh().json(&["-c", "echo oops; echo broken >&2; exit 2"]).unwrap_err();
        assert!(matches!(&err, DriverError::Failed { stdout, stderr, .. } if stdout.trim() == "oops" && stderr == "broken"), "{err}");
        assert!(matches!(sh().json(&["-c", "echo not json"]), Err(DriverError::BadJson { .. })));
        assert!(matches!(BrainRunner::new("/nonexistent/brain", "/d", "/m").output(&[]), Err(DriverError::Start { .. })));
    }

    #[test]
    fn a_process_is_told_apart_killed_or_exited() {
        let mut running = sh().spawn(&["-c", "sleep 5"], None).unwrap();
        assert_eq!(running.wait_up_to(Duration::from_millis(50)).unwrap(), None);
        assert_eq!(running.kill().unwrap(), Ended::Killed);

        let killed_itself = sh().spawn(&["-c", "kill -9 $$"], None).unwrap();
        assert_eq!(killed_itself.wait(Duration::from_secs(5)).unwrap(), Ended::Killed);

        let done = sh().spawn(&["-c", "echo out; echo err >&2; exit 3"], None).unwrap();
        assert_eq!(
            done.wait(Duration::from_secs(5)).unwrap(),
            Ended::Exited { success: false, stdout: "out\n".into(), stderr: "err\n".into() }
        );

        let hung = sh().spawn(&["-c", "sleep 5"], None).unwrap();
        assert!(matches!(hung.wait(Duration::from_millis(50)), Err(DriverError::Timeout { .. })));
    }

    #[test]
    fn a_crash_point_is_passed_in_the_environment() {
        let running = sh().spawn(&["-c", "echo $BRAIN_TEST_CRASH_AT"], Some("store:chunks-committed:2")).unwrap();
        let ended = running.wait(Duration::from_secs(5)).unwrap();
        assert!(matches!(&ended, Ended::Exited { stdout, .. } if stdout == "store:chunks-committed:2\n"), "{ended:?}");
    }

    #[test]
    fn a_watcher_yields_its_events_and_ends_by_signal() {
        let events = "echo '{\"event\":\"sync_started\"}'; echo not-json; echo '{\"event\":\"idle\",\"indexed\":2}'";
        let script = format!("{events}; trap 'exit 0' TERM; while :; do sleep 0.05; done");
        let mut watcher = Watcher::start(sh().command(&["-c", &script])).unwrap();
        assert_eq!(watcher.wait_for("idle", Duration::from_secs(5)).unwrap()["indexed"], 2);
        assert!(watcher.wait_for("idle", Duration::from_millis(300)).is_none(), "one idle event only");
        assert!(watcher.terminate(Duration::from_secs(5)).is_some_and(|s| s.success()), "exits on SIGTERM");

        let mut watcher = Watcher::start(sh().command(&["-c", "sleep 5"])).unwrap();
        assert!(watcher.kill(), "died of SIGKILL");

        // A watcher that ends is not waited for until the limit.
        let mut watcher = Watcher::start(sh().command(&["-c", "exit 0"])).unwrap();
        let started = Instant::now();
        assert!(watcher.wait_for("idle", Duration::from_secs(30)).is_none());
        assert!(started.elapsed() < Duration::from_secs(5));
    }
}
