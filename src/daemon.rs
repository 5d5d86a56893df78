//! Wiring: config → pipeline → index writer → pollers → HTTP API, and a clean shutdown.
//!
//! [`start`] brings everything up and returns at once with the bound address, so tests
//! run the real daemon in-process on an ephemeral port; [`Daemon::shutdown`] stops the
//! pollers, lets the writer make its final commit (with every source's position) and
//! stops the HTTP server.

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::access::{AccessError, LoginBrake, LoginLimiter, UsersStore};
use crate::config::Config;
use crate::http::{self, AppState};
use crate::pipeline::{Pipeline, PipelineError};
use crate::poll::http::FetchError;
use crate::poll::{self, Poller, StatusBoard};
use crate::search::writer::{self, CommitPolicy, WriterHandle};
use crate::search::{IndexError, MentionIndex};
use crate::sources::SourceError;
use crate::state::{StateDb, StateError};

/// Why the daemon could not start or stopped badly.
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    #[error(transparent)]
    Pipeline(#[from] PipelineError),
    #[error(transparent)]
    Index(#[from] IndexError),
    #[error(transparent)]
    Source(#[from] SourceError),
    #[error(transparent)]
    State(#[from] StateError),
    #[error(transparent)]
    Access(#[from] AccessError),
    #[error("{at}: key `http.listen`: refusing to listen on {addr} without any user: add one with `webcare user add NAME --role admin` (users file {users_file}), or listen on 127.0.0.1")]
    NoUsers {
        /// The config file, and the line of `listen` where it has one.
        at: String,
        addr: SocketAddr,
        users_file: std::path::PathBuf,
    },
    #[error("HTTP client: {0}")]
    Client(#[from] FetchError),
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("cannot create the data directory {path}: {source}")]
    DataDir {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error("HTTP server: {0}")]
    Serve(std::io::Error),
    #[error("a daemon task failed: {0}")]
    Task(String),
}

/// A running daemon.
pub struct Daemon {
    addr: SocketAddr,
    index: MentionIndex,
    board: StatusBoard,
    cancel: CancellationToken,
    pollers: tokio::task::JoinSet<()>,
    poller: Arc<Poller>,
    writer_thread: std::thread::JoinHandle<Result<(), IndexError>>,
    /// To stop the writer at the end, whoever else still holds a handle.
    writer: WriterHandle,
    server: JoinHandle<std::io::Result<()>>,
}

/// Starts the daemon described by `config`.
pub async fn start(config: &Config) -> Result<Daemon, DaemonError> {
    crate::state::ensure_private_dir(&config.storage.data_dir).map_err(|source| {
        DaemonError::DataDir {
            path: config.storage.data_dir.clone(),
            source,
        }
    })?;
    let users = Arc::new(UsersStore::open(&config.access.users_file)?);
    check_listen(config, &users.current())?;
    if users.current().is_empty() {
        tracing::warn!(
            users_file = %config.access.users_file.display(),
            "no users: nobody can sign in to the API until one is added with `webcare user add`"
        );
    }
    let pipeline = Arc::new(Pipeline::from_config(&config.pipeline)?);
    for note in pipeline.config_notes() {
        tracing::warn!(topics_dir = %config.pipeline.topics_dir.display(), "{note}");
    }
    tracing::info!(rules = pipeline.topics().rule_count(), stages = ?Pipeline::stage_names(), models = %pipeline.models_summary(), "pipeline ready");
    let index = MentionIndex::open(&config.storage.data_dir)?;
    let checkpoints = index.checkpoints()?;
    warn_of_unknown_positions(config, &checkpoints);
    tracing::info!(path = %index.path().display(), mentions = index.num_mentions(), "index open");
    let signatures = index.load_duplicates(&mut pipeline.duplicates())?;
    tracing::info!(signatures, "near-duplicate table rebuilt");
    let policy = CommitPolicy {
        max_docs: config.storage.commit_max_docs,
        interval: config.storage.commit_interval,
    };
    let (writer, writer_thread) = writer::spawn(&index, policy, tokio::runtime::Handle::current())?;
    // Upgraded only now, with the index this version's and its lock held: a start that
    // is refused (an index to rebuild, another daemon running) leaves the state database
    // as the running or the older webcare needs it.
    let state = Arc::new(StateDb::open(&config.storage.data_dir)?);
    // What the index no longer holds is quoted nowhere, before anything is mailed: a
    // state restored from before an erasure (or an index swept by the writer above)
    // would otherwise send it out again.
    // Not with an index that holds nothing: a new one, or one lost (a data directory
    // restored without it), against which every quote would look erased and go for good.
    if index.num_mentions() > 0 {
        crate::retention::forget_in_copies(&index, &state, Some(&config.export.out_dir))?;
    } else {
        tracing::warn!("the index holds no mentions: the quotes in alert incidents, stored mail and export files are left as they are until an erasure or the retention run");
    }
    let writer_handle = writer.clone();
    let board = StatusBoard::default();
    let poller = Arc::new(
        Poller::new(
            &config.poll,
            &config.privacy,
            pipeline.clone(),
            writer.clone(),
            board.clone(),
        )?
        .with_holds(state.clone()),
    );
    let cancel = CancellationToken::new();
    let mut pollers = poll::spawn_sources(poller.clone(), &config.sources, &checkpoints, &cancel)?;
    if config.alerts.enabled {
        pollers.spawn(crate::alerts::run_periodically(
            index.clone(),
            pipeline.clone(),
            state.clone(),
            config.alerts.clone(),
            config.mail.clone(),
            cancel.clone(),
        ));
    }
    if config.export.enabled {
        pollers.spawn(crate::export::schedule::run_weekly(
            crate::export::schedule::Weekly {
                index: index.clone(),
                pipeline: pipeline.clone(),
                state: state.clone(),
                settings: config.export.clone(),
                thresholds: config.alerts.thresholds(),
                privacy: config.privacy.clone(),
            },
            cancel.clone(),
        ));
    }
    if let Some(smtp) = config.mail.smtp.clone() {
        pollers.spawn(crate::alerts::mail::run_sender(
            state.clone(),
            smtp,
            config.mail.from.clone(),
            cancel.clone(),
        ));
    } else {
        warn_of_mail_held_back(&state);
    }
    pollers.spawn(crate::retention::run_daily(
        crate::retention::Daily {
            writer: writer.clone(),
            index: index.clone(),
            clock: poller.clock(),
            sources: config.enabled_sources().count(),
            state: state.clone(),
            privacy: config.privacy.clone(),
            exports: Some(config.export.out_dir.clone()),
            pipeline: pipeline.clone(),
        },
        cancel.clone(),
    ));
    let listener = tokio::net::TcpListener::bind(config.http.listen)
        .await
        .map_err(|source| DaemonError::Listen {
            addr: config.http.listen,
            source,
        })?;
    let addr = listener.local_addr().map_err(DaemonError::Serve)?;
    let limiter = LoginBrake::default();
    http::auth::remember_logins(&limiter, &state);
    let app = http::router(AppState {
        index: index.clone(),
        board: board.clone(),
        started: chrono::Utc::now(),
        state,
        users,
        limiter,
        passwords: http::auth::PasswordGate::default(),
        audit_brake: LoginLimiter::default(),
        writer: Some(writer),
        pipeline,
        session_ttl: config.access.session_ttl,
        secure_cookies: config.access.secure_cookies,
        alerts_window: config.alerts.window(),
        exports: Some(config.export.out_dir.clone()),
        time_zone: config.export.schedule.tz,
        trusted_proxies: config.http.trusted_proxies.clone(),
        source_names: config.source_names(),
        languages: config.pipeline.languages.clone(),
    });
    let stop = cancel.clone();
    let server = tokio::spawn(http::serve(
        listener,
        app,
        config.http.header_timeout,
        config.http.trusted_proxies.clone(),
        stop,
    ));
    tracing::info!(%addr, sources = config.enabled_sources().count(), "webcare is listening");
    Ok(Daemon {
        addr,
        index,
        board,
        cancel,
        pollers,
        poller,
        writer_thread,
        writer: writer_handle,
        server,
    })
}

impl Daemon {
    /// The address the HTTP API listens on (useful with port 0).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn index(&self) -> &MentionIndex {
        &self.index
    }

    pub fn board(&self) -> &StatusBoard {
        &self.board
    }

    /// Stops polling, commits what the writer holds (with positions) and stops serving.
    pub async fn shutdown(mut self) -> Result<(), DaemonError> {
        tracing::info!("shutting down");
        self.cancel.cancel();
        while self.pollers.join_next().await.is_some() {}
        // The server (for erasure) and the pollers hold the other writer handles: once
        // both are gone the channel closes, and the writer makes its final commit.
        let served = match tokio::time::timeout(SERVER_GRACE, &mut self.server).await {
            Ok(joined) => joined.map_err(|e| DaemonError::Task(e.to_string()))?,
            Err(_) => {
                // A client that never finishes its request (or a slow one) would hold
                // the shutdown for as long as it likes; its connection is closed.
                tracing::warn!(
                    grace_secs = SERVER_GRACE.as_secs(),
                    "connections still open after the grace period; closing them"
                );
                self.server.abort();
                let _ = (&mut self.server).await;
                Ok(())
            }
        };
        drop(self.poller);
        self.writer.stop().await;
        let writer = self.writer_thread;
        let written = tokio::task::spawn_blocking(move || writer.join())
            .await
            .map_err(|e| DaemonError::Task(e.to_string()))?
            .map_err(|_| DaemonError::Task("the index writer panicked".into()))?;
        written?;
        served.map_err(DaemonError::Serve)?;
        tracing::info!("stopped cleanly");
        Ok(())
    }
}

/// Mail queued while `[mail]` was on waits, unsent, while it is off: said once at start,
/// or nobody learns why the alerts' mail never came.
fn warn_of_mail_held_back(state: &StateDb) {
    match state.mail_backlog(chrono::Utc::now()) {
        Ok(backlog) if backlog.unsent > 0 => tracing::warn!(
            messages = backlog.unsent,
            "mail is off ([mail] enabled = false) and messages wait in the outbox: they are sent once it is on again; `webcare alerts outbox --status waiting` lists them"
        ),
        Ok(_) => {}
        Err(error) => tracing::warn!(%error, "cannot read the mail outbox"),
    }
}

/// Positions of sources the configuration no longer has: most often a source renamed.
/// A mention is known by its source's name and its own id, so under the new name its
/// items are fetched and stored again; the administrator should hear so.
fn warn_of_unknown_positions(config: &Config, checkpoints: &crate::search::Checkpoints) {
    let configured: std::collections::HashSet<&str> =
        config.sources.iter().map(|s| s.name.as_str()).collect();
    for (name, checkpoint) in checkpoints {
        if !configured.contains(name.as_str()) {
            tracing::warn!(
                source = %name,
                items_kept = checkpoint.items_kept,
                "the index has a position for a source that is not configured (renamed or removed?); a renamed source fetches and stores its items again under its new name"
            );
        }
    }
}

/// Refuses to serve beyond this machine with nobody able to sign in: the API would be
/// open to no one but offered to everyone. `webcare check-config` asks the same.
pub fn check_listen(config: &Config, users: &crate::access::Users) -> Result<(), DaemonError> {
    if !config.http.listen.ip().is_loopback() && users.is_empty() {
        let file = config.path.display();
        return Err(DaemonError::NoUsers {
            at: match config.http.listen_line {
                Some(line) => format!("{file}:{line}"),
                None => file.to_string(),
            },
            addr: config.http.listen,
            users_file: config.access.users_file.clone(),
        });
    }
    if !config.http.listen.ip().is_loopback() && !config.access.secure_cookies {
        // Allowed: a TLS proxy on another machine may forward to this address. But
        // reached without one, passwords and session cookies cross the network in clear.
        tracing::warn!(
            listen = %config.http.listen,
            "the API listens beyond this machine and its session cookie is not marked Secure: put it behind a TLS proxy and set [access] secure_cookies = true"
        );
    }
    Ok(())
}

/// How long a shutdown waits for open HTTP connections to finish their requests.
const SERVER_GRACE: std::time::Duration = std::time::Duration::from_secs(5);

/// Listens, from the moment it is called, for the signals that stop the process
/// (SIGINT, SIGTERM, and SIGHUP: the terminal closed, or `kill -HUP` meant as "reload");
/// the future resolves when one arrives. Called before the daemon starts, so that a
/// signal during the start stops it cleanly rather than ending it mid-commit.
#[cfg(unix)]
pub fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    use tokio::signal::unix::{signal, Signal, SignalKind};
    let listen = |name: &str, kind: SignalKind| match signal(kind) {
        Ok(listener) => Some(listener),
        Err(e) => {
            tracing::warn!(signal = name, error = %e, "cannot listen for this signal");
            None
        }
    };
    let interrupt = listen("SIGINT", SignalKind::interrupt());
    let terminate = listen("SIGTERM", SignalKind::terminate());
    let hangup = listen("SIGHUP", SignalKind::hangup());
    async move {
        let arrival = |listener: Option<Signal>| async move {
            match listener {
                Some(mut listener) => {
                    listener.recv().await;
                }
                // Not listened for: it never stops the daemon here.
                None => std::future::pending::<()>().await,
            }
        };
        tokio::select! {
            _ = arrival(interrupt) => {}
            _ = arrival(terminate) => {}
            _ = arrival(hangup) => {}
        }
    }
}

/// Resolves when the process is asked to stop (Ctrl-C).
#[cfg(not(unix))]
pub fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    async {
        let _ = tokio::signal::ctrl_c().await;
    }
}
