//! The composition root: configuration → store → settings → listener → serve, then save.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use taxii_model::Clock;
use taxii_server::{AppState, Settings, SystemClock};
use taxii_store::memory::MemoryStore;
use tracing_subscriber::EnvFilter;

use crate::cli::{Cli, Command, LogLevel};
use crate::native_config;
use crate::provision::provision;
use crate::resolve::{self, Request, Resolved};
use crate::store_open::{self, save_data_file};

fn init_logging(cli: &Cli) {
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
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr)
        .try_init();
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
    tracing::info!("shutting down: finishing requests in flight");
}

/// SIGUSR1 saves the memory store to its data file on request.
fn spawn_save_on_signal(store: Arc<MemoryStore>, path: PathBuf) {
    #[cfg(unix)]
    tokio::spawn(async move {
        use tokio::signal::unix::{SignalKind, signal};
        let Ok(mut usr1) = signal(SignalKind::user_defined1()) else {
            return;
        };
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
    println!(
        "configuration OK ({}): files [{}]; {store}; {} user(s); max_page_size {}; listens on {}:{}",
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
    init_logging(&cli);
    let env = |k: &str| std::env::var(k).ok();
    let config = resolve::resolve(&request(&cli), &env)?;
    let clock = Arc::new(SystemClock);
    if cli.conf_check {
        let store = store_open::describe(&config.store, &config.layout, clock.now()).await?;
        conf_check(&config, &store);
        return Ok(());
    }
    let opened = store_open::open(&config.store, clock.now()).await?;
    if let Some(Command::Admin(command)) = cli.command {
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
    let cursor_key = provision(&*opened.store, &config).await?;
    let described = store_open::summary(&*opened.store).await?;
    let users: BTreeMap<String, String> = config.users.clone();
    let settings = Settings {
        users,
        realm: "taxii".into(),
        max_page_size: config.max_page_size,
        status_retention_secs: config.status_retention,
        default_max_content_length: config.default_max_content_length,
        cursor_key,
        discovery_title: "taxiid TAXII 2.1 server".into(),
    };
    let state = AppState {
        store: Arc::clone(&opened.store),
        settings: Arc::new(settings),
        clock,
    };
    let listener = tokio::net::TcpListener::bind((config.host.as_str(), config.port))
        .await
        .map_err(|e| format!("cannot listen on {}:{}: {e}", config.host, config.port))?;
    let addr = listener
        .local_addr()
        .map_err(|e| format!("cannot read the listening address: {e}"))?;
    tracing::info!("{}; {described}; {}", opened.description, config.format);
    eprintln!("taxiid: listening on http://{addr} (discovery at http://{addr}/taxii2/)");
    taxii_server::spawn_status_reaper(state.clone(), Duration::from_secs(config.check_interval));
    if let Some((store, path)) = &opened.saveable {
        spawn_save_on_signal(Arc::clone(store), path.clone());
    }
    taxii_server::serve(listener, state, shutdown_signal())
        .await
        .map_err(|e| format!("server error: {e}"))?;
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
