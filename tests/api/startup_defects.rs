//! Starting the `guildhall` binary as an operator does (issue 10): where development keys live
//! and who can read them, which key encodings are accepted, how a start-up error reads, and
//! what logs look like in a file or pipe.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use guildhall::domain::random_token;

use crate::helpers::TestDb;

/// A fresh folder under the system's temporary folder, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(what: &str) -> TempDir {
        let path = std::env::temp_dir().join(format!("guildhall-{what}-{}", random_token(6)));
        std::fs::create_dir_all(&path).expect("temporary folder");
        TempDir(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The binary under test: Cargo's build of it, or `GUILDHALL_TEST_BIN` (for a target folder
/// that other checkouts build into as well, where `debug/guildhall` may be theirs).
fn binary() -> PathBuf {
    std::env::var_os("GUILDHALL_TEST_BIN").map_or_else(
        || PathBuf::from(env!("CARGO_BIN_EXE_guildhall")),
        PathBuf::from,
    )
}

/// The binary with nothing from this test process's environment but what is given here.
fn guildhall(database_url: &str, home: &Path, cwd: &Path) -> Command {
    let mut command = Command::new(binary());
    command
        .env_clear()
        .env("DATABASE_URL", database_url)
        .env("HOME", home)
        .env("RUST_LOG", "info")
        .env("GUILDHALL_BIND", "127.0.0.1:0")
        .current_dir(cwd)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

/// A running `guildhall serve`, stopped (by its own pid) when dropped.
struct Server {
    child: Child,
    port: u16,
    /// Everything it wrote until it said it was serving, both streams, as written.
    output: String,
}

/// Log lines without colour codes, to find the port in either.
fn strip_colour(line: &str) -> String {
    let mut plain = String::new();
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            plain.push(c);
        }
    }
    plain
}

impl Server {
    /// Starts `command` (a `serve`) and waits until it logs the port it serves on.
    fn start(mut command: Command) -> Result<Server, String> {
        let mut child = command.arg("serve").spawn().expect("start guildhall serve");
        let (sender, lines) = mpsc::channel();
        for stream in [
            Box::new(child.stdout.take().expect("stdout")) as Box<dyn Read + Send>,
            Box::new(child.stderr.take().expect("stderr")),
        ] {
            let sender = sender.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines() {
                    let Ok(line) = line else { break };
                    if sender.send(line).is_err() {
                        break;
                    }
                }
            });
        }
        drop(sender);
        let mut output = String::new();
        loop {
            match lines.recv_timeout(Duration::from_secs(30)) {
                Ok(line) => {
                    output.push_str(&line);
                    output.push('\n');
                    let plain = strip_colour(&line);
                    if let Some(port) = plain
                        .split_once(" serving port=")
                        .and_then(|(_, port)| port.trim().parse().ok())
                    {
                        return Ok(Server {
                            child,
                            port,
                            output,
                        });
                    }
                }
                // Both streams closed: it stopped without serving.
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    let status = child.wait().expect("wait");
                    return Err(format!("exited with {status}:\n{output}"));
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(format!("did not start serving:\n{output}"));
                }
            }
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn logs_written_to_a_pipe_carry_no_colour_codes() {
    let db = TestDb::create().await;
    let home = TempDir::new("home");
    let cwd = TempDir::new("cwd");
    let server = Server::start(guildhall(&db.url(), &home.0, &cwd.0)).expect("serve");
    let health = reqwest::get(format!("http://127.0.0.1:{}/healthz", server.port))
        .await
        .expect("GET /healthz");
    assert_eq!(health.status(), 200);
    assert!(server.output.contains("INFO"), "{}", server.output);
    assert!(
        !server.output.contains('\u{1b}'),
        "colour codes in piped logs: {:?}",
        server.output
    );
}
