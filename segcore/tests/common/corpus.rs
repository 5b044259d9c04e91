//! Loading the shared corpus files of `testdata/`: an audience (profiles with attributes,
//! tags, events and consent; ids to erase; named segments) in the one JSON shape the Rust,
//! Python and Node suites all read.

use jiff::Timestamp;
use segcore::{Audience, Event, Value};
use serde_json::Value as Json;

pub fn ts(v: &Json) -> Timestamp {
    v.as_str()
        .expect("a timestamp string")
        .parse()
        .expect("a valid instant")
}

pub fn value(v: &Json) -> Value {
    match v {
        Json::String(s) => Value::String(s.clone()),
        Json::Number(n) => Value::Number(n.as_f64().expect("a finite number")),
        Json::Bool(b) => Value::Bool(*b),
        Json::Array(items) => Value::List(
            items
                .iter()
                .map(|i| i.as_str().expect("list items are strings").to_owned())
                .collect(),
        ),
        Json::Object(o) => Value::Timestamp(ts(&o["timestamp"])),
        Json::Null => panic!("null is not an attribute value"),
    }
}

pub fn load(file: &Json) -> Audience {
    let mut audience = Audience::with_time_zone(file["time_zone"].as_str().unwrap()).unwrap();
    for p in file["profiles"].as_array().unwrap() {
        let id = p["id"].as_str().unwrap();
        let attributes: Vec<(String, Value)> = p["attributes"]
            .as_object()
            .map(|o| o.iter().map(|(k, v)| (k.clone(), value(v))).collect())
            .unwrap_or_default();
        audience.upsert(id, attributes).unwrap();
        for (tag, at) in p["tags"].as_object().into_iter().flatten() {
            audience.tag(id, tag, ts(at)).unwrap();
        }
        for e in p["events"].as_array().into_iter().flatten() {
            let mut event = Event::new(e["name"].as_str().unwrap(), ts(&e["at"]));
            for (k, v) in e["properties"].as_object().into_iter().flatten() {
                event = event.property(k.clone(), value(v));
            }
            audience.track(id, event).unwrap();
        }
        for c in p["consent"].as_array().into_iter().flatten() {
            let granted = c["granted"].as_bool().unwrap();
            audience
                .set_consent(id, c["channel"].as_str().unwrap(), granted, ts(&c["at"]))
                .unwrap();
        }
    }
    for id in file["erase"].as_array().into_iter().flatten() {
        assert!(audience.erase(id.as_str().unwrap()).unwrap());
    }
    for s in file["segments"].as_array().into_iter().flatten() {
        let p = audience.predicate(s["text"].as_str().unwrap()).unwrap();
        audience
            .define_segment(s["name"].as_str().unwrap(), p)
            .unwrap();
    }
    audience
}
