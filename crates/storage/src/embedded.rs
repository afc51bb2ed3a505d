//! An S3-compatible server (s3s + s3s-fs) inside the process, on 127.0.0.1 and a
//! port of the OS's choosing, storing objects under a directory. It is the
//! embedded default and what the tests use; the rest of Dentex talks to it only
//! through aws-sdk-s3, exactly as it would talk to AWS S3 or MinIO.

use hyper_util::rt::TokioIo;
use rand::distr::{Alphanumeric, SampleString};
use std::net::SocketAddr;
use std::path::Path;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

pub struct EmbeddedS3 {
    pub addr: SocketAddr,
    pub access_key_id: String,
    pub secret_access_key: String,
    task: JoinHandle<()>,
}

impl EmbeddedS3 {
    /// Starts the server over `root` (created if missing). Credentials are random
    /// for each start: only this process knows them.
    pub async fn start(root: &Path) -> std::io::Result<Self> {
        tokio::fs::create_dir_all(root).await?;
        let fs = s3s_fs::FileSystem::new(root).map_err(|e| std::io::Error::other(format!("{e:?}")))?;
        let mut rng = rand::rng();
        let access_key_id = format!("DENTEX{}", Alphanumeric.sample_string(&mut rng, 14).to_uppercase());
        let secret_access_key = Alphanumeric.sample_string(&mut rng, 40);
        let service = {
            let mut b = s3s::service::S3ServiceBuilder::new(fs);
            b.set_auth(s3s::auth::SimpleAuth::from_single(
                access_key_id.clone(),
                secret_access_key.clone(),
            ));
            b.build()
        };
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let task = tokio::spawn(async move {
            // Connections belong to the accept loop: stopping it cuts them all,
            // including idle keep-alive ones a client would otherwise reuse.
            let mut conns = tokio::task::JoinSet::new();
            loop {
                tokio::select! {
                    accepted = listener.accept() => {
                        let Ok((socket, _)) = accepted else { continue };
                        let service = service.clone();
                        conns.spawn(async move {
                            let conn = hyper::server::conn::http1::Builder::new()
                                .serve_connection(TokioIo::new(socket), service);
                            if let Err(e) = conn.await {
                                tracing::debug!(error = %e, "embedded S3 connection ended with an error");
                            }
                        });
                    }
                    Some(_) = conns.join_next(), if !conns.is_empty() => {}
                }
            }
        });
        tracing::info!(%addr, "embedded S3 server started");
        Ok(Self {
            addr,
            access_key_id,
            secret_access_key,
            task,
        })
    }

    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// A store configuration that points at this server.
    pub fn store_config(&self, bucket: &str) -> crate::StoreConfig {
        crate::StoreConfig {
            endpoint: Some(self.endpoint()),
            region: "us-east-1".into(),
            bucket: bucket.into(),
            access_key_id: self.access_key_id.clone(),
            secret_access_key: self.secret_access_key.clone(),
            force_path_style: true,
            sse: false,
            multipart_threshold: crate::StoreConfig::DEFAULT_PART_SIZE,
            part_size: crate::StoreConfig::DEFAULT_PART_SIZE,
            lists_open_uploads: false,
        }
    }

    /// Stops accepting connections (used by tests that take the store away).
    pub fn stop(&self) {
        self.task.abort();
    }

    /// A handle that stops the server from elsewhere.
    pub fn stop_handle(&self) -> tokio::task::AbortHandle {
        self.task.abort_handle()
    }
}

impl Drop for EmbeddedS3 {
    fn drop(&mut self) {
        self.task.abort();
    }
}
