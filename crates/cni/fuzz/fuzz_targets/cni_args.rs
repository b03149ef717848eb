//! CNI_ARGS parsing: any string; what parses must print back to a string that parses to the
//! same pairs, and the typed accessors must not panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use twill_cni::skel::CniArgs;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(args) = CniArgs::parse(text) else {
        return;
    };
    let _ = args.ips();
    let _ = args.mac();
    let _ = args.ignore_unknown();
    let printed = args.to_string();
    match CniArgs::parse(&printed) {
        Ok(back) => assert_eq!(back.pairs(), args.pairs()),
        Err(e) => panic!("printed CNI_ARGS {printed:?} does not parse: {e}"),
    }
});
