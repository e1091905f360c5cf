//! A real SMTP server on loopback for the mail tests: it speaks the protocol to the
//! application's mail client, keeps every message it accepts, and can be told to refuse
//! recipients, or be absent altogether.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

#[derive(Clone, Debug)]
pub struct Received {
    pub recipients: Vec<String>,
    pub data: String,
}

impl Received {
    /// The value of a header, unfolded.
    pub fn header(&self, name: &str) -> Option<String> {
        let head = self.data.split("\r\n\r\n").next().unwrap_or_default();
        let unfolded = head.replace("\r\n ", " ").replace("\r\n\t", " ");
        unfolded.lines().find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.eq_ignore_ascii_case(name).then(|| value.trim().to_owned())
        })
    }

    /// The text part, decoded from quoted-printable or base64.
    pub fn text(&self) -> String {
        let parsed = mail_parser::MessageParser::default().parse(self.data.as_bytes()).expect("a parseable mail");
        parsed.body_text(0).map(|text| text.into_owned()).unwrap_or_default()
    }

    pub fn html(&self) -> String {
        let parsed = mail_parser::MessageParser::default().parse(self.data.as_bytes()).expect("a parseable mail");
        parsed.body_html(0).map(|html| html.into_owned()).unwrap_or_default()
    }

    /// The subject, decoded.
    pub fn subject(&self) -> String {
        let parsed = mail_parser::MessageParser::default().parse(self.data.as_bytes()).expect("a parseable mail");
        parsed.subject().unwrap_or_default().to_owned()
    }
}

pub struct SmtpServer {
    pub address: SocketAddr,
    received: Arc<Mutex<Vec<Received>>>,
    /// Recipients refused for good (550), e.g. an unknown mailbox.
    refused: Arc<Mutex<Vec<String>>>,
    task: Option<JoinHandle<()>>,
}

/// A loopback port held for a server that is not up yet: bound but not listening, so a
/// client is refused at once — and no other test can take the port in the meantime.
pub struct ReservedPort(socket2::Socket);

impl ReservedPort {
    pub fn new() -> Self {
        let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).expect("a socket");
        socket.bind(&"127.0.0.1:0".parse::<SocketAddr>().unwrap().into()).expect("a loopback port");
        Self(socket)
    }

    pub fn address(&self) -> SocketAddr {
        self.0.local_addr().unwrap().as_socket().unwrap()
    }

    pub fn url(&self) -> String {
        format!("smtp://{}", self.address())
    }
}

impl SmtpServer {
    pub async fn start() -> Self {
        Self::start_on(ReservedPort::new()).await
    }

    /// The server comes up on a port held until now.
    pub async fn start_on(port: ReservedPort) -> Self {
        port.0.listen(128).expect("listen on the held port");
        port.0.set_nonblocking(true).unwrap();
        let listener = TcpListener::from_std(std::net::TcpListener::from(port.0)).expect("a listener");
        let address = listener.local_addr().unwrap();
        let received = Arc::new(Mutex::new(Vec::new()));
        let refused = Arc::new(Mutex::new(Vec::new()));
        let (kept, refusing) = (received.clone(), refused.clone());
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(session(stream, kept.clone(), refusing.clone()));
            }
        });
        Self { address, received, refused, task: Some(task) }
    }

    pub fn url(&self) -> String {
        format!("smtp://{}", self.address)
    }

    pub fn refuse(&self, recipient: &str) {
        self.refused.lock().unwrap().push(recipient.to_owned());
    }

    pub fn accept_everyone(&self) {
        self.refused.lock().unwrap().clear();
    }

    pub fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    /// Waits until at least `count` messages have arrived, and returns them all.
    pub async fn wait_for(&self, count: usize) -> Vec<Received> {
        for _ in 0..200 {
            let received = self.received();
            if received.len() >= count {
                return received;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("expected {count} mails, got {}: {:#?}", self.received().len(), self.received());
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

async fn session(stream: tokio::net::TcpStream, received: Arc<Mutex<Vec<Received>>>, refused: Arc<Mutex<Vec<String>>>) {
    let (reader, mut writer) = stream.into_split();
    let mut lines = BufReader::new(reader);
    let mut recipients = Vec::new();
    let _ = writer.write_all(b"220 test.example ESMTP\r\n").await;
    let mut line = String::new();
    loop {
        line.clear();
        if lines.read_line(&mut line).await.unwrap_or(0) == 0 {
            return;
        }
        let command = line.trim_end().to_ascii_uppercase();
        let reply: &[u8] = if command.starts_with("EHLO") {
            b"250-test.example\r\n250 8BITMIME\r\n"
        } else if command.starts_with("HELO") || command.starts_with("MAIL FROM") || command.starts_with("NOOP") {
            b"250 OK\r\n"
        } else if command.starts_with("RSET") {
            recipients.clear();
            b"250 OK\r\n"
        } else if command.starts_with("RCPT TO") {
            let address = line.trim_end()[8..].trim().trim_start_matches('<').trim_end_matches('>').to_owned();
            if refused.lock().unwrap().iter().any(|each| each.eq_ignore_ascii_case(&address)) {
                b"550 5.1.1 No such mailbox\r\n"
            } else {
                recipients.push(address);
                b"250 OK\r\n"
            }
        } else if command == "DATA" {
            let _ = writer.write_all(b"354 End data with <CR><LF>.<CR><LF>\r\n").await;
            let mut data = String::new();
            loop {
                line.clear();
                if lines.read_line(&mut line).await.unwrap_or(0) == 0 {
                    return;
                }
                if line == ".\r\n" {
                    break;
                }
                data.push_str(line.strip_prefix('.').filter(|_| line.starts_with("..")).unwrap_or(&line));
            }
            received.lock().unwrap().push(Received { recipients: std::mem::take(&mut recipients), data });
            b"250 OK queued\r\n"
        } else if command == "QUIT" {
            let _ = writer.write_all(b"221 Bye\r\n").await;
            return;
        } else {
            b"502 Command not implemented\r\n"
        };
        if writer.write_all(reply).await.is_err() {
            return;
        }
    }
}
