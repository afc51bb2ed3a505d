//! A minimal SMTP server on 127.0.0.1 that accepts every message and keeps it in
//! memory: the real protocol, for tests and local development. It can be told to
//! wait before acknowledging a message, to test what happens to mail in flight.

use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::sync::Notify;

/// One message as the sink received it.
#[derive(Debug, Clone)]
pub struct ReceivedMail {
    pub mail_from: String,
    pub rcpt_to: Vec<String>,
    /// The message as sent (headers and body, dot-unstuffed).
    pub data: String,
}

impl ReceivedMail {
    /// The body as a reader sees it: after the headers, with a
    /// quoted-printable transfer encoding undone.
    pub fn text(&self) -> String {
        let body = self.data.split_once("\n\n").map_or("", |(_, b)| b);
        let qp = self
            .header("Content-Transfer-Encoding")
            .is_some_and(|e| e.eq_ignore_ascii_case("quoted-printable"));
        if qp {
            decode_quoted_printable(body)
        } else {
            body.to_owned()
        }
    }

    pub fn header(&self, name: &str) -> Option<String> {
        let prefix = format!("{}:", name.to_ascii_lowercase());
        self.data
            .lines()
            .take_while(|l| !l.is_empty())
            .find(|l| l.to_ascii_lowercase().starts_with(&prefix))
            .map(|l| l[prefix.len()..].trim().to_owned())
    }
}

#[derive(Default)]
struct Shared {
    received: Mutex<Vec<ReceivedMail>>,
    data_started: Mutex<usize>,
    delay: Mutex<Duration>,
    notify: Notify,
}

pub struct SmtpSink {
    pub port: u16,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl SmtpSink {
    pub async fn start() -> std::io::Result<Self> {
        Self::start_on(0).await
    }

    /// Listens on a given port (0 for any).
    pub async fn start_on(port: u16) -> std::io::Result<Self> {
        let listener = TcpListener::bind(("127.0.0.1", port)).await?;
        let port = listener.local_addr()?.port();
        let shared = Arc::new(Shared::default());
        let s = shared.clone();
        let task = tokio::spawn(async move {
            while let Ok((sock, _)) = listener.accept().await {
                let s = s.clone();
                tokio::spawn(async move {
                    let _ = session(sock, s).await;
                });
            }
        });
        Ok(Self { port, shared, task })
    }

    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// Wait this long before acknowledging each message's data.
    pub fn set_delay(&self, d: Duration) {
        if let Ok(mut g) = self.shared.delay.lock() {
            *g = d;
        }
    }

    pub fn received(&self) -> Vec<ReceivedMail> {
        self.shared.received.lock().map(|g| g.clone()).unwrap_or_default()
    }

    /// How many messages have begun their DATA phase (delivered or not).
    pub fn data_started(&self) -> usize {
        self.shared.data_started.lock().map(|g| *g).unwrap_or(0)
    }

    /// Waits until at least `n` messages arrived, or the timeout passes.
    pub async fn wait_for(&self, n: usize, timeout: Duration) -> Vec<ReceivedMail> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.shared.notify.notified();
            let got = self.received();
            if got.len() >= n {
                return got;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return self.received();
            }
        }
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn session(sock: tokio::net::TcpStream, s: Arc<Shared>) -> std::io::Result<()> {
    let (r, mut w) = sock.into_split();
    let mut r = BufReader::new(r);
    w.write_all(b"220 dentex-sink ESMTP\r\n").await?;
    let mut mail_from = String::new();
    let mut rcpt = Vec::new();
    let mut line = String::new();
    loop {
        line.clear();
        if r.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let cmd = line.trim_end().to_owned();
        let upper = cmd.to_ascii_uppercase();
        if upper.starts_with("EHLO") {
            w.write_all(b"250-dentex-sink\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n")
                .await?;
        } else if upper.starts_with("HELO") {
            w.write_all(b"250 dentex-sink\r\n").await?;
        } else if upper.starts_with("MAIL FROM:") {
            mail_from = angle(&cmd[10..]);
            rcpt.clear();
            w.write_all(b"250 OK\r\n").await?;
        } else if upper.starts_with("RCPT TO:") {
            rcpt.push(angle(&cmd[8..]));
            w.write_all(b"250 OK\r\n").await?;
        } else if upper == "DATA" {
            if let Ok(mut g) = s.data_started.lock() {
                *g += 1;
            }
            w.write_all(b"354 End data with <CR><LF>.<CR><LF>\r\n").await?;
            let mut data = String::new();
            loop {
                line.clear();
                if r.read_line(&mut line).await? == 0 {
                    return Ok(());
                }
                let l = line.trim_end_matches(['\r', '\n']);
                if l == "." {
                    break;
                }
                data.push_str(l.strip_prefix('.').unwrap_or(l));
                data.push('\n');
            }
            let delay = s.delay.lock().map(|g| *g).unwrap_or_default();
            if !delay.is_zero() {
                // Hold the reply. A client may send nothing while it waits for
                // it (no pipelining is offered), so any bytes (QUIT) or a closed
                // connection mean it gave up: it never got its 250 and the
                // message is not accepted.
                let mut probe = [0u8; 64];
                tokio::select! {
                    () = tokio::time::sleep(delay) => {}
                    _ = r.read(&mut probe) => return Ok(()),
                }
            }
            if let Ok(mut g) = s.received.lock() {
                g.push(ReceivedMail {
                    mail_from: mail_from.clone(),
                    rcpt_to: rcpt.clone(),
                    data,
                });
            }
            s.notify.notify_waiters();
            w.write_all(b"250 OK queued\r\n").await?;
        } else if upper == "RSET" || upper == "NOOP" {
            w.write_all(b"250 OK\r\n").await?;
        } else if upper == "QUIT" {
            w.write_all(b"221 Bye\r\n").await?;
            return Ok(());
        } else {
            w.write_all(b"502 Command not implemented\r\n").await?;
        }
    }
}

fn decode_quoted_printable(s: &str) -> String {
    let joined = s.replace("=\r\n", "").replace("=\n", "");
    let b = joined.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'='
            && let Some(v) = joined.get(i + 1..i + 3).and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn angle(s: &str) -> String {
    let s = s.trim();
    let s = s.split_whitespace().next().unwrap_or("");
    s.trim_start_matches('<').trim_end_matches('>').to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Mailer, templates};
    use dentex_domain::Email;

    #[tokio::test]
    async fn lettre_delivers_to_the_sink_over_real_smtp() {
        let sink = SmtpSink::start().await.unwrap();
        let m = Mailer::smtp(&sink.url(), "Dentex <no-reply@dentex.example>").unwrap();
        m.send(&templates::test_message(Email::parse("ops@lab.example").unwrap()))
            .await
            .unwrap();
        let got = sink.wait_for(1, Duration::from_secs(5)).await;
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].rcpt_to, vec!["ops@lab.example".to_string()]);
        assert_eq!(got[0].mail_from, "no-reply@dentex.example");
        assert_eq!(got[0].header("Subject").as_deref(), Some("Dentex test message"));
    }

    #[test]
    fn quoted_printable_bodies_are_decoded() {
        let m = ReceivedMail {
            mail_from: String::new(),
            rcpt_to: Vec::new(),
            data:
                "Subject: x\nContent-Transfer-Encoding: quoted-printable\n\nhttp://x/v#token=3Dab12=\ncd34 caf=C3=A9\n"
                    .into(),
        };
        assert_eq!(m.text(), "http://x/v#token=ab12cd34 café\n");
    }
}
