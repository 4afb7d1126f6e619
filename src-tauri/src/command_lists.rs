//! The app's command names are listed once (`command_names.rs`, which Tauri's build step and
//! the handler both expand), but three more places must name the same commands: the functions
//! of `commands.rs`, the grants of `capabilities/main.json` (written out, not generated: they
//! are the security decision of what the web view may call) and the calls in `ui/src/api.ts`.
//! These tests say which command is missing or extra where.

use std::collections::BTreeSet;

use crate::COMMANDS;

const LIST: &str = "src-tauri/src/command_names.rs";

fn read(relative: &str) -> String {
    let path = format!("{}/{relative}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Every difference between the list and the commands found in `place`, one line each.
fn differences(place: &str, found: &BTreeSet<String>, missing: &str, extra: &str) -> Vec<String> {
    let listed: BTreeSet<String> = COMMANDS.iter().map(|name| name.to_string()).collect();
    let mut out: Vec<String> =
        listed.difference(found).map(|name| format!("{place}: no `{name}`, which {LIST} lists ({missing})")).collect();
    out.extend(found.difference(&listed).map(|name| format!("{place}: `{name}` is not in {LIST} ({extra})")));
    out
}

fn assert_none(differences: Vec<String>) {
    assert!(differences.is_empty(), "the app's command lists differ:\n{}", differences.join("\n"));
}

/// The names of the `#[tauri::command]` functions.
fn command_functions(source: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let mut lines = source.lines().map(str::trim);
    while let Some(line) = lines.next() {
        if !line.starts_with("#[tauri::command") {
            continue;
        }
        let signature = lines.by_ref().find(|l| !l.starts_with("#[") && !l.starts_with("//")).unwrap_or_default();
        let after_fn = signature.split_once("fn ").unwrap_or_else(|| panic!("no function after #[tauri::command]: {signature}")).1;
        names.insert(after_fn.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect());
    }
    names
}

/// The commands a capability file grants (`allow-<name-with-dashes>`), as command names.
fn granted(capability: &str) -> BTreeSet<String> {
    let json: serde_json::Value = serde_json::from_str(capability).expect("capabilities/main.json is JSON");
    let permissions = json["permissions"].as_array().expect("capabilities/main.json has permissions");
    permissions
        .iter()
        .filter_map(|p| p.as_str().or_else(|| p["identifier"].as_str()))
        // Plugin and core permissions are prefixed (`core:event:allow-listen`); the app's are not.
        .filter(|p| !p.contains(':'))
        .filter_map(|p| p.strip_prefix("allow-"))
        .map(|name| name.replace('-', "_"))
        .collect()
}

/// The command names passed to `invoke` (`invoke("name"` or `invoke<Type>("name"`).
fn invoked(api: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for (at, _) in api.match_indices("invoke") {
        let before = api[..at].chars().next_back();
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '.') {
            continue;
        }
        let mut rest = &api[at + "invoke".len()..];
        if rest.starts_with('<') {
            // Skip the type argument, which may nest (`invoke<Array<string>>`).
            let mut depth = 0;
            let Some(end) = rest.char_indices().find_map(|(i, c)| {
                depth += match c {
                    '<' => 1,
                    '>' => -1,
                    _ => 0,
                };
                (depth == 0).then_some(i)
            }) else {
                continue;
            };
            rest = &rest[end + 1..];
        }
        let Some(argument) = rest.strip_prefix('(').map(str::trim_start).and_then(|a| a.strip_prefix('"')) else { continue };
        if let Some((name, _)) = argument.split_once('"') {
            names.insert(name.to_string());
        }
    }
    names
}

#[test]
fn the_build_step_and_the_handler_take_the_one_list() {
    let build = read("build.rs");
    assert!(build.contains(r#"include!("src/command_names.rs")"#), "build.rs must declare the commands of {LIST} (include! it)");
    let lib = read("src/lib.rs");
    assert!(lib.contains(r#"include!("command_names.rs")"#), "src/lib.rs must register the commands of {LIST} (include! it)");
    assert_eq!(lib.matches("generate_handler!").count(), 1, "src/lib.rs registers commands only through the list in {LIST}");
    let unique: BTreeSet<&str> = COMMANDS.iter().copied().collect();
    assert_eq!(unique.len(), COMMANDS.len(), "{LIST} names a command twice: {COMMANDS:?}");
}

#[test]
fn every_command_function_is_listed() {
    let found = command_functions(&read("src/commands.rs"));
    assert_none(differences(
        "src-tauri/src/commands.rs",
        &found,
        "write it, or take it off the list",
        "add it to the list, or the window cannot call it",
    ));
}

#[test]
fn the_capabilities_grant_every_listed_command_and_nothing_else() {
    let found = granted(&read("capabilities/main.json"));
    assert_none(differences(
        "src-tauri/capabilities/main.json",
        &found,
        "needs its allow-<name-with-dashes>, or Tauri refuses the call",
        "remove its allow-",
    ));
}

#[test]
fn the_window_invokes_every_listed_command_and_nothing_else() {
    let found = invoked(&read("../ui/src/api.ts"));
    assert_none(differences("ui/src/api.ts", &found, "needs a wrapper in `api`", "remove its wrapper"));
}

#[test]
fn the_readers_find_what_differs() {
    let source = "#[tauri::command]\npub fn status() {}\n/// Doc.\n#[tauri::command(async)]\npub async fn pick_folders<R: Runtime>(app: AppHandle<R>) {}\npub fn helper() {}\n";
    assert_eq!(command_functions(source), BTreeSet::from(["pick_folders".to_string(), "status".to_string()]));

    let capability =
        r#"{ "permissions": ["core:event:allow-listen", "allow-pick-folders", { "identifier": "allow-status" }, "deny-stop"] }"#;
    assert_eq!(granted(capability), BTreeSet::from(["pick_folders".to_string(), "status".to_string()]));

    let api = r#"function invoke<T>(command: CommandName) { return tauriInvoke<T>(command); }
      a: () => invoke<string[] | null>("pick_folders"), b: () => invoke<Array<Map<string, number>>>( "status" ), c: () => invoke("stop"),"#;
    assert_eq!(invoked(api), BTreeSet::from(["pick_folders".to_string(), "status".to_string(), "stop".to_string()]));

    let found = BTreeSet::from(["status".to_string(), "no_such_command".to_string()]);
    let messages = differences("api.ts", &found, "missing", "extra");
    assert!(messages.iter().any(|m| m.contains("no `app_info`, which") && m.ends_with("(missing)")), "{messages:?}");
    assert!(messages.iter().any(|m| m.contains("`no_such_command` is not in")), "{messages:?}");
    assert!(!messages.iter().any(|m| m.contains("`status`")), "{messages:?}");
}
