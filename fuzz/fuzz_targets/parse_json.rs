//! Any bytes as JSON: read or refused, never a panic; whatever is accepted prints to text that
//! reads back to the same AST.
#![no_main]

use libfuzzer_sys::fuzz_target;
use segcore::Predicate;

fuzz_target!(|data: &[u8]| {
    let Ok(json) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(p) = Predicate::from_json(json) {
        let printed = p.to_string();
        assert_eq!(Predicate::parse(&printed).as_ref(), Ok(&p), "{printed}");
    }
});
