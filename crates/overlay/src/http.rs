//! `/healthz`, `/metrics`, `/status` over plain HTTP/1.1 (`--healthz-ip`/`--healthz-port`).
//! Requests are tiny GETs from probes and scrapers, so a hand-written responder on tokio's
//! listener does, without an HTTP stack in the agent's memory.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::status::Shared;

/// Serves until the task is dropped.
pub async fn serve(listener: TcpListener, status: Shared) {
    loop {
        let Ok((conn, _)) = listener.accept().await else {
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        };
        let status = status.clone();
        tokio::spawn(async move {
            let _ = tokio::time::timeout(Duration::from_secs(5), answer(conn, status)).await;
        });
    }
}

/// Binds the listener (an error names the address: a bad `--healthz-*` flag).
pub async fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    TcpListener::bind(addr).await
}

async fn answer(mut conn: TcpStream, status: Shared) -> std::io::Result<()> {
    let mut buf = vec![0u8; 2048];
    let n = conn.read(&mut buf).await?;
    let head = String::from_utf8_lossy(buf.get(..n).unwrap_or_default()).into_owned();
    let path = head
        .lines()
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .unwrap_or("/");
    let (code, kind, body) = match path {
        "/healthz" if status.healthy() => ("200 OK", "text/plain", "ok\n".to_owned()),
        "/healthz" => (
            "503 Service Unavailable",
            "text/plain",
            "not ready\n".to_owned(),
        ),
        "/metrics" => ("200 OK", "text/plain; version=0.0.4", status.metrics()),
        "/status" => ("200 OK", "application/json", format!("{}\n", status.json())),
        _ => ("404 Not Found", "text/plain", "not found\n".to_owned()),
    };
    let reply = format!(
        "HTTP/1.1 {code}\r\nContent-Type: {kind}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    conn.write_all(reply.as_bytes()).await?;
    conn.shutdown().await
}
