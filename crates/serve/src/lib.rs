//! `brain-serve`: the engine behind an HTTP API for a team, every request made as the person
//! its token belongs to.
//!
//! Key design decisions:
//! - **A person, never an anonymous caller.** Each request carries a per-person API token
//!   (`Authorization: Bearer …`, made by the index's owner, stored hashed: [`tokens`]); the
//!   token names an account of this machine, whose groups are looked up on every request, and
//!   every search and answer runs with that person's readers filter inside retrieval (see
//!   `brain-access`). There is no unauthenticated route.
//! - **Nothing about a file one may not read**: a file's bytes are served only for an indexed
//!   path the person may read; any other path (unknown, unreadable, `..`) is the same 404.
//! - **A reader of the index, not its writer**: `brain serve` opens the index the indexer
//!   (`brain watch`) writes and sees its commits within a second or two; any number of servers
//!   can share one data dir, or one shared index in object storage from other machines (each
//!   searching a copy of it on its own disk: see brain-store's `replica`).
//! - **HTTPS by rustls** ([`tls`]) with the certificate and key files given; plain HTTP only on
//!   a loopback address unless asked for (behind a TLS-terminating proxy) — the front end
//!   decides, this crate serves either.
//! - Answers stream as server-sent events (the engine's `AnswerEvent`s as JSON); a client that
//!   goes away stops its answer's generation.
//! - Every search, answer and file served is appended to `audit.log` in the data dir (JSON
//!   lines: who, what, which documents were shown).
//!
//! - **Sign-in by password** (`--pam`, off by default; [`sign_in`]): PAM checks it, the browser
//!   gets a session token held in memory; failures per account are limited.
//!
//! - **Single sign-on behind a proxy** (off by default): a header naming the account, believed
//!   only from the proxies' own addresses (the TCP peer, never a forwarded-for header).
//!
//! - **The desktop app's own UI, served to browsers** ([`web_ui`]): the same front end, its
//!   screen types (`brain-views`: safe HTML made here, never in the browser) under `/api/ui/`,
//!   beside the JSON API that mirrors the CLI's.

pub mod sign_in;
pub mod tls;
pub mod tokens;
pub mod web_ui;

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use axum::extract::{ConnectInfo, DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::sse::{Event, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use brain_engine::ErrorCode;
use brain_engine::{
    Answer, AnswerEvent, AskRequest, Conversation, Engine, EngineError, ErrorPayload, Location, Marked, Person, SearchMode, SearchRequest,
    SearchResult,
};
use brain_views::{AskEvent, AskOutcome, ConversationView, SearchResultView};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// What RFC 5987 requires escaped in a `filename*` (all but its attr-chars used in file names).
const FILENAME_ESCAPED: &percent_encoding::AsciiSet =
    &percent_encoding::NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');

/// Largest request body: a question or a query, never a document.
pub const BODY_LIMIT: usize = 16 * 1024;
/// Largest body of a viewer's request: it carries the passage to mark and the answer's evidence.
const VIEW_BODY_LIMIT: usize = 64 * 1024;
/// Longest question or query, in characters.
const TEXT_MAX: usize = 2_000;
/// Most results or sources a request may ask for.
const K_MAX: usize = 50;

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("tokens: {0}")]
    Tokens(String),
    #[error("cannot listen on {addr}: {source}")]
    Listen { addr: SocketAddr, source: std::io::Error },
    #[error("the server stopped: {0}")]
    Stopped(std::io::Error),
    /// A certificate or key file that cannot be used.
    #[error("TLS: {path}: {reason}")]
    Tls { path: PathBuf, reason: String },
}

struct Server {
    engine: Arc<Engine>,
    data_dir: PathBuf,
    audit: Mutex<Option<std::fs::File>>,
    /// The PAM service that checks passwords, when sign-in by password is on.
    pam_service: Option<String>,
    sessions: sign_in::Sessions,
    trusted_header: Option<TrustedHeader>,
    web_ui: web_ui::WebUi,
    people: People,
}

/// Who an account is (its groups): the machine's accounts, or a fixed list.
#[derive(Debug, Clone, Default)]
pub enum People {
    /// The machine's accounts (NSS: local files, LDAP, SSSD), looked up on every request.
    #[default]
    System,
    /// Made-up people, for a benchmark that must not need accounts on the machine.
    Listed(Arc<Vec<Person>>),
}

impl People {
    fn named(&self, user: &str) -> Result<Person, ()> {
        match self {
            People::System => Person::named(user).map_err(drop),
            People::Listed(people) => people.iter().find(|p| p.user == user).cloned().ok_or(()),
        }
    }
}

/// Single sign-on by a reverse proxy that has authenticated the person: it names their account
/// in `header`, which is believed only on connections from `proxies`.
#[derive(Debug, Clone)]
pub struct TrustedHeader {
    pub header: axum::http::HeaderName,
    pub proxies: Vec<std::net::IpAddr>,
}

/// The TCP peer of a request: the proxy, behind one.
#[derive(Debug, Clone, Copy)]
struct Peer(std::net::IpAddr);

impl axum::extract::connect_info::Connected<axum::serve::IncomingStream<'_, tokio::net::TcpListener>> for Peer {
    fn connect_info(stream: axum::serve::IncomingStream<'_, tokio::net::TcpListener>) -> Peer {
        Peer(stream.remote_addr().ip())
    }
}

impl axum::extract::connect_info::Connected<axum::serve::IncomingStream<'_, tls::TlsListener>> for Peer {
    fn connect_info(stream: axum::serve::IncomingStream<'_, tls::TlsListener>) -> Peer {
        Peer(stream.remote_addr().ip())
    }
}

/// How a server is reached and who may sign in how.
#[derive(Default)]
pub struct ServeOptions {
    /// HTTPS with these settings (see [`tls::server_config`]); plain HTTP without.
    pub tls: Option<Arc<rustls::ServerConfig>>,
    /// Sign-in by password through this PAM service (see [`sign_in`]); API tokens only without.
    pub pam_service: Option<String>,
    /// Single sign-on by a trusted proxy's header; off without.
    pub trusted_header: Option<TrustedHeader>,
    /// The web UI for browsers (see [`web_ui`]); the API alone without.
    pub web_ui: Option<web_ui::WebUi>,
    /// Who the accounts are (the machine's by default).
    pub people: People,
}

/// Bind `addr` (port 0: any free port); returns the listener and the address it got.
pub async fn bind(addr: SocketAddr) -> Result<(tokio::net::TcpListener, SocketAddr), ServeError> {
    let listener = tokio::net::TcpListener::bind(addr).await.map_err(|source| ServeError::Listen { addr, source })?;
    let local = listener.local_addr().map_err(|source| ServeError::Listen { addr, source })?;
    Ok((listener, local))
}

/// Serve the API on `listener` until `shutdown` completes.
pub async fn serve(
    engine: Arc<Engine>,
    listener: tokio::net::TcpListener,
    options: ServeOptions,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    let data_dir = engine.data_dir().to_path_buf();
    let audit = std::fs::OpenOptions::new().create(true).append(true).open(data_dir.join("audit.log")).ok();
    let ServeOptions { tls, pam_service, trusted_header, web_ui, people } = options;
    let sessions = sign_in::Sessions::default();
    let web_ui = web_ui.unwrap_or_default();
    let server = Arc::new(Server { engine, data_dir, audit: Mutex::new(audit), pam_service, sessions, trusted_header, web_ui, people });
    let app = router(server).into_make_service_with_connect_info::<Peer>();
    match tls {
        Some(config) => {
            let listener = tls::TlsListener::new(listener, config).map_err(ServeError::Stopped)?;
            axum::serve(listener, app).with_graceful_shutdown(shutdown).await.map_err(ServeError::Stopped)
        }
        None => axum::serve(listener, app).with_graceful_shutdown(shutdown).await.map_err(ServeError::Stopped),
    }
}

fn router(server: Arc<Server>) -> Router {
    Router::new()
        .route("/api/sign-in", post(sign_in_by_password))
        .route("/api/whoami", get(whoami))
        .route("/api/search", post(search))
        .route("/api/ask", post(ask))
        .route("/api/file", get(file))
        .route("/api/status", get(status))
        .route("/api/conversations", get(conversations))
        .route("/api/conversations/{id}", get(conversation).delete(delete_conversation))
        // The web UI's shapes of the same results (brain-views, as the desktop app's IPC).
        .route("/api/ui/search", post(search_view))
        .route("/api/ui/ask", post(ask_view))
        .route("/api/ui/conversations/{id}", get(conversation_view))
        .route("/api/ui/document", post(view_document).layer(DefaultBodyLimit::max(VIEW_BODY_LIMIT)))
        .route("/api/ui/page", post(view_page).layer(DefaultBodyLimit::max(VIEW_BODY_LIMIT)))
        .fallback(web_page)
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .with_state(server)
}

/// A page of the web UI, or 404: for API paths (a JSON error, as every API route answers),
/// anything but GET/HEAD, and names the UI's build does not have.
async fn web_page(State(server): State<Arc<Server>>, method: Method, uri: Uri) -> Response {
    let path = uri.path();
    if path.starts_with("/api/") || (method != Method::GET && method != Method::HEAD) {
        return error(StatusCode::NOT_FOUND, ServerErrorCode::NotFound.as_str(), "no such route").into_response();
    }
    match server.web_ui.response(path) {
        Some(page) => page,
        None if server.web_ui.is_empty() => error(
            StatusCode::NOT_FOUND,
            ServerErrorCode::NotFound.as_str(),
            "this server has no web UI (start it with --ui DIR, a built ui/dist); the API is under /api/",
        )
        .into_response(),
        None => error(StatusCode::NOT_FOUND, ServerErrorCode::NotFound.as_str(), "no such page").into_response(),
    }
}

/// The codes of the server's own refusals, beside the engine's [`ErrorCode`]s, in the same
/// `{"error": {code, message}}` (the web UI's TypeScript type is generated from this one).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum ServerErrorCode {
    /// No credentials, or ones that are wrong, expired, or name no account.
    Unauthenticated,
    /// No such route, page, document or file — or one the person may not read.
    NotFound,
    /// Too many failed sign-ins for an account.
    TooManyAttempts,
    /// Passwords cannot be checked now (PAM failed).
    SignInUnavailable,
    /// The token file cannot be read.
    Tokens,
}

impl ServerErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ServerErrorCode::Unauthenticated => "unauthenticated",
            ServerErrorCode::NotFound => "not_found",
            ServerErrorCode::TooManyAttempts => "too_many_attempts",
            ServerErrorCode::SignInUnavailable => "sign_in_unavailable",
            ServerErrorCode::Tokens => "tokens",
        }
    }
}

/// `GET /api/whoami`: the account a request is made as, and its groups.
#[derive(Debug, Clone, Serialize, TS)]
pub struct WhoAmI {
    pub user: String,
    pub groups: Vec<String>,
}

/// `POST /api/sign-in`'s answer: a session token for the other routes, until `expires_ms`.
#[derive(Debug, Clone, Serialize, TS)]
pub struct SignedIn {
    pub token: String,
    pub user: String,
    #[ts(type = "number")]
    pub expires_ms: i64,
}

/// A refused or failed request: its status and the `{"error": {code, message}}` body every
/// front end reads.
struct ApiError {
    status: StatusCode,
    code: String,
    message: String,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(serde_json::json!({ "error": { "code": self.code, "message": self.message } }))).into_response()
    }
}

fn error(status: StatusCode, code: &str, message: &str) -> ApiError {
    ApiError { status, code: code.to_string(), message: message.to_string() }
}

impl From<EngineError> for ApiError {
    fn from(e: EngineError) -> ApiError {
        let payload = ErrorPayload::from(&e);
        let status = match payload.code {
            ErrorCode::InvalidArgument => StatusCode::BAD_REQUEST,
            ErrorCode::Cancelled => StatusCode::REQUEST_TIMEOUT,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        ApiError { status, code: payload.code.as_str().to_string(), message: payload.message }
    }
}

impl From<axum::extract::rejection::JsonRejection> for ApiError {
    fn from(rejection: axum::extract::rejection::JsonRejection) -> ApiError {
        error(rejection.status(), ErrorCode::InvalidArgument.as_str(), &rejection.body_text())
    }
}

impl Server {
    /// The person a request is made by: named by a trusted proxy, or by its bearer token.
    fn person(&self, headers: &HeaderMap, peer: Peer) -> Result<Person, ApiError> {
        if let Some(trusted) = &self.trusted_header
            && let Some(named) = headers.get(&trusted.header)
        {
            if trusted.proxies.contains(&peer.0) {
                let user = named.to_str().map(str::trim).unwrap_or_default();
                return self.people.named(user).map_err(|_| {
                    error(StatusCode::UNAUTHORIZED, ServerErrorCode::Unauthenticated.as_str(), "the proxy named an unknown account")
                });
            }
            // Anyone can send the header: only the proxy's is believed.
            tracing::debug!("{} from {} is not a trusted proxy: ignored", trusted.header, peer.0);
        }
        let token = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer ")).map(str::trim);
        if let Some(user) = token.and_then(|t| self.sessions.user_of(t, now_ms())) {
            return self
                .people
                .named(&user)
                .map_err(|_| error(StatusCode::UNAUTHORIZED, ServerErrorCode::Unauthenticated.as_str(), "this account no longer exists"));
        }
        // Read on every request (a small file): a removed token stops working at once, in every
        // server on the data dir.
        let records = tokens::load(&self.data_dir)
            .map_err(|e| error(StatusCode::INTERNAL_SERVER_ERROR, ServerErrorCode::Tokens.as_str(), &e.to_string()))?;
        let user = tokens::user_of(&records, token, now_ms()).map_err(|refusal| {
            let message = match refusal {
                tokens::Refusal::Missing => "sign in: send Authorization: Bearer TOKEN",
                tokens::Refusal::Unknown => "this token is not valid",
                tokens::Refusal::Expired => "this token has expired: ask for a new one",
            };
            error(StatusCode::UNAUTHORIZED, ServerErrorCode::Unauthenticated.as_str(), message)
        })?;
        // The account may have been removed since its token was made.
        self.people.named(&user).map_err(|_| {
            error(StatusCode::UNAUTHORIZED, ServerErrorCode::Unauthenticated.as_str(), "this token's account no longer exists")
        })
    }

    fn audit(&self, person: &Person, action: &str, text: &str, shown: &[&str]) {
        self.audit_user(&person.user, action, text, shown);
    }

    fn audit_user(&self, user: &str, action: &str, text: &str, shown: &[&str]) {
        let line = serde_json::json!({ "at_ms": now_ms(), "user": user, "action": action, "text": text, "shown": shown });
        let mut file = self.audit.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(f) = file.as_mut()
            && writeln!(f, "{line}").is_err()
        {
            tracing::warn!("cannot append to the audit log");
        }
    }
}

/// The person a request is made by ([`Server::person`]), as a handler's argument: a request
/// that names nobody is refused before its body is read.
struct Asker(Person);

impl axum::extract::FromRequestParts<Arc<Server>> for Asker {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut axum::http::request::Parts, server: &Arc<Server>) -> Result<Asker, ApiError> {
        // Every listener is served with ConnectInfo<Peer> (see `serve`).
        let peer =
            parts.extensions.get::<ConnectInfo<Peer>>().map(|c| c.0).ok_or_else(|| {
                error(StatusCode::INTERNAL_SERVER_ERROR, ErrorCode::Internal.as_str(), "the connection's peer is unknown")
            })?;
        server.person(&parts.headers, peer).map(Asker)
    }
}

/// Milliseconds since the Unix epoch: token times and audit lines.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

fn checked_text(text: &str, what: &str) -> Result<(), ApiError> {
    if text.trim().is_empty() {
        return Err(error(StatusCode::BAD_REQUEST, ErrorCode::InvalidArgument.as_str(), &format!("the {what} is empty")));
    }
    if text.chars().count() > TEXT_MAX {
        return Err(error(
            StatusCode::BAD_REQUEST,
            ErrorCode::InvalidArgument.as_str(),
            &format!("the {what} is longer than {TEXT_MAX} characters"),
        ));
    }
    Ok(())
}

/// A JSON body, or the reason it is not one (malformed, too large) as an [`ApiError`].
type JsonBody<T> = Result<Json<T>, axum::extract::rejection::JsonRejection>;

#[derive(Deserialize)]
struct SignInBody {
    user: String,
    password: String,
}

/// `POST /api/sign-in {"user", "password"}` → `{"token", "user", "expires_ms"}`: a session token
/// for the other routes, when the password is the account's.
async fn sign_in_by_password(State(server): State<Arc<Server>>, body: JsonBody<SignInBody>) -> Result<Response, ApiError> {
    let Some(service) = server.pam_service.clone() else {
        return Err(error(
            StatusCode::NOT_FOUND,
            ServerErrorCode::NotFound.as_str(),
            "sign-in by password is off on this server: use an API token",
        ));
    };
    let Json(SignInBody { user, password }) = body?;
    // A name as accounts are named: nothing PAM or the audit log would read as something else.
    if user.is_empty() || user.len() > 64 || !user.chars().all(|c| c.is_alphanumeric() || "._-@".contains(c)) || password.len() > 1024 {
        return Err(error(StatusCode::BAD_REQUEST, ErrorCode::InvalidArgument.as_str(), "not a user name and password"));
    }
    let refused = |refusal: sign_in::SignInRefusal| match refusal {
        sign_in::SignInRefusal::Wrong => {
            error(StatusCode::UNAUTHORIZED, ServerErrorCode::Unauthenticated.as_str(), "wrong user name or password")
        }
        sign_in::SignInRefusal::Locked { retry_after_ms } => error(
            StatusCode::TOO_MANY_REQUESTS,
            ServerErrorCode::TooManyAttempts.as_str(),
            &format!("too many failed sign-ins for this account: try again in {} minutes", (retry_after_ms + 59_999) / 60_000),
        ),
        sign_in::SignInRefusal::Unavailable(reason) => {
            tracing::warn!("PAM: {reason}");
            error(
                StatusCode::SERVICE_UNAVAILABLE,
                ServerErrorCode::SignInUnavailable.as_str(),
                "passwords cannot be checked on this server now",
            )
        }
    };
    server.sessions.locked(&user, now_ms()).map_err(refused)?;
    let checked = {
        let (user, password) = (user.clone(), password);
        tokio::task::spawn_blocking(move || sign_in::check_password(&service, &user, &password))
            .await
            .map_err(|e| error(StatusCode::INTERNAL_SERVER_ERROR, ErrorCode::Internal.as_str(), &e.to_string()))?
    };
    if let Err(refusal) = checked {
        if refusal == sign_in::SignInRefusal::Wrong {
            server.sessions.failed(&user, now_ms());
        }
        server.audit_user(&user, "sign-in refused", "", &[]);
        return Err(refused(refusal));
    }
    // PAM knows the account; the filter needs it in NSS too (the same directory, normally).
    let person = server.people.named(&user).map_err(|_| refused(sign_in::SignInRefusal::Wrong))?;
    let (token, expires_ms) = server.sessions.start(&person.user, now_ms()).map_err(refused)?;
    server.audit(&person, "sign-in", "", &[]);
    Ok(Json(SignedIn { token, user: person.user, expires_ms }).into_response())
}

async fn whoami(Asker(person): Asker) -> Result<Response, ApiError> {
    Ok(Json(WhoAmI { user: person.user, groups: person.groups }).into_response())
}

#[derive(Deserialize)]
struct SearchBody {
    query: String,
    #[serde(default)]
    k: Option<usize>,
    #[serde(default)]
    mode: Option<String>,
}

async fn search(State(server): State<Arc<Server>>, Asker(person): Asker, body: JsonBody<SearchBody>) -> Result<Response, ApiError> {
    let results = searched(&server, person, body).await?;
    Ok(Json(serde_json::json!({ "results": results })).into_response())
}

/// `/api/search` as the web UI shows it.
async fn search_view(State(server): State<Arc<Server>>, Asker(person): Asker, body: JsonBody<SearchBody>) -> Result<Response, ApiError> {
    let results = searched(&server, person, body).await?;
    let views: Vec<SearchResultView> = results.iter().map(SearchResultView::from).collect();
    Ok(Json(serde_json::json!({ "results": views })).into_response())
}

/// A search made for the request's person, audited.
async fn searched(server: &Server, person: Person, body: JsonBody<SearchBody>) -> Result<Vec<SearchResult>, ApiError> {
    let Json(body) = body?;
    checked_text(&body.query, "query")?;
    let mode = body
        .mode
        .as_deref()
        .map(str::parse::<SearchMode>)
        .transpose()
        .map_err(|e| error(StatusCode::BAD_REQUEST, ErrorCode::InvalidArgument.as_str(), &e))?;
    let request = SearchRequest {
        k: body.k.unwrap_or(10).clamp(1, K_MAX),
        mode,
        person: Some(person.clone()),
        ..SearchRequest::new(body.query.clone())
    };
    let results = server.engine.search(&request).await?;
    server.audit(&person, "search", &body.query, &results.iter().map(|r| r.path.as_str()).collect::<Vec<_>>());
    Ok(results)
}

#[derive(Deserialize)]
struct AskBody {
    question: String,
    #[serde(default)]
    k: Option<usize>,
    /// A follow-up in this conversation (one of the person's own, from an earlier `conversation`
    /// event); none: a new one.
    #[serde(default)]
    conversation: Option<String>,
}

/// Sets the answer's cancel flag when the response stream is dropped: the client went away.
struct StopWhenDropped(Arc<AtomicBool>);

impl Drop for StopWhenDropped {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

async fn ask(State(server): State<Arc<Server>>, Asker(person): Asker, body: JsonBody<AskBody>) -> Result<Response, ApiError> {
    answer_stream(server, person, body, Shape::Engine).await
}

/// `/api/ask` as the web UI shows it: the desktop app's `AskEvent`s, then `outcome`.
async fn ask_view(State(server): State<Arc<Server>>, Asker(person): Asker, body: JsonBody<AskBody>) -> Result<Response, ApiError> {
    answer_stream(server, person, body, Shape::Screen).await
}

/// Which shapes an answer's events take: the engine's (as `brain ask --json`), or the screen's.
#[derive(Clone, Copy)]
enum Shape {
    Engine,
    Screen,
}

impl Shape {
    fn event(self, event: AnswerEvent) -> Event {
        let name = match &event {
            AnswerEvent::Sources { .. } => "sources",
            AnswerEvent::Token { .. } => "token",
            AnswerEvent::Done { .. } => "done",
        };
        let data = match self {
            Shape::Engine => serde_json::to_string(&event),
            Shape::Screen => serde_json::to_string(&AskEvent::from(event)),
        };
        Event::default().event(name).data(data.unwrap_or_default())
    }

    /// The last event of an answer that ended well: the conversation it is in (for follow-ups).
    fn ended(self, conversation: &Conversation, answer: &Answer) -> Event {
        match self {
            Shape::Engine => Event::default().event("conversation").data(serde_json::json!({ "id": conversation.id }).to_string()),
            Shape::Screen => {
                Event::default().event("outcome").data(serde_json::to_string(&AskOutcome::new(conversation, answer)).unwrap_or_default())
            }
        }
    }
}

async fn answer_stream(server: Arc<Server>, person: Person, body: JsonBody<AskBody>, shape: Shape) -> Result<Response, ApiError> {
    let Json(body) = body?;
    checked_text(&body.question, "question")?;
    // Checked before the stream starts, so that someone else's conversation is a plain 404.
    if let Some(id) = &body.conversation {
        server.engine.conversation_of(id, Some(&person)).map_err(conversation_error)?;
    }
    let request =
        AskRequest { k: body.k.map(|k| k.clamp(1, K_MAX)), person: Some(person.clone()), ..AskRequest::new(body.question.clone()) };
    let cancel = Arc::new(AtomicBool::new(false));
    let (events, received) = tokio::sync::mpsc::unbounded_channel();
    let (engine, audit_server, flag) = (Arc::clone(&server.engine), Arc::clone(&server), Arc::clone(&cancel));
    let conversation = body.conversation;
    let answering = tokio::spawn(async move {
        let question = request.question.clone();
        let result = engine.ask_in_conversation(conversation.as_deref(), request, flag, events).await;
        if let Ok((_, answer)) = &result {
            let shown: Vec<&str> = answer.citations.iter().map(|c| c.path.as_str()).collect();
            audit_server.audit(&person, "ask", &question, &shown);
        }
        result
    });
    // The engine's events as they come, then the conversation for follow-ups (or an error event
    // if asking failed).
    let state = (received, Some(answering), StopWhenDropped(cancel));
    let stream = futures::stream::unfold(state, move |(mut received, answering, guard)| async move {
        if let Some(event) = received.recv().await {
            return Some((Ok::<Event, std::convert::Infallible>(shape.event(event)), (received, answering, guard)));
        }
        // The channel closed: the answer ended. Say in which conversation, or why it failed, once.
        let last = match answering?.await {
            Ok(Ok((conversation, answer))) => shape.ended(&conversation, &answer),
            Ok(Err(e)) => Event::default().event("error").data(serde_json::json!({ "error": ErrorPayload::from(&e) }).to_string()),
            Err(e) => Event::default()
                .event("error")
                .data(serde_json::json!({ "error": { "code": "internal", "message": e.to_string() } }).to_string()),
        };
        Some((Ok(last), (received, None, guard)))
    });
    Ok(Sse::new(stream).into_response())
}

/// Someone else's conversation, or an id that is none, is "not found" like a missing one.
fn conversation_error(e: EngineError) -> ApiError {
    match e {
        EngineError::ConversationNotFound(_) | EngineError::InvalidArgument(_) => {
            error(StatusCode::NOT_FOUND, ErrorCode::ConversationNotFound.as_str(), "no such conversation")
        }
        other => ApiError::from(other),
    }
}

/// What the person may read of the index: counts of it, nothing of the rest.
async fn status(State(server): State<Arc<Server>>, Asker(person): Asker) -> Result<Response, ApiError> {
    Ok(Json(server.engine.status_for(&person).await?).into_response())
}

/// The person's own conversations, most recent first.
async fn conversations(State(server): State<Arc<Server>>, Asker(person): Asker) -> Result<Response, ApiError> {
    Ok(Json(server.engine.conversations_of(Some(&person))?).into_response())
}

async fn conversation(State(server): State<Arc<Server>>, Asker(person): Asker, Path(id): Path<String>) -> Result<Response, ApiError> {
    Ok(Json(server.engine.conversation_as(&id, Some(&person)).await.map_err(conversation_error)?).into_response())
}

async fn conversation_view(State(server): State<Arc<Server>>, Asker(person): Asker, Path(id): Path<String>) -> Result<Response, ApiError> {
    let conversation = server.engine.conversation_as(&id, Some(&person)).await.map_err(conversation_error)?;
    Ok(Json(ConversationView::from(&conversation)).into_response())
}

async fn delete_conversation(
    State(server): State<Arc<Server>>,
    Asker(person): Asker,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    server.engine.delete_conversation_of(&id, Some(&person)).map_err(conversation_error)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// What the viewer asks for: a passage's place in its document, to mark it there.
#[derive(Deserialize)]
struct ViewBody {
    path: String,
    #[serde(default)]
    location: Option<Location>,
    #[serde(default)]
    page: Option<u32>,
    #[serde(default)]
    passage: String,
    #[serde(default)]
    evidence: Vec<String>,
}

/// A document the person may not read is "not found", like one that is not indexed.
fn viewer_error(e: EngineError) -> ApiError {
    match e {
        EngineError::NotOpenable(_) => error(StatusCode::NOT_FOUND, ServerErrorCode::NotFound.as_str(), "no such document"),
        other => ApiError::from(other),
    }
}

/// The document a passage stands in, the passage marked (the desktop app's `view_document`).
async fn view_document(State(server): State<Arc<Server>>, Asker(person): Asker, body: JsonBody<ViewBody>) -> Result<Response, ApiError> {
    let Json(body) = body?;
    let location = body.location.unwrap_or_default();
    let marked = Marked { passage: &body.passage, evidence: &body.evidence };
    let view = server.engine.view_document_as(&person, &body.path, &location, marked).await.map_err(viewer_error)?;
    server.audit(&person, "view", &body.path, &[body.path.as_str()]);
    Ok(Json(view).into_response())
}

/// A page of a PDF, drawn, with the passage's boxes (the desktop app's `view_page`).
async fn view_page(State(server): State<Arc<Server>>, Asker(person): Asker, body: JsonBody<ViewBody>) -> Result<Response, ApiError> {
    let Json(body) = body?;
    let page = body.page.ok_or_else(|| error(StatusCode::BAD_REQUEST, ErrorCode::InvalidArgument.as_str(), "which page?"))?;
    let marked = Marked { passage: &body.passage, evidence: &body.evidence };
    Ok(Json(server.engine.view_page_as(&person, &body.path, page, marked).await.map_err(viewer_error)?).into_response())
}

#[derive(Deserialize)]
struct FileQuery {
    path: String,
}

async fn file(State(server): State<Arc<Server>>, Asker(person): Asker, Query(query): Query<FileQuery>) -> Result<Response, ApiError> {
    let not_found = || error(StatusCode::NOT_FOUND, ServerErrorCode::NotFound.as_str(), "no such document");
    // Only an indexed path, as the index spells it: `..`, relative paths and links to elsewhere
    // are not indexed paths, so they are refused like any other unknown one.
    if !server.engine.readable_document(&query.path, &person).await? {
        return Err(not_found());
    }
    let bytes = tokio::fs::read(&query.path).await.map_err(|_| not_found())?;
    server.audit(&person, "file", &query.path, &[query.path.as_str()]);
    // A download, never a page of this site: a document's HTML or SVG must not run as the UI.
    let name = std::path::Path::new(&query.path).file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    // RFC 5987's `filename*`: the name's UTF-8 bytes, percent-encoded.
    let encoded = percent_encoding::utf8_percent_encode(&name, FILENAME_ESCAPED);
    let disposition = format!("attachment; filename*=UTF-8''{encoded}");
    let mut response = ([(header::CONTENT_TYPE, "application/octet-stream")], bytes).into_response();
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&disposition) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static("sandbox; default-src 'none'"));
    Ok(response)
}
