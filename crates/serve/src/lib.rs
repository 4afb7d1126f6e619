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
//!   (`brain watch`) writes and sees its commits within a second; any number of servers can
//!   share one data dir, or one shared index in object storage from other machines.
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
//! Not here yet: the web UI.

pub mod sign_in;
pub mod tls;
pub mod tokens;

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use axum::extract::{ConnectInfo, DefaultBodyLimit, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::sse::{Event, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use brain_engine::{AnswerEvent, AskRequest, Engine, EngineError, ErrorPayload, Person, SearchMode, SearchRequest};
use serde::Deserialize;

/// Largest request body: a question or a query, never a document.
pub const BODY_LIMIT: usize = 16 * 1024;
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
    let ServeOptions { tls, pam_service, trusted_header } = options;
    let sessions = sign_in::Sessions::default();
    let server = Arc::new(Server { engine, data_dir, audit: Mutex::new(audit), pam_service, sessions, trusted_header });
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
        .fallback(|| async { error(StatusCode::NOT_FOUND, "not_found", "no such route").into_response() })
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .with_state(server)
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
            brain_engine::ErrorCode::InvalidArgument => StatusCode::BAD_REQUEST,
            brain_engine::ErrorCode::Cancelled => StatusCode::REQUEST_TIMEOUT,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        ApiError { status, code: payload.code.as_str().to_string(), message: payload.message }
    }
}

impl From<axum::extract::rejection::JsonRejection> for ApiError {
    fn from(rejection: axum::extract::rejection::JsonRejection) -> ApiError {
        error(rejection.status(), "invalid_argument", &rejection.body_text())
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
                return Person::named(user)
                    .map_err(|_| error(StatusCode::UNAUTHORIZED, "unauthenticated", "the proxy named an unknown account"));
            }
            // Anyone can send the header: only the proxy's is believed.
            tracing::debug!("{} from {} is not a trusted proxy: ignored", trusted.header, peer.0);
        }
        let token = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer ")).map(str::trim);
        if let Some(user) = token.and_then(|t| self.sessions.user_of(t, now_ms())) {
            return Person::named(&user).map_err(|_| error(StatusCode::UNAUTHORIZED, "unauthenticated", "this account no longer exists"));
        }
        // Read on every request (a small file): a removed token stops working at once, in every
        // server on the data dir.
        let records = tokens::load(&self.data_dir).map_err(|e| error(StatusCode::INTERNAL_SERVER_ERROR, "tokens", &e.to_string()))?;
        let user = tokens::user_of(&records, token, now_ms()).map_err(|refusal| {
            let message = match refusal {
                tokens::Refusal::Missing => "sign in: send Authorization: Bearer TOKEN",
                tokens::Refusal::Unknown => "this token is not valid",
                tokens::Refusal::Expired => "this token has expired: ask for a new one",
            };
            error(StatusCode::UNAUTHORIZED, "unauthenticated", message)
        })?;
        // The account may have been removed since its token was made.
        Person::named(&user).map_err(|_| error(StatusCode::UNAUTHORIZED, "unauthenticated", "this token's account no longer exists"))
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

/// Milliseconds since the Unix epoch: token times and audit lines.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

fn checked_text(text: &str, what: &str) -> Result<(), ApiError> {
    if text.trim().is_empty() {
        return Err(error(StatusCode::BAD_REQUEST, "invalid_argument", &format!("the {what} is empty")));
    }
    if text.chars().count() > TEXT_MAX {
        return Err(error(StatusCode::BAD_REQUEST, "invalid_argument", &format!("the {what} is longer than {TEXT_MAX} characters")));
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
        return Err(error(StatusCode::NOT_FOUND, "not_found", "sign-in by password is off on this server: use an API token"));
    };
    let Json(SignInBody { user, password }) = body?;
    // A name as accounts are named: nothing PAM or the audit log would read as something else.
    if user.is_empty() || user.len() > 64 || !user.chars().all(|c| c.is_alphanumeric() || "._-@".contains(c)) || password.len() > 1024 {
        return Err(error(StatusCode::BAD_REQUEST, "invalid_argument", "not a user name and password"));
    }
    let refused = |refusal: sign_in::SignInRefusal| match refusal {
        sign_in::SignInRefusal::Wrong => error(StatusCode::UNAUTHORIZED, "unauthenticated", "wrong user name or password"),
        sign_in::SignInRefusal::Locked { retry_after_ms } => error(
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_attempts",
            &format!("too many failed sign-ins for this account: try again in {} minutes", (retry_after_ms + 59_999) / 60_000),
        ),
        sign_in::SignInRefusal::Unavailable(reason) => {
            tracing::warn!("PAM: {reason}");
            error(StatusCode::SERVICE_UNAVAILABLE, "sign_in_unavailable", "passwords cannot be checked on this server now")
        }
    };
    server.sessions.locked(&user, now_ms()).map_err(refused)?;
    let checked = {
        let (user, password) = (user.clone(), password);
        tokio::task::spawn_blocking(move || sign_in::check_password(&service, &user, &password))
            .await
            .map_err(|e| error(StatusCode::INTERNAL_SERVER_ERROR, "internal", &e.to_string()))?
    };
    if let Err(refusal) = checked {
        if refusal == sign_in::SignInRefusal::Wrong {
            server.sessions.failed(&user, now_ms());
        }
        server.audit_user(&user, "sign-in refused", "", &[]);
        return Err(refused(refusal));
    }
    // PAM knows the account; the filter needs it in NSS too (the same directory, normally).
    let person = Person::named(&user).map_err(|_| refused(sign_in::SignInRefusal::Wrong))?;
    let (token, expires_ms) = server.sessions.start(&person.user, now_ms()).map_err(refused)?;
    server.audit(&person, "sign-in", "", &[]);
    Ok(Json(serde_json::json!({ "token": token, "user": person.user, "expires_ms": expires_ms })).into_response())
}

async fn whoami(State(server): State<Arc<Server>>, ConnectInfo(peer): ConnectInfo<Peer>, headers: HeaderMap) -> Result<Response, ApiError> {
    let p = server.person(&headers, peer)?;
    Ok(Json(serde_json::json!({ "user": p.user, "groups": p.groups })).into_response())
}

#[derive(Deserialize)]
struct SearchBody {
    query: String,
    #[serde(default)]
    k: Option<usize>,
    #[serde(default)]
    mode: Option<String>,
}

async fn search(
    State(server): State<Arc<Server>>,
    ConnectInfo(peer): ConnectInfo<Peer>,
    headers: HeaderMap,
    body: JsonBody<SearchBody>,
) -> Result<Response, ApiError> {
    let person = server.person(&headers, peer)?;
    let Json(body) = body?;
    checked_text(&body.query, "query")?;
    let mode = body
        .mode
        .as_deref()
        .map(str::parse::<SearchMode>)
        .transpose()
        .map_err(|e| error(StatusCode::BAD_REQUEST, "invalid_argument", &e))?;
    let request = SearchRequest {
        k: body.k.unwrap_or(10).clamp(1, K_MAX),
        mode,
        person: Some(person.clone()),
        ..SearchRequest::new(body.query.clone())
    };
    let results = server.engine.search(&request).await?;
    server.audit(&person, "search", &body.query, &results.iter().map(|r| r.path.as_str()).collect::<Vec<_>>());
    Ok(Json(serde_json::json!({ "results": results })).into_response())
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

async fn ask(
    State(server): State<Arc<Server>>,
    ConnectInfo(peer): ConnectInfo<Peer>,
    headers: HeaderMap,
    body: JsonBody<AskBody>,
) -> Result<Response, ApiError> {
    let person = server.person(&headers, peer)?;
    let Json(body) = body?;
    checked_text(&body.question, "question")?;
    // Checked before the stream starts, so that someone else's conversation is a plain 404.
    if let Some(id) = &body.conversation {
        server.engine.conversation_of(id, Some(&person)).map_err(|e| match e {
            EngineError::ConversationNotFound(_) | EngineError::InvalidArgument(_) => {
                error(StatusCode::NOT_FOUND, "conversation_not_found", "no such conversation")
            }
            other => ApiError::from(other),
        })?;
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
        result.map(|(conversation, _)| conversation.id)
    });
    // The engine's events as they come, then the conversation's id for follow-ups (or an error
    // event if asking failed).
    let state = (received, Some(answering), StopWhenDropped(cancel));
    let stream = futures::stream::unfold(state, |(mut received, answering, guard)| async move {
        if let Some(event) = received.recv().await {
            let data = serde_json::to_string(&event).unwrap_or_default();
            let name = match &event {
                AnswerEvent::Sources { .. } => "sources",
                AnswerEvent::Token { .. } => "token",
                AnswerEvent::Done { .. } => "done",
            };
            return Some((Ok::<Event, std::convert::Infallible>(Event::default().event(name).data(data)), (received, answering, guard)));
        }
        // The channel closed: the answer ended. Say in which conversation, or why it failed, once.
        let last = match answering?.await {
            Ok(Ok(id)) => Event::default().event("conversation").data(serde_json::json!({ "id": id }).to_string()),
            Ok(Err(e)) => Event::default().event("error").data(serde_json::json!({ "error": ErrorPayload::from(&e) }).to_string()),
            Err(e) => Event::default()
                .event("error")
                .data(serde_json::json!({ "error": { "code": "internal", "message": e.to_string() } }).to_string()),
        };
        Some((Ok(last), (received, None, guard)))
    });
    Ok(Sse::new(stream).into_response())
}

#[derive(Deserialize)]
struct FileQuery {
    path: String,
}

async fn file(
    State(server): State<Arc<Server>>,
    ConnectInfo(peer): ConnectInfo<Peer>,
    headers: HeaderMap,
    Query(query): Query<FileQuery>,
) -> Result<Response, ApiError> {
    let person = server.person(&headers, peer)?;
    let not_found = || error(StatusCode::NOT_FOUND, "not_found", "no such document");
    // Only an indexed path, as the index spells it: `..`, relative paths and links to elsewhere
    // are not indexed paths, so they are refused like any other unknown one.
    if !server.engine.readable_document(&query.path, &person).await? {
        return Err(not_found());
    }
    let bytes = tokio::fs::read(&query.path).await.map_err(|_| not_found())?;
    server.audit(&person, "file", &query.path, &[query.path.as_str()]);
    Ok(([(header::CONTENT_TYPE, "application/octet-stream")], bytes).into_response())
}
