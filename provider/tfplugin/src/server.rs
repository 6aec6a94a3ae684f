//! The plugin server: process setup (logging, SIGINT), the handshake, the listener and TLS accept loop, and
//! serving the gRPC services until terraform says `Shutdown`.
//!
//! Listens on a unix socket like Go plugins do (TCP only where unix sockets do not exist, with `TCP_NODELAY` on
//! every accepted socket: tonic cannot set it for an external listener, and Nagle plus delayed ACKs stall each RPC
//! by ~40 ms). TLS handshakes run in their own tasks so a slow client cannot block the accept loop.

use std::io::{self, Write as _};
use std::path::PathBuf;
use std::pin::Pin;
use std::process::ExitCode;
use std::task::{Context as TaskContext, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::handshake::{self, Address, HandshakeError};
use crate::proto::{plugin, tfplugin6 as pb};
use crate::provider::Provider;
use crate::service::{Controller, ProviderService};
use crate::tls::{self, TlsError};

/// How long after `Shutdown` the process may linger before it exits anyway (go-plugin kills it after 2 s).
const HARD_EXIT_AFTER: Duration = Duration::from_millis(500);
/// Message size limit: terraform accepts schemas up to 64 MiB; states can be large too.
const MAX_MESSAGE_SIZE: usize = 256 * 1024 * 1024;

/// How to serve a provider.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// The provider's source address, e.g. `registry.terraform.io/acme/example` (used by debug mode).
    pub source_address: String,
    /// Debug mode: `None` = on when the first argument is `--debug`.
    pub debug: Option<bool>,
    /// Install a `tracing` subscriber (stderr or `PLUGIN_LOG_FILE`). Turn off to install your own.
    pub init_logging: bool,
}

impl ServeOptions {
    /// Options for a provider with this source address; debug mode from `--debug`, logging on.
    pub fn new(source_address: impl Into<String>) -> Self {
        Self {
            source_address: source_address.into(),
            debug: None,
            init_logging: true,
        }
    }
}

/// Serving failed.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The handshake environment is wrong (run by hand, or protocol 6 not offered).
    #[error(transparent)]
    Handshake(#[from] HandshakeError),
    /// TLS setup failed.
    #[error(transparent)]
    Tls(#[from] TlsError),
    /// Listening or writing the handshake failed.
    #[error("I/O: {0}")]
    Io(#[from] io::Error),
    /// The gRPC server failed.
    #[error("gRPC server: {0}")]
    Transport(#[from] tonic::transport::Error),
}

/// Serves `provider` as terraform expects (or in debug mode with `--debug`) and returns the exit code for
/// `main`: 0 after a clean shutdown, 1 with the error on stderr otherwise.
pub async fn serve<P: Provider>(provider: P, options: ServeOptions) -> ExitCode {
    match try_serve(provider, options).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            // Also on stderr directly: logging may be off, and a human may be reading.
            eprintln!("{err}");
            tracing::error!(error = %err, "Provider failed.");
            ExitCode::FAILURE
        }
    }
}

/// Like [`serve`], returning the error.
pub async fn try_serve<P: Provider>(provider: P, options: ServeOptions) -> Result<(), ServeError> {
    if options.init_logging {
        crate::logging::init();
    }
    let debug = options
        .debug
        .unwrap_or_else(|| std::env::args().nth(1).is_some_and(|a| a == "--debug"));
    if debug {
        return serve_debug(provider, &options.source_address).await;
    }
    handshake::check_cookie(std::env::var(handshake::MAGIC_COOKIE_KEY).ok().as_deref())?;
    handshake::negotiate_protocol(std::env::var("PLUGIN_PROTOCOL_VERSIONS").ok().as_deref())?;

    let client_cert = std::env::var("PLUGIN_CLIENT_CERT")
        .ok()
        .filter(|pem| !pem.trim().is_empty());
    let (cert, acceptor) = match client_cert {
        Some(pem) => {
            tls::warm_up_rng();
            let client = tls::parse_client_cert(&pem)?;
            let identity = tls::ServerIdentity::generate()?;
            let config = tls::server_config(&identity, client)?;
            (Some(identity.cert), Some(tokio_rustls::TlsAcceptor::from(config)))
        }
        None => {
            tracing::warn!("PLUGIN_CLIENT_CERT is not set (TF_DISABLE_PLUGIN_TLS?): serving without TLS.");
            (None, None)
        }
    };
    let service = ProviderService::new(provider);
    let listener = Listener::bind()?;

    let line = handshake::handshake_line(&listener.address, cert.as_ref().map(|c| c.as_ref()));
    let address = listener.address.clone();
    let incoming = listener.incoming(acceptor);
    {
        let mut stdout = io::stdout().lock();
        stdout.write_all(line.as_bytes())?;
        stdout.flush()?;
    }
    tracing::debug!(address = ?address, tls = cert.is_some(), "Handshake written; serving.");

    ignore_sigint();
    let shutdown = CancellationToken::new();
    exit_soon_after(shutdown.clone(), address.clone());
    let result = router(
        service,
        Controller {
            shutdown: shutdown.clone(),
        },
    )
    .serve_with_incoming_shutdown(incoming, shutdown.cancelled_owned())
    .await;
    remove_socket(&address);
    Ok(result?)
}

/// Debug mode: plaintext on a unix socket, prints the reattach line, serves until Ctrl-C.
async fn serve_debug<P: Provider>(provider: P, source_address: &str) -> Result<(), ServeError> {
    let service = ProviderService::new(provider);
    let listener = Listener::bind()?;
    let address = listener.address.clone();
    let reattach = handshake::reattach_json(source_address, std::process::id(), &address);
    {
        let mut stdout = io::stdout().lock();
        writeln!(
            stdout,
            "Provider started in debug mode. To attach Terraform, export this variable in the shell where you \
             run terraform:\n\n\tTF_REATTACH_PROVIDERS='{reattach}'\n\nPress Ctrl-C to stop the provider."
        )?;
        stdout.flush()?;
    }
    let stop = CancellationToken::new();
    exit_soon_after(stop.clone(), address.clone());
    let on_ctrl_c = stop.clone();
    tokio::spawn(async move {
        let _ = tokio::signal::ctrl_c().await;
        on_ctrl_c.cancel();
    });
    // Terraform never sends Shutdown to a reattached test provider; if something does, keep serving.
    let result = router(
        service,
        Controller {
            shutdown: CancellationToken::new(),
        },
    )
    .serve_with_incoming_shutdown(listener.incoming(None), stop.cancelled_owned())
    .await;
    remove_socket(&address);
    Ok(result?)
}

/// Once `shutdown` fires, gives graceful shutdown [`HARD_EXIT_AFTER`] and then exits the process: terraform
/// kills a plugin that lingers (after 2 s, per process), and a Ctrl-C in debug mode should feel immediate.
fn exit_soon_after(shutdown: CancellationToken, address: Address) {
    tokio::spawn(async move {
        shutdown.cancelled().await;
        tokio::time::sleep(HARD_EXIT_AFTER).await;
        tracing::debug!("Graceful shutdown still running; exiting.");
        remove_socket(&address);
        std::process::exit(0);
    });
}

fn router<P: Provider>(
    service: ProviderService<P>,
    controller: Controller,
) -> tonic::transport::server::Router {
    let provider = pb::provider_server::ProviderServer::new(service)
        .max_decoding_message_size(MAX_MESSAGE_SIZE)
        .max_encoding_message_size(MAX_MESSAGE_SIZE);
    tonic::transport::Server::builder()
        .add_service(provider)
        .add_service(plugin::grpc_controller_server::GrpcControllerServer::new(
            controller,
        ))
}

/// Terraform forwards Ctrl-C to the whole process group and then asks politely with StopProvider; dying on
/// SIGINT would lose state. Installing a handler replaces the default "terminate" disposition.
fn ignore_sigint() {
    tokio::spawn(async {
        while tokio::signal::ctrl_c().await.is_ok() {
            tracing::debug!("SIGINT ignored; terraform sends StopProvider.");
        }
    });
}

fn remove_socket(address: &Address) {
    if let Address::Unix(path) = address {
        let _ = std::fs::remove_file(path);
        if let Some(dir) = path.parent() {
            let _ = std::fs::remove_dir(dir);
        }
    }
}

/// Any accepted connection, plain or TLS, unix or TCP.
trait Io: AsyncRead + AsyncWrite + Send + Unpin + 'static {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin + 'static> Io for T {}

/// A connection handed to tonic.
struct Conn(Box<dyn Io>);

impl tonic::transport::server::Connected for Conn {
    type ConnectInfo = ();
    fn connect_info(&self) {}
}

impl AsyncRead for Conn {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.0).poll_read(cx, buf)
    }
}

impl AsyncWrite for Conn {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut *self.0).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.0).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.0).poll_shutdown(cx)
    }
    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut *self.0).poll_write_vectored(cx, bufs)
    }
    fn is_write_vectored(&self) -> bool {
        self.0.is_write_vectored()
    }
}

enum Socket {
    #[cfg(unix)]
    Unix(tokio::net::UnixListener),
    #[cfg_attr(unix, allow(dead_code))]
    Tcp(tokio::net::TcpListener),
}

struct Listener {
    socket: Socket,
    address: Address,
}

impl Listener {
    /// A unix socket in a fresh directory under `PLUGIN_UNIX_SOCKET_DIR` (or the temp dir).
    #[cfg(unix)]
    fn bind() -> io::Result<Self> {
        let base = std::env::var_os("PLUGIN_UNIX_SOCKET_DIR").map_or_else(std::env::temp_dir, PathBuf::from);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        let dir = base.join(format!("plugin{}-{}", std::process::id(), nanos.subsec_nanos()));
        std::fs::create_dir(&dir)?;
        // A private directory keeps other users away from the socket whatever the umask.
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700))?;
        }
        let path = dir.join("tf.sock");
        let listener = tokio::net::UnixListener::bind(&path)?;
        Ok(Self {
            socket: Socket::Unix(listener),
            address: Address::Unix(path),
        })
    }

    /// TCP on 127.0.0.1 within `PLUGIN_MIN_PORT..=PLUGIN_MAX_PORT` (where unix sockets do not exist).
    #[cfg(not(unix))]
    fn bind() -> io::Result<Self> {
        let port = |key: &str, default: u16| {
            std::env::var(key)
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(default)
        };
        let (min, max) = (port("PLUGIN_MIN_PORT", 10000), port("PLUGIN_MAX_PORT", 25000));
        for port in min..=max {
            let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
            if let Ok(listener) = std::net::TcpListener::bind(addr) {
                listener.set_nonblocking(true)?;
                let listener = tokio::net::TcpListener::from_std(listener)?;
                return Ok(Self {
                    socket: Socket::Tcp(listener),
                    address: Address::Tcp(addr),
                });
            }
        }
        Err(io::Error::new(
            io::ErrorKind::AddrInUse,
            format!("no free port in {min}..={max}"),
        ))
    }

    async fn accept(&self) -> io::Result<Box<dyn Io>> {
        match &self.socket {
            #[cfg(unix)]
            Socket::Unix(listener) => Ok(Box::new(listener.accept().await?.0)),
            Socket::Tcp(listener) => {
                let (stream, _) = listener.accept().await?;
                stream.set_nodelay(true)?;
                Ok(Box::new(stream))
            }
        }
    }

    /// The connection stream for tonic: an accept loop feeding a channel, TLS handshakes in their own tasks.
    fn incoming(
        self,
        acceptor: Option<tokio_rustls::TlsAcceptor>,
    ) -> impl futures::Stream<Item = io::Result<Conn>> + Send + 'static {
        let (tx, rx) = mpsc::channel::<io::Result<Conn>>(16);
        tokio::spawn(async move {
            loop {
                let stream = match self.accept().await {
                    Ok(stream) => stream,
                    Err(err) => {
                        tracing::warn!(error = %err, "Accepting a connection failed.");
                        tokio::time::sleep(Duration::from_millis(10)).await;
                        continue;
                    }
                };
                match acceptor.clone() {
                    Some(acceptor) => {
                        let tls_tx = tx.clone();
                        tokio::spawn(async move {
                            match acceptor.accept(stream).await {
                                Ok(tls) => {
                                    tracing::debug!("TLS established with the pinned client certificate.");
                                    let _ = tls_tx.send(Ok(Conn(Box::new(tls)))).await;
                                }
                                Err(err) => tracing::warn!(error = %err, "TLS handshake failed."),
                            }
                        });
                    }
                    None => {
                        if tx.send(Ok(Conn(stream))).await.is_err() {
                            break;
                        }
                    }
                }
                if tx.is_closed() {
                    break;
                }
            }
        });
        futures::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|item| (item, rx)) })
    }
}
