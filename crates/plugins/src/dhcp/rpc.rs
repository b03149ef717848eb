//! The protocol between the `dhcp` plugin and its daemon, over a unix stream socket: the
//! plugin writes one JSON [`Request`] followed by a newline, the daemon answers with one JSON
//! [`Response`] followed by a newline and closes the connection. The plugin parses and
//! validates the configuration itself, so the daemon only sees typed requests.
//! (`docs/plugins/dhcp.md` describes the messages.)

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use twill_cni::{CniError, Code};

/// Longest request or response line accepted.
pub const MAX_MESSAGE: u64 = 1 << 20;

/// How long a plugin waits for the daemon's answer. The daemon bounds each exchange with
/// the server by its `-timeout`; this only keeps a wedged daemon from hanging a runtime.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(300);

/// What the plugin asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Op {
    /// Acquire a lease (or return the one held) and maintain it.
    Add,
    /// Release the lease.
    Del,
    /// Report the lease held, acquiring nothing.
    Check,
    /// Release the leases of `network` whose attachment is not in `valid`.
    Gc,
    /// Is the daemon there?
    Status,
}

/// One request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Request {
    /// The operation.
    pub op: Op,
    /// `CNI_CONTAINERID` (empty for GC and STATUS).
    #[serde(default)]
    pub container_id: String,
    /// The configuration's `name`.
    #[serde(default)]
    pub network: String,
    /// `CNI_IFNAME`.
    #[serde(default)]
    pub ifname: String,
    /// `CNI_NETNS`, made absolute (ADD; DEL and CHECK when given).
    #[serde(default)]
    pub netns: Option<String>,
    /// Option 55's list.
    #[serde(default)]
    pub requested: Vec<u8>,
    /// Options to send: code and value.
    #[serde(default)]
    pub provided: Vec<(u8, Vec<u8>)>,
    /// GC: the attachments that stay, as `(containerID, ifname)`.
    #[serde(default)]
    pub valid: Vec<(String, String)>,
}

impl Request {
    /// A request with only its operation set.
    pub fn new(op: Op) -> Request {
        Request {
            op,
            container_id: String::new(),
            network: String::new(),
            ifname: String::new(),
            netns: None,
            requested: Vec::new(),
            provided: Vec::new(),
            valid: Vec::new(),
        }
    }
}

/// The daemon's error: a CNI code and message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RpcError {
    /// The CNI error code.
    pub code: u32,
    /// The message.
    pub msg: String,
}

/// One answer: `result` (ADD, CHECK: the lease as a CNI 1.1.0 result) or `error`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Response {
    /// The result, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<Value>,
    /// The failure, when the request failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<RpcError>,
}

impl Response {
    /// A failure.
    pub fn failed(e: &CniError) -> Response {
        Response {
            result: None,
            error: Some(RpcError {
                code: e.code.0,
                msg: e.msg.clone(),
            }),
        }
    }
}

/// Reads one newline-terminated JSON message of at most [`MAX_MESSAGE`] bytes.
pub fn read_message<T: for<'de> Deserialize<'de>>(stream: impl Read) -> std::io::Result<T> {
    let mut line = Vec::new();
    BufReader::new(stream.take(MAX_MESSAGE)).read_until(b'\n', &mut line)?;
    serde_json::from_slice(&line)
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))
}

/// Writes one message and its newline.
pub fn write_message<T: Serialize>(mut stream: impl Write, msg: &T) -> std::io::Result<()> {
    let mut bytes = serde_json::to_vec(msg)
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))?;
    bytes.push(b'\n');
    stream.write_all(&bytes)?;
    stream.flush()
}

/// Sends `req` to the daemon at `socket` and returns its result. A daemon that cannot be
/// reached is code 11 (try again later: it may be starting).
pub fn call(socket: &Path, req: &Request) -> Result<Option<Value>, CniError> {
    let unreachable = |e: std::io::Error| {
        CniError::new(
            Code::TRY_AGAIN_LATER,
            format!("error dialing DHCP daemon at {}: {e}", socket.display()),
        )
    };
    let stream = UnixStream::connect(socket).map_err(unreachable)?;
    stream
        .set_read_timeout(Some(ANSWER_TIMEOUT))
        .map_err(unreachable)?;
    write_message(&stream, req).map_err(unreachable)?;
    let resp: Response = read_message(&stream).map_err(|e| {
        CniError::new(
            Code::IO_FAILURE,
            format!("no answer from DHCP daemon at {}: {e}", socket.display()),
        )
    })?;
    match resp.error {
        Some(e) => Err(CniError::new(Code(e.code), e.msg)),
        None => Ok(resp.result),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn messages_round_trip_one_per_line() {
        let mut req = Request::new(Op::Gc);
        req.network = "n".into();
        req.valid = vec![("c".into(), "eth0".into())];
        let mut buf = Vec::new();
        write_message(&mut buf, &req).unwrap();
        assert_eq!(buf.last(), Some(&b'\n'));
        assert_eq!(
            String::from_utf8_lossy(&buf).trim_end(),
            r#"{"op":"gc","containerId":"","network":"n","ifname":"","netns":null,"requested":[],"provided":[],"valid":[["c","eth0"]]}"#
        );
        let back: Request = read_message(&buf[..]).unwrap();
        assert_eq!(back, req);
        let minimal: Request = read_message(&b"{\"op\":\"status\"}\n"[..]).unwrap();
        assert_eq!(minimal, Request::new(Op::Status));
        assert!(read_message::<Request>(&b"{\"op\":\"nope\"}\n"[..]).is_err());
    }

    #[test]
    fn unreachable_daemon_is_try_again_later() {
        let e = call(
            Path::new("/nonexistent/dhcp.sock"),
            &Request::new(Op::Status),
        )
        .unwrap_err();
        assert_eq!(e.code, Code::TRY_AGAIN_LATER);
        assert!(e.msg.contains("/nonexistent/dhcp.sock"), "{}", e.msg);
    }
}
