//! etcd down for a minute: the data plane stays, the agents idle quietly, and everything —
//! a node that joined meanwhile included — converges once etcd is back.

use std::time::Duration;

use twill_test_support::cluster::{Cluster, Stream};

fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // Fields after the command's closing parenthesis: utime is the 12th, stime the 13th.
    let rest = stat.rsplit_once(')').unwrap().1;
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = f[11].parse::<f64>().unwrap() + f[12].parse::<f64>().unwrap();
    // SAFETY: sysconf has no preconditions.
    ticks / unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64
}

#[test]
fn etcd_down_for_a_minute_changes_nothing_then_everything_converges() {
    let mut c = Cluster::new(
        3,
        r#"{"Network":"10.244.0.0/16","Backend":{"Type":"vxlan"}}"#,
    );
    c.start_agent(0, &[]);
    c.start_agent(1, &[]);
    c.wait_subnet_env(0);
    c.wait_subnet_env(1);
    let a = c.pod(0, "a");
    let b = c.pod(1, "b");
    let mut stream = Stream::open(&a.node, &b.node, b.ip, 7100);
    let pids: Vec<u32> = c.agents[..2]
        .iter()
        .map(|a| a.as_ref().unwrap().id())
        .collect();
    let cpu_before: Vec<f64> = pids.iter().map(|p| cpu_seconds(*p)).collect();
    let lines_before: Vec<usize> = (0..2).map(|i| c.log(i).lines().count()).collect();

    c.etcd.stop();
    // A node joins while etcd is away: it can do nothing yet, and builds nothing.
    c.start_agent(2, &[]);
    stream.keep_going(Duration::from_secs(60));
    assert!(
        a.node.ping(&b.ip.to_string(), 3),
        "pods stopped talking during the outage"
    );
    for (i, pid) in pids.iter().enumerate() {
        let cpu = cpu_seconds(*pid) - cpu_before[i];
        let lines = c.log(i).lines().count() - lines_before[i];
        assert!(
            cpu < 1.0,
            "agent {i} used {cpu:.2} s of CPU in a 60 s outage"
        );
        assert!(
            lines <= 12,
            "agent {i} logged {lines} lines in a 60 s outage:\n{}",
            c.log(i)
        );
        eprintln!("agent {i}: {cpu:.3} s CPU, {lines} log lines during the outage");
    }
    assert!(!c.hosts[2].dir.join("subnet.env").exists());

    c.etcd.resume();
    let s3 = c.subnet(2);
    c.wait_route(0, &s3, true, 20);
    c.wait_route(1, &s3, true, 20);
    let z = c.pod(2, "z");
    assert!(z.node.ping(&a.ip.to_string(), 10));
    stream.exchange();
    assert_eq!(c.leases().len(), 3);
}
