//! A private certificate authority and TLS fronts whose certificate it signed: GitHub Enterprise
//! Server as many companies run it, behind a certificate from their own CA that no public bundle
//! holds, so the action trusts it only when `SSL_CERT_FILE` names a bundle with that CA.
//!
//! [`PrivateCa::new`] makes a fresh CA and one server certificate for `localhost`, `127.0.0.1` and
//! `127.0.0.2` (the fake GitHub's API and blob addresses), and writes the CA's PEM to a file of
//! its own. A [`TlsFront`] accepts TLS on an address of its own and pipes the plaintext, byte for
//! byte in both directions, to a plain-HTTP upstream such as the fake GitHub's API or blob host:
//! the fake needs no TLS of its own, and what the client sends reaches it unchanged. ALPN offers
//! only `http/1.1`, which is all the fake speaks.
//!
//! Unlike `proxy.rs`, a tokio runtime on a thread of its own (as `FakeGitHub` has): a blocking
//! rustls stream cannot read and write at once, and a pipe must.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, mpsc};
use std::thread::JoinHandle;
use std::time::Duration;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use rustls::ServerConfig;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tempfile::TempDir;
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;

/// The names the server certificate is valid for: every address a front may listen on.
const SERVER_NAMES: [&str; 3] = ["localhost", "127.0.0.1", "127.0.0.2"];
/// Long enough for any test's slow body, short enough that a wedged test still ends.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(60);

/// A CA made for one test, and a server certificate it signed.
pub struct PrivateCa {
    dir: TempDir,
    config: Arc<ServerConfig>,
}

impl PrivateCa {
    pub fn new() -> PrivateCa {
        let ca_key = KeyPair::generate().expect("CA key");
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        // A name of its own: a second CA of the same name would be taken for the issuer and fail
        // on its signature, not as an unknown issuer.
        static MADE: AtomicUsize = AtomicUsize::new(0);
        let n = MADE.fetch_add(1, Ordering::Relaxed);
        ca_params.distinguished_name.push(
            DnType::CommonName,
            format!("fetch-artifact test private CA {n}"),
        );
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let ca_cert = ca_params.self_signed(&ca_key).expect("self-sign the CA");
        let issuer = Issuer::new(ca_params, ca_key);

        let server_key = KeyPair::generate().expect("server key");
        let names: Vec<String> = SERVER_NAMES.iter().map(|n| n.to_string()).collect();
        let mut server_params = CertificateParams::new(names).expect("server params");
        server_params
            .distinguished_name
            .push(DnType::CommonName, "localhost");
        server_params.is_ca = IsCa::ExplicitNoCa;
        server_params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        server_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let server_cert = server_params
            .signed_by(&server_key, &issuer)
            .expect("sign the server certificate");

        let dir = tempfile::tempdir().expect("tempdir for the CA");
        std::fs::write(dir.path().join("ca.pem"), ca_cert.pem()).expect("write ca.pem");

        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(server_key.serialize_der()));
        // The server sends its certificate alone, as a server whose CA is the trust anchor does.
        let chain = vec![CertificateDer::from(server_cert.der().to_vec())];
        let mut config =
            ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
                .with_safe_default_protocol_versions()
                .expect("TLS versions")
                .with_no_client_auth()
                .with_single_cert(chain, key)
                .expect("server certificate and key");
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        PrivateCa {
            dir,
            config: Arc::new(config),
        }
    }

    /// The CA certificate as PEM, alone in its file: the value for `SSL_CERT_FILE`.
    pub fn pem_file(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }

    /// A TLS front on `ip` (port chosen by the system) for the plain-HTTP `upstream`.
    pub fn front(&self, ip: &str, upstream: SocketAddr) -> TlsFront {
        TlsFront::start(ip, upstream, self.config.clone())
    }
}

/// A running TLS front. Dropping it closes the listener and every connection it holds.
pub struct TlsFront {
    addr: SocketAddr,
    stop: Option<mpsc::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl TlsFront {
    fn start(ip: &str, upstream: SocketAddr, config: Arc<ServerConfig>) -> TlsFront {
        let listener = std::net::TcpListener::bind((ip, 0))
            .unwrap_or_else(|e| panic!("bind the TLS front on {ip}: {e}"));
        listener
            .set_nonblocking(true)
            .expect("non-blocking listener");
        let addr = listener.local_addr().expect("TLS front address");
        let (stop, stopped) = mpsc::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("test-tls-front".into())
            .spawn(move || {
                let rt = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(1)
                    .thread_name("test-tls-front-worker")
                    .enable_all()
                    .build()
                    .expect("TLS front runtime");
                rt.spawn(accept(listener, upstream, TlsAcceptor::from(config)));
                // Err once the sender is dropped, which is how Drop asks us to stop.
                let _ = stopped.recv();
                rt.shutdown_timeout(Duration::from_secs(2));
            })
            .expect("spawn the TLS front thread");
        TlsFront {
            addr,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    /// `https://HOST:PORT` for the address it listens on, `host` standing in for the IP (a name
    /// in the certificate, such as `localhost`).
    pub fn url_as(&self, host: &str) -> String {
        format!("https://{host}:{}", self.addr.port())
    }

    /// `https://IP:PORT`.
    pub fn url(&self) -> String {
        format!("https://{}", self.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for TlsFront {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

async fn accept(listener: std::net::TcpListener, upstream: SocketAddr, tls: TlsAcceptor) {
    let Ok(listener) = TcpListener::from_std(listener) else {
        return;
    };
    loop {
        let Ok((client, _)) = listener.accept().await else {
            continue;
        };
        let tls = tls.clone();
        tokio::spawn(async move {
            // A client that rejects the certificate aborts the handshake: nothing to do then.
            let Ok(Ok(mut client)) =
                tokio::time::timeout(HANDSHAKE_TIMEOUT, tls.accept(client)).await
            else {
                return;
            };
            let Ok(mut server) = TcpStream::connect(upstream).await else {
                return;
            };
            let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
        });
    }
}
