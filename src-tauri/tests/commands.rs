//! The command layer without a display: the app's real configuration (commands, capabilities,
//! window, background tasks) on Tauri's mock runtime, over the real engine and the real models.

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use brain_app::views::AskEvent;
use brain_app::{AppState, INDEX_EVENT, commands, configure, context, create_main_window, start_background};
use brain_engine::{Engine, EngineOptions, Parsers};
use brain_testkit::{models_dir, write};
use serde_json::{Value, json};
use tauri::ipc::{CallbackFn, Channel, InvokeBody, InvokeResponseBody};
use tauri::test::{INVOKE_KEY, MockRuntime, get_ipc_response, mock_builder};
use tauri::webview::InvokeRequest;
use tauri::{App, Listener, Manager, WebviewWindow};

struct TestApp {
    app: App<MockRuntime>,
    webview: WebviewWindow<MockRuntime>,
    _data: tempfile::TempDir,
}

fn app(models: PathBuf) -> TestApp {
    let data = tempfile::tempdir().unwrap();
    // A test binary cannot serve parse workers; the app itself uses them (see webdriver.rs).
    let engine = Engine::open(EngineOptions {
        data_dir: data.path().into(),
        models_dir: models,
        parsers: Parsers::Threads,
        shared_index: None,
        replica: false,
    })
    .unwrap();
    let app = configure(mock_builder(), AppState::new(engine)).build(context()).expect("the app builds on the mock runtime");
    let webview = create_main_window(&app).unwrap();
    TestApp { app, webview, _data: data }
}

impl TestApp {
    /// Call a command through the IPC, as the window does (ACL checks included).
    fn invoke_from(&self, url: &str, cmd: &str, args: Value) -> Result<Value, Value> {
        let request = InvokeRequest {
            cmd: cmd.into(),
            callback: CallbackFn(0),
            error: CallbackFn(1),
            url: url.parse().unwrap(),
            body: InvokeBody::Json(args),
            headers: Default::default(),
            invoke_key: INVOKE_KEY.to_string(),
        };
        get_ipc_response(&self.webview, request).map(|body| body.deserialize::<Value>().unwrap())
    }

    fn invoke(&self, cmd: &str, args: Value) -> Result<Value, Value> {
        self.invoke_from("tauri://localhost", cmd, args)
    }

    fn ok(&self, cmd: &str, args: Value) -> Value {
        self.invoke(cmd, args).unwrap_or_else(|e| panic!("{cmd} failed: {e}"))
    }

    /// The `{code, message}` of a failing command, and nothing else.
    fn error_code(&self, cmd: &str, args: Value) -> String {
        let error = self.invoke(cmd, args).expect_err(cmd);
        let object = error.as_object().unwrap_or_else(|| panic!("{cmd}: error is not an object: {error}"));
        assert_eq!(object.len(), 2, "{cmd}: exactly code and message: {error}");
        assert!(!object["message"].as_str().unwrap().is_empty(), "{error}");
        object["code"].as_str().unwrap().to_string()
    }
}

fn handbook(root: &Path) {
    write(
        &root.join("leave-policy.md"),
        "# Leave Policy\n\n## Annual Leave\n\nEvery employee gets 27 days of annual leave per year.\n\n## Sabbatical\n\nAfter five years of service, employees may take a sabbatical of up to eight weeks. The sabbatical is unpaid and must be approved by the department head three months ahead.\n",
    );
    write(
        &root.join("safety.md"),
        "# Safety\n\n## Fire Drills\n\nFire drills happen every quarter, on the first Monday at 10:00. Everyone leaves by the nearest exit and meets at the car park.\n",
    );
}

#[test]
fn folders_status_errors_and_access_control_over_ipc() {
    let t = app(models_dir());
    let docs = tempfile::tempdir().unwrap();
    handbook(docs.path());
    let root = docs.path().canonicalize().unwrap();

    let info = t.ok("app_info", json!({}));
    assert!(info["data_dir"].as_str().unwrap().len() > 1, "{info}");
    assert_eq!(t.ok("status", json!({}))["folders"], json!([]));

    // Errors cross the IPC as {code, message} with the engine's stable codes.
    assert_eq!(t.error_code("add_folders", json!({ "paths": [root.join("missing")] })), "folder_not_found");
    assert_eq!(t.error_code("add_folders", json!({ "paths": [root.join("safety.md")] })), "folder_not_found");
    assert_eq!(t.error_code("remove_folder", json!({ "path": "/nowhere" })), "folder_not_registered");
    assert_eq!(t.error_code("conversation", json!({ "id": "../settings" })), "invalid_argument");
    assert_eq!(t.error_code("conversation", json!({ "id": "0123-abcd" })), "conversation_not_found");
    assert_eq!(t.error_code("search", json!({ "query": "  " })), "invalid_argument");

    // Add a folder: listed, its files pending until the watcher indexes them (no model needed).
    let added = t.ok("add_folders", json!({ "paths": [docs.path()] }));
    assert_eq!(added, json!([root]));
    let status = t.ok("status", json!({}));
    let folder = &status["folders"][0];
    assert_eq!(folder["path"], json!(root));
    assert_eq!((folder["present"].as_bool(), folder["paused"].as_bool()), (Some(true), Some(false)));
    assert_eq!(folder["files"], json!({ "indexed": 0, "failed": 0, "pending": 2 }));

    // Pause: nothing pending (the folder is not synced); resume: pending again.
    t.ok("pause_folder", json!({ "path": root }));
    let paused = t.ok("status", json!({}));
    assert_eq!(paused["folders"][0]["paused"], true);
    assert_eq!(paused["folders"][0]["files"]["pending"], 0);
    t.ok("resume_folder", json!({ "path": root }));
    assert_eq!(t.ok("status", json!({}))["folders"][0]["files"]["pending"], 2);

    // Opening is checked on the Rust side: only files inside registered folders.
    assert_eq!(t.error_code("open_file", json!({ "path": "/etc/passwd" })), "not_openable");
    assert_eq!(t.error_code("reveal_file", json!({ "path": root.join("../") })), "not_openable");
    assert_eq!(t.error_code("open_file", json!({ "path": "leave-policy.md" })), "not_openable");

    // Settings round-trip, and invalid ones are refused with a code.
    let mut settings = t.ok("settings", json!({}));
    settings["sources"] = json!(3);
    assert_eq!(t.ok("save_settings", json!({ "settings": settings }))["sources"], 3);
    settings["sources"] = json!(0);
    assert_eq!(t.error_code("save_settings", json!({ "settings": settings })), "settings");

    let models = t.ok("models", json!({}));
    assert_eq!(models["ready"], true, "{models}");

    // A folder's house style: a LoRA adapter the model takes is kept for the folder; one made
    // for another model is refused with a code and nothing changes.
    let llm = models_dir().join(brain_testkit::default_llm_file());
    let (fits, other) = (docs.path().join("style.gguf"), docs.path().join("other-model.gguf"));
    brain_testkit::write_lora(&llm, &fits, 0, 0);
    brain_testkit::write_lora(&llm, &other, 8, 0);
    assert_eq!(t.error_code("use_lora", json!({ "folder": root, "lora": other, "scale": 1.0 })), "llm");
    assert_eq!(t.ok("settings", json!({}))["folder_loras"], json!([]));
    let kept = t.ok("use_lora", json!({ "folder": root, "lora": fits, "scale": 0.5 }));
    assert_eq!(kept["folder_loras"], json!([{ "folder": root, "lora": root.join("style.gguf"), "scale": 0.5 }]));
    assert_eq!(kept["llm_lora"], Value::Null, "the model's own adapter is another setting");
    assert_eq!(t.ok("use_lora", json!({ "folder": root, "lora": null, "scale": 1.0 }))["folder_loras"], json!([]));
    // A folder inside the registered one gets its own (the app's *Style of a folder in it…*);
    // one that does not exist is refused.
    let legal = root.join("legal");
    std::fs::create_dir(&legal).unwrap();
    let kept = t.ok("use_lora", json!({ "folder": legal, "lora": fits, "scale": 1.0 }));
    assert_eq!(kept["folder_loras"], json!([{ "folder": legal, "lora": root.join("style.gguf"), "scale": 1.0 }]));
    assert_eq!(t.ok("use_lora", json!({ "folder": legal, "lora": null, "scale": 1.0 }))["folder_loras"], json!([]));
    assert_eq!(
        t.error_code("use_lora", json!({ "folder": root.join("no-such-folder"), "lora": fits, "scale": 1.0 })),
        "folder_not_registered"
    );
    assert_eq!(t.error_code("use_lora", json!({ "folder": "/nowhere", "lora": fits, "scale": 1.0 })), "folder_not_registered");

    // The capability grants the app's own commands only: no plugin command (dialog, opener,
    // file system) is reachable from the web view, and nothing from a remote origin.
    for plugin_command in ["plugin:dialog|open", "plugin:opener|open_path", "plugin:fs|read_file", "plugin:opener|open_url"] {
        assert!(t.invoke(plugin_command, json!({ "path": "/etc/passwd" })).is_err(), "{plugin_command} must be refused");
    }
    assert!(t.invoke_from("https://evil.example", "status", json!({})).is_err(), "a remote origin must not reach commands");
    assert!(t.invoke("no_such_command", json!({})).is_err());
}

/// Events sent through a channel, as the window would receive them.
fn collecting_channel() -> (Channel<AskEvent>, Arc<Mutex<Vec<Value>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&seen);
    let channel = Channel::new(move |body: InvokeResponseBody| {
        sink.lock().unwrap().push(body.deserialize::<Value>().unwrap());
        Ok(())
    });
    (channel, seen)
}

#[test]
fn indexing_events_reach_the_window_and_answers_stream_through_a_channel() {
    let t = app(models_dir());
    let docs = tempfile::tempdir().unwrap();
    handbook(docs.path());

    // The forwarder emits engine events to the window.
    let (tx, events) = mpsc::channel::<Value>();
    t.app.listen_any(INDEX_EVENT, move |event| {
        let _ = tx.send(serde_json::from_str(event.payload()).unwrap());
    });
    start_background(t.app.handle());
    t.ok("add_folders", json!({ "paths": [docs.path()] }));

    // The watcher notices the new folder and indexes it.
    let deadline = Instant::now() + Duration::from_secs(180);
    let mut seen = Vec::new();
    loop {
        let event = events.recv_timeout(deadline.saturating_duration_since(Instant::now())).expect("indexing events before the deadline");
        let indexed_all = event["event"] == "idle" && t.ok("status", json!({}))["files"]["indexed"] == 2;
        seen.push(event["event"].as_str().unwrap().to_string());
        if indexed_all {
            break;
        }
    }
    for expected in ["sync_started", "scanned", "file_indexing", "file_indexed", "progress", "idle"] {
        assert!(seen.iter().any(|e| e == expected), "no {expected} event in {seen:?}");
    }
    let status = t.ok("status", json!({}));
    assert_eq!(status["files"], json!({ "indexed": 2, "failed": 0, "pending": 0 }), "{status}");

    // Search without the LLM: results carry the place and sanitised HTML.
    let results = t.ok("search", json!({ "query": "fire drills", "mode": "keyword" }));
    assert_eq!(results[0]["file_name"], "safety.md", "{results}");
    assert_eq!(results[0]["place"].as_str().unwrap().split(',').next().unwrap(), "Safety > Fire Drills");
    assert!(results[0]["html"].as_str().unwrap().contains("<p>"), "{results}");

    // Ask: the sources come first, then the answer streams token by token through the channel
    // (plain pieces of text for the window to append), then arrives whole, rendered.
    let state = t.app.state::<AppState>();
    let (channel, events) = collecting_channel();
    let outcome = tauri::async_runtime::block_on(commands::ask(state.clone(), "How long can a sabbatical last?".into(), None, channel))
        .unwrap_or_else(|e| panic!("ask failed: {e:?}"));
    let events = events.lock().unwrap().clone();
    assert_eq!(events.first().map(|e| e["kind"].clone()), Some(json!("sources")), "{events:?}");
    assert!(events[0]["citations"].as_array().is_some_and(|c| !c.is_empty()), "{events:?}");
    assert_eq!(events.last().map(|e| e["kind"].clone()), Some(json!("done")), "{events:?}");
    assert_eq!(
        events.last().unwrap()["answer"]["html"].as_str(),
        Some(outcome.answer.html.as_str()),
        "the last event is the answer, rendered"
    );
    let tokens: Vec<&Value> = events.iter().filter(|e| e["kind"] == "token").collect();
    assert!(tokens.len() > 3, "the answer streams in pieces: {tokens:?}");
    let streamed: String = tokens.iter().map(|t| t["text"].as_str().unwrap()).collect();
    assert_eq!(streamed.trim(), outcome.answer.text, "the pieces make the answer");
    assert!(tokens.iter().all(|t| t.get("html").is_none()), "a token is not re-rendered: the window appends it");
    assert!(outcome.answer.found);
    let cited = outcome
        .answer
        .citations
        .iter()
        .find(|c| c.passage.file_name == "leave-policy.md" && c.passage.place.starts_with("Leave Policy > Sabbatical"))
        .unwrap_or_else(|| panic!("no citation of the sabbatical section: {:?}", outcome.answer.citations));
    assert!(cited.passage.html.contains("eight weeks"), "{}", cited.passage.html);
    assert!(!outcome.answer.html.is_empty());

    // A follow-up goes into the same conversation, which is saved and listed.
    let id = outcome.conversation.id.clone();
    let (channel, _) = collecting_channel();
    let follow_up =
        tauri::async_runtime::block_on(commands::ask(state.clone(), "Who has to approve it?".into(), Some(id.clone()), channel)).unwrap();
    assert_eq!(follow_up.conversation.id, id);
    assert_eq!(follow_up.conversation.turns, 2);
    let listed = t.ok("conversations", json!({}));
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert_eq!(listed[0]["title"], "How long can a sabbatical last?");
    let conversation = t.ok("conversation", json!({ "id": id }));
    assert_eq!(conversation["turns"].as_array().unwrap().len(), 2);
    assert!(conversation["turns"][0]["answer"]["citations"][0]["html"].is_string());

    // Stop: the first token stops the answer; it is kept as far as it got.
    let handle = t.app.handle().clone();
    let stops = Arc::new(Mutex::new(0));
    let stopped = Arc::clone(&stops);
    let channel = Channel::new(move |body: InvokeResponseBody| {
        let is_token = body.deserialize::<Value>().is_ok_and(|v| v["kind"] == "token");
        if is_token && commands::stop(handle.state::<AppState>()) {
            *stopped.lock().unwrap() += 1;
        }
        Ok(())
    });
    let outcome =
        tauri::async_runtime::block_on(commands::ask(state.clone(), "When do fire drills happen?".into(), None, channel)).unwrap();
    assert_eq!(*stops.lock().unwrap(), 1, "stop reported the running answer once");
    assert_eq!(outcome.answer.stop, brain_engine::AnswerStop::Cancelled, "{:?}", outcome.answer);
    assert!(!commands::stop(state.clone()), "nothing left to stop");

    // Deleting a conversation.
    t.ok("delete_conversation", json!({ "id": id }));
    assert_eq!(t.error_code("conversation", json!({ "id": id })), "conversation_not_found");
    state.watch_stop.store(true, std::sync::atomic::Ordering::Relaxed);
}
