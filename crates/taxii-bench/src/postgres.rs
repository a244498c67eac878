//! `postgres`: a throwaway PostgreSQL server for bench/run's `taxiid-postgres` target, started
//! with taxii-testkit (the same code the PostgreSQL tests use: `initdb` as the `postgres` user
//! when run as root, a free port on 127.0.0.1, removed afterwards) but with `fsync=on`, as a
//! production server runs. Prints one line of JSON with a URL per database, then serves until
//! SIGTERM/SIGINT (or until this process dies: the testkit's watchdog then removes it).

use serde_json::{Value, json};
use tokio::signal::unix::{SignalKind, signal};

pub(crate) async fn run_postgres(databases: usize) -> Result<Value, String> {
    // PgCluster's steps are blocking (initdb, pg_ctl, psql) and panic with a message saying
    // what is missing; run them off the runtime and turn a panic into an error line.
    let started = tokio::task::spawn_blocking(move || {
        let cluster = taxii_testkit::PgCluster::start_durable();
        let urls: Vec<String> = (0..databases.max(1))
            .map(|_| cluster.create_database())
            .collect();
        (cluster, urls)
    })
    .await;
    let (cluster, urls) = match started {
        Ok(ok) => ok,
        Err(e) => {
            let message = e
                .try_into_panic()
                .ok()
                .and_then(|p| {
                    p.downcast_ref::<String>()
                        .cloned()
                        .or_else(|| p.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                })
                .unwrap_or_else(|| "the cluster did not start".to_owned());
            return Err(message);
        }
    };
    println!(
        "{}",
        json!({"ok": true, "urls": urls, "port": cluster.port(), "dir": cluster.dir().display().to_string()})
    );
    let mut term = signal(SignalKind::terminate()).map_err(|e| e.to_string())?;
    tokio::select! {
        _ = term.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
    tokio::task::spawn_blocking(move || drop(cluster))
        .await
        .map_err(|e| e.to_string())?;
    Ok(json!({"ok": true, "stopped": true}))
}
