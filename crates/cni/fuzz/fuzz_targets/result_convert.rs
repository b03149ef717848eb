//! Result parsing and conversion: the first byte picks the version assumed when the result has
//! none; every parsed result is converted to every version, and each output must parse back as
//! a result of the version it claims, with the version it claims.
#![no_main]

use libfuzzer_sys::fuzz_target;
use twill_cni::result::CniResult;
use twill_cni::Version;

fuzz_target!(|data: &[u8]| {
    let Some((first, body)) = data.split_first() else {
        return;
    };
    let all = Version::ALL;
    let default = all[usize::from(*first) % all.len()];
    let Ok(result) = CniResult::parse(body, default) else {
        return;
    };
    // Printing and reading back is lossless within a version.
    let again = match CniResult::parse(&result.to_bytes(), default) {
        Ok(r) => r,
        Err(e) => panic!("own output does not parse: {e}"),
    };
    assert_eq!(again.to_json(), result.to_json());
    for to in all {
        let Ok(converted) = result.clone().convert(to) else {
            continue;
        };
        assert_eq!(converted.version(), to);
        match CniResult::parse(&converted.to_bytes(), to) {
            Ok(back) => assert_eq!(back.version(), to),
            Err(e) => panic!("converted output does not parse: {e}"),
        }
    }
});
