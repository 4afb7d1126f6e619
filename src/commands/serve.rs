//! `brain serve`: the index behind an HTTP API for a team (see `brain-serve`), and its tokens.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use brain_engine::Engine;
use clap::{Args, Subcommand};

#[derive(Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct ServeArgs {
    #[command(subcommand)]
    pub command: Option<ServeCommand>,
    /// Address to listen on (port 0: any free port, printed on start).
    #[arg(long, default_value = "127.0.0.1:8750")]
    pub listen: SocketAddr,
    /// Serve HTTPS with this certificate chain (PEM), with --tls-key.
    #[arg(long, value_name = "PEM", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The certificate's private key (PEM).
    #[arg(long, value_name = "PEM", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Serve plain HTTP on an address other than loopback (behind a proxy that speaks TLS).
    #[arg(long, conflicts_with = "tls_cert")]
    pub plain_http: bool,
    /// Let people sign in with their account's password, checked by PAM (service
    /// `corporate-brain`; checking other accounts' passwords needs root or a directory service).
    #[arg(long)]
    pub pam: bool,
    /// Single sign-on: a reverse proxy that authenticated the person names their account in this
    /// header (e.g. X-Remote-User); believed only from --trusted-proxy addresses.
    #[arg(long, value_name = "HEADER", requires = "trusted_proxy")]
    pub trusted_header: Option<String>,
    /// The proxy's address (repeatable): the TCP peer a trusted header must come from.
    #[arg(long, value_name = "IP", requires = "trusted_header")]
    pub trusted_proxy: Vec<std::net::IpAddr>,
    /// The web UI served to browsers: a built front end (ui/dist). Default: the installed one
    /// (/usr/share/corporate-brain/ui), else this source tree's ui/dist, else none (the API alone).
    #[arg(long, value_name = "DIR")]
    pub ui: Option<PathBuf>,
    /// Serve the API alone, without the web UI.
    #[arg(long, conflicts_with = "ui")]
    pub no_ui: bool,
    /// A shared index (--data-dir s3://…) is read from a copy on this machine's disk, kept
    /// current from the bucket every second; with this, every search reads the bucket instead
    /// (no disk needed, searches many times slower).
    #[arg(long)]
    pub no_copy: bool,
}

/// Where a web UI is looked for when --ui is not given: the package's, then a source tree's build.
const UI_DIRS: [&str; 2] = ["/usr/share/corporate-brain/ui", concat!(env!("CARGO_MANIFEST_DIR"), "/ui/dist")];

/// The web UI to serve: --ui's (which must be one), the first one installed, or none.
fn web_ui(args: &ServeArgs) -> anyhow::Result<Option<brain_serve::web_ui::WebUi>> {
    if args.no_ui {
        return Ok(None);
    }
    if let Some(dir) = &args.ui {
        return Ok(Some(brain_serve::web_ui::WebUi::load(dir)?));
    }
    let found = UI_DIRS.iter().map(std::path::Path::new).find(|dir| dir.join("index.html").is_file());
    match found {
        Some(dir) => Ok(Some(brain_serve::web_ui::WebUi::load(dir)?)),
        None => {
            eprintln!("no web UI found ({}): serving the API alone", UI_DIRS.join(", "));
            Ok(None)
        }
    }
}

#[derive(Subcommand)]
pub enum ServeCommand {
    /// API tokens: one per person, each naming an account of this machine.
    #[command(subcommand)]
    Tokens(TokensCommand),
}

#[derive(Subcommand)]
pub enum TokensCommand {
    /// Make a token for USER (root or the index's owner); it is printed once.
    Add {
        user: String,
        /// Valid for this many days (default: until removed).
        #[arg(long)]
        days: Option<u32>,
    },
    /// Remove every token of USER.
    Remove { user: String },
}

pub async fn run(engine: Engine, args: ServeArgs) -> anyhow::Result<i32> {
    match args.command {
        Some(ServeCommand::Tokens(TokensCommand::Add { user, days })) => {
            // The same rule as --as: making a token is acting as that person.
            let person = engine.person_named(&user)?;
            let token = brain_serve::tokens::add(engine.data_dir(), &person.user, days, brain_serve::now_ms())?;
            println!("{token}");
            Ok(0)
        }
        Some(ServeCommand::Tokens(TokensCommand::Remove { user })) => {
            engine.person_named(&user)?;
            let removed = brain_serve::tokens::remove(engine.data_dir(), &user)?;
            println!("removed {removed} token(s) of {user}");
            Ok(0)
        }
        None => {
            let tls = match (&args.tls_cert, &args.tls_key) {
                (Some(cert), Some(key)) => {
                    Some(brain_serve::tls::server_config(&brain_serve::tls::TlsFiles { cert: cert.clone(), key: key.clone() })?)
                }
                _ => None,
            };
            // Tokens and answers in clear text cross only this machine, unless asked for.
            if tls.is_none() && !args.listen.ip().is_loopback() && !args.plain_http {
                anyhow::bail!(
                    "{} is reachable from other machines: serve HTTPS (--tls-cert FILE --tls-key FILE), or --plain-http behind a proxy that does",
                    args.listen
                );
            }
            let web_ui = web_ui(&args)?;
            if let Some(uri) = engine.shared_index() {
                eprintln!("opening the shared index {uri}{}", if args.no_copy { "" } else { " (copying it to this machine)" });
            }
            engine.open_index().await?;
            let (listener, addr) = brain_serve::bind(args.listen).await?;
            // Scripts (and the tests) read the address from this line.
            println!("listening on {}://{addr}", if tls.is_some() { "https" } else { "http" });
            let shutdown = async {
                let _ = tokio::signal::ctrl_c().await;
            };
            let terminate = async {
                if let Ok(mut term) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                    term.recv().await;
                }
            };
            let trusted_header = match &args.trusted_header {
                Some(name) => Some(brain_serve::TrustedHeader {
                    header: name.parse().map_err(|_| anyhow::anyhow!("{name:?} is not an HTTP header name"))?,
                    proxies: args.trusted_proxy.clone(),
                }),
                None => None,
            };
            let pam_service = args.pam.then(|| brain_serve::sign_in::PAM_SERVICE.to_string());
            let options = brain_serve::ServeOptions { tls, pam_service, trusted_header, web_ui, people: brain_serve::People::System };
            brain_serve::serve(Arc::new(engine), listener, options, async move {
                tokio::select! { _ = shutdown => {}, _ = terminate => {} }
            })
            .await?;
            Ok(0)
        }
    }
}
