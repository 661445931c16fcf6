//! An in-process SMTP server that keeps what it receives, for tests that read the email.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::sync::Notify;

#[derive(Debug, Clone)]
pub struct ReceivedMail {
    pub from: String,
    pub to: Vec<String>,
    /// The DATA section as sent, dot-unstuffed.
    pub data: String,
}

impl ReceivedMail {
    /// The invitation path (`/invitations/<token>`) in the email (quoted-printable soft line
    /// breaks joined).
    pub fn invitation_link(&self) -> String {
        self.link("/invitations/")
    }

    /// The email as its reader sees the words: quoted-printable soft line breaks joined and
    /// `=XX` escapes undone (headers and boundaries pass through unchanged).
    pub fn readable(&self) -> String {
        let data = self.data.replace("=\r\n", "");
        let mut bytes = Vec::with_capacity(data.len());
        let mut rest = data.as_bytes();
        while let Some((&first, tail)) = rest.split_first() {
            let escaped = (first == b'=')
                .then(|| tail.get(..2))
                .flatten()
                .and_then(|hex| std::str::from_utf8(hex).ok())
                .and_then(|hex| u8::from_str_radix(hex, 16).ok());
            match escaped {
                Some(byte) => {
                    bytes.push(byte);
                    rest = &tail[2..];
                }
                None => {
                    bytes.push(first);
                    rest = tail;
                }
            }
        }
        String::from_utf8_lossy(&bytes).into_owned()
    }

    /// The first path in the email that starts with `prefix`, with its token.
    pub fn link(&self, prefix: &str) -> String {
        let data = self.data.replace("=\r\n", "");
        let start = data.find(prefix).expect("a link in the email");
        data[start..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || "/-_".contains(*c))
            .collect()
    }
}

#[derive(Clone)]
pub struct SmtpSink {
    pub port: u16,
    mails: Arc<Mutex<Vec<ReceivedMail>>>,
    arrived: Arc<Notify>,
    /// While set, every connection is closed at once: a mail server that is down. The port
    /// stays ours, so no other test (or chromedriver) can take it meanwhile.
    down: Arc<std::sync::atomic::AtomicBool>,
}

impl SmtpSink {
    pub async fn start() -> SmtpSink {
        SmtpSink::launch(false).await
    }

    /// A sink that is down until `come_back`.
    pub async fn start_down() -> SmtpSink {
        SmtpSink::launch(true).await
    }

    pub fn come_back(&self) {
        self.down.store(false, std::sync::atomic::Ordering::SeqCst);
    }

    async fn launch(down: bool) -> SmtpSink {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind sink");
        let port = listener.local_addr().expect("addr").port();
        let sink = SmtpSink {
            port,
            mails: Arc::default(),
            arrived: Arc::default(),
            down: Arc::new(std::sync::atomic::AtomicBool::new(down)),
        };
        let accepting = sink.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                if accepting.down.load(std::sync::atomic::Ordering::SeqCst) {
                    drop(stream);
                    continue;
                }
                let session = accepting.clone();
                tokio::spawn(async move { session.serve(stream).await });
            }
        });
        sink
    }

    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    async fn serve(&self, stream: tokio::net::TcpStream) {
        let (read, mut write) = stream.into_split();
        let mut lines = BufReader::new(read).lines();
        let _ = write.write_all(b"220 sink.test ESMTP\r\n").await;
        let (mut from, mut to) = (String::new(), Vec::new());
        while let Ok(Some(line)) = lines.next_line().await {
            let upper = line.to_ascii_uppercase();
            let reply: &[u8] = if upper.starts_with("EHLO") || upper.starts_with("HELO") {
                b"250-sink.test\r\n250 8BITMIME\r\n"
            } else if upper.starts_with("MAIL FROM:") {
                from = line[10..].trim().trim_matches(['<', '>']).to_owned();
                b"250 OK\r\n"
            } else if upper.starts_with("RCPT TO:") {
                to.push(line[8..].trim().trim_matches(['<', '>']).to_owned());
                b"250 OK\r\n"
            } else if upper == "DATA" {
                let _ = write
                    .write_all(b"354 End data with <CR><LF>.<CR><LF>\r\n")
                    .await;
                let mut data = String::new();
                while let Ok(Some(line)) = lines.next_line().await {
                    if line == "." {
                        break;
                    }
                    data.push_str(line.strip_prefix('.').unwrap_or(&line));
                    data.push_str("\r\n");
                }
                let mail = ReceivedMail {
                    from: std::mem::take(&mut from),
                    to: std::mem::take(&mut to),
                    data,
                };
                self.mails.lock().expect("lock").push(mail);
                self.arrived.notify_waiters();
                b"250 OK queued\r\n"
            } else if upper == "QUIT" {
                let _ = write.write_all(b"221 Bye\r\n").await;
                break;
            } else {
                b"250 OK\r\n"
            };
            if write.write_all(reply).await.is_err() {
                break;
            }
        }
    }

    pub fn received(&self) -> Vec<ReceivedMail> {
        self.mails.lock().expect("lock").clone()
    }

    /// Waits (up to 10 s) until `count` emails have arrived.
    pub async fn wait_for(&self, count: usize) -> Vec<ReceivedMail> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let notified = self.arrived.notified();
            let mails = self.received();
            if mails.len() >= count {
                return mails;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                panic!("expected {count} emails, got {}", self.received().len());
            }
        }
    }
}
