//! TCP between namespaces: a server answering each connection with its tag and the peer
//! address it sees (what NAT did to the source), and clients that connect from inside a
//! namespace. Sockets keep the namespace they were created in, so the test thread uses them
//! directly.

use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::ns::Ns;

/// `s` as an address (test constants).
pub fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// A TCP server on port `port` of every IPv4 address in `ns`, answering each connection
/// with `"<tag> <peer address>"`, for at most `secs` seconds.
pub fn serve(ns: &Ns, port: u16, tag: &str, secs: u64) -> JoinHandle<()> {
    serve_on(ns, "0.0.0.0", port, tag, secs)
}

/// [`serve`] on address `addr` (`"::"`: every IPv6 and IPv4 address; IPv4 peers are then
/// shown as IPv4, not as mapped addresses).
pub fn serve_on(ns: &Ns, addr: &str, port: u16, tag: &str, secs: u64) -> JoinHandle<()> {
    let any = SocketAddr::new(ip(addr), port);
    let listener = ns.ns.run(move || TcpListener::bind(any)).unwrap().unwrap();
    listener.set_nonblocking(true).unwrap();
    let tag = tag.to_owned();
    std::thread::spawn(move || {
        let deadline = Instant::now() + Duration::from_secs(secs);
        while Instant::now() < deadline {
            match listener.accept() {
                Ok((mut s, peer)) => {
                    let peer = peer.ip().to_canonical();
                    let _ = s.write_all(format!("{tag} {peer}").as_bytes());
                }
                Err(_) => std::thread::sleep(Duration::from_millis(5)),
            }
        }
    })
}

/// One connection from `ns` to `addr:port`: what the server answered.
pub fn fetch_once(ns: &Ns, addr: &str, port: u16) -> Result<String, String> {
    let target = SocketAddr::new(ip(addr), port);
    let stream = ns
        .ns
        .run(move || TcpStream::connect_timeout(&target, Duration::from_millis(700)))
        .map_err(|e| e.to_string())?;
    let mut s = stream.map_err(|e| format!("connect {target} from {}: {e}", ns.name))?;
    s.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).map_err(|e| e.to_string())?;
    Ok(text)
}

/// Like [`fetch_once`], retried for a few seconds (neighbour resolution, a server thread
/// still starting).
pub fn fetch(ns: &Ns, addr: &str, port: u16) -> Result<String, String> {
    let mut last = String::new();
    for _ in 0..10 {
        match fetch_once(ns, addr, port) {
            Ok(t) if !t.is_empty() => return Ok(t),
            Ok(_) => last = "empty answer".into(),
            Err(e) => last = e,
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    Err(last)
}
