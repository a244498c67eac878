//! The composition root: configuration → store → settings → listener → serve, then save.

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use axum::Router;
use axum::response::IntoResponse;
use taxii_model::Clock;
use taxii_server::error::ApiError;
use taxii_server::telemetry::{Metrics, MetricsAccess};
use taxii_server::{AppState, Settings, SystemClock};
use taxii_store::StoreError;
use taxii_store::memory::MemoryStore;
use tower::ServiceExt;
use tracing_subscriber::EnvFilter;

use crate::cli::{Cli, Command, LogFormat, LogLevel};
use crate::native_config;
use crate::provision::provision;
use crate::resolve::{self, Request, Resolved};
use crate::store_open::{self, Opened, save_data_file};
use crate::transport;

/// How often a node whose database did not answer at start-up tries again.
const RETRY_EVERY: Duration = Duration::from_secs(1);
/// How often it says that it is still waiting.
const WAITING_NOTICE_EVERY: Duration = Duration::from_secs(60);

/// Sets up the log (stderr, see `log_writer`). The returned guard writes out buffered access
/// lines when dropped: keep it until the process is done.
fn init_logging(cli: &Cli) -> crate::log_writer::FlushOnDrop {
    let level = if cli.debug_mode {
        "debug"
    } else {
        match cli.log_level {
            LogLevel::Debug => "debug",
            LogLevel::Info => "info",
            LogLevel::Warn => "warn",
            LogLevel::Error | LogLevel::Critical => "error",
        }
    };
    let filter = EnvFilter::try_from_env("TAXIID_LOG").unwrap_or_else(|_| EnvFilter::new(level));
    use std::io::IsTerminal;
    let (writer, guard) = crate::log_writer::StderrLog::start();
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer);
    let _ = match cli.log_format {
        LogFormat::Text => logs.with_ansi(std::io::stderr().is_terminal()).try_init(),
        LogFormat::Json => logs.json().with_current_span(false).try_init(),
    };
    guard
}

/// Registers the SIGTERM and SIGINT handlers now, and resolves on the first of them. Called
/// before the server says it listens: a signal sent right after must stop it gracefully,
/// not kill it with the default action because no handler was registered yet.
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    let (mut term, mut interrupt) = {
        use tokio::signal::unix::{SignalKind, signal};
        (
            signal(SignalKind::terminate()).ok(),
            signal(SignalKind::interrupt()).ok(),
        )
    };
    async move {
        #[cfg(unix)]
        {
            async fn next(signal: Option<&mut tokio::signal::unix::Signal>) {
                match signal {
                    Some(s) => {
                        s.recv().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            }
            tokio::select! {
                () = next(term.as_mut()) => {}
                () = next(interrupt.as_mut()) => {}
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
        tracing::info!("shutting down: finishing requests in flight");
    }
}

/// SIGUSR1 saves the memory store to its data file on request.
fn spawn_save_on_signal(store: Arc<MemoryStore>, path: PathBuf) {
    // Registered before the task runs, so that an early SIGUSR1 is not the default "terminate".
    #[cfg(unix)]
    let Ok(mut usr1) =
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::user_defined1())
    else {
        return;
    };
    #[cfg(unix)]
    tokio::spawn(async move {
        while usr1.recv().await.is_some() {
            match save_data_file(&store, &path) {
                Ok(()) => tracing::info!(file = %path.display(), "saved the data file"),
                Err(e) => tracing::error!("{e}"),
            }
        }
    });
}

fn request(cli: &Cli) -> Request {
    if cli.config_path.is_some() {
        tracing::warn!("the positional CONFIG_PATH is deprecated; use --conf-file");
    }
    // The variables are defaults, as in medallion: the positional path wins over
    // $TAXIID_CONFIG and $MEDALLION_CONFFILE, and --no-conf-dir over $MEDALLION_CONFDIR (so
    // they are read in `resolve`, not by clap, which would call those combinations conflicts).
    Request {
        conf_file: cli.config_path.clone().or_else(|| cli.conf_file.clone()),
        conf_dir: cli.conf_dir.clone(),
        use_conf_dir: !cli.no_conf_dir,
        host: cli.host.clone(),
        port: cli.port,
    }
}

fn conf_check(config: &Resolved, store: &str) {
    let files: Vec<String> = config
        .files
        .iter()
        .map(|f| f.display().to_string())
        .collect();
    // The keys themselves are secrets: only how many there are.
    let api_keys = match config.api_keys.len() {
        0 => String::new(),
        n => format!(", {n} API key(s)"),
    };
    println!(
        "configuration OK ({}): files [{}]; {store}; {} user(s){api_keys}; max_page_size {}; listens on {}:{}",
        config.format,
        files.join(", "),
        config.users.len(),
        config.max_page_size,
        config.host,
        config.port
    );
}

pub async fn run(cli: Cli) -> Result<(), String> {
    if cli.print_default_config {
        print!("{}", native_config::EXAMPLE);
        return Ok(());
    }
    if let Some(Command::HashPassword { password }) = &cli.command {
        return hash_password(password.clone());
    }
    let _flush_logs_on_return = init_logging(&cli);
    let env = |k: &str| std::env::var(k).ok();
    let config = resolve::resolve(&request(&cli), &env)?;
    let clock = Arc::new(SystemClock);
    if cli.conf_check {
        let store = store_open::describe(&config.store, &config.layout, clock.now()).await?;
        conf_check(&config, &store);
        return Ok(());
    }
    // Checked before the store is touched: a server that may not start should change nothing.
    let tls = match &cli.command {
        None => transport::prepare_tls(
            &config.transport,
            &config.host,
            config.format == resolve::Format::Native,
        )?,
        Some(_) => None,
    };
    let opened = store_open::open(&config.store, clock.now()).await?;
    if let Some(Command::Admin(command)) = cli.command {
        if let Some(why) = &opened.unreachable {
            return Err(format!("{why} (the command needs the database)"));
        }
        // Only what the configuration defines: the default API root and the first-start admin
        // are for serving, and would otherwise land in a store an import is about to fill.
        crate::provision::apply_layout(&*opened.store, &config.layout).await?;
        let result = crate::admin::run(
            command,
            Arc::clone(&opened.store),
            &mut std::io::stdout().lock(),
        )
        .await;
        // A memory store backed by a data file keeps what the command changed.
        if let Some((store, path)) = &opened.saveable {
            save_data_file(store, path)?;
        }
        return result;
    }
    let ready: Arc<OnceLock<Router>> = Arc::new(OnceLock::new());
    let first = match &opened.unreachable {
        Some(why) => Err(why.clone()),
        None => prepare(&opened, &config, &clock).await,
    };
    let waiting = match first {
        Ok(cursor_key) => {
            let described = store_open::summary(&*opened.store).await?;
            tracing::info!("{}; {described}; {}", opened.description, config.format);
            let _ = ready.set(start_serving(&opened, &config, &clock, cursor_key));
            false
        }
        Err(e) if opened.unreachable.is_some() || waits_for_database(&opened, &e).await => {
            tracing::warn!(
                "{}: {e}. Serving anyway: every request gets 503 (Retry-After) until the database answers; the node then carries on by itself, nothing to restart",
                opened.description
            );
            true
        }
        Err(e) => return Err(e),
    };
    if let Some(address) = &config.transport.admin_listen {
        start_admin_listener(address, &opened).await?;
    }
    let listener = tokio::net::TcpListener::bind((config.host.as_str(), config.port))
        .await
        .map_err(|e| format!("cannot listen on {}:{}: {e}", config.host, config.port))?;
    let addr = listener
        .local_addr()
        .map_err(|e| format!("cannot read the listening address: {e}"))?;
    // Every signal handler is in place before the line that tells the world we listen.
    let stop = shutdown_signal();
    if let Some(tls) = &tls {
        transport::spawn_tls_reload(tls.clone());
    }
    if let Some((store, path)) = &opened.saveable {
        spawn_save_on_signal(Arc::clone(store), path.clone());
    }
    let scheme = if tls.is_some() { "https" } else { "http" };
    eprintln!("taxiid: listening on {scheme}://{addr} (discovery at {scheme}://{addr}/taxii2/)");
    // A failure once the database answers (other than its absence) stops the server, as it
    // would have at start-up.
    let (fatal_tx, fatal_rx) = tokio::sync::oneshot::channel::<String>();
    let (fatal_seen_tx, fatal_seen_rx) = tokio::sync::oneshot::channel::<String>();
    let shutdown = async move {
        tokio::select! {
            () = stop => {}
            Ok(e) = fatal_rx => {
                let _ = fatal_seen_tx.send(e);
            }
        }
    };
    let serving = taxii_server::listen::serve(
        listener,
        Gate(Arc::clone(&ready)),
        tls,
        config.transport.conn_limits(),
        shutdown,
    );
    // The wait runs in this task rather than a spawned one: the seeding it may do is not
    // provably `Send`.
    let wait = async {
        if waiting && let Err(e) = wait_for_database(&opened, &config, &clock, &ready).await {
            let _ = fatal_tx.send(e);
        }
        std::future::pending::<()>().await;
    };
    tokio::select! {
        served = serving => served.map_err(|e| format!("server error: {e}"))?,
        () = wait => {}
    }
    if let Ok(e) = fatal_seen_rx.await {
        return Err(e);
    }
    let save_on_shutdown = matches!(
        config.store,
        resolve::StorePlan::Memory {
            save_on_shutdown: true,
            ..
        }
    );
    if save_on_shutdown && let Some((store, path)) = &opened.saveable {
        save_data_file(store, path)?;
        tracing::info!(file = %path.display(), "saved the data file");
    }
    Ok(())
}

/// Binds the admin listener and serves the probes and metrics on it for as long as the
/// runtime lives (through a shutdown too, so that an orchestrator still sees the process).
/// It starts before the store is ready: `/healthz` answers and `/readyz` says why not.
async fn start_admin_listener(address: &str, opened: &Opened) -> Result<(), String> {
    let listener = tokio::net::TcpListener::bind(address)
        .await
        .map_err(|e| format!("cannot listen on {address} (server.admin_listen): {e}"))?;
    let addr = listener
        .local_addr()
        .map_err(|e| format!("cannot read the admin listening address: {e}"))?;
    let metrics = Metrics::install(MetricsAccess::Public).unwrap_or_else(|e| {
        tracing::error!("{e}; /metrics is not served");
        None
    });
    let service = taxii_server::admin_router(Arc::clone(&opened.store), metrics);
    eprintln!("taxiid: admin listener on http://{addr} (/healthz, /readyz, /metrics)");
    tokio::spawn(async move {
        let forever = std::future::pending::<()>();
        let limits = taxii_server::listen::ConnLimits::default();
        if let Err(e) = taxii_server::listen::serve(listener, service, None, limits, forever).await
        {
            tracing::error!("the admin listener stopped: {e}");
        }
    });
    Ok(())
}

/// Makes an opened store ready to serve: copies a pending data file into it if it is new,
/// then provisions it; returns the `next` cursor key.
async fn prepare(
    opened: &Opened,
    config: &Resolved,
    clock: &Arc<SystemClock>,
) -> Result<Vec<u8>, String> {
    if let Some(seed) = &opened.pending_seed
        && store_open::seed_if_new(&*opened.store, seed, clock.now()).await?
    {
        tracing::info!(file = %seed.display(), "seeded the new database from the data file");
    }
    provision(&*opened.store, config).await
}

/// Whether a failed preparation is a shared database that does not answer (yet): then the
/// node serves 503s and waits for it, instead of stopping.
async fn waits_for_database(opened: &Opened, error: &str) -> bool {
    if !opened.shared {
        return false;
    }
    let down = matches!(opened.store.health().await, Err(StoreError::Unavailable(_)));
    if !down {
        tracing::debug!("start-up failed with the database answering: {error}");
    }
    down
}

/// The TAXII service over a prepared store, with the status purge running.
fn start_serving(
    opened: &Opened,
    config: &Resolved,
    clock: &Arc<SystemClock>,
    cursor_key: Vec<u8>,
) -> Router {
    let settings = Settings {
        users: config.users.clone(),
        realm: "taxii".into(),
        max_page_size: config.max_page_size,
        status_retention_secs: config.status_retention,
        default_max_content_length: config.default_max_content_length,
        cursor_key,
        discovery_title: "taxiid TAXII 2.1 server".into(),
        hide_inaccessible_collections: config.hide_inaccessible_collections,
        max_concurrent_requests: config.transport.max_concurrent_requests,
        body_timeout: Duration::from_secs(config.transport.body_timeout_secs),
        max_auth_failures_per_minute: config.transport.max_auth_failures_per_minute,
        max_requests_per_user_per_second: config.transport.max_requests_per_user_per_second,
        request_burst_per_user: config.transport.request_burst_per_user,
        trusted_proxies: config.transport.trusted_proxies.clone(),
        taxii20_serves_stix21: config.taxii20_serves_stix21,
        api_keys: config.api_keys.clone(),
    };
    // Installing twice (a node that waited for its database) shares the first recorder; it
    // fails only if something else took the process-wide slot, which nothing here does.
    let metrics = Metrics::install(config.transport.metrics).unwrap_or_else(|e| {
        tracing::error!("{e}; /metrics is not served");
        None
    });
    let state = AppState::new(
        Arc::clone(&opened.store),
        Arc::new(settings),
        Arc::clone(clock) as Arc<dyn Clock>,
    )
    .with_metrics(metrics);
    taxii_server::spawn_status_reaper(state.clone(), Duration::from_secs(config.check_interval));
    taxii_server::router(state)
}

/// Tries to prepare the store until the database answers, then opens the gate. `Err` is a
/// failure that is not the database being away (a configuration that conflicts with the
/// stored data, say).
async fn wait_for_database(
    opened: &Opened,
    config: &Resolved,
    clock: &Arc<SystemClock>,
    ready: &OnceLock<Router>,
) -> Result<(), String> {
    let mut last_notice = Instant::now();
    loop {
        tokio::time::sleep(RETRY_EVERY).await;
        // One round trip (which waits for a connection up to the pool's acquire timeout)
        // tells whether it is worth preparing yet.
        match opened.store.health().await {
            Ok(()) => {}
            Err(StoreError::Unavailable(why)) => {
                if last_notice.elapsed() >= WAITING_NOTICE_EVERY {
                    tracing::warn!(
                        "{}: still waiting for the database: {why}",
                        opened.description
                    );
                    last_notice = Instant::now();
                }
                continue;
            }
            Err(e) => return Err(format!("{}: {e}", opened.description)),
        }
        match prepare(opened, config, clock).await {
            Ok(cursor_key) => {
                let _ = ready.set(start_serving(opened, config, clock, cursor_key));
                tracing::info!(
                    "{}: the database answers; serving ({})",
                    opened.description,
                    config.format
                );
                return Ok(());
            }
            Err(e) if waits_for_database(opened, &e).await => {
                if last_notice.elapsed() >= WAITING_NOTICE_EVERY {
                    tracing::warn!(
                        "{}: still waiting for the database: {e}",
                        opened.description
                    );
                    last_notice = Instant::now();
                }
            }
            Err(e) => return Err(e),
        }
    }
}

/// The service, once `ready` holds it; until then every request gets a TAXII 503 error with
/// `Retry-After`. A plain service rather than a `Router` with a fallback: that would route
/// every request twice.
#[derive(Clone)]
struct Gate(Arc<OnceLock<Router>>);

impl tower::Service<axum::extract::Request> for Gate {
    type Response = axum::response::Response;
    type Error = std::convert::Infallible;
    type Future = std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<Self::Response, Self::Error>> + Send>,
    >;

    fn poll_ready(
        &mut self,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: axum::extract::Request) -> Self::Future {
        match self.0.get() {
            Some(service) => Box::pin(service.clone().oneshot(request)),
            None => {
                let refusal =
                    ApiError::Unavailable("the database has not answered since start-up".into());
                Box::pin(std::future::ready(Ok(refusal.into_response())))
            }
        }
    }
}

fn hash_password(password: Option<String>) -> Result<(), String> {
    let password = match password {
        Some(p) => p,
        None => {
            let mut line = String::new();
            std::io::stdin()
                .read_line(&mut line)
                .map_err(|e| format!("cannot read the password from standard input: {e}"))?;
            line.trim_end_matches(['\r', '\n']).to_owned()
        }
    };
    if password.is_empty() {
        return Err("the password is empty".into());
    }
    println!("{}", taxii_server::auth::hash_password(&password)?);
    Ok(())
}
