//! Arbitrary templates and decision JSON: compiling and rendering a template, reading,
//! defining and applying a decision never panic and never hang (templates run on fuel); a
//! refused definition leaves the audience without it. Input: template text, a NUL byte, the
//! decision's JSON.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use segcore::{Audience, Decision, Template};

fn audience() -> Audience {
    let now = "2024-06-01T00:00:00Z".parse().expect("an instant");
    let mut a = Audience::new();
    a.upsert("ada", [("first_name", "Ada".into()), ("age", 36.into())])
        .expect("a valid write");
    a.tag("ada", "vip", now).expect("a valid tag");
    a.upsert("bob", [("country", "DK".into())])
        .expect("a valid write");
    let vips = a.predicate(r#"tag "vip""#).expect("a valid predicate");
    a.define_segment("vips", vips).expect("a valid segment");
    a
}

fuzz_target!(|bytes: &[u8]| {
    static AUDIENCE: OnceLock<Audience> = OnceLock::new();
    let base = AUDIENCE.get_or_init(audience);
    let now = "2024-06-01T00:00:00Z".parse().expect("an instant");
    let text = String::from_utf8_lossy(bytes);
    let (template, json) = text.split_once('\0').unwrap_or((&text, ""));
    if let Ok(t) = Template::parse(template) {
        let _ = base.render("ada", &t);
        let _ = base.render("bob", &t);
    }
    if let Ok(decision) = Decision::from_json(json) {
        let mut a = base.clone();
        match a.define_decision("d", decision) {
            Ok(()) => {
                let one = a.decide("ada", "d", now);
                let all = a.assign("d", now);
                if let (Ok(one), Ok(all)) = (one, all) {
                    let held = all.holdout.iter().any(|id| id == "ada");
                    assert_eq!(held, one.chosen_by == segcore::ChosenBy::Holdout);
                }
            }
            Err(_) => assert!(a.decision("d").is_none()),
        }
    }
});
