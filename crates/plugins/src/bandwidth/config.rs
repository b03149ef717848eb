//! bandwidth's configuration: the four limits, from the plugin's own keys or from the
//! `bandwidth` capability, checked as the reference checks them, and turned into the token
//! bucket parameters the reference computes.

use serde_json::Value;
use twill_cni::config::NetConf;
use twill_cni::json::{find_key, Obj};
use twill_cni::CniError;
use twill_kernel::tc::tbf::usec_to_ticks;
use twill_kernel::tc::Tbf;

/// The keys of one limit set, as the configuration and `runtimeConfig.bandwidth` spell them
/// (matched case-insensitively, so containerd's `IngressRate` works too).
pub const KEYS: [&str; 4] = ["ingressRate", "ingressBurst", "egressRate", "egressBurst"];

/// How long a full queue may take to drain, which sizes the queue: the reference's 25 ms.
pub const LATENCY_USEC: f64 = 25_000.0;

/// One direction's limit: rate in bit/s, burst in bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    /// Bits per second.
    pub rate: u64,
    /// Bits.
    pub burst: u64,
}

impl Limit {
    /// The tbf the reference installs for this limit: the rate in bytes per second, a
    /// bucket of the burst's bytes expressed as the time the rate takes to send them (in
    /// scheduler ticks), and a queue of 25 ms at the rate plus the burst. The arithmetic is
    /// the reference's, floating point and truncations included, so both read back alike.
    ///
    /// A bucket whose time does not fit 32 bits (containerd's burst of 2³² − 1 bits below
    /// 15.6 Mbit/s) saturates at `u32::MAX` ticks (275 s of the rate) where the reference's
    /// Go conversions wrap to an arbitrary value (docs/plugins/bandwidth.md).
    pub fn tbf(&self) -> Tbf {
        let rate = self.rate / 8;
        let burst = self.burst / 8;
        // `limit` has made sure rate ≥ 1 byte/s; `as` saturates a time beyond 32 bits.
        let usec = (burst as f64 * 1_000_000.0 / rate as f64) as u32;
        let limit = ((rate as f64 * LATENCY_USEC / 1_000_000.0) as u32)
            .saturating_add(u32::try_from(burst).unwrap_or(u32::MAX));
        Tbf {
            rate,
            buffer: usec_to_ticks(usec),
            limit,
        }
    }
}

/// What to shape. A direction is `None` when both its values are 0 (or absent).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BandwidthConf {
    /// Traffic to the container: a tbf on the host end of its veth.
    pub ingress: Option<Limit>,
    /// Traffic from the container: redirected to an ifb with a tbf.
    pub egress: Option<Limit>,
}

impl BandwidthConf {
    /// Whether nothing is shaped.
    pub fn is_empty(&self) -> bool {
        self.ingress.is_none() && self.egress.is_none()
    }

    /// Reads and checks the limits of an ADD or CHECK.
    ///
    /// The plugin's own keys win over the capability as a whole, as in the reference (Go
    /// fills one struct from whichever is present): if any of the four keys is in the
    /// configuration, `runtimeConfig.bandwidth` is not read.
    ///
    /// # Errors
    ///
    /// Code 6 for a value of the wrong JSON type, 7 for an invalid one; the message names
    /// the field.
    pub fn parse(config: &Value) -> Result<BandwidthConf, CniError> {
        let net = NetConf::from_value(config)?;
        let o = Obj::root(config)?;
        let own = KEYS.iter().any(|k| find_key(o.map(), k).is_some());
        let rc_path = o.field_path("runtimeConfig");
        let bw_path = format!("{rc_path}.bandwidth");
        let from_capability = net.plugin.runtime_config.as_ref().and_then(|rc| {
            Obj::new(&rc.raw, &rc_path)
                .object("bandwidth")
                .ok()
                .flatten()
        });
        let source = if own {
            o
        } else if let Some(map) = from_capability {
            Obj::new(map, &bw_path)
        } else {
            return Ok(BandwidthConf::default());
        };
        let value = |k: &str| -> Result<u64, CniError> { Ok(source.u64(k)?.unwrap_or(0)) };
        let ingress = limit(&source, value(KEYS[0])?, value(KEYS[1])?, KEYS[0], KEYS[1])?;
        let egress = limit(&source, value(KEYS[2])?, value(KEYS[3])?, KEYS[2], KEYS[3])?;
        Ok(BandwidthConf { ingress, egress })
    }
}

/// Checks one direction as the reference does (both or neither set, burst below 4 GiB),
/// and what the reference leaves to the kernel to refuse with a bare "invalid argument": a
/// rate below one byte per second, and a burst too small to last one scheduler tick at the
/// rate.
fn limit(
    o: &Obj<'_>,
    rate: u64,
    burst: u64,
    rate_key: &str,
    burst_key: &str,
) -> Result<Option<Limit>, CniError> {
    let invalid =
        |key: &str, why: String| CniError::invalid_config(format!("{}: {why}", o.field_path(key)));
    match (rate, burst) {
        (0, 0) => return Ok(None),
        (_, 0) => {
            return Err(invalid(
                burst_key,
                format!("if rate is set, burst must also be set ({rate_key} is {rate})"),
            ))
        }
        (0, _) => {
            return Err(invalid(
                rate_key,
                format!("if burst is set, rate must also be set ({burst_key} is {burst})"),
            ))
        }
        _ => {}
    }
    if burst / 8 >= u64::from(u32::MAX) {
        return Err(invalid(
            burst_key,
            format!("{burst} bits: burst cannot be more than 4GB"),
        ));
    }
    if rate < 8 {
        return Err(invalid(
            rate_key,
            format!("{rate} bit/s: the rate must be at least 8 bit/s (one byte per second)"),
        ));
    }
    let l = Limit { rate, burst };
    if l.tbf().buffer == 0 {
        return Err(invalid(
            burst_key,
            format!("{burst} bits: too small a burst for a rate of {rate} bit/s (it must last at least one microsecond at the rate)"),
        ));
    }
    // No upper bound on the bucket's time: containerd sends a burst of 2³² − 1 bits with
    // every rate Kubernetes allows (1 kbit/s and up), which takes far longer than the
    // kernel's longest bucket at low rates. The reference accepts it; so do we (saturated,
    // see `Limit::tbf`).
    Ok(Some(l))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use serde_json::json;

    fn conf(extra: Value) -> Value {
        let mut c = json!({"cniVersion": "1.0.0", "name": "n", "type": "bandwidth"});
        c.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        c
    }

    #[test]
    fn tbf_parameters_are_the_references() {
        // Captured from the reference: 8 Mbit/s with 80 kbit burst, 16 Mbit/s with 160 kbit.
        let l = Limit {
            rate: 8_000_000,
            burst: 80_000,
        };
        assert_eq!(
            l.tbf(),
            Tbf {
                rate: 1_000_000,
                buffer: 156_250,
                limit: 35_000
            }
        );
        let l = Limit {
            rate: 16_000_000,
            burst: 160_000,
        };
        assert_eq!(
            l.tbf(),
            Tbf {
                rate: 2_000_000,
                buffer: 156_250,
                limit: 70_000
            }
        );
    }

    #[test]
    fn containerds_burst_is_accepted_at_every_rate_kubernetes_allows() {
        // containerd: the annotation's rate, burst math.MaxUint32, for 1k up to 1P.
        let max = u64::from(u32::MAX);
        for rate in [
            1_000,
            500_000,
            10_000_000,
            20_000_000,
            1_000_000_000_000_000,
        ] {
            let c = conf(json!({"runtimeConfig": {"bandwidth": {
                "IngressRate": rate, "IngressBurst": max,
                "EgressRate": rate, "EgressBurst": max}}}));
            let b = BandwidthConf::parse(&c).unwrap();
            assert_eq!(b.ingress, Some(Limit { rate, burst: max }), "{rate}");
            assert_eq!(b.egress, b.ingress);
        }
        // Below 1 Gbit/s the bucket's ticks saturate; the queue is 25 ms plus the burst.
        let t = |rate| Limit { rate, burst: max }.tbf();
        assert_eq!(
            t(1_000),
            Tbf {
                rate: 125,
                buffer: u32::MAX,
                limit: 536_870_914
            }
        );
        assert_eq!(
            t(10_000_000),
            Tbf {
                rate: 1_250_000,
                buffer: u32::MAX,
                limit: 536_902_161
            }
        );
        // At 1P the bucket lasts 4.29 µs: 4 µs, 62 ticks (truncated twice, as the reference).
        assert_eq!(t(1_000_000_000_000_000).buffer, 62);
    }

    #[test]
    fn own_keys_win_over_the_capability_as_a_whole() {
        let c = conf(json!({"ingressRate": 1000, "ingressBurst": 800,
            "runtimeConfig": {"bandwidth": {"egressRate": 2000, "egressBurst": 1600}}}));
        let b = BandwidthConf::parse(&c).unwrap();
        assert_eq!(
            b.ingress,
            Some(Limit {
                rate: 1000,
                burst: 800
            })
        );
        assert_eq!(b.egress, None);
    }

    #[test]
    fn the_capability_is_read_in_containerds_spelling_too() {
        let c = conf(json!({"runtimeConfig": {"bandwidth": {
            "IngressRate": 1000, "IngressBurst": 800, "EgressRate": 2000, "EgressBurst": 1600}}}));
        let b = BandwidthConf::parse(&c).unwrap();
        assert_eq!(
            b.ingress,
            Some(Limit {
                rate: 1000,
                burst: 800
            })
        );
        assert_eq!(
            b.egress,
            Some(Limit {
                rate: 2000,
                burst: 1600
            })
        );
        assert!(BandwidthConf::parse(&conf(json!({}))).unwrap().is_empty());
    }

    #[test]
    fn bad_limits_name_the_field() {
        let cases = [
            (json!({"ingressRate": 1000}), "ingressBurst: if rate is set"),
            (json!({"egressBurst": 1000}), "egressRate: if burst is set"),
            (
                json!({"egressRate": 1000, "egressBurst": 40_000_000_000u64}),
                "egressBurst: 40000000000 bits: burst cannot be more than 4GB",
            ),
            (
                json!({"ingressRate": 7, "ingressBurst": 80}),
                "ingressRate: 7 bit/s",
            ),
            (
                json!({"ingressRate": 80_000_000_000u64, "ingressBurst": 8}),
                "ingressBurst: 8 bits: too small",
            ),
            (
                json!({"ingressRate": -1, "ingressBurst": 8}),
                "ingressRate: -1 is not a non-negative integer",
            ),
            (
                json!({"ingressRate": "1M", "ingressBurst": 8}),
                "ingressRate: expected integer, found string",
            ),
            (
                json!({"runtimeConfig": {"bandwidth": {"egressRate": 9}}}),
                "runtimeConfig.bandwidth.egressBurst: if rate is set",
            ),
        ];
        for (extra, want) in cases {
            let e = BandwidthConf::parse(&conf(extra.clone())).unwrap_err();
            assert!(e.msg.contains(want), "{extra}: {}", e.msg);
            assert!(e.code.0 == 7 || e.code.0 == 6, "{extra}: {:?}", e.code);
        }
    }
}
