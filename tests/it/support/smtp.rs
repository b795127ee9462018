//! A small SMTP server on 127.0.0.1 (port 0), one thread per connection, started by the test
//! itself. It speaks enough ESMTP for lettre: EHLO/HELO, AUTH PLAIN and LOGIN, MAIL, RCPT, DATA
//! (with dot-unstuffing), RSET, NOOP, QUIT, and STARTTLS. It can demand credentials, refuse
//! recipients, hold its final DATA reply to make overlapping runs overlap, and secure the
//! session with TLS (STARTTLS on the plain connection, or implicit TLS from the first byte)
//! using the throwaway certificate in fixtures/tls/ (localhost, 127.0.0.1; signed by
//! fixtures/tls/ca.pem). It records, per command, whether it arrived inside TLS.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::{ServerConfig, ServerConnection, StreamOwned};

/// How the server secures the session.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Security {
    /// No TLS; STARTTLS is neither advertised nor accepted.
    #[default]
    Plain,
    /// Advertise STARTTLS in the EHLO reply; on STARTTLS reply 220, do the TLS handshake on
    /// the same socket and continue the dialogue inside TLS (state reset, new EHLO expected).
    StartTls,
    /// TLS handshake first, then the greeting and the whole dialogue inside TLS.
    Implicit,
}

/// The throwaway test CA that signed the server's certificate (fixtures/tls/ca.pem).
pub fn test_ca() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/tls/ca.pem")
}

/// How the server behaves.
#[derive(Clone, Default)]
pub struct Behaviour {
    /// Require AUTH with this user and password (advertised as PLAIN and LOGIN).
    pub credentials: Option<(String, String)>,
    /// Recipients to refuse with 550.
    pub refuse: Vec<String>,
    /// Wait this long before accepting a message's data.
    pub data_delay: Duration,
    /// Plain, STARTTLS or implicit TLS.
    pub security: Security,
    /// Reply to a message's data with this instead of `250` (e.g. `451 4.3.0 try later`); the
    /// message is then not counted as accepted.
    pub data_reply: Option<String>,
    /// Close the connection after reading a message's data, without replying.
    pub drop_after_data: bool,
    /// Answer the DATA of the first this many messages with a temporary failure (451).
    pub temp_fail_messages: usize,
    /// Called once a message is accepted, before the server's 250 reply (the client cannot have
    /// acted on the acceptance yet): lets a test change the world at that instant.
    pub on_accept: Option<std::sync::Arc<dyn Fn() + Send + Sync>>,
}

/// One message the server accepted.
#[derive(Clone, Debug)]
pub struct Received {
    /// Envelope sender.
    pub mail_from: String,
    /// Envelope recipients.
    pub rcpt_to: Vec<String>,
    /// The user that authenticated, if any.
    pub auth_user: Option<String>,
    /// The message as received (CRLF line ends).
    pub data: String,
    /// Whether the message (MAIL, RCPT, DATA and its content) arrived inside TLS.
    pub encrypted: bool,
    /// Whether the AUTH exchange that authenticated this session, if any, was inside TLS.
    pub auth_encrypted: Option<bool>,
}

/// One command the server read, in order, without arguments (no credentials are kept).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Command {
    /// Which connection (0-based, in accept order).
    pub connection: usize,
    /// The verb, upper case (`EHLO`, `STARTTLS`, `AUTH PLAIN`, `MAIL`, …).
    pub verb: String,
    /// Whether it arrived inside TLS.
    pub encrypted: bool,
}

#[derive(Default)]
struct Log {
    messages: Vec<Received>,
    connections: usize,
    auth_failures: usize,
    commands: Vec<Command>,
    tls_failures: Vec<String>,
    data_attempts: usize,
}

/// A running server; it lives until the test process ends.
pub struct SmtpSink {
    /// Where it listens.
    pub addr: SocketAddr,
    log: Arc<Mutex<Log>>,
}

impl SmtpSink {
    /// Starts a server on 127.0.0.1 and an OS-chosen port.
    pub fn start(b: Behaviour) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let addr = listener.local_addr().expect("local addr");
        let log = Arc::new(Mutex::new(Log::default()));
        let l2 = Arc::clone(&log);
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let b = b.clone();
                let log = Arc::clone(&l2);
                let id = {
                    let mut l = log.lock().unwrap();
                    l.connections += 1;
                    l.connections - 1
                };
                std::thread::spawn(move || {
                    let _ = session(stream, id, &b, &log);
                });
            }
        });
        SmtpSink { addr, log }
    }

    /// The port.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// Messages accepted so far.
    pub fn messages(&self) -> Vec<Received> {
        self.log.lock().unwrap().messages.clone()
    }

    /// Connections accepted so far.
    pub fn connections(&self) -> usize {
        self.log.lock().unwrap().connections
    }

    /// Failed authentication attempts so far.
    pub fn auth_failures(&self) -> usize {
        self.log.lock().unwrap().auth_failures
    }

    /// Every command read so far, in order, with whether it arrived inside TLS.
    pub fn commands(&self) -> Vec<Command> {
        self.log.lock().unwrap().commands.clone()
    }

    /// The verbs read so far, in order.
    pub fn verbs(&self) -> Vec<String> {
        self.commands().into_iter().map(|c| c.verb).collect()
    }

    /// Server-side TLS handshakes that failed (rustls's reason for each).
    pub fn tls_failures(&self) -> Vec<String> {
        self.log.lock().unwrap().tls_failures.clone()
    }
}

fn b64(s: &str) -> String {
    base64::engine::general_purpose::STANDARD
        .decode(s.trim())
        .ok()
        .and_then(|v| String::from_utf8(v).ok())
        .unwrap_or_default()
}

fn server_config() -> Arc<ServerConfig> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/tls");
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(dir.join("server.pem"))
        .expect("fixtures/tls/server.pem")
        .collect::<Result<_, _>>()
        .expect("server certificate PEM");
    let key =
        PrivateKeyDer::from_pem_file(dir.join("server.key")).expect("fixtures/tls/server.key");
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("protocol versions")
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .expect("server certificate and key");
    Arc::new(config)
}

/// The connection: plain TCP, or TLS over the same socket.
enum Conn {
    Plain(TcpStream),
    Tls(Box<StreamOwned<ServerConnection, TcpStream>>),
}

impl Conn {
    fn encrypted(&self) -> bool {
        matches!(self, Conn::Tls(_))
    }
}

impl Read for Conn {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Conn::Plain(s) => s.read(buf),
            Conn::Tls(s) => s.read(buf),
        }
    }
}

impl Write for Conn {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Conn::Plain(s) => s.write(buf),
            Conn::Tls(s) => s.write(buf),
        }
    }
    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Conn::Plain(s) => s.flush(),
            Conn::Tls(s) => s.flush(),
        }
    }
}

/// The server side of the TLS handshake on `tcp`, completed before anything else is read;
/// a failure is recorded (a client that does not trust the certificate aborts here).
fn accept_tls(mut tcp: TcpStream, log: &Mutex<Log>) -> std::io::Result<Conn> {
    let mut tls = ServerConnection::new(server_config()).map_err(std::io::Error::other)?;
    while tls.is_handshaking() {
        if let Err(e) = tls.complete_io(&mut tcp) {
            log.lock().unwrap().tls_failures.push(e.to_string());
            return Err(e);
        }
    }
    Ok(Conn::Tls(Box::new(StreamOwned::new(tls, tcp))))
}

fn session(stream: TcpStream, id: usize, b: &Behaviour, log: &Mutex<Log>) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(20)))?;
    let conn = match b.security {
        Security::Implicit => accept_tls(stream, log)?,
        Security::Plain | Security::StartTls => Conn::Plain(stream),
    };
    let mut r = BufReader::new(conn);
    r.get_mut()
        .write_all(b"220 sink.test ESMTP test sink\r\n")?;
    loop {
        match dialogue(&mut r, id, b, log)? {
            Next::Done => return Ok(()),
            Next::StartTls => {
                // A client that pipelined commands after STARTTLS would have them read in
                // plain text: refuse that, as real servers must.
                if !r.buffer().is_empty() {
                    return Err(std::io::Error::other("data pipelined after STARTTLS"));
                }
                let Conn::Plain(tcp) = r.into_inner() else {
                    unreachable!("STARTTLS is only accepted on a plain connection")
                };
                r = BufReader::new(accept_tls(tcp, log)?);
            }
        }
    }
}

enum Next {
    Done,
    StartTls,
}

/// The SMTP dialogue on one connection (or one TLS layer of it), from a fresh state.
fn dialogue(
    r: &mut BufReader<Conn>,
    id: usize,
    b: &Behaviour,
    log: &Mutex<Log>,
) -> std::io::Result<Next> {
    let mut line = String::new();
    let read = |r: &mut BufReader<Conn>, line: &mut String| -> std::io::Result<bool> {
        line.clear();
        Ok(r.read_line(line)? > 0)
    };
    let mut authed: Option<(String, bool)> = None;
    let mut from = String::new();
    let mut rcpt: Vec<String> = Vec::new();
    let mut mail_encrypted = true;
    while read(r, &mut line)? {
        let cmd = line.trim_end().to_string();
        let upper = cmd.to_ascii_uppercase();
        let encrypted = r.get_ref().encrypted();
        let verb = if upper.starts_with("AUTH ") {
            upper
                .split_whitespace()
                .take(2)
                .collect::<Vec<_>>()
                .join(" ")
        } else {
            upper
                .split([' ', ':'])
                .next()
                .unwrap_or_default()
                .to_string()
        };
        log.lock().unwrap().commands.push(Command {
            connection: id,
            verb,
            encrypted,
        });
        let w = r.get_mut();
        let check = |user: String,
                     pass: String,
                     w: &mut Conn,
                     authed: &mut Option<(String, bool)>|
         -> std::io::Result<()> {
            match &b.credentials {
                Some((u, p)) if *u == user && *p == pass => {
                    *authed = Some((user, encrypted));
                    w.write_all(b"235 2.7.0 Authentication successful\r\n")
                }
                _ => {
                    log.lock().unwrap().auth_failures += 1;
                    w.write_all(b"535 5.7.8 Authentication credentials invalid\r\n")
                }
            }
        };
        if upper.starts_with("EHLO") {
            let mut reply = String::from("250-sink.test\r\n250-8BITMIME\r\n");
            if b.security == Security::StartTls && !encrypted {
                reply.push_str("250-STARTTLS\r\n");
            }
            if b.credentials.is_some() {
                reply.push_str("250-AUTH PLAIN LOGIN\r\n");
            }
            reply.push_str("250 SIZE 20000000\r\n");
            w.write_all(reply.as_bytes())?;
        } else if upper.starts_with("HELO") {
            w.write_all(b"250 sink.test\r\n")?;
        } else if upper == "STARTTLS" {
            if b.security == Security::StartTls && !encrypted {
                w.write_all(b"220 2.0.0 Ready to start TLS\r\n")?;
                w.flush()?;
                return Ok(Next::StartTls);
            }
            w.write_all(b"502 5.5.1 STARTTLS not available\r\n")?;
        } else if upper.starts_with("AUTH PLAIN") {
            let arg = cmd[10..].trim().to_string();
            let arg = if arg.is_empty() {
                w.write_all(b"334 \r\n")?;
                read(r, &mut line)?;
                line.trim().to_string()
            } else {
                arg
            };
            let decoded = b64(&arg);
            let mut parts = decoded.split('\0').skip(1);
            let user = parts.next().unwrap_or_default().to_string();
            let pass = parts.next().unwrap_or_default().to_string();
            check(user, pass, r.get_mut(), &mut authed)?;
        } else if upper.starts_with("AUTH LOGIN") {
            let arg = cmd[10..].trim().to_string();
            let user = if arg.is_empty() {
                w.write_all(b"334 VXNlcm5hbWU6\r\n")?;
                read(r, &mut line)?;
                b64(&line)
            } else {
                b64(&arg)
            };
            r.get_mut().write_all(b"334 UGFzc3dvcmQ6\r\n")?;
            read(r, &mut line)?;
            let pass = b64(&line);
            check(user, pass, r.get_mut(), &mut authed)?;
        } else if upper.starts_with("MAIL FROM:") {
            if b.credentials.is_some() && authed.is_none() {
                w.write_all(b"530 5.7.0 Authentication required\r\n")?;
                continue;
            }
            from = cmd[10..].trim().trim_matches(['<', '>']).to_string();
            rcpt.clear();
            mail_encrypted = encrypted;
            w.write_all(b"250 2.1.0 OK\r\n")?;
        } else if upper.starts_with("RCPT TO:") {
            let to = cmd[8..].trim().trim_matches(['<', '>']).to_string();
            mail_encrypted &= encrypted;
            if b.refuse.contains(&to) {
                w.write_all(
                    format!("550 5.1.1 <{to}>: Recipient address rejected: User unknown\r\n")
                        .as_bytes(),
                )?;
            } else {
                rcpt.push(to);
                w.write_all(b"250 2.1.5 OK\r\n")?;
            }
        } else if upper == "DATA" {
            w.write_all(b"354 End data with <CR><LF>.<CR><LF>\r\n")?;
            let mut data = String::new();
            loop {
                if !read(r, &mut line)? {
                    return Ok(Next::Done);
                }
                if line == ".\r\n" || line == ".\n" {
                    break;
                }
                let l = line.strip_prefix('.').unwrap_or(&line);
                data.push_str(l);
            }
            std::thread::sleep(b.data_delay);
            if b.drop_after_data {
                return Ok(Next::Done);
            }
            if let Some(reply) = &b.data_reply {
                r.get_mut().write_all(format!("{reply}\r\n").as_bytes())?;
                continue;
            }
            let attempt = {
                let mut l = log.lock().unwrap();
                l.data_attempts += 1;
                l.data_attempts
            };
            if attempt <= b.temp_fail_messages {
                r.get_mut()
                    .write_all(b"451 4.3.0 Temporary local problem, try again later\r\n")?;
                continue;
            }
            // The connection cannot change layer inside a session, so DATA's content arrived
            // the way the DATA command did.
            log.lock().unwrap().messages.push(Received {
                mail_from: from.clone(),
                rcpt_to: rcpt.clone(),
                auth_user: authed.as_ref().map(|(u, _)| u.clone()),
                data,
                encrypted: mail_encrypted && encrypted,
                auth_encrypted: authed.as_ref().map(|(_, e)| *e),
            });
            if let Some(hook) = &b.on_accept {
                hook();
            }
            r.get_mut().write_all(b"250 2.0.0 OK queued\r\n")?;
        } else if upper == "RSET" || upper == "NOOP" {
            w.write_all(b"250 OK\r\n")?;
        } else if upper == "QUIT" {
            w.write_all(b"221 Bye\r\n")?;
            w.flush()?;
            return Ok(Next::Done);
        } else {
            w.write_all(b"502 5.5.2 Command not recognized\r\n")?;
        }
    }
    Ok(Next::Done)
}
