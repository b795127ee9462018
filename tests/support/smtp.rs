//! A small SMTP server on 127.0.0.1 (port 0), one thread per connection, started by the test
//! itself. It speaks enough ESMTP for lettre: EHLO/HELO, AUTH PLAIN and LOGIN, MAIL, RCPT, DATA
//! (with dot-unstuffing), RSET, NOOP, QUIT. It can demand credentials, refuse recipients, and
//! hold its final DATA reply to make overlapping runs overlap.

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;

/// How the server behaves.
#[derive(Clone, Default)]
pub struct Behaviour {
    /// Require AUTH with this user and password (advertised as PLAIN and LOGIN).
    pub credentials: Option<(String, String)>,
    /// Recipients to refuse with 550.
    pub refuse: Vec<String>,
    /// Wait this long before accepting a message's data.
    pub data_delay: Duration,
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
}

#[derive(Default)]
struct Log {
    messages: Vec<Received>,
    connections: usize,
    auth_failures: usize,
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
                log.lock().unwrap().connections += 1;
                std::thread::spawn(move || {
                    let _ = session(stream, &b, &log);
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
}

fn b64(s: &str) -> String {
    base64::engine::general_purpose::STANDARD
        .decode(s.trim())
        .ok()
        .and_then(|v| String::from_utf8(v).ok())
        .unwrap_or_default()
}

fn session(stream: TcpStream, b: &Behaviour, log: &Mutex<Log>) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(20)))?;
    let mut w = stream.try_clone()?;
    let mut r = BufReader::new(stream);
    let mut line = String::new();
    let read = |r: &mut BufReader<TcpStream>, line: &mut String| -> std::io::Result<bool> {
        line.clear();
        Ok(r.read_line(line)? > 0)
    };
    w.write_all(b"220 sink.test ESMTP test sink\r\n")?;
    let mut authed: Option<String> = None;
    let mut from = String::new();
    let mut rcpt: Vec<String> = Vec::new();
    while read(&mut r, &mut line)? {
        let cmd = line.trim_end().to_string();
        let upper = cmd.to_ascii_uppercase();
        let mut check = |user: String, pass: String, w: &mut TcpStream| -> std::io::Result<()> {
            match &b.credentials {
                Some((u, p)) if *u == user && *p == pass => {
                    authed = Some(user);
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
            if b.credentials.is_some() {
                reply.push_str("250-AUTH PLAIN LOGIN\r\n");
            }
            reply.push_str("250 SIZE 20000000\r\n");
            w.write_all(reply.as_bytes())?;
        } else if upper.starts_with("HELO") {
            w.write_all(b"250 sink.test\r\n")?;
        } else if upper.starts_with("AUTH PLAIN") {
            let arg = cmd[10..].trim().to_string();
            let arg = if arg.is_empty() {
                w.write_all(b"334 \r\n")?;
                read(&mut r, &mut line)?;
                line.trim().to_string()
            } else {
                arg
            };
            let decoded = b64(&arg);
            let mut parts = decoded.split('\0').skip(1);
            let user = parts.next().unwrap_or_default().to_string();
            let pass = parts.next().unwrap_or_default().to_string();
            check(user, pass, &mut w)?;
        } else if upper.starts_with("AUTH LOGIN") {
            let arg = cmd[10..].trim().to_string();
            let user = if arg.is_empty() {
                w.write_all(b"334 VXNlcm5hbWU6\r\n")?;
                read(&mut r, &mut line)?;
                b64(&line)
            } else {
                b64(&arg)
            };
            w.write_all(b"334 UGFzc3dvcmQ6\r\n")?;
            read(&mut r, &mut line)?;
            let pass = b64(&line);
            check(user, pass, &mut w)?;
        } else if upper.starts_with("MAIL FROM:") {
            if b.credentials.is_some() && authed.is_none() {
                w.write_all(b"530 5.7.0 Authentication required\r\n")?;
                continue;
            }
            from = cmd[10..].trim().trim_matches(['<', '>']).to_string();
            rcpt.clear();
            w.write_all(b"250 2.1.0 OK\r\n")?;
        } else if upper.starts_with("RCPT TO:") {
            let to = cmd[8..].trim().trim_matches(['<', '>']).to_string();
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
                if !read(&mut r, &mut line)? {
                    return Ok(());
                }
                if line == ".\r\n" || line == ".\n" {
                    break;
                }
                let l = line.strip_prefix('.').unwrap_or(&line);
                data.push_str(l);
            }
            std::thread::sleep(b.data_delay);
            log.lock().unwrap().messages.push(Received {
                mail_from: from.clone(),
                rcpt_to: rcpt.clone(),
                auth_user: authed.clone(),
                data,
            });
            w.write_all(b"250 2.0.0 OK queued\r\n")?;
        } else if upper == "RSET" || upper == "NOOP" {
            w.write_all(b"250 OK\r\n")?;
        } else if upper == "QUIT" {
            w.write_all(b"221 Bye\r\n")?;
            return Ok(());
        } else {
            w.write_all(b"502 5.5.2 Command not recognized\r\n")?;
        }
    }
    Ok(())
}
