//! The web UI's files (the desktop app's front end, `ui/dist`), served to browsers from memory.
//!
//! Read once at start-up into a map of the names the build produced: a request can only name
//! one of those, so no path from a request ever reaches the file system (nothing to traverse,
//! no symlink to follow out). Written here rather than with a static-files service because
//! that is all it takes — a built front end is a dozen files — and the only one in the build
//! (tower-http's) would need a feature that recompiles the HTTP stack under LanceDB.
//!
//! Every page goes out with the same Content-Security-Policy as the desktop app's window
//! (scripts and styles of this origin only, pictures from this origin or `data:` — the
//! viewer's pages), and is never framed by another site.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// The browser's rules for the UI's pages: the Tauri window's CSP (src-tauri/tauri.conf.json)
/// with `connect-src 'self'` (the API) in place of the IPC.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
     font-src 'self'; media-src 'none'; connect-src 'self'; object-src 'none'; frame-src 'none'; worker-src 'none'; \
     base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// More than any front end's build; a folder holding more is not one.
const MAX_FILES: usize = 1_000;
const MAX_BYTES: u64 = 64 * 1024 * 1024;

/// A built front end, in memory.
#[derive(Debug, Default)]
pub struct WebUi {
    /// By URL path ("/", "/assets/index-1a2b.js").
    files: HashMap<String, (Vec<u8>, &'static str)>,
}

#[derive(Debug, thiserror::Error)]
#[error("web UI {dir}: {reason}")]
pub struct WebUiError {
    pub dir: PathBuf,
    pub reason: String,
}

impl WebUi {
    /// The built front end in `dir` (its `index.html` and what it loads).
    pub fn load(dir: &Path) -> Result<WebUi, WebUiError> {
        let fail = |reason: String| WebUiError { dir: dir.to_path_buf(), reason };
        if !dir.join("index.html").is_file() {
            return Err(fail("no index.html here: build the front end (cd ui && npm ci && npm run build)".into()));
        }
        let mut ui = WebUi::default();
        let mut total = 0u64;
        let mut pending = vec![dir.to_path_buf()];
        while let Some(folder) = pending.pop() {
            let entries = std::fs::read_dir(&folder).map_err(|e| fail(format!("{}: {e}", folder.display())))?;
            for entry in entries {
                let entry = entry.map_err(|e| fail(e.to_string()))?;
                let path = entry.path();
                // Links are not followed: what is served is what the build wrote.
                let kind = entry.file_type().map_err(|e| fail(e.to_string()))?;
                if kind.is_dir() {
                    pending.push(path);
                    continue;
                }
                if !kind.is_file() {
                    continue;
                }
                let Some(url) = url_path(dir, &path) else { continue };
                let bytes = std::fs::read(&path).map_err(|e| fail(format!("{}: {e}", path.display())))?;
                total += bytes.len() as u64;
                if ui.files.len() >= MAX_FILES || total > MAX_BYTES {
                    return Err(fail(format!("more than {MAX_FILES} files or {} MB: not a built front end", MAX_BYTES >> 20)));
                }
                ui.files.insert(url, (bytes, content_type(&path)));
            }
        }
        if let Some(index) = ui.files.get("/index.html").cloned() {
            ui.files.insert("/".into(), index);
        }
        Ok(ui)
    }

    /// The file at `url_path`, with the headers every page of the UI carries; `None`: not one.
    pub fn response(&self, url_path: &str) -> Option<Response> {
        let (bytes, content_type) = self.files.get(url_path)?;
        let mut response = (StatusCode::OK, bytes.clone()).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
        headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CONTENT_SECURITY_POLICY));
        headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
        headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
        headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
        // Vite names its bundles by their hash; the page itself must be asked for again.
        let cache = if url_path.starts_with("/assets/") { "public, max-age=31536000, immutable" } else { "no-cache" };
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
        Some(response)
    }

    pub fn len(&self) -> usize {
        self.files.len()
    }

    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }
}

/// "/assets/x.js" for `dir/assets/x.js`; `None` for a name a URL cannot carry plainly.
fn url_path(dir: &Path, file: &Path) -> Option<String> {
    let relative = file.strip_prefix(dir).ok()?;
    let mut url = String::new();
    for part in relative.components() {
        let part = part.as_os_str().to_str()?;
        if !part.chars().all(|c| c.is_ascii_alphanumeric() || "._-@".contains(c)) {
            return None;
        }
        url.push('/');
        url.push_str(part);
    }
    Some(url)
}

fn content_type(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()).unwrap_or_default() {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" | "map" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "woff2" => "font/woff2",
        "woff" => "font/woff",
        "txt" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_files_of_the_build_are_served_with_the_pages_rules() {
        let dir = tempfile::tempdir().unwrap();
        assert!(WebUi::load(dir.path()).is_err(), "no index.html: not a front end");
        std::fs::create_dir(dir.path().join("assets")).unwrap();
        std::fs::write(dir.path().join("index.html"), "<!doctype html><title>x</title>").unwrap();
        std::fs::write(dir.path().join("assets/index-1a2b.js"), "console.log(1)").unwrap();
        std::fs::write(dir.path().join("assets/odd name.js"), "x").unwrap();
        std::os::unix::fs::symlink("/etc/passwd", dir.path().join("assets/passwd.js")).unwrap();
        let ui = WebUi::load(dir.path()).unwrap();

        let page = ui.response("/").unwrap();
        assert_eq!(page.headers()[header::CONTENT_TYPE], "text/html; charset=utf-8");
        assert!(page.headers()[header::CONTENT_SECURITY_POLICY].to_str().unwrap().contains("script-src 'self'"));
        assert_eq!(page.headers()[header::CACHE_CONTROL], "no-cache");
        let script = ui.response("/assets/index-1a2b.js").unwrap();
        assert_eq!(script.headers()[header::CONTENT_TYPE], "text/javascript; charset=utf-8");
        assert!(script.headers()[header::CACHE_CONTROL].to_str().unwrap().contains("immutable"));
        for absent in ["/assets/passwd.js", "/assets/odd name.js", "/assets/../index.html", "/../etc/passwd", "/nothing", ""] {
            assert!(ui.response(absent).is_none(), "{absent}");
        }
        assert_eq!(ui.len(), 3, "index.html (twice: / and /index.html) and the script");
    }
}
