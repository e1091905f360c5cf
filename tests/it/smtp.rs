//! A real SMTP server on loopback for the mail tests: it speaks the protocol to the
//! application's mail client, keeps every message it accepts, and can be told to refuse
//! recipients, or be absent altogether. It can also speak TLS (STARTTLS or from the first
//! byte) with a certificate of a test authority, and ask for a password, as a mail
//! provider's submission port does.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;

#[derive(Clone, Debug)]
pub struct Received {
    pub recipients: Vec<String>,
    pub data: String,
    /// Whether the message travelled encrypted.
    pub over_tls: bool,
    /// Who signed in to send it.
    pub sender_login: Option<String>,
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
    /// The files the mail carries, by name.
    pub fn attachments(&self) -> Vec<(String, Vec<u8>)> {
        use mail_parser::MimeHeaders;
        let parsed = mail_parser::MessageParser::default().parse(self.data.as_bytes()).expect("a parseable mail");
        parsed
            .attachments()
            .map(|part| (part.attachment_name().unwrap_or_default().to_owned(), part.contents().to_vec()))
            .collect()
    }

    pub fn subject(&self) -> String {
        let parsed = mail_parser::MessageParser::default().parse(self.data.as_bytes()).expect("a parseable mail");
        parsed.subject().unwrap_or_default().to_owned()
    }
}

pub struct SmtpServer {
    pub address: SocketAddr,
    shared: Shared,
    task: Option<JoinHandle<()>>,
}

#[derive(Clone, Default)]
struct Shared {
    received: Arc<Mutex<Vec<Received>>>,
    /// Recipients refused for good (550), e.g. an unknown mailbox.
    refused: Arc<Mutex<Vec<String>>>,
    security: Security,
}

/// How a server protects the conversation and whom it lets send.
#[derive(Clone, Default)]
pub struct Security {
    tls: Option<(TlsMode, TlsAcceptor)>,
    /// The one user name and password accepted; with one set, mail needs a sign-in first.
    login: Option<(String, String)>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum TlsMode {
    /// Plain text until the client asks for STARTTLS (submission, port 587).
    StartTls,
    /// TLS from the first byte (`smtps`, port 465).
    Wrapped,
}

impl Security {
    pub fn tls(mode: TlsMode, authority: &TestAuthority) -> Self {
        Self { tls: Some((mode, authority.acceptor_for("localhost"))), login: None }
    }

    pub fn login(self, user: &str, password: &str) -> Self {
        Self { login: Some((user.to_owned(), password.to_owned())), ..self }
    }
}

/// A certificate authority made for one test, and the PEM file a client must trust to
/// believe the servers it certifies.
pub struct TestAuthority {
    issuer: rcgen::CertifiedIssuer<'static, rcgen::KeyPair>,
    file: tempfile::NamedTempFile,
}

impl TestAuthority {
    pub fn new() -> Self {
        let mut params = rcgen::CertificateParams::new(Vec::new()).unwrap();
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params.distinguished_name.push(rcgen::DnType::CommonName, "Helpdesk test authority");
        let issuer = rcgen::CertifiedIssuer::self_signed(params, rcgen::KeyPair::generate().unwrap()).unwrap();
        let file = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(file.path(), issuer.pem()).unwrap();
        Self { issuer, file }
    }

    pub fn pem_file(&self) -> std::path::PathBuf {
        self.file.path().to_owned()
    }

    fn acceptor_for(&self, host: &str) -> TlsAcceptor {
        let key = rcgen::KeyPair::generate().unwrap();
        let certificate = rcgen::CertificateParams::new(vec![host.to_owned()]).unwrap().signed_by(&key, &self.issuer).unwrap();
        let chain = vec![certificate.der().clone()];
        let private_key = tokio_rustls::rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into());
        let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
        let config = tokio_rustls::rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(chain, private_key)
            .unwrap();
        TlsAcceptor::from(Arc::new(config))
    }
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
        Self::start_with(port, Security::default()).await
    }

    pub async fn start_with(port: ReservedPort, security: Security) -> Self {
        port.0.listen(128).expect("listen on the held port");
        port.0.set_nonblocking(true).unwrap();
        let listener = TcpListener::from_std(std::net::TcpListener::from(port.0)).expect("a listener");
        let address = listener.local_addr().unwrap();
        let shared = Shared { security, ..Shared::default() };
        let serving = shared.clone();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(session(stream, serving.clone()));
            }
        });
        Self { address, shared, task: Some(task) }
    }

    pub fn url(&self) -> String {
        format!("smtp://{}", self.address)
    }

    pub fn refuse(&self, recipient: &str) {
        self.shared.refused.lock().unwrap().push(recipient.to_owned());
    }

    pub fn accept_everyone(&self) {
        self.shared.refused.lock().unwrap().clear();
    }

    pub fn received(&self) -> Vec<Received> {
        self.shared.received.lock().unwrap().clone()
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

trait Connection: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Connection for T {}

/// One client's conversation; it ends when the client leaves or breaks the protocol.
async fn session(stream: TcpStream, shared: Shared) {
    let tls = shared.security.tls.clone();
    let mut over_tls = false;
    let mut connection: BufReader<Box<dyn Connection>> = match &tls {
        Some((TlsMode::Wrapped, acceptor)) => match acceptor.accept(stream).await {
            Ok(encrypted) => {
                over_tls = true;
                BufReader::new(Box::new(encrypted))
            }
            Err(_) => return,
        },
        _ => BufReader::new(Box::new(stream)),
    };
    let mut sender_login = None;
    let mut recipients = Vec::new();
    let _ = connection.write_all(b"220 test.example ESMTP\r\n").await;
    while let Some(line) = read_line(&mut connection).await {
        let command = line.to_ascii_uppercase();
        let reply: String = if command.starts_with("EHLO") {
            let mut extensions = vec!["test.example", "8BITMIME"];
            if matches!(tls, Some((TlsMode::StartTls, _))) && !over_tls {
                extensions.push("STARTTLS");
            }
            // Passwords are asked for only where they cannot be overheard.
            if shared.security.login.is_some() && over_tls {
                extensions.push("AUTH PLAIN LOGIN");
            }
            let last = extensions.len() - 1;
            extensions
                .iter()
                .enumerate()
                .map(|(index, each)| format!("250{}{each}\r\n", if index == last { ' ' } else { '-' }))
                .collect()
        } else if command == "STARTTLS"
            && !over_tls
            && let Some((TlsMode::StartTls, acceptor)) = &tls
        {
            let _ = connection.write_all(b"220 2.0.0 Ready to start TLS\r\n").await;
            match acceptor.accept(connection.into_inner()).await {
                Ok(encrypted) => connection = BufReader::new(Box::new(encrypted)),
                Err(_) => return,
            }
            // RFC 3207: whatever was said before the handshake is forgotten.
            (over_tls, sender_login, recipients) = (true, None, Vec::new());
            continue;
        } else if command.starts_with("AUTH ")
            && over_tls
            && let Some((user, password)) = &shared.security.login
        {
            match sign_in(&mut connection, &line).await {
                Some((given_user, given_password)) if given_user == *user && given_password == *password => {
                    sender_login = Some(given_user);
                    "235 2.7.0 Authentication successful\r\n".into()
                }
                _ => "535 5.7.8 Authentication credentials invalid\r\n".into(),
            }
        } else if command.starts_with("MAIL FROM") && shared.security.login.is_some() && sender_login.is_none() {
            "530 5.7.0 Authentication required\r\n".into()
        } else if command.starts_with("HELO") || command.starts_with("MAIL FROM") || command.starts_with("NOOP") {
            "250 OK\r\n".into()
        } else if command.starts_with("RSET") {
            recipients.clear();
            "250 OK\r\n".into()
        } else if command.starts_with("RCPT TO") {
            let address = line[8..].trim().trim_start_matches('<').trim_end_matches('>').to_owned();
            if shared.refused.lock().unwrap().iter().any(|each| each.eq_ignore_ascii_case(&address)) {
                "550 5.1.1 No such mailbox\r\n".into()
            } else {
                recipients.push(address);
                "250 OK\r\n".into()
            }
        } else if command == "DATA" {
            let _ = connection.write_all(b"354 End data with <CR><LF>.<CR><LF>\r\n").await;
            let Some(data) = read_data(&mut connection).await else { return };
            let recipients = std::mem::take(&mut recipients);
            let sender_login = sender_login.clone();
            shared.received.lock().unwrap().push(Received { recipients, data, over_tls, sender_login });
            "250 OK queued\r\n".into()
        } else if command == "QUIT" {
            let _ = connection.write_all(b"221 Bye\r\n").await;
            return;
        } else {
            "502 Command not implemented\r\n".into()
        };
        if connection.write_all(reply.as_bytes()).await.is_err() {
            return;
        }
    }
}

/// The next command line, without its line end; `None` when the client has gone.
async fn read_line(connection: &mut BufReader<Box<dyn Connection>>) -> Option<String> {
    let mut line = String::new();
    match connection.read_line(&mut line).await {
        Ok(0) | Err(_) => None,
        Ok(_) => Some(line.trim_end_matches(['\r', '\n']).to_owned()),
    }
}

/// The message after DATA, up to the lone dot, with dot-stuffing undone.
async fn read_data(connection: &mut BufReader<Box<dyn Connection>>) -> Option<String> {
    let mut data = String::new();
    loop {
        let mut line = String::new();
        if connection.read_line(&mut line).await.ok()? == 0 {
            return None;
        }
        if line == ".\r\n" {
            return Some(data);
        }
        data.push_str(line.strip_prefix('.').filter(|_| line.starts_with("..")).unwrap_or(&line));
    }
}

/// The user name and password of `AUTH PLAIN` (RFC 4616) or `AUTH LOGIN`.
async fn sign_in(connection: &mut BufReader<Box<dyn Connection>>, command: &str) -> Option<(String, String)> {
    let decode = |text: &str| BASE64.decode(text.trim()).ok().and_then(|bytes| String::from_utf8(bytes).ok());
    let mut words = command.split_whitespace().skip(1);
    match words.next()?.to_ascii_uppercase().as_str() {
        "PLAIN" => {
            let response = match words.next() {
                Some(initial) => initial.to_owned(),
                None => {
                    connection.write_all(b"334 \r\n").await.ok()?;
                    read_line(connection).await?
                }
            };
            let decoded = decode(&response)?;
            let mut parts = decoded.split('\0').skip(1);
            Some((parts.next()?.to_owned(), parts.next()?.to_owned()))
        }
        "LOGIN" => {
            connection.write_all(b"334 VXNlcm5hbWU6\r\n").await.ok()?;
            let user = decode(&read_line(connection).await?)?;
            connection.write_all(b"334 UGFzc3dvcmQ6\r\n").await.ok()?;
            let password = decode(&read_line(connection).await?)?;
            Some((user, password))
        }
        _ => None,
    }
}
