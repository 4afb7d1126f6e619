//! `brain serve`: the index behind an HTTP API for a team (see `brain-serve`), and its tokens.

use std::net::SocketAddr;
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
            let (listener, addr) = brain_serve::bind(args.listen).await?;
            // Scripts (and the tests) read the address from this line.
            println!("listening on http://{addr}");
            let shutdown = async {
                let _ = tokio::signal::ctrl_c().await;
            };
            let terminate = async {
                if let Ok(mut term) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                    term.recv().await;
                }
            };
            brain_serve::serve(Arc::new(engine), listener, async move {
                tokio::select! { _ = shutdown => {}, _ = terminate => {} }
            })
            .await?;
            Ok(0)
        }
    }
}
