//! Starts the real `taxiid` binary on a free port and talks HTTP to it.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::{Method, RequestBuilder, StatusCode};
use serde_json::Value;

pub const T21: &str = "application/taxii+json;version=2.1";
/// TAXII 2.0's resource and STIX types, as taxii2client.v20 sends them.
pub const T20: &str = "application/vnd.oasis.taxii+json; version=2.0";
pub const S20: &str = "application/vnd.oasis.stix+json; version=2.0";
/// The medallion sample's API root and collections.
pub const ROOT: &str = "/trustgroup1/";
pub const RW: &str = "91a7b528-80eb-42ed-a74d-c6fbd5a26116";
pub const EMPTY: &str = "365fed99-08fa-fdcd-a1b3-fb247eb41d01";
pub const WRITE_ONLY: &str = "472c94ae-3113-4e3e-a4dd-a9f4ac7471d4";
pub const READ_ONLY: &str = "52892447-4d7e-4f70-b94d-d7f22742ff63";
pub const NO_ACCESS: &str = "64993447-4d7e-4f70-b94d-d7f33742ee63";

pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub fn sample_data() -> PathBuf {
    workspace_root().join("examples/medallion/data.json")
}

pub fn binary() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_taxiid"));
    for (k, _) in std::env::vars() {
        if k.starts_with("MEDALLION_") || k.starts_with("TAXIID_") {
            cmd.env_remove(k);
        }
    }
    cmd
}

/// A running server; killed on drop.
pub struct TestServer {
    pub base: String,
    child: Child,
    /// Everything the server wrote to stderr so far.
    pub log: Arc<Mutex<Vec<String>>>,
    /// The generated admin password, when the server printed one.
    pub generated_password: Option<String>,
    pub user: (String, String),
    pub dir: tempfile::TempDir,
    client: reqwest::Client,
}

impl TestServer {
    /// Starts `taxiid --host 127.0.0.1 --port 0 --no-conf-dir <args>` in a temporary working
    /// directory.
    pub fn start(args: &[&str]) -> TestServer {
        let dir = tempfile::tempdir().unwrap();
        Self::start_in(dir, args, &[])
    }

    pub fn start_in(dir: tempfile::TempDir, args: &[&str], env: &[(&str, &str)]) -> TestServer {
        let mut all = vec!["--host", "127.0.0.1", "--port", "0", "--no-conf-dir"];
        all.extend_from_slice(args);
        Self::start_exact(dir, &all, env)
    }

    /// Starts `taxiid <args>` exactly as given in `dir`.
    pub fn start_exact(dir: tempfile::TempDir, args: &[&str], env: &[(&str, &str)]) -> TestServer {
        let mut cmd = binary();
        cmd.args(args)
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().unwrap();
        let stderr = child.stderr.take().unwrap();
        let log = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let sink = Arc::clone(&log);
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(url) = line.strip_prefix("taxiid: listening on ") {
                    let url = url.split_whitespace().next().unwrap_or_default().to_owned();
                    let _ = tx.send(url);
                }
                sink.lock().unwrap().push(line);
            }
        });
        let base = rx
            .recv_timeout(Duration::from_secs(30))
            .unwrap_or_else(|_| panic!("taxiid did not start: {:?}", log.lock().unwrap()));
        let generated_password = log.lock().unwrap().iter().find_map(|l| {
            l.split("with password '")
                .nth(1)
                .map(|r| r.split('\'').next().unwrap_or_default().to_owned())
        });
        let user = match &generated_password {
            Some(p) => ("admin".to_owned(), p.clone()),
            None => ("admin".to_owned(), "Password0".to_owned()),
        };
        TestServer {
            base,
            child,
            log,
            generated_password,
            user,
            dir,
            client: reqwest::Client::new(),
        }
    }

    /// The medallion sample config and a private copy of its data file.
    pub fn medallion() -> TestServer {
        Self::medallion_with(|_| {})
    }

    /// Like [`medallion`], after letting the caller adjust the config document.
    pub fn medallion_with(adjust: impl FnOnce(&mut Value)) -> TestServer {
        let dir = tempfile::tempdir().unwrap();
        std::fs::copy(sample_data(), dir.path().join("data.json")).unwrap();
        let mut config = serde_json::json!({
            "backend": {"module": "medallion.backends.memory_backend", "module_class": "MemoryBackend", "filename": "data.json"},
            "users": {"admin": "Password0", "user1": "Password1"},
            "taxii": {"max_page_size": 100}
        });
        adjust(&mut config);
        std::fs::write(dir.path().join("config.json"), config.to_string()).unwrap();
        Self::start_in(dir, &["--conf-file", "config.json"], &[])
    }

    /// medallion 1.x's configuration (an `auth` section with werkzeug hashes and an API key)
    /// and a private copy of its TAXII 2.0-shaped data file (`examples/medallion-1.x`).
    pub fn medallion_1x() -> TestServer {
        let dir = tempfile::tempdir().unwrap();
        let example = workspace_root().join("examples/medallion-1.x");
        for file in ["config.json", "data.json"] {
            std::fs::copy(example.join(file), dir.path().join(file)).unwrap();
        }
        Self::start_in(dir, &["--conf-file", "config.json"], &[])
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A request with the admin's credentials and `Accept: T21`.
    pub fn req(&self, method: Method, path: &str) -> RequestBuilder {
        self.client
            .request(method, self.url(path))
            .basic_auth(&self.user.0, Some(&self.user.1))
            .header("Accept", T21)
    }

    /// A request with nothing preset.
    pub fn bare(&self, method: Method, path: &str) -> RequestBuilder {
        self.client.request(method, self.url(path))
    }

    pub async fn get(&self, path: &str) -> Resp {
        Resp::from(self.req(Method::GET, path).send().await.unwrap()).await
    }

    pub async fn post_objects(&self, path: &str, envelope: &Value) -> Resp {
        Resp::from(
            self.req(Method::POST, path)
                .header("Content-Type", T21)
                .body(envelope.to_string())
                .send()
                .await
                .unwrap(),
        )
        .await
    }

    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Sends a signal by name (`HUP`, `TERM`, ...).
    pub fn signal(&self, name: &str) {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill")
            .args([format!("-{name}"), pid])
            .status()
            .unwrap();
        assert!(sent.success(), "kill -{name} failed");
    }

    /// Waits for the process to exit after a signal (or fails after 20 s).
    pub fn wait_exit(&mut self) -> std::process::ExitStatus {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "taxiid did not exit after the signal"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Sends SIGTERM and waits for the exit status.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        self.signal("TERM");
        self.wait_exit()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A response, read whole.
#[derive(Debug)]
pub struct Resp {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub text: String,
}

impl Resp {
    pub async fn from(r: reqwest::Response) -> Resp {
        let status = r.status();
        let headers = r.headers().clone();
        let text = r.text().await.unwrap();
        Resp {
            status,
            headers,
            text,
        }
    }

    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", self.text))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts a TAXII error resource with this status.
    pub fn assert_error(&self, status: u16) -> Value {
        assert_eq!(self.status.as_u16(), status, "body: {}", self.text);
        assert_eq!(self.header("content-type"), Some(T21));
        let body = self.json();
        assert!(body["title"].is_string(), "{body}");
        assert_eq!(body["http_status"], status.to_string());
        body
    }
}
