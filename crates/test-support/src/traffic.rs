//! Traffic between namespaces: UDP datagrams from sockets created inside them (a socket
//! keeps the namespace it was created in, so the test thread can use it directly).

use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use crate::ns::Ns;

/// Sends datagrams from a socket in `from` to a socket bound to `dst` in `to` until one
/// arrives, within a few seconds (IPv6 addresses may still be finishing duplicate address
/// detection, and the first packets wait for neighbour resolution). Fails with what went
/// wrong.
pub fn udp(from: &Ns, to: &Ns, dst: IpAddr) -> Result<(), String> {
    let deadline = Instant::now() + Duration::from_secs(5);
    let receiver = loop {
        let bound = to
            .ns
            .run(|| UdpSocket::bind(SocketAddr::new(dst, 0)))
            .map_err(|e| e.to_string())?;
        match bound {
            Ok(s) => break s,
            // A tentative IPv6 address cannot be bound yet.
            Err(e) if Instant::now() < deadline => {
                let _ = e;
                std::thread::sleep(Duration::from_millis(50));
            }
            Err(e) => return Err(format!("bind {dst} in {}: {e}", to.name)),
        }
    };
    let target = receiver.local_addr().map_err(|e| e.to_string())?;
    let any: IpAddr = if dst.is_ipv4() {
        [0u8; 4].into()
    } else {
        [0u8; 16].into()
    };
    let sender = from
        .ns
        .run(|| UdpSocket::bind(SocketAddr::new(any, 0)))
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())?;
    receiver
        .set_read_timeout(Some(Duration::from_millis(100)))
        .map_err(|e| e.to_string())?;
    let mut buf = [0u8; 64];
    let mut last = String::new();
    while Instant::now() < deadline {
        if let Err(e) = sender.send_to(b"twill", target) {
            last = e.to_string();
        }
        match receiver.recv_from(&mut buf) {
            Ok((n, _)) if buf.get(..n) == Some(b"twill".as_slice()) => return Ok(()),
            Ok(_) => {}
            Err(e) => last = e.to_string(),
        }
    }
    Err(format!(
        "no datagram {} -> {target} ({}): {last}",
        from.name, to.name
    ))
}
