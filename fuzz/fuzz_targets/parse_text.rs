//! Any text: the parser returns a predicate or an error, never panics; whatever it accepts
//! prints to text and JSON that read back to the same AST.
#![no_main]

use libfuzzer_sys::fuzz_target;
use segcore::Predicate;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(p) = Predicate::parse(text) {
        let printed = p.to_string();
        assert_eq!(Predicate::parse(&printed).as_ref(), Ok(&p), "{printed}");
        assert_eq!(Predicate::from_json(&p.to_json()).as_ref(), Ok(&p));
    }
});
