//! `brain-bench serve`: many people searching one team server at once — the scale harness's
//! index (100,000 chunks by default, every file readable by one of seven teams) served by the
//! real `brain serve` stack (axum, tokens, the person's readers filter inside retrieval) in
//! this process, on the local disk or on a shared index in object storage.
//!
//! Three runs with the same queries and the same concurrency, so their ratios are the figures:
//! - **HTTP, as a person**: `clients` connections, each sending its searches one after another
//!   (`POST /api/search`, keep-alive) with a team member's token; every hit is checked to be
//!   their team's.
//! - **The engine, as the same person**: the same searches as `clients` concurrent tasks on
//!   the server's engine — what HTTP, JSON and authentication add is the difference.
//! - **The engine, as the index's owner**: no readers filter — the filter's cost is the
//!   difference to the run above.
//!
//! On a shared index the server is a replica as `brain serve` runs one: it reads a copy of the
//! index on this machine's disk, kept current from the bucket (the time to make that copy is
//! reported), and a fourth run times the person's searches on an engine that reads the bucket
//! itself (`brain serve --no-copy`) — one search per client, it is that much slower.
//!
//! The clients are plain HTTP/1.1 over tokio's TCP (one request line, a JSON body, the reply
//! read by its Content-Length): nothing else is needed to load a JSON API, and the HTTP client
//! crates in the build would need features that recompile the HTTP stack under LanceDB.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use brain_engine::{Engine, EngineOptions, Person, SearchMode, SearchRequest};
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};

use crate::scale::{self, PERSONS_TEAM, ScaleOptions};
use crate::speed::percentile;
use crate::{BenchError, io};

type Result<T, E = BenchError> = std::result::Result<T, E>;

#[derive(Debug, Clone)]
pub struct ServeBenchOptions {
    /// The index served (its `work_dir` is where it is built or reused).
    pub scale: ScaleOptions,
    /// Concurrent clients.
    pub clients: usize,
    /// Searches each client sends.
    pub searches_per_client: usize,
    /// Serve a shared index in object storage (`s3://bucket/prefix`, with the `AWS_*` settings)
    /// instead of the local disk: the index is uploaded there first, unless it already is.
    pub shared_index: Option<String>,
}

/// Latencies and throughput of one run.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
pub struct Load {
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub searches_per_s: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ServeReport {
    pub chunks: usize,
    pub files: usize,
    /// "local disk" or the shared index's address.
    pub store: String,
    pub clients: usize,
    pub searches: usize,
    pub http_as_person: Load,
    pub engine_as_person: Load,
    pub engine_as_owner: Load,
    /// p95 as a person / p95 as the owner, both on the engine: what the readers filter costs.
    pub filter_p95_ratio: f64,
    /// p95 over HTTP / p95 on the engine, both as the person: what serving costs.
    pub http_p95_ratio: f64,
    /// A shared index: seconds to make the replica's copy of it (none there before).
    pub copy_s: Option<f64>,
    /// A shared index: the person's searches on an engine reading the bucket itself instead of
    /// a copy (one per client).
    pub engine_as_person_from_bucket: Option<Load>,
    /// p50 from the bucket / p50 from the copy, both on the engine as the person.
    pub copy_p50_speedup: Option<f64>,
}

/// The person whose searches are timed: a member of one of the seven teams.
fn team_member() -> Person {
    Person { user: "bench-reader".into(), groups: vec![scale::team(PERSONS_TEAM)] }
}

pub async fn run(engine: &Engine, options: &ServeBenchOptions, mut progress: impl FnMut(&str)) -> Result<ServeReport> {
    let work_dir = match &options.scale.work_dir {
        Some(dir) => dir.clone(),
        None => return Err(BenchError::Dataset("the serve benchmark needs a work dir (--work-dir) for the index it serves".into())),
    };
    let (files, queries) = scale::index_for_serving(engine, &options.scale, &work_dir, &mut progress).await?;
    // The built index becomes a data dir's own index: its description and settings are the
    // sampled index's (the same embedder).
    for name in ["index.json", "settings.toml"] {
        let from = engine.data_dir().join(name);
        if from.is_file() {
            std::fs::copy(&from, work_dir.join(name)).map_err(|e| io(&from, e))?;
        }
    }
    let local = |name: &str| -> Result<PathBuf> {
        let dir = work_dir.join(name);
        // Made anew each run, so that the copy's time is a first copy's.
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).map_err(|e| io(&dir, e))?;
        if let Some(settings) = Some(work_dir.join("settings.toml")).filter(|p| p.is_file()) {
            std::fs::copy(&settings, dir.join("settings.toml")).map_err(|e| io(&settings, e))?;
        }
        Ok(dir)
    };
    let (served, store, copy_s, from_bucket) = match &options.shared_index {
        None => {
            let served = Engine::open(EngineOptions { data_dir: work_dir.clone(), shared_index: None, ..engine.options().clone() })?;
            (served, "local disk".to_string(), None, None)
        }
        Some(uri) => {
            upload(&work_dir, uri, &mut progress).await?;
            let shared = EngineOptions { shared_index: Some(uri.clone()), ..engine.options().clone() };
            let served = Engine::open(EngineOptions { data_dir: local("replica")?, replica: true, ..shared.clone() })?;
            progress("copying the shared index to the replica");
            let started = Instant::now();
            served.open_index().await?;
            let copy_s = started.elapsed().as_secs_f64();
            let from_bucket = Engine::open(EngineOptions { data_dir: local("reader")?, replica: false, ..shared })?;
            (served, uri.clone(), Some(copy_s), Some(Arc::new(from_bucket)))
        }
    };
    let served = Arc::new(served);
    let person = team_member();
    let token = token_for(&served, &person)?;

    let (listener, addr) = brain_serve::bind("127.0.0.1:0".parse().expect("an address")).await.map_err(serve_error)?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server_options =
        brain_serve::ServeOptions { people: brain_serve::People::Listed(Arc::new(vec![person.clone()])), ..Default::default() };
    let server = tokio::spawn(brain_serve::serve(Arc::clone(&served), listener, server_options, async move {
        let _ = stopped.await;
    }));

    // Warm: the indexes opened and the embedder loaded before anything is timed.
    progress("warming up");
    for q in queries.iter().take(3) {
        served.search(&request(q, Some(person.clone()))).await?;
        served.search(&request(q, None)).await?;
    }
    let searches = options.clients.max(1) * options.searches_per_client.max(1);
    progress(&format!("{searches} searches over HTTP by {} clients", options.clients));
    let http_as_person = over_http(addr, &token, &queries, options).await?;
    progress("the same searches on the engine, as the person");
    let engine_as_person = on_engine(&served, &queries, options, Some(person.clone())).await?;
    progress("the same searches on the engine, as the index's owner");
    let engine_as_owner = on_engine(&served, &queries, options, None).await?;
    let _ = stop.send(());
    let _ = server.await;
    let engine_as_person_from_bucket = match &from_bucket {
        Some(reader) => {
            progress("the person's searches on an engine reading the bucket (one per client)");
            for q in queries.iter().take(3) {
                reader.search(&request(q, Some(person.clone()))).await?;
            }
            let one_each = ServeBenchOptions { searches_per_client: 1, ..options.clone() };
            Some(on_engine(reader, &queries, &one_each, Some(person.clone())).await?)
        }
        None => None,
    };

    Ok(ServeReport {
        chunks: options.scale.chunks,
        files,
        store,
        clients: options.clients,
        searches,
        http_as_person,
        engine_as_person,
        engine_as_owner,
        filter_p95_ratio: engine_as_person.p95_ms / engine_as_owner.p95_ms.max(f64::MIN_POSITIVE),
        http_p95_ratio: http_as_person.p95_ms / engine_as_person.p95_ms.max(f64::MIN_POSITIVE),
        copy_s,
        engine_as_person_from_bucket,
        copy_p50_speedup: engine_as_person_from_bucket.map(|b| b.p50_ms / engine_as_person.p50_ms.max(f64::MIN_POSITIVE)),
    })
}

fn serve_error(e: brain_serve::ServeError) -> BenchError {
    BenchError::Dataset(format!("the server: {e}"))
}

/// A token for `person` in the served engine's data dir (made anew each run).
fn token_for(engine: &Engine, person: &Person) -> Result<String> {
    let _ = brain_serve::tokens::remove(engine.data_dir(), &person.user);
    brain_serve::tokens::add(engine.data_dir(), &person.user, None, brain_serve::now_ms()).map_err(serve_error)
}

fn request(query: &str, person: Option<Person>) -> SearchRequest {
    SearchRequest { k: 10, mode: Some(SearchMode::Hybrid), person, ..SearchRequest::new(query.to_string()) }
}

/// The queries client `c` sends, in order.
fn queries_of<'a>(queries: &'a [String], client: usize, n: usize) -> impl Iterator<Item = &'a String> + 'a {
    (0..n).map(move |i| &queries[(client * 7 + i) % queries.len()])
}

fn load(mut times: Vec<f64>, wall: Duration) -> Load {
    times.sort_by(f64::total_cmp);
    Load { p50_ms: percentile(&times, 50.0), p95_ms: percentile(&times, 95.0), searches_per_s: times.len() as f64 / wall.as_secs_f64() }
}

async fn on_engine(engine: &Arc<Engine>, queries: &[String], options: &ServeBenchOptions, person: Option<Person>) -> Result<Load> {
    let started = Instant::now();
    let mut clients = tokio::task::JoinSet::new();
    for client in 0..options.clients.max(1) {
        let (engine, person) = (Arc::clone(engine), person.clone());
        let mine: Vec<String> = queries_of(queries, client, options.searches_per_client.max(1)).cloned().collect();
        clients.spawn(async move {
            let mut times = Vec::new();
            for q in mine {
                let t = Instant::now();
                let hits = engine.search(&request(&q, person.clone())).await?;
                times.push(t.elapsed().as_secs_f64() * 1000.0);
                if person.is_some()
                    && let Some(h) = hits.iter().find(|h| scale::team_of_path(&h.path) != Some(PERSONS_TEAM))
                {
                    return Err(BenchError::FilterLeaked { folder: scale::team(PERSONS_TEAM), path: h.path.clone() });
                }
            }
            Ok::<_, BenchError>(times)
        });
    }
    let mut times = Vec::new();
    while let Some(done) = clients.join_next().await {
        times.extend(done??);
    }
    Ok(load(times, started.elapsed()))
}

async fn over_http(addr: std::net::SocketAddr, token: &str, queries: &[String], options: &ServeBenchOptions) -> Result<Load> {
    let started = Instant::now();
    let mut clients = tokio::task::JoinSet::new();
    for client in 0..options.clients.max(1) {
        let token = token.to_string();
        let mine: Vec<String> = queries_of(queries, client, options.searches_per_client.max(1)).cloned().collect();
        clients.spawn(async move {
            let stream = tokio::net::TcpStream::connect(addr).await.map_err(|e| io(Path::new("the server"), e))?;
            let mut connection = tokio::io::BufReader::new(stream);
            let mut times = Vec::new();
            for q in mine {
                let body = serde_json::json!({ "query": q, "k": 10, "mode": "hybrid" }).to_string();
                let t = Instant::now();
                let (status, reply) = exchange(&mut connection, &token, &body).await.map_err(|e| io(Path::new("the server"), e))?;
                times.push(t.elapsed().as_secs_f64() * 1000.0);
                if status != 200 {
                    return Err(BenchError::Dataset(format!("the server answered {status}: {}", String::from_utf8_lossy(&reply))));
                }
                let results: serde_json::Value = serde_json::from_slice(&reply).unwrap_or_default();
                let paths = results["results"].as_array().map(|r| r.iter().filter_map(|h| h["path"].as_str()).collect::<Vec<_>>());
                if let Some(leaked) = paths.unwrap_or_default().into_iter().find(|p| scale::team_of_path(p) != Some(PERSONS_TEAM)) {
                    return Err(BenchError::FilterLeaked { folder: scale::team(PERSONS_TEAM), path: leaked.to_string() });
                }
            }
            Ok::<_, BenchError>(times)
        });
    }
    let mut times = Vec::new();
    while let Some(done) = clients.join_next().await {
        times.extend(done??);
    }
    Ok(load(times, started.elapsed()))
}

/// One search on a kept-alive connection: the status and the body (read by its length).
async fn exchange(
    connection: &mut tokio::io::BufReader<tokio::net::TcpStream>,
    token: &str,
    body: &str,
) -> std::io::Result<(u16, Vec<u8>)> {
    let request = format!(
        "POST /api/search HTTP/1.1\r\nHost: bench\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    connection.get_mut().write_all(request.as_bytes()).await?;
    let (mut status, mut length) = (0u16, 0usize);
    let mut line = String::new();
    loop {
        line.clear();
        if connection.read_line(&mut line).await? == 0 {
            return Err(std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "the server closed the connection"));
        }
        if line == "\r\n" {
            break;
        }
        if line.starts_with("HTTP/") {
            status = line.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
        } else if let Some((name, value)) = line.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse().unwrap_or(0);
        }
    }
    let mut reply = vec![0u8; length];
    connection.read_exact(&mut reply).await?;
    Ok((status, reply))
}

/// The built index's tables and description, copied to the shared index's prefix — unless the
/// same build is there already (its `scale-built.json`).
async fn upload(work_dir: &Path, uri: &str, progress: &mut impl FnMut(&str)) -> Result<()> {
    let bucket = brain_store::Bucket::from_env(uri)?;
    let built = std::fs::read(work_dir.join("scale-built.json")).map_err(|e| io(work_dir, e))?;
    if bucket.read("scale-built.json").await?.as_deref() == Some(built.as_slice()) {
        return Ok(());
    }
    bucket.delete_index(&["scale-built.json", "index.json"]).await?;
    let files: Vec<PathBuf> = ignore::WalkBuilder::new(work_dir.join("lancedb"))
        .standard_filters(false)
        .build()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_some_and(|t| t.is_file()))
        .map(|e| e.into_path())
        .collect();
    for (i, file) in files.iter().enumerate() {
        progress(&format!("uploading the index to {uri}: file {} of {}", i + 1, files.len()));
        let relative = file.strip_prefix(work_dir).unwrap_or(file).to_string_lossy().into_owned();
        let bytes = std::fs::read(file).map_err(|e| io(file, e))?;
        bucket.write(&relative, bytes).await?;
    }
    let meta = std::fs::read(work_dir.join("index.json")).map_err(|e| io(work_dir, e))?;
    bucket.write("index.json", meta).await?;
    bucket.write("scale-built.json", built).await?;
    Ok(())
}
