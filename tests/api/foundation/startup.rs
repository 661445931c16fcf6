//! Starting the `guildhall` binary as an operator does (issue 10): where development keys live
//! and who can read them, which key encodings are accepted, how a start-up error reads, and
//! what logs look like in a file or pipe.

use std::io::{BufRead, BufReader, Read};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use guildhall::domain::random_token;

use crate::support::{TestDb, TestUser, Visitor};

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

/// Where development keys of `database_url` are kept for a user whose home is `home`.
fn key_dir(home: &Path, database_url: &str) -> PathBuf {
    home.join(".local/share/guildhall")
        .join(guildhall::config::database_dir_name(database_url))
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

/// A running `guildhall serve`, stopped (by its own pid) when dropped.
struct Server {
    child: Child,
    port: u16,
    /// Everything it wrote until it said it was serving, both streams, as written.
    output: String,
    /// What it writes later: kept open, so its logging never meets a closed pipe.
    _later: mpsc::Receiver<String>,
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
                            _later: lines,
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

    fn address(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs a subcommand to its end: (success, standard output, standard error).
fn run(mut command: Command, args: &[&str]) -> (bool, String, String) {
    let output = command.args(args).output().expect("run guildhall");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[tokio::test]
async fn serve_keeps_development_keys_private_in_one_folder_per_database() {
    let db = TestDb::create().await;
    let home = TempDir::new("home");
    let first_cwd = TempDir::new("cwd");
    let second_cwd = TempDir::new("cwd");

    let server = Server::start(guildhall(&db.url(), &home.0, &first_cwd.0)).expect("serve");
    drop(server);
    let dir = key_dir(&home.0, &db.url());
    let secret = std::fs::read_to_string(dir.join("guildhall_secret")).expect("secret");
    let master_key = std::fs::read_to_string(dir.join("guildhall_master_key")).expect("key");
    assert_eq!(mode(&dir), 0o700, "{}", dir.display());
    assert_eq!(mode(&dir.join("guildhall_secret")), 0o600);
    assert_eq!(mode(&dir.join("guildhall_master_key")), 0o600);
    assert_eq!(
        mode(&dir.join("mail")),
        0o700,
        "emails are kept beside the keys"
    );
    assert!(
        !first_cwd.0.join(".guildhall").exists(),
        "nothing is written into the working directory"
    );

    // Started from somewhere else, it finds the same keys.
    let server = Server::start(guildhall(&db.url(), &home.0, &second_cwd.0)).expect("serve");
    drop(server);
    assert_eq!(
        std::fs::read_to_string(dir.join("guildhall_master_key")).expect("key"),
        master_key
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("guildhall_secret")).expect("secret"),
        secret
    );
    assert!(!second_cwd.0.join(".guildhall").exists());

    // GUILDHALL_KEY_DIR puts them elsewhere (tests, several installs on one account).
    let elsewhere = home.0.join("keys-for-tests");
    let mut command = guildhall(&db.url(), &home.0, &second_cwd.0);
    command.env("GUILDHALL_KEY_DIR", &elsewhere);
    drop(Server::start(command).expect("serve"));
    assert_eq!(mode(&elsewhere.join("guildhall_master_key")), 0o600);
}

#[tokio::test]
async fn two_servers_started_together_from_different_folders_share_one_session_key() {
    let db = TestDb::create().await;
    let pool = guildhall::db::build_pool(&db.url(), 1).expect("pool");
    let password = "a long enough password";
    guildhall::services::account::create_super_admin(
        &pool,
        "root@example.test",
        password.to_owned().into(),
    )
    .await
    .expect("super admin");
    let home = TempDir::new("home");
    let (first_cwd, second_cwd) = (TempDir::new("cwd"), TempDir::new("cwd"));

    let first = guildhall(&db.url(), &home.0, &first_cwd.0);
    let second = guildhall(&db.url(), &home.0, &second_cwd.0);
    let starting = std::thread::spawn(move || Server::start(first));
    let second = Server::start(second).expect("second serve");
    let first = starting.join().expect("thread").expect("first serve");

    // Signed in on one, the same browser is signed in on the other: both use one secret.
    let on_first = Visitor::new(&first.address());
    let on_second = Visitor::with_client(&second.address(), on_first.client.clone());
    let root = TestUser::existing("root@example.test", password);
    assert_eq!(on_first.login(&root).await.status(), 303);
    assert_eq!(on_first.get("/admin/organizations").await.status(), 200);
    assert_eq!(
        on_second.get("/admin/organizations").await.status(),
        200,
        "the second server does not accept the first one's session cookie"
    );
    let dir = key_dir(&home.0, &db.url());
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("key folder")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    assert_eq!(
        files,
        ["guildhall_master_key", "guildhall_secret", "mail"],
        "one key of each kind, no temporary files left"
    );
}

#[tokio::test]
async fn migrate_neither_needs_nor_writes_keys() {
    let db = TestDb::create().await;
    let home = TempDir::new("home");
    let cwd = TempDir::new("cwd");
    let mut command = guildhall(&db.url(), &home.0, &cwd.0);
    command.env("GUILDHALL_ENV", "production");
    let (ok, stdout, stderr) = run(command, &["migrate"]);
    assert!(ok, "{stdout}{stderr}");
    assert!(!cwd.0.join(".guildhall").exists());
    assert!(
        !home.0.join(".local").exists(),
        "no key was generated for migrate"
    );
}

#[tokio::test]
async fn keys_in_url_safe_base64_without_padding_are_accepted() {
    let db = TestDb::create().await;
    let home = TempDir::new("home");
    let cwd = TempDir::new("cwd");
    // 0xfb bytes encode to `-` and `_` in the URL-safe alphabet.
    let secret = URL_SAFE_NO_PAD.encode([0xfb; 64]);
    let master_key = URL_SAFE_NO_PAD.encode([0xfb; 32]);
    assert!(master_key.contains(['-', '_']) && !master_key.ends_with('='));
    let mut command = guildhall(&db.url(), &home.0, &cwd.0);
    command
        .env("GUILDHALL_SECRET", &secret)
        .env("GUILDHALL_MASTER_KEY", &master_key);
    let server = Server::start(command).expect("serve with URL-safe keys");
    drop(server);
    let dir = key_dir(&home.0, &db.url());
    for file in ["guildhall_secret", "guildhall_master_key"] {
        assert!(
            !dir.join(file).exists(),
            "keys given in the environment are not written anywhere"
        );
    }
}

#[tokio::test]
async fn a_start_up_error_is_one_clear_line() {
    let db = TestDb::create().await;
    let home = TempDir::new("home");
    let cwd = TempDir::new("cwd");
    let cases = [
        (
            "not base64!".to_owned(),
            "error: GUILDHALL_MASTER_KEY is not valid base64 (character 4 is not a base64 \
             character); give base64 (standard or URL-safe, padding optional) of exactly 32 bytes",
        ),
        (
            URL_SAFE_NO_PAD.encode([1u8; 16]),
            "error: GUILDHALL_MASTER_KEY decodes to 16 bytes; it must be exactly 32 bytes \
             (`openssl rand -base64 32` makes one)",
        ),
    ];
    for (master_key, expected) in cases {
        let mut command = guildhall(&db.url(), &home.0, &cwd.0);
        command
            .env("GUILDHALL_SECRET", URL_SAFE_NO_PAD.encode([7u8; 64]))
            .env("GUILDHALL_MASTER_KEY", &master_key)
            .env("RUST_BACKTRACE", "1");
        let output = command.arg("serve").output().expect("run guildhall");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{stderr}");
        assert_eq!(stderr, format!("{expected}\n"), "exactly one line");
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

#[tokio::test]
async fn the_server_refuses_to_start_with_a_master_key_that_cannot_open_the_stored_secrets() {
    let app = crate::support::spawn_app().await;
    let org = app.org("Acme").create().await;
    let right_key = guildhall::domain::random_bytes(32);
    let sealed = guildhall::crypto::seal(&right_key, b"client-secret", &format!("org-oauth:{org}"))
        .expect("seal");
    let sealed_hex: String = sealed.iter().map(|b| format!("{b:02x}")).collect();
    app.sql(&format!(
        "INSERT INTO org_oauth_settings (org_id, issuer_url, client_id, client_secret_sealed) \
         VALUES ({org}, 'https://login.acme.test', 'acme', '\\x{sealed_hex}'::bytea)"
    ))
    .await;

    let mut settings = crate::support::test_settings(app.db.url());
    settings.master_key = guildhall::domain::random_bytes(32).into();
    let refused = guildhall::startup::Application::build(settings)
        .await
        .err()
        .expect("a wrong master key is refused");
    assert!(
        refused
            .to_string()
            .contains("GUILDHALL_MASTER_KEY cannot decrypt"),
        "{refused}"
    );

    let mut settings = crate::support::test_settings(app.db.url());
    settings.master_key = right_key.into();
    assert!(
        guildhall::startup::Application::build(settings)
            .await
            .is_ok()
    );
}
